"""A password change ends the user's other browser sessions, on both databases.

Self-service keeps the session that made the change; an admin's change ends every
session of the user (the admin's own but the one asking, when they change their own
password). API tokens are separate credentials and keep working (docs/security.md).
"""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from helpline.auth.models import WebSession
from helpline.runtime import Runtime
from helpline.users.models import User
from tests.conftest import DEMO_PASSWORD
from tests.users.test_me_api import _as

NEW_PASSWORD = "a-brand-new-secret"


async def _status(client: httpx.AsyncClient) -> tuple[int, str | None]:
    r = await client.get("/api/v1/users/me")
    return r.status_code, None if r.status_code == 200 else r.json()["error_id"]


async def _sessions(runtime: Runtime, username: str) -> int:
    async with runtime.unit_of_work() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(WebSession)
            .join(User, User.id == WebSession.user_id)
            .where(User.username == username)
        )
    return int(count or 0)


async def test_changing_ones_password_ends_the_other_sessions_but_this_one(
    runtime: Runtime,
) -> None:
    async with (
        _as(runtime, "agent2001") as here,
        _as(runtime, "agent2001") as elsewhere,
        _as(runtime, "agent2002") as colleague,
    ):
        r = await here.post("/api/v1/auth/tokens", json={"name": "crm", "scopes": ["read"]})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        assert await _sessions(runtime, "agent2001") == 2
        r = await here.patch(
            "/api/v1/users/me",
            json={"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 200, r.text
        assert await _status(here) == (200, None), "the session that changed it stays"
        assert await _status(elsewhere) == (401, "session_expired")
        assert await _status(colleague) == (200, None), "other users are not touched"
        assert await _sessions(runtime, "agent2001") == 1
        bearer = await elsewhere.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert bearer.status_code == 200, "API tokens are kept"
    async with _as(runtime, "agent2001", NEW_PASSWORD) as again:
        assert await _status(again) == (200, None)


async def test_other_changes_to_oneself_end_no_session(runtime: Runtime) -> None:
    async with _as(runtime, "agent2003") as here, _as(runtime, "agent2003") as elsewhere:
        r = await here.patch("/api/v1/users/me", json={"display_name": "Dee"})
        assert r.status_code == 200, r.text
        assert await _status(elsewhere) == (200, None)
        assert await _sessions(runtime, "agent2003") == 2


async def test_an_admin_setting_a_users_password_ends_all_their_sessions(
    runtime: Runtime,
) -> None:
    async with (
        _as(runtime, "admin") as admin,
        _as(runtime, "admin") as admin_elsewhere,
        _as(runtime, "agent2002") as agent,
    ):
        users = (await admin.get("/api/v1/users", params={"limit": 500})).json()["items"]
        ids = {u["username"]: u["id"] for u in users}
        r = await admin.patch(f"/api/v1/users/{ids['agent2002']}", json={"display_name": "Bo"})
        assert r.status_code == 200, r.text
        assert await _status(agent) == (200, None), "no password given: sessions stay"
        r = await admin.patch(f"/api/v1/users/{ids['agent2002']}", json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        assert await _status(agent) == (401, "session_expired")
        assert await _sessions(runtime, "agent2002") == 0
        assert await _status(admin) == (200, None)
        r = await admin.patch(f"/api/v1/users/{ids['admin']}", json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        assert await _status(admin) == (200, None), "the admin's own session stays"
        assert await _status(admin_elsewhere) == (401, "session_expired")
