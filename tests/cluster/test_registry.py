"""The registry of nodes on SQLite and PostgreSQL: heartbeats, death by timeout,
leaving, and which node holds a call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from helpline.cluster import registry
from helpline.runtime import Runtime
from helpline.tenants.models import Tenant
from tests.cluster.samples import add_record

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def _info(name: str, started: datetime = T0) -> registry.NodeInfo:
    return registry.NodeInfo(name, "10.0.0.1", 5060, f"http://{name}:8080", started)


async def test_a_heartbeat_registers_then_refreshes_the_node(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as db:
        await registry.beat(db, node=_info("a"), now=T0)
    async with runtime.unit_of_work() as db:
        await registry.beat(db, node=_info("a"), now=T0 + timedelta(seconds=5))
        await registry.beat(db, node=_info("b"), now=T0)
    async with runtime.unit_of_work() as db:
        rows = await registry.nodes(db)
    assert [(n.name, n.heartbeat_at) for n in rows] == [
        ("a", T0 + timedelta(seconds=5)),
        ("b", T0),
    ]
    assert rows[0].http_url == "http://a:8080"


async def test_a_node_without_heartbeat_for_the_timeout_is_dead(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as db:
        await registry.beat(db, node=_info("a"), now=T0)
        node = await registry.find(db, name="a")
    assert node is not None
    assert registry.alive(node, now=T0 + timedelta(seconds=19), timeout=20)
    assert not registry.alive(node, now=T0 + timedelta(seconds=20), timeout=20)


async def test_a_node_that_leaves_is_gone(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as db:
        await registry.beat(db, node=_info("a"), now=T0)
    async with runtime.unit_of_work() as db:
        await registry.leave(db, name="a")
    async with runtime.unit_of_work() as db:
        assert await registry.find(db, name="a") is None


async def test_an_open_call_names_its_node_and_a_closed_one_none(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as db:
        tenant_id = (await db.execute(select(Tenant.id).where(Tenant.slug == "demo"))).scalar_one()
    for call_id, is_open in (("live", True), ("over", False)):
        await add_record(
            runtime, tenant_id=tenant_id, call_id=call_id, node="node-b", at=T0, is_open=is_open
        )
    async with runtime.unit_of_work() as db:
        assert await registry.call_node(db, tenant_id=tenant_id, call_id="live") == "node-b"
        assert await registry.call_node(db, tenant_id=tenant_id, call_id="over") is None
        assert await registry.call_node(db, tenant_id=tenant_id + 1, call_id="live") is None
