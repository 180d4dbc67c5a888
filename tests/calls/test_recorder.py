"""The recorder writes a call's record as it happens and closes it from its segments."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    CallRecord,
    HangupSide,
    QueueEvent,
    QueueEventKind,
    SegmentKind,
    SegmentResult,
)
from helpline.calls.recorder import RecordHandle
from helpline.calls.service import with_segments
from helpline.runtime import Runtime
from tests.calls.factory import T0, answered_call, recorder, seconds
from tests.recordings.factory import tenant_id


async def _load(runtime: Runtime, handle: RecordHandle) -> CallRecord:
    async with runtime.unit_of_work() as session:
        return (
            await session.execute(with_segments(CallRecord.id == handle.record_id))
        ).scalar_one()


async def test_a_full_call_gets_its_timeline_and_durations(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    record = await _load(runtime, await answered_call(runtime, tenant=demo))

    assert (record.outcome, record.hangup_side) == (CallOutcome.ANSWERED, HangupSide.CALLER)
    assert (record.agent, record.queue, record.service_id) == ("agent2001", "sales", 7)
    assert record.recording_id == 42 and record.direction is CallDirection.INBOUND
    assert record.started_at == T0 and record.answered_at == T0 + seconds(40)
    assert record.ended_at == T0 + seconds(160), "the caller left when wrap-up began"
    assert record.ivr_seconds == 10 and record.wait_seconds == 30
    assert record.talk_seconds == 100 and record.hold_seconds == 20
    assert record.wrap_up_seconds == 15
    assert not record.open and not record.recovered
    timeline = [
        (s.seq, s.kind, s.agent, s.result, (s.ended_at - s.started_at).total_seconds())
        for s in record.segments
        if s.ended_at is not None
    ]
    assert timeline == [
        (0, SegmentKind.IVR, None, SegmentResult.COMPLETED, 10),
        (1, SegmentKind.QUEUE, None, SegmentResult.ANSWERED, 30),
        (2, SegmentKind.OFFER, "agent2002", SegmentResult.NO_ANSWER, 15),
        (3, SegmentKind.OFFER, "agent2001", SegmentResult.ANSWERED, 5),
        (4, SegmentKind.TALK, "agent2001", None, 60),
        (5, SegmentKind.HOLD, "agent2001", None, 20),
        (6, SegmentKind.TALK, "agent2001", None, 40),
        (7, SegmentKind.WRAP_UP, "agent2001", None, 15),
    ]
    assert record.segments[0].detail == {"node": "menu", "digits": "1"}
    assert record.segments[1].queue == "sales"

    async with runtime.unit_of_work() as session:
        events = (await session.execute(select(QueueEvent).order_by(QueueEvent.id))).scalars()
        log = [(e.event, e.agent, e.wait_seconds, e.position) for e in events]
    assert log == [
        (QueueEventKind.JOIN, None, None, 2),
        (QueueEventKind.ANSWER, "agent2001", 30, None),
    ]


async def test_a_caller_who_hangs_up_in_the_queue_is_abandoned_with_the_wait(
    runtime: Runtime,
) -> None:
    demo = await tenant_id(runtime, "demo")
    r = recorder(runtime)
    call = await r.open(demo, "gone@test", CallDirection.INBOUND, "+491", "1000", T0)
    ivr = await r.segment_start(call, SegmentKind.IVR, T0)
    await r.segment_end(ivr, T0 + seconds(8))
    await r.segment_start(call, SegmentKind.QUEUE, T0 + seconds(8), queue="support")
    offer = await r.segment_start(call, SegmentKind.OFFER, T0 + seconds(20), agent="agent2003")
    await r.close(call, T0 + seconds(50), CallOutcome.ABANDONED_QUEUE, HangupSide.CALLER)

    record = await _load(runtime, call)
    assert record.outcome is CallOutcome.ABANDONED_QUEUE
    assert record.wait_seconds == 42 and record.ivr_seconds == 8
    assert record.talk_seconds == 0 and record.answered_at is None and record.agent is None
    assert record.ended_at == T0 + seconds(50)
    assert all(s.ended_at == T0 + seconds(50) for s in record.segments[1:])
    assert next(s for s in record.segments if s.id == offer.segment_id).result is None


@pytest.mark.parametrize(
    ("outcome", "side"),
    [
        (CallOutcome.BLACKLISTED, HangupSide.SYSTEM),
        (CallOutcome.REJECTED, HangupSide.SYSTEM),
        (CallOutcome.ABANDONED_IVR, HangupSide.CALLER),
        (CallOutcome.TRANSFERRED_OUT, HangupSide.AGENT),
    ],
)
async def test_every_outcome_is_stored_as_given(
    runtime: Runtime, outcome: CallOutcome, side: HangupSide
) -> None:
    demo = await tenant_id(runtime, "demo")
    r = recorder(runtime)
    call = await r.open(demo, f"{outcome}@test", CallDirection.INBOUND, "+491", "1000", T0)
    await r.close(call, T0 + seconds(1), outcome, side)
    record = await _load(runtime, call)
    assert (record.outcome, record.hangup_side) == (outcome, side)
    assert record.ended_at == T0 + seconds(1) and record.segments == []
    assert record.wait_seconds == record.talk_seconds == record.wrap_up_seconds == 0


async def test_a_transfer_keeps_the_first_answer_and_names_the_last_agent(
    runtime: Runtime,
) -> None:
    demo = await tenant_id(runtime, "demo")
    r = recorder(runtime)
    call = await r.open(demo, "xfer@test", CallDirection.INBOUND, "+491", "1000", T0)
    await r.answered(call, T0 + seconds(5), "agent2001")
    transfer = await r.segment_start(call, SegmentKind.TRANSFER, T0 + seconds(30), to="2002")
    await r.segment_end(transfer, T0 + seconds(35), SegmentResult.ANSWERED)
    await r.answered(call, T0 + seconds(35), "agent2002")
    await r.close(call, T0 + seconds(90), CallOutcome.ANSWERED, HangupSide.AGENT)
    record = await _load(runtime, call)
    assert record.answered_at == T0 + seconds(5) and record.agent == "agent2002"
    assert record.segments[0].detail == {"to": "2002"}


async def test_a_call_id_is_unique_within_a_tenant_only(runtime: Runtime) -> None:
    demo, system = await tenant_id(runtime, "demo"), await tenant_id(runtime, "system")
    r = recorder(runtime)
    await r.open(demo, "same@test", CallDirection.INBOUND, "+491", "1000", T0)
    await r.open(system, "same@test", CallDirection.OUTBOUND, "2001", "+491", T0)
    with pytest.raises(IntegrityError):
        await r.open(demo, "same@test", CallDirection.INBOUND, "+491", "1000", T0)
