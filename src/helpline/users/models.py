"""Users, their roles, and SIP accounts for phones."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, str_enum


class Role(StrEnum):
    """Roles, from most to least privileged."""

    PLATFORM_ADMIN = "platform-admin"
    TENANT_ADMIN = "tenant-admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"

    @property
    def rank(self) -> int:
        """Higher ranks include the rights of lower ones."""
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        """Whether this role has every right of ``other``."""
        return self.rank >= other.rank


_RANKS = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.TENANT_ADMIN: 3, Role.PLATFORM_ADMIN: 4}


class User(TenantOwned, Timestamped, Base):
    """A person who logs in: administrator, supervisor or agent."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(default=True)


class SipAccount(TenantOwned, Timestamped, Base):
    """Credentials a phone registers with; the password is kept only as digest HA1s."""

    __tablename__ = "sip_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    realm: Mapped[str] = mapped_column(String(200))
    ha1_md5: Mapped[str] = mapped_column(String(64))
    ha1_sha256: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    display_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
