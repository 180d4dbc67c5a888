"""The registry of nodes: each node keeps its row's heartbeat fresh; a node whose
heartbeat is older than the timeout counts as dead.

Theory of operation: a node upserts its row (name, SIP address, internal HTTP URL,
start time) every few seconds and deletes it when it stops cleanly; a crashed node's
row simply ages. Nothing here reads a clock: the caller passes ``now``. The upsert is an
``UPDATE`` then an ``INSERT`` when no row was there: only the node itself writes its
row, so the two statements never race with another writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.calls.models import CallRecord
from helpline.cluster.models import ClusterNode

__all__ = ["NodeInfo", "alive", "beat", "call_node", "find", "leave", "nodes"]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What a node tells the others about itself."""

    name: str
    sip_host: str
    sip_port: int
    http_url: str
    started_at: datetime


async def beat(session: AsyncSession, *, node: NodeInfo, now: datetime) -> None:
    """Record that ``node`` is alive at ``now`` (registering it if needed)."""
    values = {
        "sip_host": node.sip_host,
        "sip_port": node.sip_port,
        "http_url": node.http_url,
        "started_at": node.started_at,
        "heartbeat_at": now,
    }
    result = await session.execute(
        update(ClusterNode)
        .where(ClusterNode.name == node.name)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0)) == 0:
        session.add(ClusterNode(name=node.name, **values))


async def leave(session: AsyncSession, *, name: str) -> None:
    """Remove ``name`` from the registry (a clean stop)."""
    await session.execute(delete(ClusterNode).where(ClusterNode.name == name))


async def nodes(session: AsyncSession) -> list[ClusterNode]:
    """Every registered node, by name, dead ones included."""
    return list((await session.execute(select(ClusterNode).order_by(ClusterNode.name))).scalars())


async def find(session: AsyncSession, *, name: str) -> ClusterNode | None:
    """The registered node ``name``, if any."""
    return await session.get(ClusterNode, name)


def alive(node: ClusterNode, *, now: datetime, timeout: float) -> bool:
    """Whether ``node`` sent a heartbeat in the last ``timeout`` seconds."""
    return node.heartbeat_at > now - timedelta(seconds=timeout)


async def call_node(session: AsyncSession, *, tenant_id: int, call_id: str) -> str | None:
    """The node handling the tenant's open call ``call_id``, from its call record."""
    stmt = select(CallRecord.node).where(
        CallRecord.tenant_id == tenant_id,
        CallRecord.call_id == call_id,
        CallRecord.open.is_(True),
    )
    return (await session.execute(stmt)).scalar_one_or_none()
