"""The WebSocket event stream, against a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
import websockets
from websockets.exceptions import ConnectionClosed

from helpline.api.app import create_app
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD


@pytest.fixture
async def base_url(runtime: Runtime) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(runtime), lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


async def _session(
    base: str, tenant: str, user: str, password: str
) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=f"http://{base}")
    r = await client.post(
        "/api/v1/auth/login", json={"tenant": tenant, "username": user, "password": password}
    )
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    cookie = next(
        v
        for k, v in r.headers.multi_items()
        if k == "set-cookie" and v.startswith("helpline_session=")
    )
    return client, cookie.split(";")[0]


def _ws(base: str, cookie: str, origin: str | None = None) -> websockets.asyncio.client.connect:
    headers = {"Cookie": cookie, "Origin": origin or f"http://{base}"}
    return websockets.connect(f"ws://{base}/api/v1/events/ws", additional_headers=headers)


async def _api(base: str, tenant: str, user: str, password: str) -> tuple[httpx.AsyncClient, str]:
    client, cookie = await _session(base, tenant, user, password)
    client.headers["Cookie"] = cookie
    return client, cookie


async def test_events_reach_same_tenant_admins_and_no_one_else(base_url: str) -> None:
    root, _ = await _api(base_url, "system", "admin", ADMIN_PASSWORD)
    r = await root.post(
        "/api/v1/tenants",
        json={
            "slug": "other",
            "name": "Other",
            "admin_username": "boss",
            "admin_password": "password-1",
        },
    )
    assert r.status_code == 201, r.text
    demo, demo_cookie = await _api(base_url, "demo", "admin", DEMO_PASSWORD)
    other, other_cookie = await _api(base_url, "other", "boss", "password-1")
    async with _ws(base_url, demo_cookie) as demo_ws, _ws(base_url, other_cookie) as other_ws:
        made_in_demo = (
            await demo.post(
                "/api/v1/users",
                json={"username": "newbie", "password": "password-1", "role": "agent"},
            )
        ).json()
        made_in_other = (
            await other.post(
                "/api/v1/users",
                json={"username": "newbie", "password": "password-1", "role": "agent"},
            )
        ).json()
        seen_demo = json.loads(await asyncio.wait_for(demo_ws.recv(), 10))
        seen_other = json.loads(await asyncio.wait_for(other_ws.recv(), 10))
    assert seen_demo["event"] == "config.changed"
    assert seen_demo["entity_id"] == str(made_in_demo["id"])
    # The first event the other tenant sees is its own: the demo change was filtered out.
    assert seen_other["entity_id"] == str(made_in_other["id"])
    assert seen_other["tenant_id"] != seen_demo["tenant_id"]
    for c in (root, demo, other):
        await c.aclose()


async def test_event_stream_refuses_cross_origin_cookie_and_anonymous(base_url: str) -> None:
    demo, cookie = await _api(base_url, "demo", "admin", DEMO_PASSWORD)
    with pytest.raises(ConnectionClosed) as closed:
        async with _ws(base_url, cookie, origin="http://evil.invalid") as ws:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with pytest.raises(ConnectionClosed) as anonymous:
        async with websockets.connect(f"ws://{base_url}/api/v1/events/ws") as ws:
            await asyncio.wait_for(ws.recv(), 10)
    assert anonymous.value.rcvd is not None and anonymous.value.rcvd.code == 4401
    await demo.aclose()


async def test_token_with_events_scope_streams_over_bearer_auth(base_url: str) -> None:
    demo, _ = await _api(base_url, "demo", "admin", DEMO_PASSWORD)
    token = (
        await demo.post("/api/v1/auth/tokens", json={"name": "wallboard", "scopes": ["events"]})
    ).json()["token"]
    url = f"ws://{base_url}/api/v1/events/ws"
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        made = (
            await demo.post(
                "/api/v1/sip-accounts", json={"username": "3001", "password": "password-1"}
            )
        ).json()
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert event["entity"] == "sip_account" and event["entity_id"] == str(made["id"])
    await demo.aclose()


async def test_event_streams_of_ended_sessions_close(base_url: str) -> None:
    """A password change closes the streams of the user's other sessions (the one that
    changed it keeps streaming); a logout closes that session's stream."""
    here, here_cookie = await _api(base_url, "demo", "admin", DEMO_PASSWORD)
    there, there_cookie = await _api(base_url, "demo", "admin", DEMO_PASSWORD)
    async with _ws(base_url, there_cookie) as there_ws, _ws(base_url, here_cookie) as here_ws:
        r = await here.patch(
            "/api/v1/users/me",
            json={"current_password": DEMO_PASSWORD, "new_password": "another-secret-1"},
        )
        assert r.status_code == 200, r.text
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # events of the change itself may come first
                await asyncio.wait_for(there_ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "session_ended")
        made = await here.post(
            "/api/v1/users", json={"username": "newbie", "password": "password-1", "role": "agent"}
        )
        assert made.status_code == 201, made.text
        while True:
            seen = json.loads(await asyncio.wait_for(here_ws.recv(), 10))
            if seen.get("entity_id") == str(made.json()["id"]):
                break
    async with _ws(base_url, here_cookie) as here_ws:
        assert (await here.post("/api/v1/auth/logout")).status_code == 204
        with pytest.raises(ConnectionClosed) as logged_out:
            while True:
                await asyncio.wait_for(here_ws.recv(), 10)
        assert logged_out.value.rcvd is not None and logged_out.value.rcvd.code == 4401
    for client in (here, there):
        await client.aclose()
