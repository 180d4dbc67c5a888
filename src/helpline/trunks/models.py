"""SIP trunks: a tenant's connections to telephone providers.

The password must stay reversible because Helpline answers the provider's digest
challenges with it (RFC 7616 needs the password or the realm's HA1, and the realm is
only known once challenged): it is encrypted at rest with the server's key
(:mod:`helpline.core.secrets`), and the API and the audit log never show it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.core.secrets import EncryptedString
from helpline.db.base import Base, TenantOwned, Timestamped, str_enum
from helpline.trunks.rules import CallerIdMode, InboundMode, Transport


class Trunk(TenantOwned, Timestamped, Base):
    """One SIP trunk of a tenant: inbound admission, registration and outbound rules."""

    __tablename__ = "trunks"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=5060)
    transport: Mapped[Transport] = mapped_column(str_enum(Transport))
    inbound_mode: Mapped[InboundMode] = mapped_column(str_enum(InboundMode))
    allowed_sources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """IP addresses and CIDR networks, canonical text."""
    username: Mapped[str | None] = mapped_column(String(100), default=None)
    password: Mapped[str | None] = mapped_column(EncryptedString("trunks.password"), default=None)
    auth_realm: Mapped[str | None] = mapped_column(String(200), default=None)
    register_enabled: Mapped[bool] = mapped_column(default=False)
    register_expires: Mapped[int] = mapped_column(Integer, default=3600)
    from_domain: Mapped[str | None] = mapped_column(String(255), default=None)
    prefixes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    strip_digits: Mapped[int] = mapped_column(Integer, default=0)
    prepend: Mapped[str] = mapped_column(String(32), default="")
    priority: Mapped[int] = mapped_column(Integer, default=100)
    caller_id_mode: Mapped[CallerIdMode] = mapped_column(str_enum(CallerIdMode))
    caller_id_number: Mapped[str | None] = mapped_column(String(32), default=None)
    caller_id_name: Mapped[str | None] = mapped_column(String(100), default=None)
    anonymous: Mapped[bool] = mapped_column(default=False)
    max_channels: Mapped[int | None] = mapped_column(Integer, default=None)

    @property
    def has_password(self) -> bool:
        """Whether a password is set (what the API and the audit log show instead)."""
        return bool(self.password)
