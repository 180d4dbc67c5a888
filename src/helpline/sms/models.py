"""SMS tables: a tenant's gateways, its message templates, the messages and their
delivery reports.

``sms_messages`` is an outbox as well as the log: sending writes a ``queued`` row in the
caller's transaction and the sender (:mod:`helpline.sms.sender`) picks it up once that
commits, so a send that rolls back never goes out. A message then moves
``queued -> sent -> delivered | failed`` and never back: a delivery report that arrives
before the sender has recorded ``sent`` (gateways are fast) still settles the message.
Inbound messages are stored ``received``, attached to the customer whose number sent
them. ``remote_id`` is how delivery reports find their message: the SMSC's message id
for SMPP, a random reference Helpline puts in the ``dlr-url`` for Kannel.

A gateway's password is encrypted at rest with the server's key (it is sent to the
gateway, so it must stay reversible: :mod:`helpline.core.secrets`) and never shown by
the API; the key in a Kannel gateway's inbound URL is kept only as a SHA-256 digest.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.core.secrets import EncryptedString
from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum

MAX_NAME_LENGTH = 100
MAX_NUMBER_LENGTH = 32
MAX_TEXT_LENGTH = 1600
"""Ten concatenated parts of 160 GSM characters."""
MAX_ERROR_LENGTH = 500
MAX_REMOTE_ID_LENGTH = 100


class GatewayKind(StrEnum):
    """How Helpline talks to an SMS center."""

    KANNEL = "kannel"
    """Kannel's smsbox HTTP interface (``/cgi-bin/sendsms``, ``dlr-url``, ``get-url``)."""
    SMPP = "smpp"
    """SMPP 3.4 straight to the SMSC (``submit_sm``, ``deliver_sm``)."""


class Direction(StrEnum):
    """Which way a message went."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class MessageStatus(StrEnum):
    """Where a message stands; see the module docstring for the order."""

    QUEUED = "queued"
    SENT = "sent"
    """Accepted by the gateway."""
    DELIVERED = "delivered"
    """The handset has it (a delivery report said so)."""
    FAILED = "failed"
    RECEIVED = "received"
    """An inbound message."""


#: How far along each status is; a message never moves to a lower rank.
STATUS_RANK: dict[MessageStatus, int] = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.FAILED: 2,
    MessageStatus.RECEIVED: 2,
}


class Coding(StrEnum):
    """The character coding a message travels in."""

    GSM7 = "gsm7"
    """The GSM 03.38 default alphabet: 160 characters per part."""
    UCS2 = "ucs2"
    """UTF-16 big endian (Chinese, Korean ...): 70 characters per part."""


class SmsGateway(TenantOwned, Timestamped, Base):
    """A tenant's connection to an SMS center."""

    __tablename__ = "sms_gateways"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    kind: Mapped[GatewayKind] = mapped_column(str_enum(GatewayKind))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Kind-specific, non-secret settings (shapes in :mod:`helpline.sms.schemas`)."""
    password: Mapped[str] = mapped_column(EncryptedString("sms_gateways.password"), default="")
    """The sendsms-user or SMPP password (never shown by the API)."""
    sender: Mapped[str] = mapped_column(String(MAX_NUMBER_LENGTH), default="")
    """The number or alphanumeric name messages are sent from."""
    callback_key_digest: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    """SHA-256 (hex) of the key in a Kannel gateway's inbound URL."""
    is_default: Mapped[bool] = mapped_column(default=False)
    """The gateway sends whenever none is named (one per tenant)."""
    enabled: Mapped[bool] = mapped_column(default=True)


class SmsTemplate(TenantOwned, Timestamped, Base):
    """A message text with ``{variables}``, in one or more languages."""

    __tablename__ = "sms_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    bodies: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Language code (``en``, ``zh``, ``ko``) -> template text."""
    description: Mapped[str] = mapped_column(String(500), default="")


class SmsMessage(TenantOwned, Timestamped, Base):
    """One message sent or received, with its current status."""

    __tablename__ = "sms_messages"
    __table_args__ = (
        Index("ix_sms_messages_due", "status", "next_attempt_at"),
        Index("ix_sms_messages_remote", "gateway_id", "remote_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction))
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus), index=True)
    gateway_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_gateways.id", ondelete="SET NULL"), default=None
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True, default=None
    )
    number: Mapped[str] = mapped_column(String(MAX_NUMBER_LENGTH), index=True)
    """The other party: the recipient of an outbound message, the sender of an inbound
    one (E.164 when it could be read as a phone number)."""
    own_number: Mapped[str] = mapped_column(String(MAX_NUMBER_LENGTH), default="")
    """Our side: the sender id used, or the number an inbound message was sent to."""
    body: Mapped[str] = mapped_column(Text)
    coding: Mapped[Coding] = mapped_column(str_enum(Coding))
    parts: Mapped[int] = mapped_column(Integer, default=1)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_templates.id", ondelete="SET NULL"), default=None
    )
    purpose: Mapped[str] = mapped_column(String(50), default="manual")
    """Why it was sent: ``manual`` (an agent), ``reminder``, ``survey`` ..."""
    created_by: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), default="system")
    remote_id: Mapped[str | None] = mapped_column(String(MAX_REMOTE_ID_LENGTH), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """When the sender tries (again); None once sent, failed or received."""
    error: Mapped[str | None] = mapped_column(String(MAX_ERROR_LENGTH), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SmsPart(TenantOwned, Base):
    """One part of an outbound message sent in several, each with the SMSC's id: the
    message is delivered when every part is, failed when any part fails."""

    __tablename__ = "sms_message_parts"
    __table_args__ = (
        UniqueConstraint("message_id", "seq"),
        Index("ix_sms_message_parts_remote", "gateway_id", "remote_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("sms_messages.id", ondelete="CASCADE"))
    gateway_id: Mapped[int | None] = mapped_column(Integer, default=None)
    seq: Mapped[int] = mapped_column(Integer)
    """1 for the first part."""
    remote_id: Mapped[str] = mapped_column(String(MAX_REMOTE_ID_LENGTH))
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus))
    """``sent`` until its receipt says ``delivered`` or ``failed``."""


class SmsDeliveryReport(TenantOwned, Base):
    """One delivery report a gateway sent about an outbound message."""

    __tablename__ = "sms_delivery_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("sms_messages.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus))
    """What the report means for the message (``sent`` for intermediate reports)."""
    code: Mapped[str] = mapped_column(String(50))
    """The gateway's own status: Kannel's DLR type, SMPP's ``stat``."""
    detail: Mapped[str] = mapped_column(String(MAX_ERROR_LENGTH), default="")
