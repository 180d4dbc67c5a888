"""The demo's generated history: the same every time, plausible, and in the reports."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from helpline.calls.models import CallOutcome, CallRecord, CallSegment, QueueEvent
from helpline.ivr.models import IvrPathStep
from helpline.runtime import Runtime
from helpline.server import prepare
from helpline.stats import service
from helpline.stats.demo import Staff, load_demo_history, simulate
from helpline.stats.models import Dimension
from helpline.stats.periods import Granularity
from helpline.stats.schemas import HistoryQuery
from tests.conftest import make_settings
from tests.recordings.factory import tenant_id
from tests.stats.day import admin

NOW = datetime.fromisoformat("2026-11-24T15:00:00+00:00")
UTC = ZoneInfo("UTC")


def _staff() -> list[Staff]:
    return [
        Staff("2001", 1, {"sales": 0, "support": 10}, NOW, NOW),
        Staff("2002", 2, {"sales": 0}, NOW, NOW),
        Staff("2003", 3, {"support": 0}, NOW, NOW),
    ]


def test_the_same_moment_gives_the_same_history() -> None:
    first, sessions = simulate(zone=UTC, now=NOW, staff=_staff(), queues={"sales", "support"})
    again, _ = simulate(zone=UTC, now=NOW, staff=_staff(), queues={"sales", "support"})
    assert [(c.call_id, c.start, c.outcome, c.agent) for c in first] == [
        (c.call_id, c.start, c.outcome, c.agent) for c in again
    ]
    assert all(c.start.date() in (date(2026, 11, 23), date(2026, 11, 24)) for c in first)
    assert all(c.segments[-1].end <= NOW for c in first), "only calls over by now"
    outcomes = {c.outcome for c in first}
    assert {CallOutcome.ANSWERED, CallOutcome.ABANDONED_QUEUE, CallOutcome.VOICEMAIL} <= outcomes
    assert len(sessions) == 6 and all(login < logout for _, login, logout in sessions)


def test_an_agent_takes_one_call_at_a_time() -> None:
    calls, _ = simulate(zone=UTC, now=NOW, staff=_staff(), queues={"sales", "support"})
    for agent in ("2001", "2002", "2003"):
        busy = sorted(
            (c.answered_at, c.segments[-1].end) for c in calls if c.agent == agent and c.answered_at
        )
        assert busy, agent
        assert all(end <= start for (_, end), (start, _) in pairwise(busy))


async def test_the_history_is_written_and_reported(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    async with runtime.unit_of_work() as session:
        written = await load_demo_history(session, tenant_id=demo, now=NOW)
    async with runtime.unit_of_work() as session:
        records = await session.scalar(
            select(func.count()).where(CallRecord.tenant_id == demo, CallRecord.open.is_(False))
        )
        segments = await session.scalar(select(func.count()).select_from(CallSegment))
        events = await session.scalar(select(func.count()).select_from(QueueEvent))
        steps = await session.scalar(select(func.count()).select_from(IvrPathStep))
        report = await service.history(
            session,
            principal=admin(demo),
            query=HistoryQuery(start=date(2026, 11, 23), granularity=Granularity.DAY),
            now=NOW,
        )
    assert written == records and written > 300
    assert segments and segments > 2 * written and events and steps and steps > 5 * written
    row = report.rows[0]
    assert row.offered > 200 and row.answered > 100 and row.abandoned > 0
    assert row.service_level is not None and 0.5 < row.service_level <= 1
    assert row.staffed_seconds == 4 * 9.25 * 3600
    assert row.occupancy is not None and 0.1 < row.occupancy < 1

    async with runtime.unit_of_work() as session:
        per_agent = await service.history(
            session,
            principal=admin(demo),
            query=HistoryQuery(
                start=date(2026, 11, 23), granularity=Granularity.DAY, dimension=Dimension.AGENT
            ),
            now=NOW,
        )
    # One identity per agent: the phone's SIP account, as real calls record it, with
    # the staffed time of the user who owns it and their name to read.
    assert {(r.key, r.label) for r in per_agent.rows} == {
        (n, f"Agent {n}") for n in ("2001", "2002", "2003", "2004")
    }
    assert all(r.answered > 0 and r.staffed_seconds == 9.25 * 3600 for r in per_agent.rows)
    assert sum(r.answered for r in per_agent.rows) == row.answered


async def test_the_demo_bootstrap_loads_the_history(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    runtime = Runtime.build(make_settings(tmp_path, url, demo=True, demo_history=True))
    try:
        await prepare(runtime, report=lambda _line: None)
        async with runtime.unit_of_work() as session:
            count = await session.scalar(select(func.count()).select_from(CallRecord))
        assert count and count > 0
    finally:
        await runtime.close()
