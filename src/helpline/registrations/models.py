"""Registrar bindings: one row per registered contact of a SIP account.

Theory of operation: a row is one binding of RFC 3261 §10.3 - the Contact URI, its
expiry and the Call-ID/CSeq that last changed it (for the §10.3 ordering rules).  Only
REGISTERs that passed RFC 7616 digest authentication write rows (see
:mod:`helpline.sip.registrar`).  The packet source and transport are kept with
``bound_to_source`` so requests reach phones behind NAT (RFC 3581).  Rows survive a
restart, so phones stay reachable without re-registering; expired rows are ignored and
purged.  ``+sip.instance``/``reg-id`` (RFC 5626) identify a device across Contact changes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime
from helpline.sip.registrar import MAX_CALL_ID_LENGTH, MAX_CONTACT_LENGTH, MAX_TEXT_LENGTH
from helpline.users.models import SipAccount


class Registration(TenantOwned, Timestamped, Base):
    """A contact bound to a SIP account until ``expires_at``."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("sip_account_id", "contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sip_account_id: Mapped[int] = mapped_column(
        ForeignKey("sip_accounts.id", ondelete="CASCADE"), index=True
    )
    contact: Mapped[str] = mapped_column(String(MAX_CONTACT_LENGTH))
    source_host: Mapped[str] = mapped_column(String(64))
    source_port: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(8))
    bound_to_source: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    call_id: Mapped[str] = mapped_column(String(MAX_CALL_ID_LENGTH))
    cseq: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str] = mapped_column(String(MAX_TEXT_LENGTH), default="")
    instance_id: Mapped[str | None] = mapped_column(String(MAX_TEXT_LENGTH), default=None)
    reg_id: Mapped[int | None] = mapped_column(Integer, default=None)

    sip_account: Mapped[SipAccount] = relationship(lazy="raise")

    @property
    def username(self) -> str:
        """The SIP account's username (the AOR's user part); needs ``sip_account`` loaded."""
        return self.sip_account.username
