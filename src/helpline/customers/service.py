"""Customers of a tenant: profiles, settings, notes, events and reminders.

The API functions take the tenant from the principal. Phone numbers are normalized to
E.164 in the tenant's default region (:func:`helpline.customers.lookup.tenant_region`)
and kept in ``customer_phones``, the caller-number index. Profile changes, deletions,
settings and events are audited (the audit log keeps names and types, not the contact
details). :func:`add_customer` is the one path every profile is created by: the API,
the CSV importer and the demo.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.customers import timeline as history
from helpline.customers.lookup import (
    CustomerBrief,
    InvalidNumber,
    caller_e164,
    lookup_by_number,
    normalize,
    tenant_region,
)
from helpline.customers.models import (
    EVENT_TRANSITIONS,
    Customer,
    CustomerEvent,
    CustomerNote,
    CustomerPhone,
    CustomerSettings,
    CustomerTier,
    EventStatus,
)
from helpline.customers.schemas import (
    EVENT_NULLABLE,
    NULLABLE,
    CustomerCreate,
    CustomerUpdate,
    EventCreate,
    EventUpdate,
    NoteCreate,
    PhoneIn,
    SettingsUpdate,
)
from helpline.db.base import get_owned

AUDITED = ("external_id", "name", "title", "company", "tier", "region", "language")
EVENT_AUDITED = ("customer_id", "kind", "title", "reference", "status", "scheduled_at")


def _invalid(message: str, error_id: str, field: str, **details: Any) -> ApiError:
    return ApiError(
        message, error_id=error_id, status_code=422, details={"field": field, **details}
    )


def normalize_phones(
    phones: list[PhoneIn], region: str | None, *, field: str = "phones"
) -> list[tuple[str, PhoneIn]]:
    """``(e164, entry)`` for each entry, duplicates dropped; 422
    ``customer_phone_invalid`` naming the first invalid entry."""
    out: dict[str, PhoneIn] = {}
    for n, phone in enumerate(phones):
        try:
            e164 = normalize(phone.number, region)
        except InvalidNumber as exc:
            raise _invalid(
                str(exc), "customer_phone_invalid", f"{field}[{n}].number", region=region
            ) from None
        out.setdefault(e164, phone)
    return list(out.items())


def set_phones(customer: Customer, phones: list[tuple[str, PhoneIn]]) -> None:
    """Replace the customer's numbers, keeping the rows of numbers that stay."""
    kept = {p.e164: p for p in customer.phones}
    rows = []
    for position, (e164, phone) in enumerate(phones):
        row = kept.get(e164) or CustomerPhone(tenant_id=customer.tenant_id, e164=e164)
        row.label = phone.label
        row.position = position
        rows.append(row)
    customer.phones = rows


async def _external_id_free(
    session: AsyncSession, tenant_id: int, external_id: str | None, *, own_id: int | None = None
) -> None:
    if external_id is None:
        return
    stmt = select(Customer.id).where(
        Customer.tenant_id == tenant_id, Customer.external_id == external_id
    )
    if own_id is not None:
        stmt = stmt.where(Customer.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(
            f"a customer with external_id {external_id!r} exists",
            error_id="customer_external_id_taken",
        )


async def get_settings(
    session: AsyncSession, *, principal: Principal
) -> tuple[str | None, str | None]:
    """The tenant's configured default region and the one numbers are read in now."""
    configured = (
        await session.execute(
            select(CustomerSettings.default_region).where(
                CustomerSettings.tenant_id == principal.tenant_id
            )
        )
    ).scalar_one_or_none()
    return configured, await tenant_region(session, principal.tenant_id)


async def update_settings(
    session: AsyncSession, *, principal: Principal, data: SettingsUpdate
) -> tuple[str | None, str | None]:
    """Set the tenant's default region (``None``: derive it from the tenant again).
    Numbers stored already keep their E.164 form."""
    row = (
        await session.execute(
            select(CustomerSettings).where(CustomerSettings.tenant_id == principal.tenant_id)
        )
    ).scalar_one_or_none()
    if row is None:
        row = CustomerSettings(tenant_id=principal.tenant_id)
        session.add(row)
    before = audit.snapshot(row, ("default_region",)) if row.id else None
    row.default_region = data.default_region
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="update",
        entity="customer_settings",
        obj=row,
        fields=("default_region",),
        before=before,
    )
    return await get_settings(session, principal=principal)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_customers(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    q: str | None,
    tier: CustomerTier | None,
    region: str | None,
    tag: str | None,
    external_id: str | None,
) -> tuple[list[Customer], int]:
    """Customers of the principal's tenant; ``q`` finds a part of the name or company,
    or a phone number; ``tag`` one tag exactly."""
    stmt = select(Customer).where(Customer.tenant_id == principal.tenant_id)
    if q:
        pattern = f"%{_like(q)}%"
        matches = [
            Customer.name.ilike(pattern, escape="\\"),
            Customer.company.ilike(pattern, escape="\\"),
        ]
        e164 = caller_e164(q, await tenant_region(session, principal.tenant_id))
        if e164 is not None:
            matches.append(
                Customer.id.in_(
                    select(CustomerPhone.customer_id).where(
                        CustomerPhone.tenant_id == principal.tenant_id, CustomerPhone.e164 == e164
                    )
                )
            )
        stmt = stmt.where(or_(*matches))
    if tag:
        # JSON lists are stored as json.dumps text on both backends.
        stmt = stmt.where(
            cast(Customer.tags, String).like(f"%{_like(json.dumps(tag))}%", escape="\\")
        )
    return await paginate(
        session,
        stmt,
        params,
        sortable={
            "id": Customer.id,
            "name": Customer.name,
            "company": Customer.company,
            "tier": Customer.tier,
            "created_at": Customer.created_at,
            "updated_at": Customer.updated_at,
        },
        filters={
            "tier": (Customer.tier, tier),
            "region": (Customer.region, region),
            "external_id": (Customer.external_id, external_id),
        },
        default_sort=(Customer.name, Customer.id),
    )


async def get_customer(
    session: AsyncSession, *, principal: Principal, customer_id: int
) -> Customer:
    """A customer of the principal's tenant."""
    return await get_owned(
        session, Customer, customer_id, tenant_id=principal.tenant_id, what="customer"
    )


def build_customer(
    *, tenant_id: int, data: CustomerCreate, phones: list[tuple[str, PhoneIn]]
) -> Customer:
    """A new, unsaved customer of ``tenant_id`` with normalized ``phones``."""
    fields = data.model_dump(exclude={"phones"}, mode="json")
    customer = Customer(tenant_id=tenant_id, **fields, phones=[])
    set_phones(customer, phones)
    return customer


async def add_customer(
    session: AsyncSession,
    *,
    tenant_id: int,
    data: CustomerCreate,
    region: str | None,
    actor: Principal | None,
    audited: bool = True,
) -> Customer:
    """A new customer of ``tenant_id``, numbers read in ``region``."""
    await _external_id_free(session, tenant_id, data.external_id)
    customer = build_customer(
        tenant_id=tenant_id, data=data, phones=normalize_phones(data.phones, region)
    )
    session.add(customer)
    if audited:
        await audit.log_change(
            session,
            actor=actor,
            tenant_id=tenant_id,
            action="create",
            entity="customer",
            obj=customer,
            fields=AUDITED,
        )
    return customer


async def create_customer(
    session: AsyncSession, *, principal: Principal, data: CustomerCreate
) -> Customer:
    """A new customer of the principal's tenant."""
    region = await tenant_region(session, principal.tenant_id)
    return await add_customer(
        session, tenant_id=principal.tenant_id, data=data, region=region, actor=principal
    )


def apply_update(customer: Customer, data: CustomerUpdate, region: str | None) -> None:
    """Apply ``data`` to ``customer`` (numbers read in ``region``); no audit, no checks
    against other rows."""
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, mode="json")
    if changes.pop("phones", None) is not None:
        set_phones(customer, normalize_phones(data.phones or [], region))
    audit.apply_changes(customer, changes, nullable=NULLABLE)


async def update_customer(
    session: AsyncSession, *, principal: Principal, customer_id: int, data: CustomerUpdate
) -> Customer:
    """Change a customer of the principal's tenant."""
    customer = await get_customer(session, principal=principal, customer_id=customer_id)
    before = audit.snapshot(customer, AUDITED)
    if data.external_id is not None:
        await _external_id_free(session, customer.tenant_id, data.external_id, own_id=customer.id)
    apply_update(customer, data, await tenant_region(session, principal.tenant_id))
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=customer.tenant_id,
        action="update",
        entity="customer",
        obj=customer,
        fields=AUDITED,
        before=before,
    )
    return customer


async def delete_customer(session: AsyncSession, *, principal: Principal, customer_id: int) -> None:
    """Remove a customer with their numbers, notes and events (call records stay)."""
    customer = await get_customer(session, principal=principal, customer_id=customer_id)
    before = audit.snapshot(customer, AUDITED)
    await session.execute(delete(CustomerNote).where(CustomerNote.customer_id == customer.id))
    await session.execute(delete(CustomerEvent).where(CustomerEvent.customer_id == customer.id))
    await session.delete(customer)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=customer.tenant_id,
        action="delete",
        entity="customer",
        obj=customer,
        fields=AUDITED,
        before=before,
    )


async def lookup(
    session: AsyncSession, *, principal: Principal, number: str
) -> tuple[str | None, CustomerBrief | None]:
    """The E.164 form of a caller number and its customer, for the agent's desktop."""
    region = await tenant_region(session, principal.tenant_id)
    e164 = caller_e164(number, region)
    if e164 is None:
        return None, None
    return e164, await lookup_by_number(session, principal.tenant_id, e164, region=region)


async def customer_timeline(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: int,
    before: datetime | None,
    limit: int,
    only: frozenset[str] | None,
) -> tuple[list[history.TimelineEntry], datetime | None]:
    """A page of the customer's contact history, newest first."""
    customer = await get_customer(session, principal=principal, customer_id=customer_id)
    return await history.timeline(session, customer=customer, before=before, limit=limit, only=only)


async def list_notes(
    session: AsyncSession, *, principal: Principal, customer_id: int, params: PageParams
) -> tuple[list[CustomerNote], int]:
    """The customer's notes, newest first."""
    await get_customer(session, principal=principal, customer_id=customer_id)
    return await paginate(
        session,
        select(CustomerNote).where(CustomerNote.customer_id == customer_id),
        params,
        sortable={"id": CustomerNote.id, "created_at": CustomerNote.created_at},
        default_sort=(CustomerNote.created_at.desc(), CustomerNote.id.desc()),
    )


async def add_note(
    session: AsyncSession, *, principal: Principal, customer_id: int, data: NoteCreate
) -> CustomerNote:
    """A note about a customer, signed by the principal."""
    customer = await get_customer(session, principal=principal, customer_id=customer_id)
    note = CustomerNote(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        author=principal.display,
        body=data.body,
    )
    session.add(note)
    await session.flush()
    return note


async def delete_note(
    session: AsyncSession, *, principal: Principal, customer_id: int, note_id: int
) -> None:
    """Remove a note of a customer."""
    note = await get_owned(
        session, CustomerNote, note_id, tenant_id=principal.tenant_id, what="note"
    )
    if note.customer_id != customer_id:
        raise NotFound("no such note")
    await session.delete(note)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=note.tenant_id,
        action="delete",
        entity="customer_note",
        obj=note,
        fields=("customer_id", "author"),
        before=audit.snapshot(note, ("customer_id", "author")),
    )


async def list_events(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: int,
    params: PageParams,
    status: EventStatus | None,
) -> tuple[list[CustomerEvent], int]:
    """The customer's events, latest scheduled first."""
    await get_customer(session, principal=principal, customer_id=customer_id)
    return await paginate(
        session,
        select(CustomerEvent).where(CustomerEvent.customer_id == customer_id),
        params,
        sortable={
            "id": CustomerEvent.id,
            "scheduled_at": CustomerEvent.scheduled_at,
            "created_at": CustomerEvent.created_at,
        },
        filters={"status": (CustomerEvent.status, status)},
        default_sort=(CustomerEvent.scheduled_at.desc(), CustomerEvent.id.desc()),
    )


async def _event(
    session: AsyncSession, principal: Principal, customer_id: int, event_id: int
) -> CustomerEvent:
    event = await get_owned(
        session, CustomerEvent, event_id, tenant_id=principal.tenant_id, what="event"
    )
    if event.customer_id != customer_id:
        raise NotFound("no such event")
    return event


async def add_event(
    session: AsyncSession, *, principal: Principal, customer_id: int, data: EventCreate
) -> CustomerEvent:
    """A new order, appointment, repair booking or visit of a customer."""
    customer = await get_customer(session, principal=principal, customer_id=customer_id)
    return await insert_event(session, customer=customer, data=data, actor=principal)


async def insert_event(
    session: AsyncSession, *, customer: Customer, data: EventCreate, actor: Principal | None
) -> CustomerEvent:
    """Add an event to ``customer`` (``actor`` ``None``: made by the system)."""
    event = CustomerEvent(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        created_by=actor.display if actor else "system",
        **data.model_dump(),
    )
    session.add(event)
    await audit.log_change(
        session,
        actor=actor,
        tenant_id=customer.tenant_id,
        action="create",
        entity="customer_event",
        obj=event,
        fields=EVENT_AUDITED,
    )
    return event


async def update_event(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: int,
    event_id: int,
    data: EventUpdate,
) -> CustomerEvent:
    """Change an event; 409 ``customer_event_transition`` for a status change the
    workflow does not allow, 422 ``customer_event_reminder`` for a reminder after the
    event. Done or cancelled events keep no pending reminder."""
    event = await _event(session, principal, customer_id, event_id)
    before = audit.snapshot(event, EVENT_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    status = changes.get("status")
    allowed = EVENT_TRANSITIONS[event.status] | {event.status}
    if status is not None and status not in allowed:
        raise Conflict(
            f"an event cannot go from {event.status.value} to {status.value}",
            error_id="customer_event_transition",
            details={"from": event.status.value, "to": status.value},
        )
    audit.apply_changes(event, changes, nullable=EVENT_NULLABLE)
    if event.reminder_at and event.scheduled_at and event.reminder_at > event.scheduled_at:
        raise _invalid(
            "reminder_at must not be after scheduled_at", "customer_event_reminder", "reminder_at"
        )
    if event.status in (EventStatus.DONE, EventStatus.CANCELLED) and event.reminded_at is None:
        event.reminder_at = None
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=event.tenant_id,
        action="update",
        entity="customer_event",
        obj=event,
        fields=EVENT_AUDITED,
        before=before,
    )
    return event


async def delete_event(
    session: AsyncSession, *, principal: Principal, customer_id: int, event_id: int
) -> None:
    """Remove an event of a customer."""
    event = await _event(session, principal, customer_id, event_id)
    before = audit.snapshot(event, EVENT_AUDITED)
    await session.delete(event)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=event.tenant_id,
        action="delete",
        entity="customer_event",
        obj=event,
        fields=EVENT_AUDITED,
        before=before,
    )


async def due_reminders(
    session: AsyncSession, *, now: datetime, limit: int = 100
) -> list[CustomerEvent]:
    """Events of every tenant whose reminder is due and not yet sent, oldest first (for
    the SMS reminder job: send, then :func:`mark_reminded`)."""
    stmt = (
        select(CustomerEvent)
        .where(
            CustomerEvent.reminder_at.is_not(None),
            CustomerEvent.reminder_at <= now,
            CustomerEvent.reminded_at.is_(None),
            CustomerEvent.status.in_((EventStatus.PLANNED, EventStatus.CONFIRMED)),
        )
        .order_by(CustomerEvent.reminder_at, CustomerEvent.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def mark_reminded(session: AsyncSession, *, event: CustomerEvent, at: datetime) -> None:
    """Record that the customer was reminded of ``event``."""
    event.reminded_at = at
    await session.flush()
