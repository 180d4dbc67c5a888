"""Self-service: ``/users/me`` (name, language, password) and ``/agents/me`` (profile)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from helpline.api.app import create_app
from helpline.runtime import Runtime
from tests.conftest import DEMO_PASSWORD, login


@asynccontextmanager
async def _as(runtime: Runtime, user: str, password: str = DEMO_PASSWORD) -> AsyncIterator[Any]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        await login(client, "demo", user, password)
        yield client


def _ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    error_id: str = r.json()["error_id"]
    return error_id


async def test_user_reads_and_changes_own_name_and_language(runtime: Runtime) -> None:
    async with _as(runtime, "agent2001") as me:
        before = _ok(await me.get("/api/v1/users/me"))
        assert (before["username"], before["role"], before["tenant"]) == (
            "agent2001",
            "agent",
            "demo",
        )
        assert "password_hash" not in before
        after = _ok(
            await me.patch("/api/v1/users/me", json={"display_name": "Ann", "locale": "ko"})
        )
        assert (after["display_name"], after["locale"]) == ("Ann", "ko")
        assert _ok(await me.get("/api/v1/users/me"))["locale"] == "ko"
        bad = await me.patch("/api/v1/users/me", json={"locale": "fr"})
        assert bad.status_code == 422
        sneaky = await me.patch("/api/v1/users/me", json={"role": "tenant-admin"})
        assert sneaky.status_code == 422
    async with _as(runtime, "admin") as admin:
        users = _ok(await admin.get("/api/v1/users", params={"limit": 500}))["items"]
        row = next(u for u in users if u["username"] == "agent2001")
        assert (row["display_name"], row["locale"], row["role"]) == ("Ann", "ko", "agent")
        audit = _ok(await admin.get("/api/v1/audit", params={"entity": "user", "limit": 50}))
        assert any(
            e["action"] == "update" and (e["after"] or {}).get("locale") == "ko"
            for e in audit["items"]
        )


async def test_password_change_needs_the_current_password(runtime: Runtime) -> None:
    async with _as(runtime, "agent2002") as me:
        missing = await me.patch("/api/v1/users/me", json={"new_password": "brand-new-secret"})
        assert _error(missing, 400) == "current_password_required"
        wrong = await me.patch(
            "/api/v1/users/me",
            json={"current_password": "not-it-at-all", "new_password": "brand-new-secret"},
        )
        assert _error(wrong, 403) == "wrong_password"
        short = await me.patch(
            "/api/v1/users/me", json={"current_password": DEMO_PASSWORD, "new_password": "short"}
        )
        assert short.status_code == 422
        _ok(
            await me.patch(
                "/api/v1/users/me",
                json={"current_password": DEMO_PASSWORD, "new_password": "brand-new-secret"},
            )
        )
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as fresh:
        old = await fresh.post(
            "/api/v1/auth/login",
            json={"tenant": "demo", "username": "agent2002", "password": DEMO_PASSWORD},
        )
        assert old.status_code == 401
    async with _as(runtime, "agent2002", "brand-new-secret") as again:
        assert _ok(await again.get("/api/v1/users/me"))["username"] == "agent2002"


async def test_agent_reads_own_profile_with_team_queues_skills_and_phones(
    runtime: Runtime,
) -> None:
    async with _as(runtime, "admin") as admin:
        agents = {a["username"]: a for a in _ok(await admin.get("/api/v1/agents"))["items"]}
        agent = agents["agent2003"]
        team = await admin.post("/api/v1/teams", json={"name": "night shift"})
        assert team.status_code == 201, team.text
        patched = await admin.patch(
            f"/api/v1/agents/{agent['id']}", json={"team_id": team.json()["id"]}
        )
        assert patched.status_code == 200, patched.text
        skills = await admin.put(f"/api/v1/agents/{agent['id']}/skills", json={"skills": {"ko": 4}})
        assert skills.status_code == 200, skills.text
        memberships = _ok(await admin.get(f"/api/v1/agents/{agent['id']}/memberships"))
    async with _as(runtime, "agent2003") as me:
        profile = _ok(await me.get("/api/v1/agents/me"))
    assert profile["id"] == agent["id"] and profile["username"] == "agent2003"
    assert profile["team"] == {"id": team.json()["id"], "name": "night shift"}
    assert profile["skills"] == {"ko": 4}
    assert [q["queue"] for q in profile["queues"]] == [m["queue"] for m in memberships]
    assert profile["queues"], "the demo agent is in some queue"
    assert profile["sip_accounts"] == agent["sip_accounts"] and profile["sip_accounts"]


async def test_user_without_agent_profile_gets_not_an_agent(runtime: Runtime) -> None:
    async with _as(runtime, "admin") as admin:
        assert _error(await admin.get("/api/v1/agents/me"), 404) == "not_an_agent"


async def test_language_chosen_on_a_page_is_stored_and_used_by_another_browser(
    runtime: Runtime,
) -> None:
    async with _as(runtime, "supervisor") as first:
        page = await first.get("/wallboard", params={"lang": "zh"})
        assert page.status_code == 200 and '<html lang="zh">' in page.text
        assert _ok(await first.get("/api/v1/users/me"))["locale"] == "zh"
        unknown = await first.get("/wallboard", params={"lang": "xx"})
        assert _ok(await first.get("/api/v1/users/me"))["locale"] == "zh"
        assert '<html lang="zh">' in unknown.text
    async with _as(runtime, "supervisor") as second:
        assert "helpline_lang" not in second.cookies
        page = await second.get("/wallboard")
        assert '<html lang="zh">' in page.text
        second.cookies.set("helpline_lang", "ko")
        explicit = await second.get("/wallboard")
        assert '<html lang="ko">' in explicit.text, "this browser's own choice still wins"
