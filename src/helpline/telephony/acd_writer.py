"""What the ACD runtime writes to the database off its decision path.

Theory of operation: decisions are synchronous and never wait for the database.  The
agent states the runtime changes (reserved, on call, wrap-up ...) are handed to
:class:`StateWriter`, which keeps the newest state per agent and saves them one at a
time per tenant, so the database never ends up with an older state written last; the
runtime asks :meth:`StateWriter.busy` before it lets a reload overwrite its own newer
record; the ``acd.agent_state`` events of these saves name the runtime as their
origin, so that only changes made elsewhere (the API) make it reload.
:class:`QueueLog` appends to the queue event log (``queue_events``: joins, offers,
answers, abandons, timeouts, callback requests) that statistics read.  A database
error is logged; it never fails a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError

from helpline.acd import presence
from helpline.acd.presence import StoredState
from helpline.calls.models import QueueEventKind
from helpline.calls.recorder import CallRecorder
from helpline.runtime import Runtime
from helpline.telephony.acd_tenant import now_utc

__all__ = ["QueueLog", "StateWriter"]

log = logging.getLogger(__name__)
#: How long closing waits for agent states still being written.
CLOSE_SECONDS = 5.0


class StateWriter:
    """Saves agent states in order, one writer task per tenant."""

    def __init__(self, runtime: Runtime, node: str) -> None:
        self.runtime = runtime
        self.node = node
        self.origin = f"acd:{node}"
        """What the ``acd.agent_state`` events of these saves name as their origin."""
        self._pending: dict[int, dict[str, StoredState]] = {}
        self._saving: dict[int, str] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def save(self, tenant_id: int, agent_id: str, state: StoredState) -> None:
        """Queue ``state`` (replacing an older one of the same agent not saved yet)."""
        self._pending.setdefault(tenant_id, {})[agent_id] = state
        task = self._tasks.get(tenant_id)
        if task is None or task.done():
            self._tasks[tenant_id] = asyncio.get_running_loop().create_task(self._write(tenant_id))

    def busy(self, tenant_id: int, agent_id: str) -> bool:
        """Whether a state of the agent is still on its way to the database."""
        return agent_id in self._pending.get(tenant_id, {}) or (
            self._saving.get(tenant_id) == agent_id
        )

    async def _write(self, tenant_id: int) -> None:
        pending = self._pending.setdefault(tenant_id, {})
        while pending:
            agent_id = next(iter(pending))
            state = pending.pop(agent_id)
            self._saving[tenant_id] = agent_id
            try:
                async with self.runtime.unit_of_work() as session:
                    await presence.save_agent_state(
                        session,
                        tenant_id=tenant_id,
                        state=state,
                        node=self.node,
                        origin=self.origin,
                    )
            except SQLAlchemyError as exc:
                log.warning("ACD: saving agent %d failed: %s", state.agent_id, exc)
            finally:
                self._saving.pop(tenant_id, None)

    async def close(self) -> None:
        """Let the writers finish (within :data:`CLOSE_SECONDS`), then stop them."""
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_SECONDS)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class QueueLog:
    """Appends to the queue event log without holding a decision up."""

    def __init__(self, runtime: Runtime, node: str) -> None:
        self._recorder = CallRecorder(runtime.unit_of_work, node)

    async def write(
        self,
        tenant_id: int,
        queue: str,
        call_id: str,
        kind: QueueEventKind,
        *,
        agent: str | None = None,
        wait: float | None = None,
        position: int | None = None,
    ) -> None:
        """One entry (``wait``: seconds the caller had waited; ``position``: 1 = next)."""
        try:
            await self._recorder.queue_event(
                tenant_id,
                queue,
                call_id,
                kind,
                now_utc(),
                agent=agent,
                wait=None if wait is None else round(wait, 3),
                position=position,
            )
        except SQLAlchemyError as exc:
            log.warning("ACD: queue event %s of %s not logged: %s", kind, call_id, exc)
