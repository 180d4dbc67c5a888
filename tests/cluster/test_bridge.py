"""The cluster event bus on a real PostgreSQL: two bridges (two nodes' buses) on one
database forward each other's events, never echo them, store large ones in a table,
keep node-local events home, and come back after their connection is killed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from helpline.acd.events import CallOffered
from helpline.cluster.bridge import EventBridge, asyncpg_dsn
from helpline.core.events import ConfigChanged, Event, EventBus, Subscription
from helpline.sms.service import SmsQueued
from tests.cluster.samples import offer

pytestmark = pytest.mark.postgres

WAIT = 10.0


@asynccontextmanager
async def _node(dsn: str, name: str, channel: str) -> AsyncIterator[EventBridge]:
    bridge = EventBridge(EventBus(), node=name, dsn=dsn, channel=channel)
    task = asyncio.get_running_loop().create_task(bridge.run())
    try:
        await asyncio.wait_for(bridge.connected.wait(), WAIT)
        yield bridge
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
def dsn(postgres_url: str) -> str:
    found = asyncpg_dsn(postgres_url)
    assert found is not None
    return found


@pytest.fixture
def channel(request: pytest.FixtureRequest) -> str:
    return f"helpline_test_{abs(hash(request.node.name)) % 10**8}"


def _offer(size: int = 0) -> CallOffered:
    return offer({"note": "x" * size})


async def _next(sub: Subscription) -> Event:
    return await asyncio.wait_for(sub.get(), WAIT)


async def test_an_event_reaches_the_other_node_once_and_is_not_echoed(
    dsn: str, channel: str
) -> None:
    async with _node(dsn, "node-a", channel) as a, _node(dsn, "node-b", channel) as b:
        seen_a = a.bus.subscribe()
        seen_b = b.bus.subscribe()
        once_b = b.bus.subscribe(local_only=True)
        offer = _offer()
        a.bus.publish(offer)
        assert await _next(seen_b) == offer
        assert await _next(seen_a) == offer
        marker = ConfigChanged(tenant_id=1, entity="queue", entity_id="1", action="update")
        b.bus.publish(marker)
        # B's own event comes next on both: the offer was not echoed back to A,
        # and B's local-only subscriber never saw A's offer.
        assert await _next(seen_a) == marker
        assert await _next(once_b) == marker
        assert (a.received, b.received) == (1, 1)


async def test_a_large_event_travels_through_the_table(dsn: str, channel: str) -> None:
    async with _node(dsn, "node-a", channel) as a, _node(dsn, "node-b", channel) as b:
        seen_b = b.bus.subscribe()
        big = _offer(size=20_000)
        a.bus.publish(big)
        assert await _next(seen_b) == big
    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM cluster_events"
            " WHERE origin = 'node-a' AND length(payload) > 20000"
        )
    finally:
        await conn.close()
    assert stored >= 1


async def test_node_local_events_stay_home(dsn: str, channel: str) -> None:
    async with _node(dsn, "node-a", channel) as a, _node(dsn, "node-b", channel) as b:
        seen_b = b.bus.subscribe()
        a.bus.publish(SmsQueued(tenant_id=1, count=1))
        offer = _offer()
        a.bus.publish(offer)
        # Published first, the wake-up would have arrived first.
        assert await _next(seen_b) == offer


async def test_the_bridge_reconnects_after_its_connection_is_killed(dsn: str, channel: str) -> None:
    async with _node(dsn, "node-a", channel) as a, _node(dsn, "node-b", channel) as b:
        seen_b = b.bus.subscribe()
        admin = await asyncpg.connect(dsn)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                a.application_name,
            )
        finally:
            await admin.close()
        assert killed == 1
        offer = _offer()
        a.bus.publish(offer)
        assert await _next(seen_b) == offer
        assert a.connected.is_set()


def test_sqlite_has_no_cluster_bus() -> None:
    assert asyncpg_dsn("sqlite+aiosqlite:///tmp/x.db") is None
    dsn = asyncpg_dsn("postgresql+asyncpg://u:p@/db?host=/var/run/postgresql")
    assert dsn is not None
    url = make_url(dsn)
    assert (url.drivername, url.username, url.password) == ("postgresql", "u", "p")
    assert (url.database, url.query["host"]) == ("db", "/var/run/postgresql")
