"""Call records for tests, written through the recorder as call control writes them."""

from __future__ import annotations

from datetime import datetime, timedelta

from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    HangupSide,
    QueueEventKind,
    SegmentKind,
    SegmentResult,
)
from helpline.calls.recorder import CallRecorder, RecordHandle
from helpline.runtime import Runtime

T0 = datetime.fromisoformat("2026-11-02T09:00:00+00:00")


def seconds(n: float) -> timedelta:
    """``n`` seconds."""
    return timedelta(seconds=n)


def recorder(runtime: Runtime) -> CallRecorder:
    """A recorder of ``runtime``'s node."""
    return CallRecorder(runtime.unit_of_work, runtime.settings.node_name)


async def answered_call(
    runtime: Runtime,
    *,
    tenant: int,
    call_id: str = "call-1@test",
    caller: str = "+4930123456",
    called: str = "1000",
    queue: str = "sales",
    agent: str = "agent2001",
    start: datetime = T0,
) -> RecordHandle:
    """A full inbound call, closed: IVR 10 s -> queue 30 s (an offer to agent2002 rings
    15 s unanswered, one to ``agent`` is answered after 5 s) -> talk 60 s -> hold 20 s
    -> talk 40 s -> caller hangs up -> wrap-up 15 s; with its queue events."""
    r = recorder(runtime)
    call = await r.open(tenant, call_id, CallDirection.INBOUND, caller, called, start)
    ivr = await r.segment_start(call, SegmentKind.IVR, start, node="menu", digits="1")
    await r.segment_end(ivr, start + seconds(10), SegmentResult.COMPLETED)
    await r.set(call, queue=queue, service_id=7)
    wait = await r.segment_start(call, SegmentKind.QUEUE, start + seconds(10), queue=queue)
    await r.queue_event(
        tenant, queue, call_id, QueueEventKind.JOIN, start + seconds(10), position=2
    )
    first = await r.segment_start(
        call, SegmentKind.OFFER, start + seconds(15), agent="agent2002", queue=queue
    )
    await r.segment_end(first, start + seconds(30), SegmentResult.NO_ANSWER)
    offer = await r.segment_start(
        call, SegmentKind.OFFER, start + seconds(35), agent=agent, queue=queue
    )
    await r.segment_end(offer, start + seconds(40), SegmentResult.ANSWERED)
    await r.segment_end(wait, start + seconds(40), SegmentResult.ANSWERED)
    await r.answered(call, start + seconds(40), agent)
    await r.queue_event(
        tenant, queue, call_id, QueueEventKind.ANSWER, start + seconds(40), agent=agent, wait=30
    )
    talk = await r.segment_start(call, SegmentKind.TALK, start + seconds(40), agent=agent)
    await r.segment_end(talk, start + seconds(100))
    hold = await r.segment_start(call, SegmentKind.HOLD, start + seconds(100), agent=agent)
    await r.segment_end(hold, start + seconds(120))
    talk = await r.segment_start(call, SegmentKind.TALK, start + seconds(120), agent=agent)
    await r.segment_end(talk, start + seconds(160))
    await r.segment_start(call, SegmentKind.WRAP_UP, start + seconds(160), agent=agent)
    await r.set(call, recording_id=42)
    await r.close(call, start + seconds(175), CallOutcome.ANSWERED, HangupSide.CALLER)
    return call
