"""A tenant's own SMTP server, used for its e-mail instead of the node-wide one.

The password must stay reversible because Helpline logs in to the server with it: it
is encrypted at rest with the server's key (:mod:`helpline.core.secrets`), and the API
never shows it (only whether one is set).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from helpline.core.secrets import EncryptedString
from helpline.db.base import Base, Timestamped


class TenantMailSettings(Timestamped, Base):
    """The SMTP settings of one tenant (at most one row per tenant)."""

    __tablename__ = "tenant_mail_settings"

    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=587)
    username: Mapped[str] = mapped_column(String(255), default="")
    password: Mapped[str] = mapped_column(
        EncryptedString("tenant_mail_settings.password"), default=""
    )
    sender: Mapped[str] = mapped_column(String(254))
    starttls: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True)
