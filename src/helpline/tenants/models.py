"""Tenants and their capacity leases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum, utcnow

SYSTEM_TENANT = "system"


class Tier(StrEnum):
    """Reference sizes from the product documents: lines / agents / IVR ports."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    CUSTOM = "custom"


TIER_LIMITS: dict[Tier, tuple[int, int, int]] = {
    Tier.SMALL: (16, 16, 4),
    Tier.MEDIUM: (32, 32, 8),
    Tier.LARGE: (64, 64, 16),
}


class Tenant(Timestamped, Base):
    """A company using Helpline; an on-premises install has one."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    sip_realm: Mapped[str] = mapped_column(String(200))
    tier: Mapped[Tier] = mapped_column(str_enum(Tier), default=Tier.SMALL)
    max_lines: Mapped[int] = mapped_column(default=16)
    max_agents: Mapped[int] = mapped_column(default=16)
    max_ivr_ports: Mapped[int] = mapped_column(default=4)
    active: Mapped[bool] = mapped_column(default=True)


class LeaseKind(StrEnum):
    """What a capacity lease holds."""

    LINE = "line"
    IVR_PORT = "ivr_port"


class CapacityLease(TenantOwned, Base):
    """One line or IVR port in use; shared by every node through the database."""

    __tablename__ = "capacity_leases"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LeaseKind] = mapped_column(str_enum(LeaseKind))
    ref: Mapped[str] = mapped_column(String(200))
    node: Mapped[str] = mapped_column(String(100), default="")
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
