"""Report time on PostgreSQL: a month by day over 10 million call records.

Creates a scratch database on the local PostgreSQL server (dropped at the end unless
``--keep``), migrates it, and fills one tenant (Europe/Berlin, 8 queues, 64 agents with
a login session every day) with ``--rows`` call records spread evenly over the
``--months`` months before now, 08:00-18:00 UTC each day, generated in SQL
(``generate_series`` with a seeded ``random()``: 80 % answered, 8 % abandoned in a
queue, 5 % in the IVR, 2 % callbacks, 2 % voicemail, 2 % rejected, 1 % failed; a
transfer segment on every 50th call). The call-record indexes are dropped for the load
and rebuilt after it, as a bulk import would do. Then it times, through
:func:`helpline.stats.service.history` with a tenant admin principal:

* building the 15-minute rollup once for the whole history (what the first reports
  of a tenant with years of imported records pay, spread over many requests);
* the last full month by day, tenant dimension — the goal: under 1 s — ``--runs``
  times, p50 and p99 (each run also refreshes the rollup, as every report does);
* the same month by day per agent and per queue, and by hour;
* the same month by day read from the records (a threshold given by the request
  forces that path), a few times, for comparison.

Usage::

    .venv/bin/python bench/report_month.py
    .venv/bin/python bench/report_month.py --rows 1000000 --runs 20 --keep
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import asyncpg

from helpline.acd.models import (
    Agent,
    AgentSession,
    JoinWhenEmpty,
    LeaveWhenEmpty,
    Queue,
    Strategy,
)
from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.config import Settings
from helpline.db.migrate import upgrade
from helpline.runtime import Runtime
from helpline.stats import service
from helpline.stats.models import Dimension
from helpline.stats.periods import Granularity
from helpline.stats.rollup import refresh
from helpline.stats.schemas import HistoryQuery
from helpline.tenants.models import Tenant
from helpline.users.models import Role, User

AGENTS = 64
QUEUES = 8
CHUNK = 1_000_000

FILL = """
INSERT INTO call_records (tenant_id, call_id, direction, caller, called, service_id, queue,
  agent, started_at, answered_at, ended_at, outcome, ivr_seconds, wait_seconds,
  talk_seconds, hold_seconds, wrap_up_seconds, hangup_side, node, open, recovered,
  created_at, updated_at)
SELECT $1, 'bench-' || g, 'inbound', '+1555' || lpad((g % 9999991)::text, 7, '0'), '1000',
  1 + g % 4, CASE WHEN o < 0.93 OR o >= 0.99 THEN 'queue-' || (g % {queues}) END,
  CASE WHEN o < 0.80 THEN 'agent' || lpad((g % {agents})::text, 2, '0') END,
  s, CASE WHEN o < 0.80 THEN s + make_interval(secs => 10 + wait) END,
  s + make_interval(secs => 10 + wait + talk),
  CASE WHEN o < 0.80 THEN 'answered' WHEN o < 0.88 THEN 'abandoned_queue'
    WHEN o < 0.93 THEN 'abandoned_ivr' WHEN o < 0.95 THEN 'callback'
    WHEN o < 0.97 THEN 'voicemail' WHEN o < 0.99 THEN 'rejected' ELSE 'failed' END,
  10, CASE WHEN o < 0.93 OR o >= 0.99 THEN wait ELSE 0 END,
  CASE WHEN o < 0.80 THEN talk ELSE 0 END,
  CASE WHEN o < 0.80 AND g % 5 = 0 THEN 30 ELSE 0 END,
  CASE WHEN o < 0.80 THEN 5 + g % 40 ELSE 0 END,
  'caller', '', false, false, s, s
FROM (
  SELECT g, random() AS o, floor(-ln(1 - random()) * 15) AS wait,
    60 + floor(random() * 400) AS talk,
    $2::timestamptz + ((g - 1) / $3) * interval '1 day' + interval '8 hours'
      + random() * interval '10 hours' AS s
  FROM generate_series($4::bigint, $5::bigint) g
) x
"""
TRANSFERS = """
INSERT INTO call_segments (record_id, seq, kind, started_at, ended_at, agent, detail)
SELECT id, 0, 'transfer', answered_at + interval '1 minute',
  answered_at + interval '1 minute 5 seconds', agent, '{}'
FROM call_records WHERE id % 50 = 0 AND agent IS NOT NULL
"""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _setup(runtime: Runtime, start: date, days: int) -> int:
    async with runtime.unit_of_work() as session:
        tenant = Tenant(slug="bench", name="Bench", sip_realm="bench", timezone="Europe/Berlin")
        session.add(tenant)
        await session.flush()
        for n in range(QUEUES):
            session.add(
                Queue(
                    tenant_id=tenant.id,
                    name=f"queue-{n}",
                    strategy=Strategy.LONGEST_IDLE,
                    join_when_empty=JoinWhenEmpty.JOIN,
                    leave_when_empty=LeaveWhenEmpty.STAY,
                )
            )
        for n in range(AGENTS):
            user = User(
                tenant_id=tenant.id,
                username=f"agent{n:02d}",
                display_name=f"Agent {n}",
                role=Role.AGENT,
                password_hash="-",
            )
            session.add(user)
            await session.flush()
            agent = Agent(tenant_id=tenant.id, user_id=user.id)
            session.add(agent)
            await session.flush()
            session.add_all(
                AgentSession(
                    tenant_id=tenant.id,
                    agent_id=agent.id,
                    login_at=datetime.combine(start + timedelta(days=d), datetime.min.time(), UTC)
                    + timedelta(hours=8),
                    logout_at=datetime.combine(start + timedelta(days=d), datetime.min.time(), UTC)
                    + timedelta(hours=18),
                )
                for d in range(days)
            )
        return tenant.id


async def _load(url: str, tenant_id: int, rows: int, start: date, days: int) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    timings: dict[str, float] = {}
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'call_records'"
            " AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uq_%'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        await conn.execute("ALTER TABLE call_records DROP CONSTRAINT uq_call_records_tenant_id")
        await conn.execute("SELECT setseed(0.42)")
        per_day = max(1, -(-rows // days))
        begun = time.perf_counter()
        fill = FILL.format(queues=QUEUES, agents=AGENTS)
        for first in range(1, rows + 1, CHUNK):
            last = min(rows, first + CHUNK - 1)
            await conn.execute(
                fill,
                tenant_id,
                datetime.combine(start, datetime.min.time(), UTC),
                per_day,
                first,
                last,
            )
            print(f"  {last:,} records ({time.perf_counter() - begun:.0f} s)", flush=True)
        timings["insert"] = time.perf_counter() - begun
        begun = time.perf_counter()
        await conn.execute(TRANSFERS)
        timings["transfers"] = time.perf_counter() - begun
        begun = time.perf_counter()
        await conn.execute(
            "ALTER TABLE call_records ADD CONSTRAINT uq_call_records_tenant_id"
            " UNIQUE (tenant_id, call_id)"
        )
        for index in indexes:
            await conn.execute(index["indexdef"])
        timings["indexes"] = time.perf_counter() - begun
        begun = time.perf_counter()
        await conn.execute("VACUUM ANALYZE call_records")
        await conn.execute("VACUUM ANALYZE call_segments")
        timings["vacuum"] = time.perf_counter() - begun
    finally:
        await conn.close()
    return timings


async def _timed(action: Callable[[], Awaitable[Any]]) -> float:
    begun = time.perf_counter()
    await action()
    return time.perf_counter() - begun


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--raw-runs", type=int, default=3)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    name = f"helpline_bench_{uuid.uuid4().hex[:8]}"
    await _admin(args.admin_url, f'CREATE DATABASE "{name}"')
    base = args.admin_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    runtime = Runtime.build(
        Settings(
            data_dir=Path("/tmp") / name,
            database_url=url.replace("postgresql://", "postgresql+asyncpg://", 1),
        )
    )
    try:
        await upgrade(runtime.engine)
        now = datetime.now(UTC)
        end = now.date()
        start = end - timedelta(days=round(args.months * 30.4375))
        days = (end - start).days
        tenant_id = await _setup(runtime, start, days)
        print(f"database {name}: {args.rows:,} call records over {days} days ...", flush=True)
        loaded = await _load(url, tenant_id, args.rows, start, days)
        async with runtime.unit_of_work() as session:
            tenant = await session.get(Tenant, tenant_id)
            assert tenant is not None
        principal = Principal(
            user_id=1,
            tenant_id=tenant_id,
            tenant_slug="bench",
            username="admin",
            role=Role.TENANT_ADMIN,
            scopes=ALL_SCOPES,
            via=Via.SESSION,
        )

        async def build() -> None:
            async with runtime.unit_of_work() as session:
                await refresh(session, tenant_id=tenant_id, now=now, max_slots=10**9)

        rollup = await _timed(build)
        month_start = (end.replace(day=1) - timedelta(days=1)).replace(day=1)
        month_end = end.replace(day=1) - timedelta(days=1)

        def report(**query: Any) -> Callable[[], Awaitable[Any]]:
            params = {"start": month_start, "end": month_end, "granularity": Granularity.DAY}

            async def run() -> Any:
                async with runtime.unit_of_work() as session:
                    return await service.history(
                        session,
                        principal=principal,
                        query=HistoryQuery(**{**params, **query}),
                        now=datetime.now(UTC),
                    )

            return run

        month = await report()()
        offered = sum(row.offered for row in month.rows)
        cases = [
            ("tenant, by day", report(), args.runs),
            ("per agent, by day", report(dimension=Dimension.AGENT), args.runs),
            ("per queue, by day", report(dimension=Dimension.QUEUE), args.runs),
            ("tenant, by hour", report(granularity=Granularity.HOUR), args.runs),
            (
                "tenant, by day, from the records",
                report(service_level_seconds=20, short_abandon_seconds=5),
                args.raw_runs,
            ),
        ]
        print()
        print(
            f"load: insert {loaded['insert']:.0f} s, transfers {loaded['transfers']:.0f} s, "
            f"indexes {loaded['indexes']:.0f} s, vacuum {loaded['vacuum']:.0f} s; "
            f"rollup of the whole history {rollup:.1f} s"
        )
        print(
            f"month {month_start} - {month_end}: {offered:,} calls offered, {len(month.rows)} rows"
        )
        print()
        print("| report (month of " + f"{offered:,} calls) | runs | p50 | p99 | max |")
        print("|---|---|---|---|---|")
        for label, action, runs in cases:
            times = [await _timed(action) for _ in range(runs)]
            print(
                f"| {label} | {runs} | {_ms(statistics.median(times))} | "
                f"{_ms(_percentile(times, 0.99))} | {_ms(max(times))} |",
                flush=True,
            )
    finally:
        await runtime.close()
        if not args.keep:
            await _admin(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
