"""Customer records (CRM): profiles, their phone numbers, notes and scheduled events.

``customer_phones`` is both where a customer's numbers live and the index call control
looks callers up in: one row per number in E.164, found by an indexed equality on
``(tenant_id, e164)`` (:mod:`helpline.customers.lookup`). A number may belong to several
customers (a family's landline, a company's switchboard); a lookup then says so.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum

MAX_NAME_LENGTH = 200
MAX_SHORT_LENGTH = 100
MAX_REGION_LENGTH = 50
MAX_NOTE_LENGTH = 4000
MAX_E164_LENGTH = 16
"""``+`` and at most 15 digits (ITU-T E.164 §6.1)."""


class CustomerTier(StrEnum):
    """The customer type queues prioritise on (the ACD's ``customer_type``)."""

    REGULAR = "regular"
    SILVER = "silver"
    GOLD = "gold"
    VIP = "vip"


class PhoneLabel(StrEnum):
    """What kind of number a phone entry is."""

    MOBILE = "mobile"
    WORK = "work"
    HOME = "home"
    FAX = "fax"
    OTHER = "other"


class EventKind(StrEnum):
    """What a customer event is."""

    ORDER = "order"
    APPOINTMENT = "appointment"
    REPAIR = "repair"
    """A repair booking: a technician's visit or a drop-off."""
    VISIT = "visit"
    """A follow-up (return) visit or call to the customer."""


class EventStatus(StrEnum):
    """Where a customer event is; transitions in :data:`EVENT_TRANSITIONS`."""

    PLANNED = "planned"
    CONFIRMED = "confirmed"
    DONE = "done"
    CANCELLED = "cancelled"


#: The statuses each status may change to; anything else is refused with a 409.
EVENT_TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.PLANNED: frozenset(
        {EventStatus.CONFIRMED, EventStatus.DONE, EventStatus.CANCELLED}
    ),
    EventStatus.CONFIRMED: frozenset(
        {EventStatus.PLANNED, EventStatus.DONE, EventStatus.CANCELLED}
    ),
    EventStatus.DONE: frozenset(),
    EventStatus.CANCELLED: frozenset({EventStatus.PLANNED}),
}


class CustomerSettings(TenantOwned, Timestamped, Base):
    """A tenant's CRM settings: the region national numbers are read in."""

    __tablename__ = "customer_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    default_region: Mapped[str | None] = mapped_column(String(2), default=None)
    """ISO 3166-1 alpha-2 (``CN``, ``KR``, ``US`` ...); ``None``: derived from the tenant."""


class Customer(TenantOwned, Timestamped, Base):
    """One customer profile of a tenant."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_customers_tenant_name", "tenant_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(MAX_SHORT_LENGTH), default=None)
    """The customer's key in the tenant's back-office system (imports update by it)."""
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    title: Mapped[str | None] = mapped_column(String(MAX_SHORT_LENGTH), default=None)
    company: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    tier: Mapped[CustomerTier] = mapped_column(str_enum(CustomerTier), default=CustomerTier.REGULAR)
    region: Mapped[str | None] = mapped_column(String(MAX_REGION_LENGTH), default=None)
    """The region callers are routed by (the ACD's region names, e.g. ``north``)."""
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    emails: Mapped[list[Any]] = mapped_column(JSON, default=list)
    addresses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Objects with ``label``, ``line1`` ... ``country`` and ``default`` (the usual one)."""
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """A flat map of names to strings, numbers, booleans or null."""
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    phones: Mapped[list[CustomerPhone]] = relationship(
        order_by="CustomerPhone.position",
        cascade="all, delete-orphan",
        lazy="selectin",
        passive_deletes=True,
    )


class CustomerPhone(TenantOwned, Base):
    """One phone number of a customer, in E.164: the caller-number index."""

    __tablename__ = "customer_phones"
    __table_args__ = (
        UniqueConstraint("customer_id", "e164"),
        Index("ix_customer_phones_tenant_e164", "tenant_id", "e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(MAX_E164_LENGTH))
    label: Mapped[PhoneLabel] = mapped_column(str_enum(PhoneLabel), default=PhoneLabel.MOBILE)
    position: Mapped[int] = mapped_column(Integer, default=0)
    """Order in the profile, from 0 (the first is the one to call back)."""


class CustomerNote(TenantOwned, Timestamped, Base):
    """A note an agent wrote about a customer (on the timeline)."""

    __tablename__ = "customer_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(MAX_SHORT_LENGTH))
    """``user@tenant`` of the writer."""
    body: Mapped[str] = mapped_column(Text)


class CustomerEvent(TenantOwned, Timestamped, Base):
    """An order, appointment, repair booking or follow-up visit, with an optional reminder."""

    __tablename__ = "customer_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    title: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    reference: Mapped[str | None] = mapped_column(String(MAX_SHORT_LENGTH), default=None)
    """An order number or booking reference."""
    details: Mapped[str | None] = mapped_column(Text, default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus), default=EventStatus.PLANNED)
    reminder_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True, default=None)
    """When to remind the customer (by SMS, once the SMS gateway sends them)."""
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_by: Mapped[str] = mapped_column(String(MAX_SHORT_LENGTH))
