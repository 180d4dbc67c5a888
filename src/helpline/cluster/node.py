"""This node's membership of the cluster: its registry heartbeat, the cluster event bus
and the HTTP client that reaches the other nodes.

Theory of operation: ``start`` registers the node (one heartbeat before anything else,
so that a call taken a moment later already names a registered node) and starts the
heartbeat loop and, on PostgreSQL, the :class:`~helpline.cluster.bridge.EventBridge`.
On SQLite there is one node by construction and the bridge stays off; the registry still
lists the node, so operators see the same thing on both. ``stop`` deletes the node's row,
so the others count it gone at once instead of after the timeout. The service is found
in ``Runtime.listeners`` under :data:`CLUSTER_LISTENER` (and so reported by
``/api/health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
from sqlalchemy.exc import SQLAlchemyError

from helpline.cluster import registry
from helpline.cluster.bridge import EventBridge, asyncpg_dsn
from helpline.cluster.models import ClusterNode
from helpline.db.base import utcnow
from helpline.runtime import Runtime

log = logging.getLogger(__name__)

CLUSTER_LISTENER = "cluster"
"""The name the service is registered under in ``Runtime.listeners``."""


class Cluster:
    """This node in the cluster."""

    def __init__(self, runtime: Runtime, *, client: httpx.AsyncClient | None = None) -> None:
        """``client`` reaches the other nodes (a default one when not given)."""
        self.runtime = runtime
        settings = runtime.settings
        self.name = settings.node_name
        self.info = registry.NodeInfo(
            name=settings.node_name,
            sip_host=settings.sip_host,
            sip_port=settings.sip_port,
            http_url=settings.effective_cluster_url,
            started_at=utcnow(),
        )
        dsn = asyncpg_dsn(settings.effective_database_url)
        self.bridge = (
            None
            if dsn is None
            else EventBridge(
                runtime.bus, node=settings.node_name, dsn=dsn, channel=settings.cluster_channel
            )
        )
        self.timeout = settings.cluster_node_timeout
        self.client = client or httpx.AsyncClient(timeout=settings.cluster_forward_timeout)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Register, then keep the heartbeat and the bus running."""
        await self._beat()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._heartbeats()))
        if self.bridge is not None:
            self._tasks.append(loop.create_task(self.bridge.run()))
        self.runtime.listeners[CLUSTER_LISTENER] = self

    async def stop(self) -> None:
        """Stop the loops, leave the registry, close the client."""
        if self.runtime.listeners.get(CLUSTER_LISTENER) is self:
            del self.runtime.listeners[CLUSTER_LISTENER]
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        try:
            async with self.runtime.unit_of_work() as session:
                await registry.leave(session, name=self.name)
        except SQLAlchemyError as exc:
            log.warning("cluster: could not leave the registry: %s", exc)
        await self.client.aclose()

    def status(self) -> dict[str, object]:
        """A JSON-ready description for the health endpoint."""
        return {
            "ok": True,
            "node": self.name,
            "bus": "off" if self.bridge is None else self.bridge.status(),
        }

    async def peers(self) -> list[ClusterNode]:
        """The other nodes alive now."""
        now = utcnow()
        async with self.runtime.unit_of_work() as session:
            rows = await registry.nodes(session)
        return [
            n
            for n in rows
            if n.name != self.name and registry.alive(n, now=now, timeout=self.timeout)
        ]

    async def _beat(self) -> None:
        async with self.runtime.unit_of_work() as session:
            await registry.beat(session, node=self.info, now=utcnow())

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.runtime.settings.cluster_heartbeat_seconds)
            try:
                await self._beat()
            except SQLAlchemyError as exc:
                log.warning("cluster: heartbeat failed: %s", exc)


def cluster_of(runtime: Runtime) -> Cluster | None:
    """The node's cluster service, if it runs."""
    found = runtime.listeners.get(CLUSTER_LISTENER)
    return found if isinstance(found, Cluster) else None
