"""CTI commands and the live-call listing across nodes, in-process: node A's API relays
to node B's app (over an ASGI transport) what concerns a call B holds; B decides who
may command it. Both nodes share one database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from helpline.api.app import create_app
from helpline.cluster import registry
from helpline.cluster.forward import FORWARDED_BY
from helpline.cluster.node import CLUSTER_LISTENER, Cluster
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.telephony.cti import Actor, CallState, LiveCall, Party, Side
from helpline.tenants.models import Tenant
from tests.cluster.samples import add_record
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login, make_settings

B_URL = "http://node-b.internal:8080"


@dataclass
class FakeCommands:
    """Node B's live calls: one call of agent 2001; commands are recorded."""

    calls_held: list[LiveCall]
    done: list[tuple[str, str, Actor]] = field(default_factory=list)

    def get(self, tenant_id: int, call_id: str) -> LiveCall | None:
        return next(
            (c for c in self.calls_held if (c.tenant_id, c.call_id) == (tenant_id, call_id)),
            None,
        )

    def calls(self, tenant_id: int) -> list[LiveCall]:
        return [c for c in self.calls_held if c.tenant_id == tenant_id]

    async def hang_up(self, tenant_id: int, call_id: str, actor: Actor) -> LiveCall:
        self.done.append(("hangup", call_id, actor))
        call = self.get(tenant_id, call_id)
        assert call is not None
        return call

    async def send_dtmf(self, tenant_id: int, call_id: str, actor: Actor, digits: str) -> LiveCall:
        self.done.append((f"dtmf {digits}", call_id, actor))
        call = self.get(tenant_id, call_id)
        assert call is not None
        return call


@dataclass
class FakeSip:
    commands: FakeCommands

    def status(self) -> dict[str, object]:
        return {"ok": True}


@dataclass
class Nodes:
    a: httpx.AsyncClient
    b: FakeCommands
    runtime: Runtime
    tenant_id: int


async def _demo(runtime: Runtime) -> int:
    async with runtime.unit_of_work() as db:
        return (await db.execute(select(Tenant.id).where(Tenant.slug == "demo"))).scalar_one()


async def _beat(runtime: Runtime, name: str, url: str, *, ago: float = 0) -> None:
    info = registry.NodeInfo(name, "127.0.0.1", 5060, url, utcnow())
    async with runtime.unit_of_work() as db:
        await registry.beat(db, node=info, now=utcnow() - timedelta(seconds=ago))


def _unanswered(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


@pytest.fixture
async def nodes(
    runtime: Runtime, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Nodes]:
    """Node A (no SIP service, the ``runtime``) and node B holding call ``c1``."""
    runtime_b = Runtime.build(make_settings(tmp_path / "b", database_url, node_name="node-b"))
    tenant_id = await _demo(runtime)
    held = LiveCall(
        call_id="c1",
        tenant_id=tenant_id,
        state=CallState.TALKING,
        parties=(Party(Side.CUSTOMER, None, "+99955501"), Party(Side.AGENT, "2001", "2001")),
    )
    commands = FakeCommands([held])
    runtime_b.listeners["sip"] = FakeSip(commands)
    unanswered = getattr(request, "param", False)
    transport: httpx.AsyncBaseTransport = (
        httpx.MockTransport(_unanswered)
        if unanswered
        else httpx.ASGITransport(app=create_app(runtime_b))
    )
    cluster = Cluster(runtime, client=httpx.AsyncClient(transport=transport))
    runtime.listeners[CLUSTER_LISTENER] = cluster
    await _beat(runtime, "node-b", B_URL)
    await add_record(runtime, tenant_id=tenant_id, call_id="c1", node="node-b", at=utcnow())
    app_a = create_app(runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app_a), base_url="https://testserver"
    ) as client:
        yield Nodes(client, commands, runtime, tenant_id)
    await cluster.client.aclose()
    await runtime_b.close()


async def test_a_command_on_a_call_of_another_node_is_carried_out_there(nodes: Nodes) -> None:
    await login(nodes.a, "demo", "agent2001", DEMO_PASSWORD)
    r = await nodes.a.post("/api/v1/calls/c1/hangup")
    assert r.status_code == 200, r.text
    assert r.json()["call_id"] == "c1"
    assert nodes.b.done == [("hangup", "c1", Actor("agent2001", "2001"))]


async def test_the_body_and_the_supervisor_travel_with_the_command(nodes: Nodes) -> None:
    await login(nodes.a, "demo", "supervisor", DEMO_PASSWORD)
    r = await nodes.a.post("/api/v1/calls/c1/dtmf", json={"digits": "12#"})
    assert r.status_code == 200, r.text
    assert nodes.b.done == [("dtmf 12#", "c1", Actor("supervisor"))]
    invalid = await nodes.a.post("/api/v1/calls/c1/dtmf", json={"digits": "xyz"})
    assert (invalid.status_code, invalid.json()["error_id"]) == (422, "validation_error")


async def test_the_holder_decides_who_may_command_the_call(nodes: Nodes) -> None:
    await login(nodes.a, "demo", "agent2002", DEMO_PASSWORD)
    r = await nodes.a.post("/api/v1/calls/c1/hangup")
    assert r.status_code == 403
    assert r.json()["error_id"] == "not_your_call"
    assert nodes.b.done == []


async def test_a_call_of_a_dead_node_is_not_found(nodes: Nodes) -> None:
    await _beat(nodes.runtime, "node-b", B_URL, ago=3600)
    await login(nodes.a, "demo", "agent2001", DEMO_PASSWORD)
    r = await nodes.a.post("/api/v1/calls/c1/hangup")
    assert r.status_code == 404
    assert r.json()["error_id"] == "call_not_found"
    listed = await nodes.a.get("/api/v1/calls")
    assert listed.json() == []
    assert nodes.b.done == []


@pytest.mark.parametrize("nodes", [True], indirect=True)
async def test_a_holder_that_does_not_answer_is_a_gateway_timeout(nodes: Nodes) -> None:
    await login(nodes.a, "demo", "agent2001", DEMO_PASSWORD)
    r = await nodes.a.post("/api/v1/calls/c1/hold")
    assert r.status_code == 504
    assert r.json()["error_id"] == "node_unreachable"
    assert r.json()["details"]["node"] == "node-b"
    listed = await nodes.a.get("/api/v1/calls")
    assert (listed.status_code, listed.json()) == (200, [])


async def test_a_relayed_request_is_not_relayed_again(nodes: Nodes) -> None:
    await login(nodes.a, "demo", "agent2001", DEMO_PASSWORD)
    r = await nodes.a.post("/api/v1/calls/c1/hangup", headers={FORWARDED_BY: "node-c"})
    assert r.status_code == 404
    assert r.json()["error_id"] == "call_not_found"
    assert nodes.b.done == []


async def test_an_unknown_call_is_not_found_without_asking_anyone(nodes: Nodes) -> None:
    await login(nodes.a, "demo", "agent2001", DEMO_PASSWORD)
    r = await nodes.a.post("/api/v1/calls/nope/hangup")
    assert (r.status_code, r.json()["error_id"]) == (404, "call_not_found")


async def test_the_listing_joins_the_calls_of_every_node(nodes: Nodes) -> None:
    await login(nodes.a, "demo", "supervisor", DEMO_PASSWORD)
    r = await nodes.a.get("/api/v1/calls")
    assert r.status_code == 200, r.text
    assert [(c["call_id"], c["agent"]) for c in r.json()] == [("c1", "2001")]
    nodes.a.cookies.clear()
    await login(nodes.a, "demo", "agent2002", DEMO_PASSWORD)
    assert (await nodes.a.get("/api/v1/calls")).json() == []


async def test_platform_admins_see_the_registry(nodes: Nodes) -> None:
    await _beat(nodes.runtime, "node-old", "http://old:8080", ago=3600)
    await login(nodes.a, "demo", "admin", DEMO_PASSWORD)
    refused = await nodes.a.get("/api/v1/cluster/nodes")
    assert refused.status_code == 403
    nodes.a.cookies.clear()
    await login(nodes.a, "system", "admin", ADMIN_PASSWORD)
    r = await nodes.a.get("/api/v1/cluster/nodes")
    assert r.status_code == 200, r.text
    by_name = {n["name"]: n for n in r.json()}
    assert by_name["node-b"]["alive"] is True
    assert by_name["node-b"]["http_url"] == B_URL
    assert by_name["node-old"]["alive"] is False
