"""The statistics API on both databases: roles, the reports, their CSV and XLSX files."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from helpline.acd.models import Agent, AgentStateRow, Queue
from helpline.acd.presence import StoredRealtime
from helpline.acd.state import AgentState
from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.stats import service
from helpline.stats.export import XLSX_MEDIA_TYPE
from helpline.users.models import Role, User
from tests.conftest import DEMO_PASSWORD, login
from tests.stats.day import Day, load_day, local

URL = "/api/v1/stats"
DAY = {"start": "2026-11-02", "granularity": "day"}


@pytest.fixture
async def day(runtime: Runtime) -> Day:
    return await load_day(runtime)


async def test_agents_cannot_read_statistics(client: httpx.AsyncClient, day: Day) -> None:
    await login(client, "demo", "agent2001", DEMO_PASSWORD)
    for path in ("/history", "/realtime", "/staffing", "/erlang-c", "/realtime/agents"):
        r = await client.get(URL + path)
        assert r.status_code == 403, path
        assert r.json()["error_id"] == "role_required"


async def test_a_supervisor_reads_the_day_as_json_csv_and_xlsx(
    client: httpx.AsyncClient, day: Day
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    r = await client.get(f"{URL}/history", params=DAY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "Europe/Berlin" and body["dimension"] == "tenant"
    (row,) = body["rows"]
    assert row["bucket_start"] == "2026-11-02T00:00:00+01:00"
    assert (row["offered"], row["answered"], row["service_level"], row["aht_seconds"]) == (
        9,
        4,
        0.6,
        200.0,
    )

    r = await client.get(f"{URL}/history", params={**DAY, "dimension": "queue", "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="queue-by-day-2026-11-02-2026-11-02.csv"' in r.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(line["key"], line["offered"], line["service_level"]) for line in lines] == [
        ("sales", "5", "0.5"),
        ("support", "2", "1.0"),
        ("sales", "5", "0.5"),
        ("support", "2", "1.0"),
    ], "the rows, then the totals"
    assert lines[0]["bucket_start"] == "2026-11-02T00:00:00+01:00"
    assert [(line["satisfaction_score"], line["csat"]) for line in lines[:2]] == [
        ("62.5", "0.5"),
        ("75.0", "1.0"),
    ]

    r = await client.get(f"{URL}/history", params={**DAY, "format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX_MEDIA_TYPE
    book = zipfile.ZipFile(io.BytesIO(r.content))
    assert {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} <= set(book.namelist())
    assert re.findall(r'<sheet name="(\w+)"', book.read("xl/workbook.xml").decode()) == [
        "report",
        "totals",
    ]
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "offered" in strings and "satisfaction_score" in strings
    assert "<v>65</v>" in book.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>9</v>" in book.read("xl/worksheets/sheet1.xml").decode()


async def test_the_ivr_node_report_and_its_csv_carry_satisfaction(
    client: httpx.AsyncClient, day: Day
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    params = {**DAY, "dimension": "ivr_node"}
    r = await client.get(f"{URL}/history", params=params)
    assert r.status_code == 200, r.text
    menu = {row["key"]: row for row in r.json()["totals"]}["demo-menu/menu"]
    assert (menu["survey_responses"], menu["survey_answers"]) == (2, 4)
    assert (menu["satisfaction_score"], menu["csat"]) == (62.5, 0.5)
    r = await client.get(f"{URL}/history", params={**params, "format": "csv"})
    assert r.status_code == 200
    lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    totals = lines[len(lines) // 2 :]
    assert [
        (line["key"], line["survey_answers"], line["satisfaction_score"], line["csat"])
        for line in totals
    ] == [
        ("demo-menu/lang-en", "5", "65.0", "0.6"),
        ("demo-menu/menu", "4", "62.5", "0.5"),
        ("demo-menu/sales", "2", "100.0", "1.0"),
        ("demo-menu/support", "1", "75.0", "1.0"),
    ]


async def test_bad_periods_are_refused_with_stable_ids(client: httpx.AsyncClient, day: Day) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    cases = [
        ({"start": "2026-11-02", "end": "2026-11-01"}, "invalid_period"),
        ({"start": "2026-01-01", "end": "2026-12-31", "granularity": "15min"}, "report_too_large"),
        ({"dimension": "planet"}, "validation_error"),
        ({"service_level_seconds": -1}, "validation_error"),
        ({"colour": "red"}, "validation_error"),
    ]
    for params, error_id in cases:
        r = await client.get(f"{URL}/history", params=params)
        assert r.status_code == 422, params
        assert r.json()["error_id"] == error_id, params


async def test_the_erlang_calculator_and_the_staffing_proposal(
    client: httpx.AsyncClient, day: Day
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    r = await client.get(f"{URL}/erlang-c")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["needed"]["agents"] == 14 and body["needed"]["traffic_erlangs"] == 10
    assert [row["agents"] for row in body["table"]] == list(range(11, 18))
    assert body["table"][0]["service_level"] < 0.8 <= body["needed"]["service_level"]
    r = await client.get(f"{URL}/erlang-c", params={"calls": 0})
    assert r.json()["needed"]["agents"] == 0
    csv_file = await client.get(f"{URL}/erlang-c", params={"format": "csv"})
    assert csv_file.content.decode("utf-8-sig").splitlines()[0].startswith("agents,")

    r = await client.get(
        f"{URL}/staffing", params={"start": "2026-11-02", "queue": "sales", "granularity": "hour"}
    )
    assert r.status_code == 200, r.text
    rows = {row["bucket_start"][11:16]: row for row in r.json()["rows"]}
    assert len(rows) == 24
    nine = rows["09:00"]
    # 2 answered + 2 abandoned in the hour; AHT (150 + 210) / 2 = 180 s: 0.2 erlangs.
    assert (nine["calls"], nine["aht_seconds"], nine["traffic_erlangs"]) == (4, 180.0, 0.2)
    assert nine["agents"] == 1 and nine["service_level"] >= 0.8
    assert rows["03:00"]["agents"] == 0
    # 00:00 holds c0 alone: its own handle time, 60 s.
    assert rows["00:00"]["aht_seconds"] == 60.0


async def test_realtime_shows_queues_and_agents_with_todays_figures(
    runtime: Runtime, client: httpx.AsyncClient, day: Day
) -> None:
    now = local(12)
    async with runtime.unit_of_work() as session:
        queues = dict(
            (
                await session.execute(
                    select(Queue.name, Queue.id).where(Queue.tenant_id == day.tenant_id)
                )
            ).all()
        )
        agents = dict(
            (
                await session.execute(
                    select(User.username, Agent.id)
                    .join(Agent, Agent.user_id == User.id)
                    .where(User.tenant_id == day.tenant_id)
                )
            ).all()
        )
        states = [
            ("agent2001", AgentState.AVAILABLE, [queues["sales"], queues["support"]]),
            ("agent2002", AgentState.ON_CALL, [queues["sales"]]),
            ("agent2003", AgentState.NOT_READY, [queues["support"]]),
        ]
        session.add_all(
            AgentStateRow(
                tenant_id=day.tenant_id,
                agent_id=agents[name],
                state=state,
                since=now - timedelta(seconds=90),
                queue_ids=ids,
            )
            for name, state, ids in states
        )
        supervisor = (
            await session.execute(select(User).where(User.username == "supervisor"))
        ).scalar_one()
        principal = Principal(
            user_id=supervisor.id,
            tenant_id=day.tenant_id,
            tenant_slug="demo",
            username="supervisor",
            role=Role.SUPERVISOR,
            scopes=ALL_SCOPES,
            via=Via.SESSION,
        )
        stats = await service.live(session, principal=principal, provider=StoredRealtime(), now=now)
    assert stats.source == "stored"
    by_queue = {q.name: q for q in stats.queues}
    sales, support = by_queue["sales"], by_queue["support"]
    assert (sales.agents_logged_in, sales.agents_available, sales.agents_on_call) == (2, 1, 1)
    assert (support.agents_logged_in, support.agents_not_ready) == (2, 1)
    assert (sales.offered_today, sales.answered_today, sales.abandoned_today) == (5, 3, 2)
    assert sales.service_level_today == 0.5 and sales.asa_seconds_today == 20
    assert (support.callbacks_today, support.longest_wait_today_seconds) == (1, 50)
    by_agent = {a.username: a for a in stats.agents}
    assert set(by_agent) == {"agent2001", "agent2002", "agent2003", "agent2004"}
    first = by_agent["agent2001"]
    assert (first.state, first.seconds_in_state, first.calls_today) == (
        AgentState.AVAILABLE,
        90,
        1,
    )
    assert by_agent["agent2002"].calls_today == 2 and by_agent["agent2002"].aht_seconds_today == 135
    assert by_agent["agent2003"].transfers_today == 1
    assert by_agent["agent2004"].state is AgentState.OFFLINE

    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    r = await client.get(f"{URL}/realtime")
    assert r.status_code == 200, r.text
    assert {q["name"] for q in r.json()["queues"]} == {"sales", "support"}
    assert r.json()["at"] <= (utcnow() + timedelta(seconds=5)).isoformat()
    queues_csv = await client.get(f"{URL}/realtime/queues", params={"format": "csv"})
    header = queues_csv.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("queue_id,name,waiting,longest_wait_seconds,agents_logged_in")
    agents_xlsx = await client.get(f"{URL}/realtime/agents", params={"format": "xlsx"})
    assert agents_xlsx.headers["content-type"] == XLSX_MEDIA_TYPE
    agents_json = await client.get(f"{URL}/realtime/agents")
    assert {a["username"] for a in agents_json.json()} >= {"agent2001"}
