"""Calls cut off by SIGKILL are closed on start from what reached the database."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta
from pathlib import Path

from helpline.calls import service
from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    CallRecord,
    HangupSide,
    SegmentKind,
    SegmentResult,
)
from helpline.calls.recorder import CallRecorder
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.server import recover_node
from tests.calls.factory import T0, recorder, seconds
from tests.recordings.factory import tenant_id

CALLER = Path(__file__).with_name("crash_caller.py")
NODE = "node-killed"


async def _killed_mid_call(runtime: Runtime, tenant: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CALLER),
        runtime.settings.effective_database_url,
        str(runtime.settings.data_dir),
        NODE,
        str(tenant),
        T0.isoformat(),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), timeout=60) == b"ready\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL


async def _records(runtime: Runtime) -> dict[str, CallRecord]:
    async with runtime.unit_of_work() as session:
        rows = (await session.execute(service.with_segments(CallRecord.id > 0))).scalars()
        return {r.call_id: r for r in rows}


async def test_calls_of_a_killed_node_are_closed_at_their_last_activity(
    runtime: Runtime,
) -> None:
    demo = await tenant_id(runtime, "demo")
    elsewhere = CallRecorder(runtime.unit_of_work, "node-alive")
    await elsewhere.open(demo, "alive@test", CallDirection.INBOUND, "+494", "1000", T0)
    await _killed_mid_call(runtime, demo)
    assert all(r.open for r in (await _records(runtime)).values())

    async with runtime.unit_of_work() as session:
        assert await service.close_unfinished(session, node=NODE, now=T0 + seconds(3600)) == 3

    records = await _records(runtime)
    talking = records["talking@test"]
    assert talking.outcome is CallOutcome.ANSWERED, "the answer had been written"
    assert talking.hangup_side is HangupSide.SYSTEM and talking.agent == "agent2001"
    assert talking.ended_at == T0 + seconds(60), "the last talk began at 60 s"
    assert (talking.wait_seconds, talking.talk_seconds, talking.hold_seconds) == (20, 30, 10)
    assert talking.recovered and not talking.open
    last = talking.segments[-1]
    assert last.kind is SegmentKind.TALK and last.ended_at == last.started_at
    assert last.result is SegmentResult.INTERRUPTED
    assert [s.result for s in talking.segments[:-1]] == [SegmentResult.ANSWERED, None, None]

    waiting = records["waiting@test"]
    assert waiting.outcome is CallOutcome.FAILED and waiting.queue == "support"
    assert waiting.ended_at == T0 and waiting.segments[0].result is SegmentResult.INTERRUPTED

    message = records["message@test"]
    assert message.outcome is CallOutcome.VOICEMAIL
    assert message.ended_at == T0 + seconds(3)

    assert records["alive@test"].open, "another node's calls are not touched"
    async with runtime.unit_of_work() as session:
        assert await service.close_unfinished(session, node=NODE, now=T0 + seconds(3600)) == 0


async def test_start_up_closes_this_nodes_open_records_never_after_now(
    runtime: Runtime,
) -> None:
    demo = await tenant_id(runtime, "demo")
    r = recorder(runtime)
    start = utcnow()
    call = await r.open(demo, "restart@test", CallDirection.INBOUND, "+491", "1000", start)
    skewed = start + timedelta(days=1)
    await r.segment_start(call, SegmentKind.QUEUE, skewed, queue="sales")
    lines: list[str] = []
    await recover_node(runtime, report=lines.append)
    assert "closed 1 call record(s) cut off by an earlier run" in lines

    record = (await _records(runtime))["restart@test"]
    assert record.recovered and record.outcome is CallOutcome.FAILED
    assert record.ended_at is not None and start <= record.ended_at < skewed
    assert record.segments[0].ended_at == skewed and record.wait_seconds == 0
