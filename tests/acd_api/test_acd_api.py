"""The ACD configuration and agent-state API on SQLite and PostgreSQL, the events it
publishes, and the rows the ACD runtime loads and saves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from helpline.acd.events import AgentStateChanged
from helpline.acd.presence import StoredState, load_board_rows, save_agent_state
from helpline.acd.state import AgentState
from helpline.api.app import create_app
from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.core.events import Event, Subscription
from helpline.db.base import utcnow
from helpline.events.router import visible_to
from helpline.runtime import Runtime
from helpline.tenants.service import by_slug
from helpline.users.models import Role
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login

QUEUE: dict[str, Any] = {
    "name": "billing",
    "strategy": "weighted_random",
    "max_length": 20,
    "max_wait_seconds": 120,
    "fallback": {"kind": "announcement", "prompt": "closed"},
    "required_skills": {"sales": 2},
    "overflow": [{"after_seconds": 30, "min_level_drop": 1, "add_queues": ["sales"]}],
}


@asynccontextmanager
async def _client(
    runtime: Runtime, tenant: str, user: str, password: str
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        await login(client, tenant, user, password)
        yield client


@pytest.fixture
def demo(runtime: Runtime) -> Runtime:
    """The runtime; the demo tenant's ACD comes with the demo (bootstrap.load_demo)."""
    return runtime


@pytest.fixture
async def admin(demo: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(demo, "demo", "admin", DEMO_PASSWORD) as c:
        yield c


def _as(runtime: Runtime, user: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return _client(runtime, "demo", user, DEMO_PASSWORD)


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    error_id: str = r.json()["error_id"]
    return error_id


async def _agents(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    page = _ok(await api.get("/api/v1/agents"))
    return {a["username"]: a for a in page["items"]}


def _drain(sub: Subscription) -> list[Event]:
    events = []
    while True:
        try:
            events.append(sub._queue.get_nowait())
        except asyncio.QueueEmpty:
            return events


def _principal(user_id: int, tenant_id: int, role: Role) -> Principal:
    return Principal(user_id, tenant_id, "demo", "x", role, ALL_SCOPES, Via.SESSION)


async def test_demo_acd_has_queues_agents_memberships_team_and_reasons(
    admin: httpx.AsyncClient,
) -> None:
    queues = _ok(await admin.get("/api/v1/queues"))
    assert [q["name"] for q in queues["items"]] == ["sales", "support"]
    skills = _ok(await admin.get("/api/v1/skills"))
    assert {s["name"] for s in skills["items"]} == {"sales", "support", "ko", "zh"}
    reasons = _ok(await admin.get("/api/v1/reason-codes"))
    assert {r["name"] for r in reasons["items"]} == {"break", "lunch", "training", "missed-offers"}
    agents = await _agents(admin)
    assert sorted(agents) == ["agent2001", "agent2002", "agent2003", "agent2004"]
    assert agents["agent2001"]["sip_accounts"] == ["2001"]
    first = agents["agent2001"]["id"]
    places = _ok(await admin.get(f"/api/v1/agents/{first}/memberships"))
    assert [(p["queue"], p["penalty"]) for p in places] == [("sales", 0), ("support", 10)]
    team = _ok(await admin.get("/api/v1/teams"))["items"][0]
    assert team["name"] == "demo-team" and len(team["supervisor_ids"]) == 1
    assert {a["team_id"] for a in agents.values()} == {team["id"]}


async def test_queue_crud_with_fallback_overflow_and_partial_update(
    admin: httpx.AsyncClient,
) -> None:
    created = _ok(await admin.post("/api/v1/queues", json=QUEUE), 201)
    assert created["fallback"] == QUEUE["fallback"] and created["ring_timeout"] == 15
    assert created["overflow"][0]["add_queues"] == ["sales"]
    path = f"/api/v1/queues/{created['id']}"
    changed = _ok(await admin.patch(path, json={"max_length": None, "wrap_up_seconds": 30}))
    assert changed["max_length"] is None and changed["wrap_up_seconds"] == 30
    regions = {
        "region_prefixes": {"+8251": "south", "+822": "seoul"},
        "region_teams": {"seoul": "north"},
        "region_wait_seconds": 20,
    }
    changed = _ok(await admin.patch(path, json=regions))
    assert {k: changed[k] for k in regions} == regions
    assert changed["required_skills"] == {"sales": 2}
    sales = next(q for q in _ok(await admin.get("/api/v1/queues"))["items"] if q["name"] == "sales")
    r = await admin.delete(f"/api/v1/queues/{sales['id']}")
    assert _error(r, 409) == "queue_in_use"
    assert (await admin.delete(path)).status_code == 204
    assert _error(await admin.get(path), 404) == "not_found"


@pytest.mark.parametrize(
    ("change", "status", "error_id"),
    [
        ({"name": "sales"}, 409, "queue_name_taken"),
        ({"fallback": {"kind": "queue", "queue": "nowhere"}}, 422, "unknown_queue"),
        ({"fallback": {"kind": "queue", "queue": "billing"}}, 422, "queue_loop"),
        ({"fallback": {"kind": "voicemail", "box_id": 999}}, 422, "unknown_voicemail_box"),
        ({"overflow": [{"after_seconds": 5, "add_queues": ["x"]}]}, 422, "unknown_queue"),
        ({"required_skills": {"juggling": 3}}, 422, "unknown_skill"),
        ({"periodic_interval": 60}, 422, "queue_prompt_missing"),
        ({"required_skills": {"sales": 6}}, 422, "validation_error"),
        ({"strategy": "coin_toss"}, 422, "validation_error"),
        ({"region_prefixes": {"south": "+8251"}}, 422, "validation_error"),
        ({"region_teams": {"south": ""}}, 422, "validation_error"),
        ({"overflow": [{"after_seconds": 9}, {"after_seconds": 5}]}, 422, "validation_error"),
    ],
)
async def test_a_bad_queue_is_refused_with_a_stable_error_id(
    admin: httpx.AsyncClient, change: dict[str, Any], status: int, error_id: str
) -> None:
    created = _ok(await admin.post("/api/v1/queues", json={"name": "billing"}), 201)
    r = await admin.patch(f"/api/v1/queues/{created['id']}", json=change)
    assert _error(r, status) == error_id


async def test_skill_rename_follows_into_queues_and_a_required_skill_stays(
    admin: httpx.AsyncClient,
) -> None:
    _ok(await admin.post("/api/v1/queues", json=QUEUE), 201)
    skills = {s["name"]: s for s in _ok(await admin.get("/api/v1/skills"))["items"]}
    path = f"/api/v1/skills/{skills['sales']['id']}"
    _ok(await admin.patch(path, json={"name": "selling"}))
    billing = _ok(await admin.get("/api/v1/queues", params={"name": "billing"}))["items"][0]
    assert billing["required_skills"] == {"selling": 2}
    assert _error(await admin.delete(path), 409) == "skill_in_use"
    made = _ok(await admin.post("/api/v1/skills", json={"name": "spare"}), 201)
    assert (await admin.delete(f"/api/v1/skills/{made['id']}")).status_code == 204
    r = await admin.post("/api/v1/skills", json={"name": "ko"})
    assert _error(r, 409) == "skill_name_taken"


async def test_agent_profile_skills_memberships_and_team_crud(admin: httpx.AsyncClient) -> None:
    user = _ok(
        await admin.post(
            "/api/v1/users",
            json={"username": "agent2005", "password": "password-1", "role": "agent"},
        ),
        201,
    )
    agent = _ok(await admin.post("/api/v1/agents", json={"user_id": user["id"], "weight": 3}), 201)
    assert agent["username"] == "agent2005" and agent["sip_accounts"] == []
    r = await admin.post("/api/v1/agents", json={"user_id": user["id"]})
    assert _error(r, 409) == "agent_exists"
    path = f"/api/v1/agents/{agent['id']}"
    skills = _ok(await admin.put(f"{path}/skills", json={"skills": {"ko": 5, "sales": 1}}))
    assert skills == {"skills": {"ko": 5, "sales": 1}}
    r = await admin.put(f"{path}/skills", json={"skills": {"ko": 9}})
    assert _error(r, 422) == "validation_error"
    r = await admin.put(f"{path}/skills", json={"skills": {"klingon": 1}})
    assert _error(r, 422) == "unknown_skill"
    queues = {q["name"]: q["id"] for q in _ok(await admin.get("/api/v1/queues"))["items"]}
    body = {"memberships": [{"queue_id": queues["support"], "penalty": 2, "position": 1}]}
    places = _ok(await admin.put(f"{path}/memberships", json=body))
    assert places == [
        {"queue_id": queues["support"], "queue": "support", "position": 1, "penalty": 2}
    ]
    r = await admin.put(f"{path}/memberships", json={"memberships": [{"queue_id": 999}]})
    assert _error(r, 422) == "unknown_queue"
    team = _ok(await admin.post("/api/v1/teams", json={"name": "Night shift"}), 201)
    assert _ok(await admin.patch(path, json={"team_id": team["id"]}))["team_id"] == team["id"]
    assert _ok(await admin.patch(path, json={"team_id": None}))["team_id"] is None
    r = await admin.patch(path, json={"team_id": 999})
    assert _error(r, 422) == "unknown_team"
    admins = _ok(await admin.get("/api/v1/users", params={"role": "tenant-admin"}))["items"]
    r = await admin.post("/api/v1/agents", json={"user_id": admins[0]["id"]})
    assert _error(r, 422) == "user_cannot_take_calls"
    r = await admin.patch(
        f"/api/v1/teams/{team['id']}", json={"supervisor_ids": [agent["user_id"]]}
    )
    assert _error(r, 422) == "unknown_supervisor"
    assert (await admin.delete(f"/api/v1/teams/{team['id']}")).status_code == 204
    assert (await admin.delete(path)).status_code == 204
    assert _error(await admin.get(f"{path}/skills"), 404) == "not_found"


async def test_reason_codes_with_labels_are_readable_by_agents(demo: Runtime) -> None:
    async with _as(demo, "admin") as admin, _as(demo, "agent2001") as agent:
        made = _ok(
            await admin.post(
                "/api/v1/reason-codes", json={"name": "meeting", "labels": {"ko": "회의"}}
            ),
            201,
        )
        assert made["labels"] == {"en": None, "zh": None, "ko": "회의"}
        seen = _ok(await agent.get("/api/v1/reason-codes", params={"name": "meeting"}))
        assert seen["total"] == 1
        r = await agent.post("/api/v1/reason-codes", json={"name": "nap"})
        assert _error(r, 403) == "role_required"
        path = f"/api/v1/reason-codes/{made['id']}"
        assert _ok(await admin.patch(path, json={"name": "meet"}))["name"] == "meet"
        assert (await admin.delete(path)).status_code == 204


async def test_agent_logs_in_pauses_resumes_and_logs_out_with_events(demo: Runtime) -> None:
    sub = demo.bus.subscribe(lambda e: isinstance(e, AgentStateChanged))
    async with _as(demo, "agent2001") as me:
        assert _ok(await me.get("/api/v1/agents/me/state"))["state"] == "offline"
        r = await me.put("/api/v1/agents/me/state", json={"state": "available"})
        assert _error(r, 409) == "illegal_transition"
        state = _ok(await me.post("/api/v1/agents/me/login"))
        assert state["state"] == "available" and len(state["queue_ids"]) == 2
        r = await me.put("/api/v1/agents/me/state", json={"state": "not_ready"})
        assert _error(r, 422) == "reason_required"
        r = await me.put("/api/v1/agents/me/state", json={"state": "not_ready", "reason": "nap"})
        assert _error(r, 422) == "unknown_reason"
        paused = _ok(
            await me.put("/api/v1/agents/me/state", json={"state": "not_ready", "reason": "lunch"})
        )
        assert paused["state"] == "not_ready" and paused["reason"] == "lunch"
        ready = _ok(await me.put("/api/v1/agents/me/state", json={"state": "available"}))
        assert ready["reason"] is None
        assert _ok(await me.post("/api/v1/agents/me/logout"))["state"] == "offline"
    events = [e for e in _drain(sub) if isinstance(e, AgentStateChanged)]
    assert [(e.previous, e.state, e.reason) for e in events] == [
        ("offline", "available", None),
        ("available", "not_ready", "lunch"),
        ("not_ready", "available", None),
        ("available", "offline", None),
    ]
    event = events[0]
    assert event.username == "agent2001" and event.to_json()["event"] == "acd.agent_state"
    tenant = event.tenant_id
    assert tenant is not None and event.user_id is not None
    assert visible_to(_principal(event.user_id, tenant, Role.AGENT), event)
    assert not visible_to(_principal(event.user_id + 1, tenant, Role.AGENT), event)
    assert visible_to(_principal(event.user_id + 1, tenant, Role.SUPERVISOR), event)
    assert not visible_to(_principal(event.user_id, tenant + 1, Role.SUPERVISOR), event)


async def test_login_to_chosen_queues_only_and_no_profile_is_forbidden(demo: Runtime) -> None:
    async with _as(demo, "agent2002") as me, _as(demo, "admin") as admin:
        queues = {q["name"]: q["id"] for q in _ok(await admin.get("/api/v1/queues"))["items"]}
        r = await me.post("/api/v1/agents/me/login", json={"queue_ids": [queues["support"]]})
        assert _error(r, 422) == "not_a_member"
        state = _ok(await me.post("/api/v1/agents/me/login", json={"queue_ids": []}))
        assert state["queue_ids"] == []
        r = await admin.post("/api/v1/agents/me/login")
        assert _error(r, 403) == "not_an_agent"


async def test_only_the_team_supervisor_sets_an_agents_state(demo: Runtime) -> None:
    async with (
        _as(demo, "admin") as admin,
        _as(demo, "supervisor") as boss,
        _as(demo, "agent2003") as agent,
    ):
        agents = await _agents(admin)
        target = agents["agent2003"]["id"]
        other = agents["agent2004"]["id"]
        _ok(await agent.post("/api/v1/agents/me/login"))
        body = {"state": "not_ready", "reason": "training"}
        r = await agent.put(f"/api/v1/agents/{other}/state", json=body)
        assert _error(r, 403) == "role_required"
        state = _ok(await boss.put(f"/api/v1/agents/{target}/state", json=body))
        assert state["state"] == "not_ready" and state["reason"] == "training"
        # A second supervisor who leads another team may not.
        user = _ok(
            await admin.post(
                "/api/v1/users",
                json={"username": "boss2", "password": "password-1", "role": "supervisor"},
            ),
            201,
        )
        _ok(
            await admin.post(
                "/api/v1/teams", json={"name": "other-team", "supervisor_ids": [user["id"]]}
            ),
            201,
        )
        async with _client(demo, "demo", "boss2", "password-1") as boss2:
            r = await boss2.put(f"/api/v1/agents/{target}/state", json={"state": "available"})
            assert _error(r, 403) == "not_your_team"
            view = _ok(await boss2.get("/api/v1/acd/realtime"))
            assert view["agents"] == [] and len(view["queues"]) == 2
        view = _ok(await boss.get("/api/v1/acd/realtime"))
        assert view["source"] == "stored"
        mine = {a["username"]: a for a in view["agents"]}
        assert mine["agent2003"]["state"] == "not_ready" and mine["agent2004"]["state"] == "offline"
        support = next(q for q in view["queues"] if q["name"] == "support")
        assert support["agents_logged_in"] == 1 and support["agents_available"] == 0
        assert _error(await agent.get("/api/v1/acd/realtime"), 403) == "role_required"


async def test_runtime_saves_states_and_a_restart_loads_them_back(demo: Runtime) -> None:
    async with demo.unit_of_work() as session:
        tenant = await by_slug(session, "demo")
        assert tenant is not None
        board = await load_board_rows(session, tenant.id)
    assert [q.name for q in board.queues] == ["sales", "support"]
    first = next(a for a in board.agents if a.username == "agent2001")
    assert first.stored is None and first.sip_accounts == ("2001",)
    assert first.skills["sales"] == 5 and len(first.queues) == 2
    ended = utcnow() - timedelta(minutes=1)
    state = StoredState(
        agent_id=first.agent_id,
        state=AgentState.ON_CALL,
        since=utcnow(),
        call_id="call-1@test",
        call_queue_id=board.queues[0].id,
        queue_ids=tuple(first.queues),
        missed_offers=1,
        calls_today=4,
        talk_seconds_today=321.5,
        last_call_ended_at=ended,
    )
    sub = demo.bus.subscribe()
    async with demo.unit_of_work() as session:
        assert await save_agent_state(session, tenant_id=tenant.id, state=state, node="n1")
    async with demo.unit_of_work() as session:
        assert not await save_agent_state(session, tenant_id=tenant.id, state=state, node="n1")
        again = await load_board_rows(session, tenant.id)
    restored = next(a for a in again.agents if a.agent_id == first.agent_id).stored
    assert restored == state
    published = [e for e in _drain(sub) if isinstance(e, AgentStateChanged)]
    assert [e.state for e in published] == ["on_call"]
    async with _as(demo, "agent2001") as me:
        r = await me.post("/api/v1/agents/me/logout")
        assert _error(r, 409) == "agent_busy"


async def test_tenant_b_cannot_reach_tenant_a_acd_objects(
    demo: Runtime, admin: httpx.AsyncClient
) -> None:
    async with _client(demo, "system", "admin", ADMIN_PASSWORD) as root:
        _ok(
            await root.post(
                "/api/v1/tenants",
                json={
                    "slug": "tenant-b",
                    "name": "B",
                    "admin_username": "admin",
                    "admin_password": "password-1",
                },
            ),
            201,
        )
    agents = await _agents(admin)
    first = agents["agent2001"]["id"]
    ids = {
        "queues": _ok(await admin.get("/api/v1/queues"))["items"][0]["id"],
        "skills": _ok(await admin.get("/api/v1/skills"))["items"][0]["id"],
        "teams": _ok(await admin.get("/api/v1/teams"))["items"][0]["id"],
        "reason-codes": _ok(await admin.get("/api/v1/reason-codes"))["items"][0]["id"],
        "agents": first,
    }
    async with _client(demo, "tenant-b", "admin", "password-1") as b:
        for kind, ident in ids.items():
            assert _ok(await b.get(f"/api/v1/{kind}"))["total"] == 0
            assert _error(await b.get(f"/api/v1/{kind}/{ident}"), 404) == "not_found"
            assert _error(await b.patch(f"/api/v1/{kind}/{ident}", json={}), 404) == "not_found"
            assert _error(await b.delete(f"/api/v1/{kind}/{ident}"), 404) == "not_found"
        for part in ("memberships", "skills", "state"):
            r = await b.put(f"/api/v1/agents/{first}/{part}", json={"state": "available"})
            assert r.status_code in (404, 422), r.text
            if part != "state":
                r = await b.put(f"/api/v1/agents/{first}/{part}", json={})
                assert _error(r, 404) == "not_found"
        r = await b.put(f"/api/v1/agents/{first}/state", json={"state": "available"})
        assert _error(r, 404) == "not_found"
        # A tenant-B team cannot take tenant A's supervisor, nor a profile A's user.
        r = await b.post("/api/v1/agents", json={"user_id": agents["agent2001"]["user_id"]})
        assert _error(r, 422) == "unknown_user"
        assert _ok(await b.get("/api/v1/acd/realtime"))["agents"] == []
    assert (await admin.get(f"/api/v1/agents/{first}")).status_code == 200
