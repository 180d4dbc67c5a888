"""The call records' writer for call control.

Every method is one short unit of work committed before it returns, so the database
always holds the call as far as it got: a process killed mid-call loses at most the end
of the segments that were open, which :func:`helpline.calls.service.close_unfinished`
fills in on start. Database errors propagate; call control logs them and goes on with
the call.

A typical inbound call::

    call = await recorder.open(tenant_id, call_id, CallDirection.INBOUND, caller, called, t0)
    ivr = await recorder.segment_start(call, SegmentKind.IVR, t0, node="menu")
    await recorder.segment_end(ivr, t1, SegmentResult.COMPLETED)
    wait = await recorder.segment_start(call, SegmentKind.QUEUE, t1, queue="sales")
    offer = await recorder.segment_start(call, SegmentKind.OFFER, t2, agent="agent2001")
    await recorder.segment_end(offer, t3, SegmentResult.ANSWERED)
    await recorder.segment_end(wait, t3, SegmentResult.ANSWERED)
    await recorder.answered(call, t3, "agent2001")
    talk = await recorder.segment_start(call, SegmentKind.TALK, t3, agent="agent2001")
    await recorder.segment_end(talk, t4)
    await recorder.segment_start(call, SegmentKind.WRAP_UP, t4, agent="agent2001")
    await recorder.close(call, t5, CallOutcome.ANSWERED, HangupSide.CALLER)

A leg Helpline places inside that call (the agent consults a colleague, a supervisor
listens in) is a record of its own, linked to the call::

    leg = await recorder.open(
        tenant_id, leg_id, CallDirection.INTERNAL, "agent2001", "2002", t6,
        parent_call_id=call_id,
    )
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.calls.models import (
    MAX_QUEUE_LENGTH,
    CallDirection,
    CallOutcome,
    CallRecord,
    CallSegment,
    HangupSide,
    QueueEvent,
    QueueEventKind,
    SegmentKind,
    SegmentResult,
)
from helpline.calls.service import settle, with_segments
from helpline.recordings.models import MAX_PARTY_LENGTH, MAX_USERNAME_LENGTH
from helpline.sip.registrar import MAX_CALL_ID_LENGTH

log = logging.getLogger(__name__)

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
#: What a segment's ``detail`` may hold (it is stored as JSON).
DetailValue = str | int | float | bool | None


@dataclass(slots=True)
class RecordHandle:
    """An open call record, as call control holds it for the call's life."""

    record_id: int
    tenant_id: int
    call_id: str
    next_seq: int = field(default=0, repr=False)


@dataclass(frozen=True, slots=True)
class SegmentHandle:
    """A started segment of a call record."""

    record_id: int
    segment_id: int
    kind: SegmentKind


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None


class CallRecorder:
    """Writes the call records of one node through ``unit_of_work`` (for example
    :meth:`helpline.runtime.Runtime.unit_of_work`)."""

    def __init__(self, unit_of_work: UnitOfWork, node: str = "") -> None:
        self._unit_of_work = unit_of_work
        self._node = node

    async def open(
        self,
        tenant_id: int,
        call_id: str,
        direction: CallDirection,
        caller: str,
        called: str,
        started_at: datetime,
        *,
        parent_call_id: str | None = None,
    ) -> RecordHandle:
        """Start the record of a call (``in_progress``); ``call_id`` is the SIP Call-ID
        of the caller's leg, unique per tenant; ``parent_call_id`` links a leg Helpline
        placed inside another call (a consultation, a supervisor's leg) to that call.
        Over-long texts are cut to their columns."""
        record = CallRecord(
            tenant_id=tenant_id,
            call_id=call_id[:MAX_CALL_ID_LENGTH],
            direction=direction,
            caller=caller[:MAX_PARTY_LENGTH],
            called=called[:MAX_PARTY_LENGTH],
            started_at=started_at,
            outcome=CallOutcome.IN_PROGRESS,
            parent_call_id=_cut(parent_call_id, MAX_CALL_ID_LENGTH),
            node=self._node,
        )
        async with self._unit_of_work() as session:
            session.add(record)
            await session.flush()
            handle = RecordHandle(record.id, tenant_id, record.call_id)
        return handle

    async def segment_start(
        self,
        handle: RecordHandle,
        kind: SegmentKind,
        at: datetime,
        *,
        agent: str | None = None,
        queue: str | None = None,
        **detail: DetailValue,
    ) -> SegmentHandle:
        """Start a segment of the call; ``detail`` holds kind-specific facts (IVR node,
        digits, the phone rung, a transfer target ...)."""
        seq = handle.next_seq
        handle.next_seq += 1
        segment = CallSegment(
            record_id=handle.record_id,
            seq=seq,
            kind=kind,
            started_at=at,
            agent=_cut(agent, MAX_USERNAME_LENGTH),
            queue=_cut(queue, MAX_QUEUE_LENGTH),
            detail=dict(detail),
        )
        async with self._unit_of_work() as session:
            session.add(segment)
            await session.flush()
            started = SegmentHandle(handle.record_id, segment.id, kind)
        return started

    async def segment_end(
        self, segment: SegmentHandle, at: datetime, result: SegmentResult | None = None
    ) -> None:
        """End a segment, with how it ended where that matters (offers, queue waits)."""
        async with self._unit_of_work() as session:
            await session.execute(
                update(CallSegment)
                .where(CallSegment.id == segment.segment_id)
                .values(ended_at=at, result=result)
            )

    async def answered(self, handle: RecordHandle, at: datetime, agent: str) -> None:
        """An agent took the call: the record's agent becomes ``agent`` and its outcome
        ``answered`` (kept if the process dies); the first answer time stays."""
        async with self._unit_of_work() as session:
            record = await session.get(CallRecord, handle.record_id)
            if record is None:
                log.warning("call record %s answered but its row is gone", handle.record_id)
                return
            record.answered_at = record.answered_at or at
            record.agent = agent[:MAX_USERNAME_LENGTH]
            record.outcome = CallOutcome.ANSWERED

    async def set(
        self,
        handle: RecordHandle,
        *,
        queue: str | None = None,
        service_id: int | None = None,
        recording_id: int | None = None,
        agent: str | None = None,
        outcome: CallOutcome | None = None,
        hangup_side: HangupSide | None = None,
    ) -> None:
        """Store facts learnt during the call; ``None`` leaves a field as it is. An
        ``outcome`` set before the end (voicemail, callback ...) survives a crash."""
        values: dict[str, Any] = {
            "queue": _cut(queue, MAX_QUEUE_LENGTH),
            "service_id": service_id,
            "recording_id": recording_id,
            "agent": _cut(agent, MAX_USERNAME_LENGTH),
            "outcome": outcome,
            "hangup_side": hangup_side,
        }
        changes = {key: value for key, value in values.items() if value is not None}
        if not changes:
            return
        async with self._unit_of_work() as session:
            await session.execute(
                update(CallRecord).where(CallRecord.id == handle.record_id).values(**changes)
            )

    async def queue_event(
        self,
        tenant_id: int,
        queue: str,
        call_id: str,
        event: QueueEventKind,
        at: datetime,
        agent: str | None = None,
        wait: float | None = None,
        position: int | None = None,
    ) -> None:
        """Append one entry to the queue event log; ``wait`` is how long the caller had
        waited in seconds, ``position`` their place (1 = next)."""
        async with self._unit_of_work() as session:
            session.add(
                QueueEvent(
                    tenant_id=tenant_id,
                    at=at,
                    queue=queue[:MAX_QUEUE_LENGTH],
                    call_id=call_id[:MAX_CALL_ID_LENGTH],
                    event=event,
                    agent=_cut(agent, MAX_USERNAME_LENGTH),
                    wait_seconds=wait,
                    position=position,
                )
            )

    async def close(
        self, handle: RecordHandle, at: datetime, outcome: CallOutcome, hangup_side: HangupSide
    ) -> None:
        """Close the record once the call's work is over (after the agent's wrap-up):
        open segments end at ``at`` and the durations are summed from the segments
        (:func:`helpline.calls.service.settle`)."""
        async with self._unit_of_work() as session:
            record = (
                await session.execute(with_segments(CallRecord.id == handle.record_id))
            ).scalar_one_or_none()
            if record is None:
                log.warning("call record %s closed but its row is gone", handle.record_id)
                return
            settle(record, at=at, outcome=outcome, hangup_side=hangup_side)
