"""A browser phone's short-lived SIP secret, kept (like every SIP secret) only as HA1s."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, UtcDateTime, utcnow


class BrowserCredential(TenantOwned, Base):
    """A second secret of a SIP account, accepted by every node's registrar until
    ``expires_at``; issued to the account's own user for the desktop's browser phone."""

    __tablename__ = "browser_credentials"
    __table_args__ = (
        Index("ix_browser_credentials_account_expiry", "sip_account_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sip_account_id: Mapped[int] = mapped_column(ForeignKey("sip_accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ha1_md5: Mapped[str] = mapped_column(String(64))
    ha1_sha256: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
