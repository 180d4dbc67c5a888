"""The /numbers, /services and /blacklist API on SQLite and PostgreSQL, and the
database side of call control: load_routing, hit counts and service call slots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from helpline.api.app import create_app
from helpline.routing import service
from helpline.routing.decide import Blocked, Routed, decide, load_routing
from helpline.routing.models import Service
from helpline.routing.schedule import AnnouncementTarget, FlowTarget
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login

NIGHT = {"kind": "announcement", "prompt": "closed"}
OFFICE = {
    "kind": "weekly",
    "name": "office hours",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "18:00",
    "target": {"kind": "flow", "flow_id": 11},
}
NEW_YEAR = {"kind": "holiday", "country": "KR", "target": {"kind": "vxml", "document_id": 3}}
SERVICE: dict[str, Any] = {
    "name": "Hotline",
    "timezone": "Asia/Seoul",
    "rules": [NEW_YEAR, OFFICE],
    "default_target": NIGHT,
}
DID = "+99912340001"


async def _client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture
async def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The app's client logged in as the demo tenant's admin."""
    await login(client, "demo", "admin", DEMO_PASSWORD)
    return client


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await api.post(f"/api/v1/{path}", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    error_id: str = r.json()["error_id"]
    return error_id


@asynccontextmanager
async def _tenant_b(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(runtime) as root:
        await login(root, "system", "admin", ADMIN_PASSWORD)
        r = await root.post(
            "/api/v1/tenants",
            json={
                "slug": "tenant-b",
                "name": "B",
                "admin_username": "admin",
                "admin_password": "password-1",
            },
        )
        assert r.status_code == 201, r.text
    async with await _client(runtime) as other:
        await login(other, "tenant-b", "admin", "password-1")
        yield other


async def test_services_numbers_and_blacklist_round_trip(api: httpx.AsyncClient) -> None:
    hotline = await _post(api, "services", {**SERVICE, "max_calls": 3})
    assert hotline["rules"][1]["start"] == "09:00:00" and hotline["max_calls"] == 3
    assert hotline["default_target"] == NIGHT and hotline["over_limit_action"] == "busy"
    number = await _post(api, "numbers", {"number": "+999 1234-0001", "service_id": hotline["id"]})
    assert number["number"] == DID and number["enabled"] is True
    entry = await _post(
        api, "blacklist", {"kind": "prefix", "number": "+99955", "note": "spam range"}
    )
    assert entry["hit_count"] == 0 and entry["last_hit_at"] is None
    assert entry["action"] == "reject_busy"

    r = await api.patch(
        f"/api/v1/services/{hotline['id']}",
        json={"max_calls": None, "over_limit_action": "announcement", "over_limit_prompt": "full"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["max_calls"] is None and r.json()["rules"] == hotline["rules"]
    r = await api.patch(f"/api/v1/numbers/{number['id']}", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = await api.patch(f"/api/v1/blacklist/{entry['id']}", json={"action": "drop"})
    assert r.status_code == 200 and r.json()["action"] == "drop"

    numbers = (await api.get("/api/v1/numbers", params={"service_id": hotline["id"]})).json()
    assert [n["number"] for n in numbers["items"]] == [DID] and numbers["total"] == 1
    by_number = (await api.get("/api/v1/numbers", params={"number": "+999-1234-0001"})).json()
    assert by_number["total"] == 1
    services = (await api.get("/api/v1/services", params={"name": "Hotline"})).json()
    assert services["total"] == 1
    listed = (await api.get("/api/v1/blacklist", params={"kind": "prefix"})).json()
    assert [e["number"] for e in listed["items"]] == ["+99955"]

    assert (await api.delete(f"/api/v1/blacklist/{entry['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/blacklist/{entry['id']}")).status_code == 404
    assert (await api.delete(f"/api/v1/numbers/{number['id']}")).status_code == 204
    assert (await api.delete(f"/api/v1/services/{hotline['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/services/{hotline['id']}")).status_code == 404


async def test_a_number_belongs_to_one_tenant_only(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    mine = await _post(api, "services", SERVICE)
    await _post(api, "numbers", {"number": DID, "service_id": mine["id"]})
    r = await api.post("/api/v1/numbers", json={"number": DID, "service_id": mine["id"]})
    assert await _error(r, 409) == "number_taken"
    async with _tenant_b(runtime) as other:
        theirs = await _post(other, "services", SERVICE)
        r = await other.post("/api/v1/numbers", json={"number": DID, "service_id": theirs["id"]})
        assert await _error(r, 409) == "number_taken"
        # Nor can a number lead to another tenant's service.
        r = await other.post(
            "/api/v1/numbers", json={"number": "+99912340002", "service_id": mine["id"]}
        )
        assert await _error(r, 422) == "unknown_service"
        assert (await other.get(f"/api/v1/services/{mine['id']}")).status_code == 404
        assert (await other.get(f"/api/v1/services/{mine['id']}/route")).status_code == 404


@pytest.mark.parametrize(
    ("changes", "error_id"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "invalid_timezone"),
        ({"rules": [{**NEW_YEAR, "country": "XX"}]}, "unknown_holiday_country"),
        ({"rules": [{**NEW_YEAR, "subdivision": "ZZ"}]}, "unknown_holiday_subdivision"),
        ({"over_limit_action": "announcement"}, "service_prompt_missing"),
        ({"rules": [{**OFFICE, "days": ["someday"]}]}, "validation_error"),
        ({"default_target": {"kind": "queue"}}, "validation_error"),
    ],
)
async def test_bad_services_are_refused_with_a_stable_error_id(
    api: httpx.AsyncClient, changes: dict[str, Any], error_id: str
) -> None:
    r = await api.post("/api/v1/services", json={**SERVICE, **changes})
    assert await _error(r, 422) == error_id
    hotline = await _post(api, "services", SERVICE)
    r = await api.patch(f"/api/v1/services/{hotline['id']}", json=changes)
    assert await _error(r, 422) == error_id


async def test_conflicts_on_services_and_blacklist(api: httpx.AsyncClient) -> None:
    hotline = await _post(api, "services", SERVICE)
    r = await api.post("/api/v1/services", json=SERVICE)
    assert await _error(r, 409) == "service_name_taken"
    await _post(api, "numbers", {"number": DID, "service_id": hotline["id"]})
    r = await api.delete(f"/api/v1/services/{hotline['id']}")
    assert await _error(r, 409) == "service_in_use"
    await _post(api, "blacklist", {"kind": "anonymous"})
    r = await api.post("/api/v1/blacklist", json={"kind": "anonymous", "action": "drop"})
    assert await _error(r, 409) == "blacklist_entry_exists"
    r = await api.post("/api/v1/blacklist", json={"kind": "exact"})
    assert await _error(r, 422) == "blacklist_number_missing"
    r = await api.post(
        "/api/v1/blacklist",
        json={"number": "123", "action": "reject_announcement"},
    )
    assert await _error(r, 422) == "blacklist_prompt_missing"
    r = await api.post("/api/v1/blacklist", json={"number": "12a3"})
    assert await _error(r, 422) == "validation_error"


async def test_route_answers_what_the_schedule_chooses(api: httpx.AsyncClient) -> None:
    hotline = await _post(api, "services", SERVICE)
    url = f"/api/v1/services/{hotline['id']}/route"
    r = await api.get(url, params={"at": "2026-03-03T01:00:00Z"})  # Tue 10:00 in Seoul
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["target"] == OFFICE["target"] and body["rule_index"] == 1
    assert body["rule_name"] == "office hours" and body["timezone"] == "Asia/Seoul"
    assert body["local_time"].startswith("2026-03-03T10:00:00+09:00")
    new_year = (await api.get(url, params={"at": "2026-01-01T10:00:00"})).json()  # local time
    assert new_year["target"] == NEW_YEAR["target"] and new_year["at"].startswith("2026-01-01T01")
    night = (await api.get(url, params={"at": "2026-03-03T12:00:00+00:00"})).json()
    assert night["target"] == NIGHT and night["rule_index"] is None
    assert (await api.get(url)).status_code == 200
    assert (await api.get(url, params={"at": "tomorrow"})).status_code == 422


async def test_a_service_without_a_zone_follows_the_tenant(api: httpx.AsyncClient) -> None:
    hotline = await _post(api, "services", {**SERVICE, "timezone": None})
    assert hotline["timezone"] is None
    r = await api.patch("/api/v1/tenants/current", json={"timezone": "Asia/Shanghai"})
    assert r.status_code == 200, r.text
    url = f"/api/v1/services/{hotline['id']}/route"
    # Tuesday 00:30 UTC: 09:30 in Seoul (open) but 08:30 in Shanghai (not yet).
    body = (await api.get(url, params={"at": "2026-03-03T00:30:00Z"})).json()
    assert body["timezone"] == "Asia/Shanghai" and body["target"] == NIGHT
    assert body["local_time"].startswith("2026-03-03T08:30:00+08:00")
    body = (await api.get(url, params={"at": "2026-03-03T01:00:00Z"})).json()
    assert body["target"] == OFFICE["target"] and body["rule_index"] == 1


async def test_supervisors_read_and_agents_do_neither(runtime: Runtime) -> None:
    async with await _client(runtime) as supervisor, await _client(runtime) as agent:
        await login(supervisor, "demo", "supervisor", DEMO_PASSWORD)
        await login(agent, "demo", "agent2001", DEMO_PASSWORD)
        for path in ("numbers", "services", "blacklist"):
            assert (await supervisor.get(f"/api/v1/{path}")).status_code == 200
            assert (await agent.get(f"/api/v1/{path}")).status_code == 403
        r = await supervisor.post("/api/v1/services", json=SERVICE)
        assert r.status_code == 403
        r = await supervisor.post("/api/v1/blacklist", json={"number": "123"})
        assert r.status_code == 403


async def test_call_control_loads_decides_and_counts_hits(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    hotline = await _post(api, "services", {**SERVICE, "max_calls": 1})
    await _post(api, "numbers", {"number": DID, "service_id": hotline["id"]})
    spam = await _post(
        api,
        "blacklist",
        {"number": "+15550100", "action": "reject_announcement", "prompt": "go-away"},
    )
    await _post(
        api,
        "blacklist",
        {"number": "+15550199", "expires_at": "2020-01-01T00:00:00Z", "note": "expired"},
    )
    tuesday_10am = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    async with runtime.unit_of_work() as session:
        config = await load_routing(session, "999-1234-0001")  # without the +
        assert config is not None and config.number == DID
        assert config.service.timezone == "Asia/Seoul" and config.service.max_calls == 1
        assert len(config.blacklist) >= 2
        assert await load_routing(session, "+99900000000") is None
        blocked = decide(config, "+1 555 0100", tuesday_10am, anonymous=False)
        assert blocked == Blocked(
            entry_id=spam["id"], action="reject_announcement", prompt="go-away"
        )
        routed = decide(config, "+15550199", tuesday_10am, anonymous=False)
        assert isinstance(routed, Routed) and routed.target == FlowTarget(flow_id=11)
        assert await service.record_hit(session, spam["id"], tuesday_10am)
        assert await service.record_hit(session, spam["id"], tuesday_10am + timedelta(minutes=1))
        assert not await service.record_hit(session, 999_999, tuesday_10am)
    entry = (await api.get(f"/api/v1/blacklist/{spam['id']}")).json()
    assert entry["hit_count"] == 2
    assert entry["last_hit_at"].startswith("2026-03-03T01:01:00")
    assert entry["updated_at"] == spam["updated_at"]
    await api.patch(
        f"/api/v1/numbers/{(await api.get('/api/v1/numbers')).json()['items'][0]['id']}",
        json={"enabled": False},
    )
    async with runtime.unit_of_work() as session:
        assert await load_routing(session, DID) is None


async def test_a_number_reaches_the_night_target_outside_hours(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    hotline = await _post(api, "services", SERVICE)
    await _post(api, "numbers", {"number": "1000999", "service_id": hotline["id"]})
    async with runtime.unit_of_work() as session:
        config = await load_routing(session, "1000999")
    assert config is not None
    night = decide(config, "0212345678", datetime(2026, 3, 3, 12, 0, tzinfo=UTC), anonymous=False)
    assert isinstance(night, Routed) and night.target == AnnouncementTarget(prompt="closed")


async def test_service_slots_stop_at_the_limit_and_are_freed(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    hotline = await _post(api, "services", {**SERVICE, "max_calls": 2})
    ids = {"tenant_id": int((await api.get("/api/v1/tenants/current")).json()["id"])}
    ids["service_id"] = hotline["id"]
    async with runtime.unit_of_work() as session:
        assert await service.acquire_service_slot(session, **ids, max_calls=2, ref="c1", node="n1")
        assert await service.acquire_service_slot(session, **ids, max_calls=2, ref="c2", node="n2")
        assert not await service.acquire_service_slot(session, **ids, max_calls=2, ref="c3")
        assert await service.acquire_service_slot(session, **ids, max_calls=None, ref="c4")
    async with runtime.unit_of_work() as session:
        assert await service.release_service_slot(session, service_id=hotline["id"], ref="c1")
        assert not await service.release_service_slot(session, service_id=hotline["id"], ref="c1")
        assert await service.release_node_service_slots(session, node="n2") == 1
        assert await service.acquire_service_slot(session, **ids, max_calls=2, ref="c5")
    async with runtime.engine.connect() as conn:
        assert not await service.acquire_service_slot(conn, **ids, max_calls=2, ref="c6")
        await conn.rollback()


async def test_two_nodes_cannot_both_take_the_last_slot_on_postgresql(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the row lock is PostgreSQL's")
    hotline = await _post(api, "services", {**SERVICE, "max_calls": 1})
    async with runtime.sessions() as probe:
        tenant_id = (
            await probe.execute(select(Service.tenant_id).where(Service.id == hotline["id"]))
        ).scalar_one()
    ids = {"tenant_id": tenant_id, "service_id": hotline["id"], "max_calls": 1}
    async with runtime.sessions() as first, runtime.sessions() as second:
        assert await service.acquire_service_slot(first, **ids, ref="node-a-call")
        pid = (await second.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        waiting = asyncio.ensure_future(
            service.acquire_service_slot(second, **ids, ref="node-b-call")
        )
        async with runtime.sessions() as probe:
            for _ in range(500):
                state = await probe.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid},
                )
                if state.scalar_one_or_none() == "Lock":
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the second node never waited for the service row")
        await first.commit()
        assert await waiting is False
        await second.rollback()
