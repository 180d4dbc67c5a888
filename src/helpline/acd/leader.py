"""One node runs each tenant's distributor: a lease row per tenant with an expiry.

Theory of operation: a tenant's board (waiting callers, reserved agents) lives in the
memory of one node, so exactly one node may distribute its calls.  That node holds the
tenant's row in ``acd_leases`` until ``expires_at`` and renews it well before (every
third of the lease); a node that stops releases its leases, and a node that dies lets
them expire, after which the first other node to ask takes the tenant over (reloading
agents' states and pending callbacks from the database).  Taking or renewing is one
conditional ``UPDATE`` (the row is ours, or expired), and an ``INSERT`` for a tenant
never leased, so two nodes racing cannot both win on PostgreSQL or SQLite.  A single
node (SQLite, or one PostgreSQL node) simply always wins.  Times come from the
caller; nothing here reads a clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.models import AcdLease

__all__ = ["LEASE_SECONDS", "acquire", "holder", "release"]

LEASE_SECONDS = 30.0
"""How long a lease lasts without renewal."""


async def acquire(
    session: AsyncSession, *, tenant_id: int, node: str, now: datetime, seconds: float
) -> bool:
    """Take or renew ``tenant_id``'s lease for ``node`` until ``now + seconds``; False
    while another node holds an unexpired one."""
    until = now + timedelta(seconds=seconds)
    result = await session.execute(
        update(AcdLease)
        .where(
            AcdLease.tenant_id == tenant_id,
            or_(AcdLease.node == node, AcdLease.expires_at <= now),
        )
        .values(node=node, expires_at=until)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0)) == 1:
        return True
    exists = await session.execute(select(AcdLease.node).where(AcdLease.tenant_id == tenant_id))
    if exists.first() is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(AcdLease(tenant_id=tenant_id, node=node, expires_at=until, acquired_at=now))
    except IntegrityError:
        return False
    return True


async def release(session: AsyncSession, *, tenant_id: int, node: str) -> None:
    """Give up ``node``'s lease of ``tenant_id`` (another node may take it at once)."""
    await session.execute(
        delete(AcdLease).where(AcdLease.tenant_id == tenant_id, AcdLease.node == node)
    )


async def holder(session: AsyncSession, *, tenant_id: int, now: datetime) -> str | None:
    """The node holding an unexpired lease of ``tenant_id``, if any."""
    row = await session.execute(
        select(AcdLease.node).where(AcdLease.tenant_id == tenant_id, AcdLease.expires_at > now)
    )
    return row.scalar_one_or_none()
