"""Login, sessions, CSRF, rate limiting and API tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from helpline.api.app import create_app
from helpline.auth.models import WebSession
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login


async def test_platform_admin_logs_in_with_configured_password(client: httpx.AsyncClient) -> None:
    body = await login(client, "system", "admin", ADMIN_PASSWORD)
    assert body["role"] == "platform-admin"
    me = (await client.get("/api/v1/auth/me")).json()
    assert me["username"] == "admin" and me["tenant"] == "system" and me["via"] == "session"


async def test_session_cookie_is_httponly_secure_and_samesite(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/login",
        json={"tenant": "demo", "username": "admin", "password": DEMO_PASSWORD},
    )
    cookies = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("helpline_session="))
    csrf = next(c for c in cookies if c.startswith("helpline_csrf="))
    assert "HttpOnly" in session and "Secure" in session and "SameSite=lax" in session
    assert "HttpOnly" not in csrf


async def test_wrong_password_gets_stable_error_id(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/login", json={"tenant": "demo", "username": "admin", "password": "nope"}
    )
    assert r.status_code == 401
    assert r.json()["error_id"] == "login_failed"


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    creds = {"tenant": "demo", "username": "supervisor"}
    for _ in range(runtime.settings.login_max_failures):
        r = await client.post("/api/v1/auth/login", json={**creds, "password": "wrong"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={**creds, "password": DEMO_PASSWORD})
    assert r.status_code == 429
    assert r.json()["error_id"] == "login_rate_limited"
    assert int(r.headers["retry-after"]) > 0


async def test_unsafe_request_without_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    del client.headers["X-CSRF-Token"]
    r = await client.post("/api/v1/auth/tokens", json={"name": "x", "scopes": ["read"]})
    assert r.status_code == 403 and r.json()["error_id"] == "csrf_failed"
    client.headers["X-CSRF-Token"] = "forged"
    r = await client.post("/api/v1/auth/tokens", json={"name": "x", "scopes": ["read"]})
    assert r.status_code == 403 and r.json()["error_id"] == "csrf_failed"


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    r = await client.get("/api/v1/auth/me")
    assert r.status_code == 401


async def test_unauthenticated_request_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/users")
    assert r.status_code == 401 and r.json()["error_id"] == "not_authenticated"


async def test_read_token_can_read_but_not_write(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    r = await client.post("/api/v1/auth/tokens", json={"name": "crm", "scopes": ["read"]})
    assert r.status_code == 201
    secret = r.json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=client._transport, base_url="https://testserver") as api:
        users = await api.get("/api/v1/users", headers=bearer)
        assert users.status_code == 200 and users.json()["total"] == 6
        denied = await api.post(
            "/api/v1/users",
            headers=bearer,
            json={"username": "x1", "password": "password-1", "role": "agent"},
        )
        assert denied.status_code == 403 and denied.json()["error_id"] == "scope_denied"


async def test_revoked_token_stops_working(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    created = (
        await client.post("/api/v1/auth/tokens", json={"name": "t", "scopes": ["read", "write"]})
    ).json()
    assert "token" not in (await client.get("/api/v1/auth/tokens")).json()[0]
    assert (await client.delete(f"/api/v1/auth/tokens/{created['id']}")).status_code == 204
    async with httpx.AsyncClient(transport=client._transport, base_url="https://testserver") as api:
        r = await api.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {created['token']}"}
        )
    assert r.status_code == 401 and r.json()["error_id"] == "invalid_token"


async def test_token_cannot_exceed_the_scopes_of_its_creator(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    read_only = await client.post("/api/v1/auth/tokens", json={"name": "r", "scopes": ["read"]})
    secret = read_only.json()["token"]
    async with httpx.AsyncClient(transport=client._transport, base_url="https://testserver") as api:
        r = await api.post(
            "/api/v1/auth/tokens",
            headers={"Authorization": f"Bearer {secret}"},
            json={"name": "w", "scopes": ["write"]},
        )
    assert r.status_code == 403


async def test_login_is_committed_before_the_response_is_sent(runtime: Runtime) -> None:
    """A client that uses its cookie the moment the login answers must find its session
    (the unit of work used to commit only after the response went out)."""
    app = create_app(runtime)
    body = json.dumps({"tenant": "demo", "username": "admin", "password": DEMO_PASSWORD})
    sessions_at_start: list[int] = []
    received = False

    async def receive() -> dict[str, object]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body.encode(), "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200
            async with runtime.unit_of_work() as db:
                count = await db.scalar(select(func.count()).select_from(WebSession))
            sessions_at_start.append(count or 0)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/api/v1/auth/login",
        "raw_path": b"/api/v1/auth/login",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
        "app": app,
    }
    async with runtime.unit_of_work() as db:
        before = await db.scalar(select(func.count()).select_from(WebSession)) or 0
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sessions_at_start == [before + 1]
