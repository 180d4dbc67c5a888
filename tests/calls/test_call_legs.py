"""Records of the legs Helpline places inside a call (consultations, supervisors' legs):
linked to their call, closed with a leg's outcome, shown under the call by the API and
closed after a crash like any record; on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    CallRecord,
    HangupSide,
    SegmentKind,
    SegmentResult,
)
from helpline.calls.service import close_unfinished, with_segments
from helpline.runtime import Runtime
from helpline.telephony.calllog import CallLog, Entry
from tests.calls.factory import T0, answered_call, recorder, seconds
from tests.conftest import DEMO_PASSWORD, login
from tests.recordings.factory import tenant_id


async def _by_call_id(runtime: Runtime, call_id: str) -> CallRecord:
    async with runtime.unit_of_work() as session:
        return (await session.execute(with_segments(CallRecord.call_id == call_id))).scalar_one()


@pytest.fixture
async def call_with_legs(runtime: Runtime) -> int:
    """agent2001's answered call "a@test" with a consultation of 2002 (answered, 30 s
    talk) and a supervisor who listened 10 s then whispered 5 s."""
    demo = await tenant_id(runtime, "demo")
    parent = await answered_call(runtime, tenant=demo, call_id="a@test")
    r = recorder(runtime)
    start = T0 + seconds(50)
    consult = await r.open(
        demo, "cons@test", CallDirection.INTERNAL, "agent2001", "2002", start,
        parent_call_id="a@test",
    )  # fmt: skip
    ring = await r.segment_start(consult, SegmentKind.RING, start, agent="2002")
    await r.segment_end(ring, start + seconds(4), SegmentResult.ANSWERED)
    await r.answered(consult, start + seconds(4), "2002")
    await r.segment_start(consult, SegmentKind.TALK, start + seconds(4), agent="2002")
    await r.close(consult, start + seconds(34), CallOutcome.ANSWERED, HangupSide.SYSTEM)

    later = T0 + seconds(90)
    spy = await r.open(
        demo, "spy@test", CallDirection.INTERNAL, "supervisor", "agent2001", later,
        parent_call_id="a@test",
    )  # fmt: skip
    await r.answered(spy, later, "supervisor")
    listen = await r.segment_start(spy, SegmentKind.TALK, later, agent="supervisor", mode="listen")
    await r.segment_end(listen, later + seconds(10), SegmentResult.COMPLETED)
    await r.segment_start(
        spy, SegmentKind.TALK, later + seconds(10), agent="supervisor",
        mode="whisper", previous="listen",
    )  # fmt: skip
    await r.close(spy, later + seconds(15), CallOutcome.ANSWERED, HangupSide.CALLER)
    return parent.record_id


async def test_a_leg_record_is_linked_to_its_call_and_summed_like_a_call(
    runtime: Runtime, call_with_legs: int
) -> None:
    consult = await _by_call_id(runtime, "cons@test")
    assert consult.parent_call_id == "a@test"
    assert (consult.direction, consult.caller, consult.called) == (
        CallDirection.INTERNAL,
        "agent2001",
        "2002",
    )
    assert (consult.outcome, consult.agent, consult.open) == (CallOutcome.ANSWERED, "2002", False)
    assert consult.talk_seconds == 30
    assert [(s.kind, s.result) for s in consult.segments] == [
        (SegmentKind.RING, SegmentResult.ANSWERED),
        (SegmentKind.TALK, None),
    ]
    parent = await _by_call_id(runtime, "a@test")
    assert parent.parent_call_id is None


async def test_the_api_shows_a_calls_legs_and_filters_by_parent(
    client: httpx.AsyncClient, call_with_legs: int
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    got = await client.get(f"/api/v1/call-records/{call_with_legs}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["parent_call_id"] is None
    legs = body["legs"]
    assert [leg["call_id"] for leg in legs] == ["cons@test", "spy@test"]
    assert all(leg["parent_call_id"] == "a@test" for leg in legs)
    spy = legs[1]
    assert (spy["caller"], spy["called"], spy["outcome"]) == ("supervisor", "agent2001", "answered")
    assert [s["detail"] for s in spy["segments"]] == [
        {"mode": "listen"},
        {"mode": "whisper", "previous": "listen"},
    ]
    assert spy["talk_seconds"] == 15

    page = await client.get("/api/v1/call-records", params={"parent_call_id": "a@test"})
    assert page.status_code == 200, page.text
    assert {item["call_id"] for item in page.json()["items"]} == {"cons@test", "spy@test"}
    leg = await client.get(f"/api/v1/call-records/{legs[0]['id']}")
    assert leg.json()["parent_call_id"] == "a@test" and leg.json()["legs"] == []


async def test_a_crash_mid_consultation_closes_the_leg_on_start(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    r = recorder(runtime)
    parent = await r.open(demo, "p@test", CallDirection.INBOUND, "+4930", "1000", T0)
    await r.answered(parent, T0, "agent2001")
    await r.segment_start(parent, SegmentKind.HOLD, T0 + seconds(5), agent="agent2001")
    leg = await r.open(
        demo, "c@test", CallDirection.OUTBOUND, "agent2001", "+4940", T0 + seconds(5),
        parent_call_id="p@test",
    )  # fmt: skip
    await r.segment_start(leg, SegmentKind.RING, T0 + seconds(5), number="+4940")

    async with runtime.unit_of_work() as session:
        closed = await close_unfinished(
            session, node=runtime.settings.node_name, now=T0 + seconds(60)
        )
    assert closed == 2
    record = await _by_call_id(runtime, "c@test")
    assert (record.open, record.recovered, record.outcome) == (False, True, CallOutcome.FAILED)
    assert record.parent_call_id == "p@test" and record.ended_at == T0 + seconds(5)


@pytest.mark.parametrize(
    ("failure", "outcome", "result"),
    [
        (486, CallOutcome.BUSY, SegmentResult.BUSY),
        (480, CallOutcome.NO_ANSWER, SegmentResult.NO_ANSWER),
        (None, CallOutcome.CANCELLED, SegmentResult.CANCELLED),
        (503, CallOutcome.FAILED, SegmentResult.FAILED),
    ],
)
async def test_an_unanswered_leg_ends_with_why_it_failed(
    runtime: Runtime, failure: int | None, outcome: CallOutcome, result: SegmentResult
) -> None:
    demo = await tenant_id(runtime, "demo")
    calllog = CallLog(runtime)
    entry = await calllog.open(
        demo, "leg@test", "agent2001", "2002", CallDirection.INTERNAL, parent="p@test"
    )
    await calllog.segment(entry, SegmentKind.RING, agent="2002")
    if failure is not None:
        entry.failed(failure)
    await calllog.close(entry)

    record = await _by_call_id(runtime, "leg@test")
    assert (record.outcome, record.parent_call_id) == (outcome, "p@test")
    assert [(s.kind, s.result) for s in record.segments] == [(SegmentKind.RING, result)]


def test_a_call_that_failed_keeps_the_outcome_of_a_call() -> None:
    entry = Entry()
    entry.failed(486)
    assert CallLog.outcome(entry) is CallOutcome.REJECTED
