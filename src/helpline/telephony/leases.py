"""A tenant's lines and IVR ports, leased by each node in blocks, off the call path.

Theory of operation: a tenant's limits hold across every node because each line or IVR
port in use is a row of ``capacity_leases`` in the shared database, and a row is only
inserted while the tenant's rows number fewer than its limit (the tenant row locked on
PostgreSQL). Taking and freeing one row per call put two database transactions in
every call; at hundreds of calls per second they were the largest cost of a call.

So a node takes rows in blocks (``slots``) and hands them to calls itself:

* :meth:`Leases.acquire` gives a call one of the node's free slots, without touching the
  database. With fewer than half a block free, a block is taken in the background;
  with none free the call waits for that take. A take inserts up to one block of rows,
  never beyond the limit: the call is refused (``CapacityExceeded``) only when the
  database holds no more room and the node no free slot.
* :meth:`Leases.release` puts the call's slot back among the node's free ones.
* Free slots are given back to the database (one DELETE for many) when a node holds
  more than two blocks free, and all of them once the pool has been idle for
  ``linger`` seconds, so another node can take them.

The over-reservation is bounded: a node holds at most two blocks more than it uses, and
none after ``linger`` seconds without calls. A block is an eighth of the tenant's limit
(at least one, at most ``max_block``), so a second node is refused at most that many
lines early while the first keeps them. A node alone admits exactly up to the limit.
A lease taken by someone else (``tenants.acquire_lease`` with the call id as ref) is
freed here too: by its ref, batched over ``delay`` seconds. A crash loses nothing, as
a node frees all its rows (tagged with its name) on its next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from itertools import count
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from helpline.core.errors import CapacityExceeded
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.tenants import service as tenants
from helpline.tenants.models import CapacityLease, LeaseKind, Tenant

log = logging.getLogger(__name__)

#: Seconds over which freed leases are collected into one DELETE.
DELAY = 0.02
#: Seconds without a new call after which a pool gives all its free slots back.
LINGER = 2.0
#: The largest block taken at once.
MAX_BLOCK = 16

_Key = tuple[int, LeaseKind]


@dataclass(eq=False)
class _Pool:
    """The slots (lease rows) one node holds for one tenant and kind."""

    tenant_id: int
    kind: LeaseKind
    block: int = 1
    free: list[str] = field(default_factory=list)
    in_use: dict[str, str] = field(default_factory=dict)
    taking: asyncio.Task[int] | None = None
    last_acquired: float = 0.0


class Leases:
    """Admits calls against the tenants' line and IVR port limits (see the module)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        delay: float = DELAY,
        linger: float = LINGER,
        max_block: int = MAX_BLOCK,
        node: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.delay = delay
        self.linger = linger
        self.max_block = max_block
        self.node = runtime.settings.node_name if node is None else node
        self._pools: dict[_Key, _Pool] = {}
        self._serial = count(1)
        self._token = secrets.token_hex(4)
        self._pending: list[tuple[int, LeaseKind, str]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._tidying: asyncio.Task[None] | None = None

    def held(self, tenant_id: int, kind: LeaseKind) -> tuple[int, int]:
        """Slots of the tenant this node holds: (in use, free)."""
        pool = self._pools.get((tenant_id, kind))
        return (0, 0) if pool is None else (len(pool.in_use), len(pool.free))

    async def acquire(self, tenant_id: int, kind: LeaseKind, ref: str) -> None:
        """A line or IVR port for ``ref`` (a call id), or ``CapacityExceeded``."""
        pool = self._pools.get((tenant_id, kind))
        if pool is None:
            pool = self._pools[(tenant_id, kind)] = _Pool(tenant_id, kind)
        if ref in pool.in_use:
            return
        while not pool.free:
            if not await self._take(pool) and not pool.free:
                raise CapacityExceeded(
                    f"all {kind.value}s of the tenant are in use",
                    details={"kind": kind.value, "tenant_id": tenant_id},
                )
        pool.in_use[ref] = pool.free.pop()
        pool.last_acquired = asyncio.get_running_loop().time()
        if 2 * len(pool.free) < pool.block and pool.taking is None:
            pool.taking = self._start_take(pool)
            pool.taking.add_done_callback(_log_failure)

    def release(self, tenant_id: int, kind: LeaseKind, ref: str) -> None:
        """Free ``ref``'s line or port: back to the node's slots, or soon in the database."""
        pool = self._pools.get((tenant_id, kind))
        slot = None if pool is None else pool.in_use.pop(ref, None)
        if pool is None or slot is None:
            self._give_back([(tenant_id, kind, ref)])
            return
        pool.free.append(slot)
        if len(pool.free) > 2 * pool.block:
            self._give_back_free(pool, keep=pool.block)
        if self._tidying is None or self._tidying.done():
            self._tidying = asyncio.get_running_loop().create_task(self._tidy())

    async def flush(self) -> None:
        """Bring the database up to date: blocks being taken, then everything to free."""
        for pool in tuple(self._pools.values()):
            if pool.taking is not None:
                with contextlib.suppress(SQLAlchemyError):
                    await asyncio.shield(pool.taking)
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.runtime.engine.begin() as conn:
                    await tenants.release_leases(conn, batch)
            except SQLAlchemyError as exc:
                # the node frees its own leases on its next start at the latest
                log.error("could not free %d leases: %s", len(batch), exc)

    async def close(self) -> None:
        """Give every slot back and stop."""
        for task in (self._flushing, self._tidying):
            if task is not None and not task.done():
                task.cancel()
        for pool in self._pools.values():
            if pool.taking is not None and not pool.taking.done():
                pool.taking.cancel()
                with contextlib.suppress(asyncio.CancelledError, SQLAlchemyError):
                    await pool.taking
            self._give_back_free(pool, keep=0)
            self._give_back([(pool.tenant_id, pool.kind, slot) for slot in pool.in_use.values()])
            pool.in_use.clear()
        await self.flush()

    # -- taking and giving back -----------------------------------------------------------

    async def _take(self, pool: _Pool) -> int:
        """Wait for the block being taken (or take one); how many slots it brought."""
        if pool.taking is None:
            pool.taking = self._start_take(pool)
        return await asyncio.shield(pool.taking)

    def _start_take(self, pool: _Pool) -> asyncio.Task[int]:
        task = asyncio.get_running_loop().create_task(self._take_block(pool))
        task.add_done_callback(lambda _task: setattr(pool, "taking", None))
        return task

    async def _take_block(self, pool: _Pool) -> int:
        async with self.runtime.engine.begin() as conn:
            slots = await self._insert_block(conn, pool)
        pool.free.extend(slots)
        return len(slots)

    async def _insert_block(self, conn: AsyncConnection, pool: _Pool) -> list[str]:
        """Insert up to a block of lease rows within the limit; their refs."""
        column = Tenant.max_lines if pool.kind is LeaseKind.LINE else Tenant.max_ivr_ports
        query = select(column).where(Tenant.id == pool.tenant_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # as tenants.acquire_lease: one taker at a time
        limit = (await conn.execute(query)).scalar_one_or_none() or 0
        held = (
            await conn.execute(
                select(func.count()).where(
                    CapacityLease.tenant_id == pool.tenant_id, CapacityLease.kind == pool.kind
                )
            )
        ).scalar_one()
        pool.block = max(1, min(self.max_block, limit // 8))
        room = min(pool.block, limit - held)
        slots = [f"~{self._token}:{next(self._serial)}" for _ in range(room)]
        if slots:
            now = utcnow()
            rows = [
                {"tenant_id": pool.tenant_id, "kind": pool.kind, "ref": slot, "node": self.node}
                | {"acquired_at": now}
                for slot in slots
            ]
            await conn.execute(insert(_TABLE), rows)
        return slots

    def _give_back_free(self, pool: _Pool, *, keep: int) -> None:
        extra = pool.free[keep:]
        del pool.free[keep:]
        self._give_back([(pool.tenant_id, pool.kind, slot) for slot in extra])

    def _give_back(self, leases: list[tuple[int, LeaseKind, str]]) -> None:
        if not leases:
            return
        self._pending.extend(leases)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.delay)
        await self.flush()

    async def _tidy(self) -> None:
        """Every ``linger`` seconds: idle pools give all their free slots back."""
        loop = asyncio.get_running_loop()
        while any(pool.free for pool in self._pools.values()):
            await asyncio.sleep(self.linger)
            for pool in self._pools.values():
                if pool.free and loop.time() - pool.last_acquired >= self.linger:
                    self._give_back_free(pool, keep=0)


# the table, not the mapped class: an ORM insert would take the rows for a bulk insert
_TABLE = cast(Table, CapacityLease.__table__)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("could not take a block of leases: %s", task.exception())
