"""Inbound routing tables: access numbers, services, the blacklist and service slots.

A service's ``rules`` and ``default_target`` are JSON in the shapes of
:mod:`helpline.routing.schedule` (validated on the way in and read back with
``parse_rules``/``parse_target``).  Flows, VoiceXML documents and voicemail boxes are
referred to by plain ids: their tables belong to other domains.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum, utcnow
from helpline.routing.blacklist import BlockAction, BlockKind


class OverLimitAction(StrEnum):
    """What a caller gets when the service is at its ``max_calls``."""

    BUSY = "busy"
    """486 Busy Here."""
    ANNOUNCEMENT = "announcement"
    """The service's ``over_limit_prompt`` is played, then the call ends."""


class Service(TenantOwned, Timestamped, Base):
    """An inbound service: schedule rules choosing a target, and a call limit."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    """IANA zone; None follows the tenant's time zone."""
    max_calls: Mapped[int | None] = mapped_column(Integer, default=None)
    over_limit_action: Mapped[OverLimitAction] = mapped_column(
        str_enum(OverLimitAction), default=OverLimitAction.BUSY
    )
    over_limit_prompt: Mapped[str | None] = mapped_column(String(200), default=None)
    rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    default_target: Mapped[dict[str, Any]] = mapped_column(JSON)


class AccessNumber(TenantOwned, Timestamped, Base):
    """A dialed number (DID or internal number) leading to a service.

    A number is unique across all tenants: the number dialed names the tenant.
    """

    __tablename__ = "numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    enabled: Mapped[bool] = mapped_column(default=True)


class BlacklistEntry(TenantOwned, Timestamped, Base):
    """A caller number, prefix or "anonymous callers" turned away, with hit counts."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BlockKind] = mapped_column(str_enum(BlockKind))
    number: Mapped[str] = mapped_column(String(32), default="")
    """Normalized number or prefix; empty for ``anonymous``."""
    action: Mapped[BlockAction] = mapped_column(str_enum(BlockAction))
    prompt: Mapped[str | None] = mapped_column(String(200), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    last_hit_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ServiceSlot(TenantOwned, Base):
    """One call inside a service with a call limit; shared by every node."""

    __tablename__ = "service_slots"
    __table_args__ = (UniqueConstraint("service_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(200))
    node: Mapped[str] = mapped_column(String(100), default="", index=True)
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
