"""Lines and IVR ports given back in batches instead of one transaction per call.

Theory of operation: a call's end used to await its own DELETE of the lease; at
hundreds of calls per second that transaction was the largest cost of a call. Ends are
collected for ``delay`` seconds and released together in one statement. A line is thus
free again at most ``delay`` later (a caller at the exact limit may get 503 in that
instant); a crash loses nothing, since the node frees all its own leases on start.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from helpline.runtime import Runtime
from helpline.tenants import service as tenants
from helpline.tenants.models import LeaseKind

log = logging.getLogger(__name__)

DELAY = 0.02


class LeaseReleaser:
    """Collects leases to free and frees them in one transaction."""

    def __init__(self, runtime: Runtime, *, delay: float = DELAY) -> None:
        self.runtime = runtime
        self.delay = delay
        self._pending: list[tuple[int, LeaseKind, str]] = []
        self._flushing: asyncio.Task[None] | None = None

    def release(self, tenant_id: int, kind: LeaseKind, ref: str) -> None:
        """Free the lease soon."""
        self._pending.append((tenant_id, kind, ref))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.delay)
        await self.flush()

    async def flush(self) -> None:
        """Free everything pending now."""
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.runtime.engine.begin() as conn:
                    await tenants.release_leases(conn, batch)
            except SQLAlchemyError as exc:
                # the node frees its own leases on its next start at the latest
                log.error("could not free %d leases: %s", len(batch), exc)

    async def close(self) -> None:
        """Free what is pending and stop."""
        if self._flushing is not None and not self._flushing.done():
            self._flushing.cancel()
        await self.flush()
