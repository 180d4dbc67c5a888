"""Webhooks on SQLite and PostgreSQL: signed deliveries to a real HTTP server on
127.0.0.1, retries with backoff on a fake clock, the delivery log, the call-event bridge."""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from helpline.acd.events import CallOffered
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.webhooks import delivery, service
from helpline.webhooks.delivery import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    SIGNATURE_HEADER,
    WebhookBridge,
    WebhookSender,
    retry_delay,
    sign,
    verify,
)
from tests.conftest import DEMO_PASSWORD, login
from tests.workorders.helpers import demo_admin

SECRET = "whsec-0123456789abcdef"


@dataclass
class Receiver:
    """What the local endpoint got, and the statuses it answers with in turn."""

    url: str
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 answering 200 unless told otherwise."""
    got = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.requests.append((dict(self.headers.items()), body))
            self.send_response(got.statuses.pop(0) if got.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield got
    server.shutdown()
    server.server_close()


class Clock:
    """A settable clock for the sender."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def api(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The app's client logged in as the demo tenant's admin."""
    await login(client, "demo", "admin", DEMO_PASSWORD)
    yield client


@pytest.fixture
async def sender(runtime: Runtime) -> AsyncIterator[tuple[WebhookSender, Clock]]:
    """A sender on a fake clock a minute ahead, with a client that ignores proxies."""
    clock = Clock(utcnow().replace(microsecond=0) + timedelta(minutes=1))
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
        yield WebhookSender(runtime, client=client, clock=clock), clock


async def _subscribe(api: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "crm", "url": url, "events": ["workorder.changed"], "secret": SECRET}
    r = await api.post("/api/v1/webhooks", json={**body, **fields})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


async def _log(api: httpx.AsyncClient, webhook_id: int) -> list[dict[str, Any]]:
    r = await api.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_signatures_verify_and_reject_tampering_and_replays() -> None:
    header = sign(SECRET, 1_700_000_000, b'{"a":1}')
    assert verify(SECRET, header, b'{"a":1}', now=1_700_000_100)
    assert not verify(SECRET, header, b'{"a":2}', now=1_700_000_100)
    assert not verify("another-secret-123456", header, b'{"a":1}', now=1_700_000_100)
    assert not verify(SECRET, header, b'{"a":1}', now=1_700_001_000)
    assert not verify(SECRET, "garbage", b'{"a":1}', now=1_700_000_000)


def test_backoff_is_bounded() -> None:
    assert [retry_delay(n) for n in range(1, MAX_ATTEMPTS)] == list(RETRY_DELAYS)
    assert retry_delay(MAX_ATTEMPTS) is None
    assert all(a < b for a, b in itertools.pairwise(RETRY_DELAYS))


async def test_work_order_change_is_delivered_signed(
    api: httpx.AsyncClient, receiver: Receiver, sender: tuple[WebhookSender, Clock]
) -> None:
    hook = await _subscribe(api, receiver.url)
    assert hook["secret"] == SECRET
    assert "secret" not in (await api.get(f"/api/v1/webhooks/{hook['id']}")).json()
    made = await api.post("/api/v1/workorders", json={"title": "Leak"})
    assert made.status_code == 201
    worker, clock = sender
    assert await worker.deliver_due() == 1
    [(headers, body)] = receiver.requests
    assert headers[EVENT_HEADER] == "workorder.changed"
    assert verify(SECRET, headers[SIGNATURE_HEADER], body, now=clock.now.timestamp())
    document = httpx.Response(200, content=body).json()
    assert document["event"] == "workorder.changed"
    assert document["data"]["action"] == "created"
    assert document["data"]["work_order"]["id"] == made.json()["id"]
    [entry] = await _log(api, hook["id"])
    assert str(entry["id"]) == headers[DELIVERY_HEADER]
    assert (entry["status"], entry["attempts"], entry["last_status_code"]) == ("delivered", 1, 200)
    assert await worker.deliver_due() == 0


async def test_a_500_is_retried_after_the_backoff_then_delivered(
    api: httpx.AsyncClient, receiver: Receiver, sender: tuple[WebhookSender, Clock]
) -> None:
    hook = await _subscribe(api, receiver.url)
    receiver.statuses = [500]
    await api.post("/api/v1/workorders", json={"title": "Flaky"})
    worker, clock = sender
    assert await worker.deliver_due() == 1
    [entry] = await _log(api, hook["id"])
    assert (entry["status"], entry["attempts"], entry["last_error"]) == ("pending", 1, "HTTP 500")
    assert await worker.deliver_due() == 0
    clock.now += RETRY_DELAYS[0]
    assert await worker.deliver_due() == 1
    [entry] = await _log(api, hook["id"])
    assert (entry["status"], entry["attempts"], entry["last_error"]) == ("delivered", 2, None)
    assert len(receiver.requests) == 2
    assert receiver.requests[0][1] == receiver.requests[1][1]
    assert receiver.requests[0][0][DELIVERY_HEADER] == receiver.requests[1][0][DELIVERY_HEADER]


async def test_a_dead_endpoint_fails_after_the_last_attempt(
    api: httpx.AsyncClient, receiver: Receiver, sender: tuple[WebhookSender, Clock]
) -> None:
    dead = receiver.url.replace("/hook", "/gone").rsplit(":", 1)[0] + ":1/hook"
    hook = await _subscribe(api, dead)
    await api.post("/api/v1/workorders", json={"title": "Nobody listens"})
    worker, clock = sender
    for attempt in range(MAX_ATTEMPTS):
        assert await worker.deliver_due() == 1
        clock.now += RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
    assert await worker.deliver_due() == 0
    [entry] = await _log(api, hook["id"])
    assert (entry["status"], entry["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert entry["last_error"].startswith("ConnectError")
    failed = await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"status": "failed"})
    assert failed.json()["total"] == 1
    retried = await api.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{entry['id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"


async def test_only_subscribed_enabled_hooks_of_the_tenant_get_events(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    calls = await _subscribe(api, receiver.url, name="calls", events=["call.offered"])
    off = await _subscribe(api, receiver.url, name="off", enabled=False)
    on = await _subscribe(api, receiver.url, name="on")
    principal = await demo_admin(runtime)
    async with runtime.unit_of_work() as session:
        queued = await service.publish(session, principal.tenant_id, "workorder.changed", {"x": 1})
        assert [d.webhook_id for d in queued] == [on["id"]]
        assert await service.publish(session, principal.tenant_id + 1000, "call.offered", {}) == []
    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as session:
            await service.publish(session, principal.tenant_id, "workorder.changed", {"x": 2})
            raise RuntimeError("roll back")
    assert len(await _log(api, on["id"])) == 1
    assert await _log(api, off["id"]) == []
    assert await _log(api, calls["id"]) == []


async def test_call_events_on_the_bus_become_webhooks(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    hook = await _subscribe(api, receiver.url, events=["call.offered", "call.ended"])
    principal = await demo_admin(runtime)
    event = CallOffered(
        tenant_id=principal.tenant_id,
        agent_id=1,
        username="alice",
        call_id="c-1",
        queue="support",
        caller="+8210",
        called="+8215",
        data={},
    )
    bridge = WebhookBridge(runtime)
    assert bridge.wanted(event)
    await bridge.forward(event)
    [entry] = await _log(api, hook["id"])
    assert entry["event"] == "call.offered"
    assert entry["payload"]["call_id"] == "c-1"


async def test_webhook_validation_and_crud(api: httpx.AsyncClient) -> None:
    bad = await api.post(
        "/api/v1/webhooks", json={"name": "x", "url": "ftp://h/", "events": ["call.ended"]}
    )
    assert bad.status_code == 422
    none = await api.post(
        "/api/v1/webhooks", json={"name": "x", "url": "http://127.0.0.1/", "events": []}
    )
    assert none.status_code == 422
    made = await api.post(
        "/api/v1/webhooks",
        json={"name": "gen", "url": "http://127.0.0.1/", "events": ["call.ended"]},
    )
    assert made.status_code == 201
    assert len(made.json()["secret"]) >= 32
    ident = made.json()["id"]
    changed = await api.patch(f"/api/v1/webhooks/{ident}", json={"enabled": False})
    assert changed.json()["enabled"] is False
    assert (await api.delete(f"/api/v1/webhooks/{ident}")).status_code == 204
    assert (await api.get(f"/api/v1/webhooks/{ident}")).status_code == 404


def test_delivery_module_names_the_headers() -> None:
    assert delivery.SIGNATURE_HEADER.lower().startswith("x-helpline-")
