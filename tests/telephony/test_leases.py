"""Tenant line limits with lines leased by each node in blocks (telephony/leases.py).

Every test runs against the real database (SQLite and PostgreSQL); the two-node tests
run two nodes, each with its own engine, on one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from helpline.core.errors import CapacityExceeded
from helpline.runtime import Runtime
from helpline.telephony.leases import Leases
from helpline.tenants import service as tenants
from helpline.tenants.models import CapacityLease, LeaseKind, Tenant
from tests.conftest import make_settings

LINE = LeaseKind.LINE


async def set_lines(runtime: Runtime, lines: int) -> int:
    """Give the demo tenant ``lines`` lines; its id."""
    async with runtime.engine.begin() as conn:
        tenant_id = (await conn.execute(select(Tenant.id).where(Tenant.slug == "demo"))).scalar()
        await conn.execute(update(Tenant).where(Tenant.id == tenant_id).values(max_lines=lines))
    assert tenant_id is not None
    return int(tenant_id)


async def rows(runtime: Runtime, tenant_id: int) -> int:
    """Line leases of the tenant in the database."""
    async with runtime.engine.connect() as conn:
        query = select(func.count()).where(
            CapacityLease.tenant_id == tenant_id, CapacityLease.kind == LINE
        )
        return int((await conn.execute(query)).scalar_one())


async def admit(leases: Leases, tenant_id: int, ref: str) -> bool:
    try:
        await leases.acquire(tenant_id, LINE, ref)
    except CapacityExceeded:
        return False
    return True


@pytest.fixture
async def second_node(runtime: Runtime, tmp_path: Path) -> AsyncIterator[Runtime]:
    """Another node (its own engine and name) on the same PostgreSQL database."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("nodes share a database on PostgreSQL")
    url = runtime.settings.effective_database_url
    other = Runtime.build(make_settings(tmp_path / "b", url, node_name="node-b"))
    yield other
    await other.close()


async def test_a_node_alone_admits_exactly_up_to_the_limit(runtime: Runtime) -> None:
    tenant_id = await set_lines(runtime, 20)
    leases = Leases(runtime)
    admitted = [await admit(leases, tenant_id, f"call-{n}") for n in range(25)]
    assert admitted == [True] * 20 + [False] * 5
    assert await rows(runtime, tenant_id) == 20
    leases.release(tenant_id, LINE, "call-3")
    assert await admit(leases, tenant_id, "call-again")
    assert not await admit(leases, tenant_id, "one-too-many")
    await leases.close()
    assert await rows(runtime, tenant_id) == 0


async def test_a_node_holds_at_most_two_blocks_more_than_its_calls_use(runtime: Runtime) -> None:
    tenant_id = await set_lines(runtime, 400)
    leases = Leases(runtime)
    for n in range(100):
        await leases.acquire(tenant_id, LINE, f"call-{n}")
    await leases.flush()
    in_use, free = leases.held(tenant_id, LINE)
    # blocks of 16 (an eighth of the limit, at most 16)
    assert in_use == 100
    assert await rows(runtime, tenant_id) == in_use + free <= 100 + 2 * 16
    for n in range(100):
        leases.release(tenant_id, LINE, f"call-{n}")
    await leases.flush()
    in_use, free = leases.held(tenant_id, LINE)
    assert in_use == 0
    assert 16 <= free <= 2 * 16  # two blocks free at most: the rest is given back
    assert await rows(runtime, tenant_id) == free
    await leases.close()


async def test_a_lease_taken_by_call_id_elsewhere_is_freed_by_its_call_id(
    runtime: Runtime,
) -> None:
    tenant_id = await set_lines(runtime, 4)
    async with runtime.engine.begin() as conn:
        await tenants.acquire_lease(conn, tenant_id=tenant_id, kind=LINE, ref="callback-1")
    leases = Leases(runtime)
    leases.release(tenant_id, LINE, "callback-1")
    await leases.flush()
    assert await rows(runtime, tenant_id) == 0
    await leases.close()


async def test_two_nodes_on_one_database_never_exceed_the_tenant_limit_together(
    runtime: Runtime, second_node: Runtime
) -> None:
    limit = 40
    tenant_id = await set_lines(runtime, limit)
    nodes = [Leases(runtime, node="node-a"), Leases(second_node, node="node-b")]
    rng = random.Random(4)
    calls: list[tuple[Leases, str]] = []

    async def place(node: Leases, ref: str) -> None:
        if await admit(node, tenant_id, ref):
            calls.append((node, ref))

    for burst in range(12):
        # both nodes admit concurrently, more calls than the limit
        await asyncio.gather(
            *(place(rng.choice(nodes), f"b{burst}-{n}") for n in range(rng.randint(5, 60)))
        )
        in_use = sum(node.held(tenant_id, LINE)[0] for node in nodes)
        assert in_use == len(calls) <= limit
        assert await rows(runtime, tenant_id) <= limit
        for _ in range(rng.randint(0, len(calls))):
            node, ref = calls.pop(rng.randrange(len(calls)))
            node.release(tenant_id, LINE, ref)
        await asyncio.gather(*(node.flush() for node in nodes))
    # both nodes asking until refused: every line of the tenant ends up in use
    for node in nodes:
        while await admit(node, tenant_id, f"fill-{len(calls)}"):
            calls.append((node, f"fill-{len(calls)}"))
    assert sum(node.held(tenant_id, LINE)[0] for node in nodes) == limit
    assert await rows(runtime, tenant_id) == limit
    for node in nodes:
        await node.close()
    assert await rows(runtime, tenant_id) == 0


async def test_lines_an_idle_node_holds_go_back_to_the_other_node(
    runtime: Runtime, second_node: Runtime
) -> None:
    tenant_id = await set_lines(runtime, 32)  # blocks of 4
    a = Leases(runtime, node="node-a", linger=1.5)
    b = Leases(second_node, node="node-b")
    await a.acquire(tenant_id, LINE, "a-call")
    a.release(tenant_id, LINE, "a-call")
    assert a.held(tenant_id, LINE) == (0, 4)
    admitted = [await admit(b, tenant_id, f"b-{n}") for n in range(29)]
    assert admitted == [True] * 28 + [False]  # bounded: a keeps at most its blocks
    assert a._tidying is not None
    await asyncio.wait_for(a._tidying, 10)  # a, idle for linger seconds, gives them back
    await a.flush()
    assert a.held(tenant_id, LINE) == (0, 0)
    assert [await admit(b, tenant_id, f"b-more-{n}") for n in range(5)] == [True] * 4 + [False]
    await a.close()
    await b.close()
