"""Forwarding a caller to the tenant's ACD leader: the headers, who leads, and whose
INVITEs are trusted (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from helpline.acd import leader
from helpline.cluster import registry
from helpline.runtime import Runtime
from helpline.sip.headers import Header
from helpline.sip.message import Request
from helpline.sip.routing import Address
from helpline.sip.uri import SipUri
from helpline.telephony import forwarding
from helpline.telephony.forwarding import Forwarded, leader_node, sender_node
from helpline.tenants.models import Tenant

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
TIMEOUT = 20.0


def _invite(*extra: Header) -> Request:
    return Request("INVITE", SipUri("10.0.0.1", "5200"), extra)


def _node(name: str, host: str, port: int) -> registry.NodeInfo:
    return registry.NodeInfo(name, host, port, f"http://{name}:8080", T0)


async def _tenant_id(runtime: Runtime) -> int:
    async with runtime.unit_of_work() as db:
        return (await db.execute(select(Tenant.id).where(Tenant.slug == "demo"))).scalar_one()


def test_the_headers_carry_the_queue_the_origin_and_the_callers_context() -> None:
    sent = Forwarded(
        tenant_id=7,
        queue="sales",
        origin_call="abc@node-b",
        origin_node="node-b",
        priority=5,
        skills={"korean": 3},
        data={"account": "42 A", "lang": "한국어"},
    )
    received = forwarding.parse(_invite(*forwarding.headers(sent)))
    assert received == sent
    assert all("\n" not in h.value for h in forwarding.headers(sent))


def test_an_invite_without_the_headers_or_with_bad_ones_is_no_forwarded_call() -> None:
    assert forwarding.parse(_invite()) is None
    assert forwarding.parse(_invite(Header(forwarding.QUEUE, "sales"))) is None
    bad_tenant = (Header(forwarding.QUEUE, "sales"), Header(forwarding.TENANT, "x"))
    assert forwarding.parse(_invite(*bad_tenant)) is None
    junk = forwarding.parse(
        _invite(
            Header(forwarding.QUEUE, "sales"),
            Header(forwarding.TENANT, "7"),
            Header(forwarding.CONTEXT, '{"p": "high", "s": {"a": "x"}, "d": [1]}'),
        )
    )
    assert junk == Forwarded(7, "sales", "", "", priority=0, skills={}, data={})
    garbled = _invite(
        Header(forwarding.QUEUE, "sales"),
        Header(forwarding.TENANT, "7"),
        Header(forwarding.CONTEXT, "{not json"),
    )
    assert forwarding.parse(garbled) == Forwarded(7, "sales", "", "")


async def test_only_a_living_other_node_at_its_sip_address_is_trusted(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as db:
        await registry.beat(db, node=_node("node-a", "127.0.0.1", 5060), now=T0)
        await registry.beat(db, node=_node("node-b", "127.0.0.1", 5160), now=T0)
        await registry.beat(db, node=_node("gone", "127.0.0.1", 5260), now=T0 - timedelta(60))

    async def sender(host: str, port: int, at: datetime = T0) -> str | None:
        async with runtime.unit_of_work() as db:
            node = await sender_node(
                db,
                source=Address(host, port),
                this_node="node-a",
                now=at,
                node_timeout=TIMEOUT,
            )
        return None if node is None else node.name

    assert await sender("127.0.0.1", 5160) == "node-b"
    # a phone or trunk on the same host, another port: not a node
    assert await sender("127.0.0.1", 5090) is None
    # the node's port from another host
    assert await sender("10.9.9.9", 5160) is None
    # this node itself, a node whose heartbeat stopped, and node B once it is dead
    assert await sender("127.0.0.1", 5060) is None
    assert await sender("127.0.0.1", 5260) is None
    assert await sender("127.0.0.1", 5160, T0 + timedelta(seconds=TIMEOUT)) is None


async def test_the_leader_is_the_living_other_node_holding_the_lease(runtime: Runtime) -> None:
    tenant_id = await _tenant_id(runtime)
    async with runtime.unit_of_work() as db:
        await registry.beat(db, node=_node("node-a", "127.0.0.1", 5060), now=T0)
        await registry.beat(db, node=_node("node-b", "127.0.0.1", 5160), now=T0)

    async def lead(this_node: str, at: datetime = T0) -> str | None:
        async with runtime.unit_of_work() as db:
            node = await leader_node(
                db, tenant_id=tenant_id, this_node=this_node, now=at, node_timeout=TIMEOUT
            )
        return None if node is None else node.name

    assert await lead("node-b") is None  # nobody leads yet
    async with runtime.unit_of_work() as db:
        assert await leader.acquire(db, tenant_id=tenant_id, node="node-a", now=T0, seconds=30)
    assert await lead("node-b") == "node-a"
    assert await lead("node-a") is None  # this node leads: nothing to forward
    # node A's heartbeat stopped while its lease runs on: no one to forward to
    assert await lead("node-b", T0 + timedelta(seconds=25)) is None
    # the lease expired
    assert await lead("node-b", T0 + timedelta(seconds=31)) is None
