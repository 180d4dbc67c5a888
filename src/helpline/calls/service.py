"""Call records: closing a record from its segments, crash recovery, and the API.

A record's durations are never counted by call control; they are summed from its
segments when the record closes (:func:`settle`): ``ivr``, ``queue`` (the wait),
``talk``, ``hold`` and ``wrap_up`` segments each add to their column; offers, rings
and transfers are kept for the timeline only. The record's ``ended_at`` is when the
caller's connection ended: the start of the first wrap-up segment, else the closing
time. A node killed mid-call leaves open records behind; :func:`close_unfinished`, run
once at start, closes them at their last known activity, keeping an outcome that had
already been decided (an answered call stays answered) and ``failed`` otherwise.

The API functions take the tenant from the principal. Supervisors and tenant admins see
every record of the tenant, an agent only the calls they took; the agent who took a
call, or a supervisor, sets its disposition and notes. Disposition codes are the
built-in :data:`BUILTIN_DISPOSITIONS` plus the tenant's custom codes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    CallRecord,
    Disposition,
    HangupSide,
    QueueEvent,
    QueueEventKind,
    SegmentKind,
    SegmentResult,
)
from helpline.calls.schemas import (
    CallRecordUpdate,
    DispositionCreate,
    DispositionUpdate,
)
from helpline.core.errors import ApiError, Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.users.models import Role, SipAccount

log = logging.getLogger(__name__)

#: Codes every tenant has, with their labels; custom codes cannot take these.
BUILTIN_DISPOSITIONS: dict[str, str] = {
    "complaint": "Complaint",
    "consultation": "Consultation",
    "suggestion": "Suggestion",
}
MAX_CUSTOM_DISPOSITIONS = 200
RECORD_AUDITED = ("call_id", "agent", "disposition", "notes")
DISPOSITION_AUDITED = ("code", "label", "active")
_COUNTED = {
    SegmentKind.IVR: "ivr_seconds",
    SegmentKind.QUEUE: "wait_seconds",
    SegmentKind.TALK: "talk_seconds",
    SegmentKind.HOLD: "hold_seconds",
    SegmentKind.WRAP_UP: "wrap_up_seconds",
}


@dataclass(frozen=True, slots=True)
class BuiltinDisposition:
    """A built-in disposition code as the API lists it (it has no row)."""

    code: str
    label: str
    id: None = None
    builtin: bool = True
    active: bool = True


def settle(
    record: CallRecord,
    *,
    at: datetime,
    outcome: CallOutcome,
    hangup_side: HangupSide,
    recovered: bool = False,
) -> None:
    """Close ``record`` (its ``segments`` loaded) at ``at``: open segments end there
    (``interrupted`` when ``recovered``), the durations are summed from the segments and
    ``ended_at`` is the start of the first wrap-up segment, else ``at``."""
    totals = dict.fromkeys(_COUNTED.values(), 0.0)
    wrap_up_start: datetime | None = None
    for segment in record.segments:
        if segment.ended_at is None:
            segment.ended_at = max(at, segment.started_at)
            if recovered:
                segment.result = SegmentResult.INTERRUPTED
        if segment.kind in _COUNTED:
            seconds = (segment.ended_at - segment.started_at).total_seconds()
            totals[_COUNTED[segment.kind]] += seconds
        if segment.kind is SegmentKind.WRAP_UP and wrap_up_start is None:
            wrap_up_start = segment.started_at
    for column, seconds in totals.items():
        setattr(record, column, seconds)
    record.outcome = outcome
    record.hangup_side = hangup_side
    record.ended_at = wrap_up_start or at
    record.open = False
    record.recovered = recovered


def last_activity(record: CallRecord) -> datetime:
    """The latest moment ``record`` (its ``segments`` loaded) is known to have lived."""
    moments = [record.started_at]
    if record.answered_at is not None:
        moments.append(record.answered_at)
    for segment in record.segments:
        moments.append(segment.started_at)
        if segment.ended_at is not None:
            moments.append(segment.ended_at)
    return max(moments)


def with_segments(*conditions: ColumnElement[bool]) -> Select[CallRecord]:
    """A query for the records matching ``conditions`` with their segments loaded."""
    return select(CallRecord).options(selectinload(CallRecord.segments)).where(*conditions)


async def close_unfinished(session: AsyncSession, *, node: str = "", now: datetime) -> int:
    """Close every open record of this ``node`` (every tenant), left by a crash: its
    open segments end at its last known activity (never after ``now``), which becomes
    its end; the outcome stays if it had been decided, else ``failed``; the hang-up side
    is ``system`` unless known, and ``recovered`` is set. How many it closed.

    Run once at start, before calls are taken: it assumes no call of the node is live.
    """
    rows = (
        await session.execute(
            with_segments(CallRecord.open.is_(True), CallRecord.node == node).order_by(
                CallRecord.id
            )
        )
    ).scalars()
    count = 0
    for record in rows:
        outcome = record.outcome
        if outcome is CallOutcome.IN_PROGRESS:
            outcome = CallOutcome.FAILED
        settle(
            record,
            at=min(last_activity(record), now),
            outcome=outcome,
            hangup_side=record.hangup_side or HangupSide.SYSTEM,
            recovered=True,
        )
        log.info(
            "call record %s (tenant %s, call %s) after a crash: %s, ended %s",
            record.id,
            record.tenant_id,
            record.call_id,
            outcome.value,
            record.ended_at,
        )
        count += 1
    return count


def _own_calls_only(principal: Principal) -> bool:
    return not principal.has(Role.SUPERVISOR)


async def agent_names(session: AsyncSession, principal: Principal) -> list[str]:
    """The names a user's calls are recorded under: the user name and the SIP accounts
    they own (call control records the phone's account that answered)."""
    accounts = await session.scalars(
        select(SipAccount.username).where(
            SipAccount.tenant_id == principal.tenant_id, SipAccount.user_id == principal.user_id
        )
    )
    return [principal.username, *accounts]


async def list_records(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
    queue: str | None = None,
    agent: str | None = None,
    outcome: CallOutcome | None = None,
    caller: str | None = None,
    called: str | None = None,
    direction: CallDirection | None = None,
    disposition: str | None = None,
    call_id: str | None = None,
    parent_call_id: str | None = None,
) -> tuple[list[CallRecord], int]:
    """Records of the principal's tenant (an agent's own calls only), newest first by
    default; ``started_from`` is inclusive, ``started_to`` exclusive."""
    stmt = select(CallRecord).where(CallRecord.tenant_id == principal.tenant_id)
    if _own_calls_only(principal):
        stmt = stmt.where(CallRecord.agent.in_(await agent_names(session, principal)))
    if started_from is not None:
        stmt = stmt.where(CallRecord.started_at >= started_from)
    if started_to is not None:
        stmt = stmt.where(CallRecord.started_at < started_to)
    return await paginate(
        session,
        stmt,
        params,
        sortable={
            "id": CallRecord.id,
            "started_at": CallRecord.started_at,
            "wait_seconds": CallRecord.wait_seconds,
            "talk_seconds": CallRecord.talk_seconds,
            "caller": CallRecord.caller,
            "agent": CallRecord.agent,
            "queue": CallRecord.queue,
        },
        filters={
            "queue": (CallRecord.queue, queue),
            "agent": (CallRecord.agent, agent),
            "outcome": (CallRecord.outcome, outcome),
            "caller": (CallRecord.caller, caller),
            "called": (CallRecord.called, called),
            "direction": (CallRecord.direction, direction),
            "disposition": (CallRecord.disposition, disposition),
            "call_id": (CallRecord.call_id, call_id),
            "parent_call_id": (CallRecord.parent_call_id, parent_call_id),
        },
        default_sort=(CallRecord.started_at.desc(), CallRecord.id.desc()),
    )


async def legs_of(session: AsyncSession, *, record: CallRecord) -> list[CallRecord]:
    """The legs placed inside ``record``'s call (consultations, supervisors' legs) with
    their segments, in the order they started."""
    stmt = with_segments(
        CallRecord.tenant_id == record.tenant_id, CallRecord.parent_call_id == record.call_id
    ).order_by(CallRecord.started_at, CallRecord.id)
    return list((await session.execute(stmt)).scalars())


async def get_record(session: AsyncSession, *, principal: Principal, record_id: int) -> CallRecord:
    """A record of the principal's tenant with its segments; an agent gets only the
    calls they took."""
    record = (
        await session.execute(
            with_segments(CallRecord.id == record_id, CallRecord.tenant_id == principal.tenant_id)
        )
    ).scalar_one_or_none()
    if record is None or (
        _own_calls_only(principal) and record.agent not in await agent_names(session, principal)
    ):
        raise NotFound("no such call record")
    return record


async def _check_disposition(session: AsyncSession, *, tenant_id: int, code: str) -> None:
    if code in BUILTIN_DISPOSITIONS:
        return
    row = (
        await session.execute(
            select(Disposition).where(Disposition.tenant_id == tenant_id, Disposition.code == code)
        )
    ).scalar_one_or_none()
    if row is None:
        raise ApiError(
            f"no disposition {code!r}; see /dispositions",
            error_id="unknown_disposition",
            status_code=422,
            details={"field": "disposition"},
        )
    if not row.active:
        raise ApiError(
            f"disposition {code!r} is no longer in use",
            error_id="disposition_inactive",
            status_code=422,
            details={"field": "disposition"},
        )


async def update_record(
    session: AsyncSession, *, principal: Principal, record_id: int, data: CallRecordUpdate
) -> CallRecord:
    """Set the disposition and notes of a call (the agent who took it, or a supervisor);
    ``null`` clears them, an unchanged disposition is not checked again."""
    record = await get_record(session, principal=principal, record_id=record_id)
    before = audit.snapshot(record, RECORD_AUDITED)
    changes = data.model_dump(exclude_unset=True)
    code = changes.get("disposition")
    if code is not None and code != record.disposition:
        await _check_disposition(session, tenant_id=record.tenant_id, code=code)
    audit.apply_changes(record, changes, nullable=("disposition", "notes"))
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=record.tenant_id,
        action="update",
        entity="call_record",
        obj=record,
        fields=RECORD_AUDITED,
        before=before,
    )
    return record


async def list_dispositions(
    session: AsyncSession, *, principal: Principal, active: bool | None = None
) -> list[BuiltinDisposition | Disposition]:
    """The built-in codes, then the tenant's custom codes by code."""
    stmt = select(Disposition).where(Disposition.tenant_id == principal.tenant_id)
    if active is not None:
        stmt = stmt.where(Disposition.active.is_(active))
    custom = (await session.execute(stmt.order_by(Disposition.code))).scalars()
    builtin: Iterable[BuiltinDisposition] = (
        [BuiltinDisposition(code, label) for code, label in BUILTIN_DISPOSITIONS.items()]
        if active is not False
        else []
    )
    return [*builtin, *custom]


async def get_disposition(
    session: AsyncSession, *, principal: Principal, disposition_id: int
) -> Disposition:
    """A custom disposition of the principal's tenant."""
    return await get_owned(
        session, Disposition, disposition_id, tenant_id=principal.tenant_id, what="disposition"
    )


async def create_disposition(
    session: AsyncSession, *, principal: Principal, data: DispositionCreate
) -> Disposition:
    """A new custom disposition code of the principal's tenant."""
    tenant_id = principal.tenant_id
    if data.code in BUILTIN_DISPOSITIONS:
        raise Conflict(f"{data.code!r} is a built-in code", error_id="disposition_code_taken")
    taken = select(Disposition.id).where(
        Disposition.tenant_id == tenant_id, Disposition.code == data.code
    )
    if (await session.execute(taken)).first() is not None:
        raise Conflict(f"disposition {data.code!r} exists", error_id="disposition_code_taken")
    count = select(func.count(Disposition.id)).where(Disposition.tenant_id == tenant_id)
    if (await session.execute(count)).scalar_one() >= MAX_CUSTOM_DISPOSITIONS:
        raise Conflict(
            f"a tenant has at most {MAX_CUSTOM_DISPOSITIONS} custom dispositions",
            error_id="too_many_dispositions",
        )
    disposition = Disposition(tenant_id=tenant_id, **data.model_dump())
    session.add(disposition)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=tenant_id,
        action="create",
        entity="disposition",
        obj=disposition,
        fields=DISPOSITION_AUDITED,
    )
    return disposition


async def update_disposition(
    session: AsyncSession, *, principal: Principal, disposition_id: int, data: DispositionUpdate
) -> Disposition:
    """Relabel a custom disposition or take it out of (or back into) use."""
    disposition = await get_disposition(session, principal=principal, disposition_id=disposition_id)
    before = audit.snapshot(disposition, DISPOSITION_AUDITED)
    audit.apply_changes(disposition, data.model_dump(exclude_unset=True))
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=disposition.tenant_id,
        action="update",
        entity="disposition",
        obj=disposition,
        fields=DISPOSITION_AUDITED,
        before=before,
    )
    return disposition


async def delete_disposition(
    session: AsyncSession, *, principal: Principal, disposition_id: int
) -> None:
    """Remove a custom disposition; records keep the code they were given."""
    disposition = await get_disposition(session, principal=principal, disposition_id=disposition_id)
    before = audit.snapshot(disposition, DISPOSITION_AUDITED)
    await session.delete(disposition)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=disposition.tenant_id,
        action="delete",
        entity="disposition",
        obj=disposition,
        fields=DISPOSITION_AUDITED,
        before=before,
    )


async def list_queue_events(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    at_from: datetime | None = None,
    at_to: datetime | None = None,
    queue: str | None = None,
    event: QueueEventKind | None = None,
    agent: str | None = None,
    call_id: str | None = None,
) -> tuple[list[QueueEvent], int]:
    """The queue event log of the principal's tenant, newest first by default;
    ``at_from`` is inclusive, ``at_to`` exclusive."""
    stmt = select(QueueEvent).where(QueueEvent.tenant_id == principal.tenant_id)
    if at_from is not None:
        stmt = stmt.where(QueueEvent.at >= at_from)
    if at_to is not None:
        stmt = stmt.where(QueueEvent.at < at_to)
    return await paginate(
        session,
        stmt,
        params,
        sortable={"id": QueueEvent.id, "at": QueueEvent.at, "queue": QueueEvent.queue},
        filters={
            "queue": (QueueEvent.queue, queue),
            "event": (QueueEvent.event, event),
            "agent": (QueueEvent.agent, agent),
            "call_id": (QueueEvent.call_id, call_id),
        },
        default_sort=(QueueEvent.at.desc(), QueueEvent.id.desc()),
    )
