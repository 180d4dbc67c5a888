"""A customer's contact history: one timeline merged from independent sources.

Each source (:class:`TimelineSource`) returns the newest entries of its own kind for a
customer before a point in time; :func:`timeline` asks every registered source for one
page and merges them newest first. Adding work orders, SMS or surveys is one class with
an ``entries`` method and a :func:`register_source` call in that domain; nothing here
changes.

The built-in sources are calls (call records whose caller or dialed number is one of
the customer's numbers, in any spelling :func:`~helpline.customers.lookup.number_forms`
knows, with their recording), notes, and the customer's orders, appointments, repair
bookings and visits (dated by their scheduled time, else their creation).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.calls.models import CallDirection, CallRecord
from helpline.customers.lookup import number_forms
from helpline.customers.models import Customer, CustomerEvent, CustomerNote
from helpline.recordings.models import Recording

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened with a customer."""

    kind: str
    at: datetime
    ref_id: int
    title: str
    detail: dict[str, Scalar] = field(default_factory=dict)


class TimelineSource(Protocol):
    """Where some kind of timeline entry comes from."""

    name: str

    async def entries(
        self,
        session: AsyncSession,
        *,
        customer: Customer,
        before: datetime | None,
        limit: int,
    ) -> list[TimelineEntry]:
        """At most ``limit`` entries about ``customer`` strictly before ``before`` (all
        if ``None``), newest first. ``customer.phones`` is loaded."""
        ...


class CallSource:
    """Calls from or to one of the customer's numbers, with their recording."""

    name = "calls"

    async def entries(
        self,
        session: AsyncSession,
        *,
        customer: Customer,
        before: datetime | None,
        limit: int,
    ) -> list[TimelineEntry]:
        """Call records of the customer's tenant matching a number of the customer."""
        forms = sorted(set().union(*(number_forms(p.e164) for p in customer.phones)))
        if not forms:
            return []
        stmt = (
            select(CallRecord, Recording.duration_seconds)
            .outerjoin(
                Recording,
                (Recording.id == CallRecord.recording_id)
                & (Recording.tenant_id == CallRecord.tenant_id),
            )
            .where(
                CallRecord.tenant_id == customer.tenant_id,
                or_(CallRecord.caller.in_(forms), CallRecord.called.in_(forms)),
            )
            .order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(CallRecord.started_at < before)
        out = []
        for record, recording_seconds in (await session.execute(stmt)).all():
            inbound = record.direction is not CallDirection.OUTBOUND
            out.append(
                TimelineEntry(
                    kind="call",
                    at=record.started_at,
                    ref_id=record.id,
                    title=f"{'inbound' if inbound else 'outbound'} call: {record.outcome.value}",
                    detail={
                        "direction": record.direction.value,
                        "outcome": record.outcome.value,
                        "number": record.caller if inbound else record.called,
                        "queue": record.queue,
                        "agent": record.agent,
                        "talk_seconds": record.talk_seconds,
                        "disposition": record.disposition,
                        "notes": record.notes,
                        "recording_id": record.recording_id
                        if recording_seconds is not None
                        else None,
                        "recording_seconds": recording_seconds,
                    },
                )
            )
        return out


class NoteSource:
    """Notes agents wrote about the customer."""

    name = "notes"

    async def entries(
        self,
        session: AsyncSession,
        *,
        customer: Customer,
        before: datetime | None,
        limit: int,
    ) -> list[TimelineEntry]:
        """The customer's notes."""
        stmt = (
            select(CustomerNote)
            .where(CustomerNote.customer_id == customer.id)
            .order_by(CustomerNote.created_at.desc(), CustomerNote.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(CustomerNote.created_at < before)
        return [
            TimelineEntry(
                kind="note",
                at=note.created_at,
                ref_id=note.id,
                title=note.body[:80],
                detail={"author": note.author, "body": note.body},
            )
            for note in (await session.execute(stmt)).scalars()
        ]


class EventSource:
    """Orders, appointments, repair bookings and visits, at their scheduled time."""

    name = "events"

    async def entries(
        self,
        session: AsyncSession,
        *,
        customer: Customer,
        before: datetime | None,
        limit: int,
    ) -> list[TimelineEntry]:
        """The customer's events."""
        when = func.coalesce(CustomerEvent.scheduled_at, CustomerEvent.created_at)
        stmt = (
            select(CustomerEvent)
            .where(CustomerEvent.customer_id == customer.id)
            .order_by(when.desc(), CustomerEvent.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(when < before)
        return [
            TimelineEntry(
                kind=event.kind.value,
                at=event.scheduled_at or event.created_at,
                ref_id=event.id,
                title=event.title,
                detail={
                    "status": event.status.value,
                    "reference": event.reference,
                    "details": event.details,
                    "reminder_at": event.reminder_at.isoformat() if event.reminder_at else None,
                },
            )
            for event in (await session.execute(stmt)).scalars()
        ]


_SOURCES: list[TimelineSource] = [CallSource(), NoteSource(), EventSource()]


def register_source(source: TimelineSource) -> None:
    """Add a source to every customer's timeline (once per name)."""
    if all(s.name != source.name for s in _SOURCES):
        _SOURCES.append(source)


def sources() -> tuple[TimelineSource, ...]:
    """The registered sources."""
    return tuple(_SOURCES)


async def timeline(
    session: AsyncSession,
    *,
    customer: Customer,
    before: datetime | None,
    limit: int,
    only: frozenset[str] | None = None,
) -> tuple[list[TimelineEntry], datetime | None]:
    """Up to ``limit`` entries before ``before``, newest first, and the ``before`` of the
    next page (``None`` at the end). ``only`` keeps the sources of those names."""
    pages = [
        await source.entries(session, customer=customer, before=before, limit=limit + 1)
        for source in _SOURCES
        if only is None or source.name in only
    ]
    merged = list(heapq.merge(*pages, key=lambda e: e.at, reverse=True))
    page = merged[:limit]
    if len(merged) <= limit or not page:
        return page, None
    # Entries sharing the time of the first left out go to the next page together.
    boundary = merged[limit].at
    whole = [e for e in page if e.at != boundary]
    page = whole or page
    return page, page[-1].at
