"""The live ACD through the API: ``GET /acd/realtime`` from the running distributor, and
the callback requests a supervisor lists and cancels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from helpline.acd.events import CallbackChanged, QueueChanged
from helpline.api.app import create_app
from helpline.core.events import Event, Subscription
from helpline.runtime import Runtime
from helpline.telephony.acd import DialRequest, Distributor, Offered
from helpline.tenants.service import by_slug
from tests.conftest import DEMO_PASSWORD, login

WAIT = 10.0


async def _never_ring(call_id: str, accounts: tuple[str, ...], seconds: float) -> Offered:
    raise AssertionError("no agent is logged in: nothing may ring")


async def _never_dial(request: DialRequest) -> int:
    raise AssertionError("no agent is logged in: no callback may be placed")


@asynccontextmanager
async def _as(runtime: Runtime, user: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        await login(client, "demo", user, DEMO_PASSWORD)
        yield client


async def _next(events: Subscription, kind: type[Event], **match: object) -> Any:
    async def find() -> Event:
        while True:
            event = await events.get()
            if isinstance(event, kind) and all(getattr(event, k) == v for k, v in match.items()):
                return event

    return await asyncio.wait_for(find(), WAIT)


@pytest.fixture
async def live(runtime: Runtime) -> AsyncIterator[tuple[Distributor, int]]:
    async with runtime.unit_of_work() as session:
        tenant = await by_slug(session, "demo")
        assert tenant is not None
    acd = Distributor(runtime, _never_ring, _never_dial)
    yield acd, tenant.id
    await acd.close()


async def test_realtime_comes_from_the_running_distributor(
    runtime: Runtime, live: tuple[Distributor, int]
) -> None:
    acd, tenant_id = live
    await acd.join(tenant_id, "first", "sales", caller="+12015550100")
    await acd.join(tenant_id, "vip", "sales", caller="+8613800138000")
    async with _as(runtime, "supervisor") as boss:
        r = await boss.get("/api/v1/acd/realtime")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["source"] == "runtime" and view["node"] == runtime.settings.node_name
    sales = next(q for q in view["queues"] if q["name"] == "sales")
    assert sales["waiting"] == 2 and sales["agents_logged_in"] == 0
    assert sales["expected_wait_seconds"] is None  # nobody serves the queue
    assert [(c["call_id"], c["position"], c["customer_type"]) for c in sales["callers"]] == [
        ("vip", 1, "vip"),
        ("first", 2, None),
    ]
    assert {a["username"] for a in view["agents"]} >= {"agent2001", "agent2004"}
    health = runtime.listeners["acd"].status()
    assert health["ok"] and health["waiting"] == 2 and health["tenants"] == [tenant_id]


async def test_a_supervisor_lists_and_cancels_a_pending_callback(
    runtime: Runtime, live: tuple[Distributor, int]
) -> None:
    acd, tenant_id = live
    events = runtime.bus.subscribe()
    try:
        await acd.join(tenant_id, "asker", "sales", caller="2003", called="5200")
        assert await acd.request_callback(tenant_id, "asker", number="2003")
        made = await _next(events, CallbackChanged, state="pending")
        async with _as(runtime, "supervisor") as boss:
            page = (await boss.get("/api/v1/acd/callbacks?state=pending")).json()
            assert page["total"] == 1
            (item,) = page["items"]
            assert (item["id"], item["number"], item["called"], item["call_id"]) == (
                made.callback_id,
                "2003",
                "5200",
                "asker",
            )
            path = f"/api/v1/acd/callbacks/{made.callback_id}"
            assert (await boss.get(path)).json()["state"] == "pending"
            r = await boss.post(f"{path}/cancel")
            assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
            await _next(events, QueueChanged, queue="sales", callbacks_pending=0, waiting=0)
            again = await boss.post(f"{path}/cancel")
            assert again.status_code == 409 and again.json()["error_id"] == "callback_finished"
        async with _as(runtime, "agent2001") as agent:
            denied = await agent.get("/api/v1/acd/callbacks")
            assert denied.status_code == 403
    finally:
        events.close()
