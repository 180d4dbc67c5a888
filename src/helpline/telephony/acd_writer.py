"""What the ACD runtime writes to the database off its decision path.

Theory of operation: decisions are synchronous and never wait for the database.  What
they change that the database must know goes to :class:`Journal`: the agents' states
the runtime sets (reserved, on call, wrap-up ...) and the entries of the queue event
log (``queue_events``: joins, offers, answers, abandons, timeouts, callback requests)
that statistics read.  The journal writes each tenant's pending changes in one unit of
work per tick: the first change waits :data:`TICK_SECONDS` for those that follow it (an
offer brings the agent's state and an ``offer`` entry; at a few calls a second, the
changes of several calls), and changes made while a write is under way go out right
after it.  Of each agent only the newest state is kept, and one writer per tenant
writes in order, so the database never ends up with an older state written last; the
runtime asks :meth:`Journal.busy` before it lets a reload overwrite its own newer
record.  The ``acd.agent_state`` events of these saves name the runtime as their
origin, so that only changes made elsewhere (the API) make it reload.  A queue entry
keeps the time it was logged, not written.  Closing writes what is pending at once.  A
database error is logged (that batch is lost); it never fails a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from helpline.acd import presence
from helpline.acd.presence import AgentIdentity, StoredState
from helpline.calls.models import MAX_QUEUE_LENGTH, QueueEvent, QueueEventKind
from helpline.recordings.models import MAX_USERNAME_LENGTH
from helpline.runtime import Runtime
from helpline.sip.registrar import MAX_CALL_ID_LENGTH

__all__ = ["CLOSE_SECONDS", "TICK_SECONDS", "Journal", "QueueEntry"]

log = logging.getLogger(__name__)
#: How long a change waits for others to share its unit of work.
TICK_SECONDS = 0.1
#: How long closing waits for the last writes.
CLOSE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One entry of the queue event log (``wait``: seconds the caller had waited;
    ``position``: 1 = next)."""

    queue: str
    call_id: str
    kind: QueueEventKind
    at: datetime
    agent: str | None = None
    wait: float | None = None
    position: int | None = None


@dataclass(slots=True)
class _Batch:
    states: dict[int, tuple[AgentIdentity, StoredState]] = field(default_factory=dict)
    entries: list[QueueEntry] = field(default_factory=list)


class Journal:
    """Agent states and queue events, written per tenant in one unit of work a tick."""

    def __init__(self, runtime: Runtime, node: str, *, tick: float = TICK_SECONDS) -> None:
        self.runtime = runtime
        self.node = node
        self.origin = f"acd:{node}"
        """What the ``acd.agent_state`` events of these saves name as their origin."""
        self.tick = tick
        self._loop = asyncio.get_running_loop()
        self._pending: dict[int, _Batch] = {}
        self._saving: dict[int, _Batch] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._closing = False

    def save(self, tenant_id: int, agent: AgentIdentity, state: StoredState) -> None:
        """Queue ``state`` (replacing an older one of the same agent not written yet)."""
        self._batch(tenant_id).states[agent.agent_id] = (agent, state)

    def log(self, tenant_id: int, entry: QueueEntry) -> None:
        """Queue an entry of the queue event log."""
        self._batch(tenant_id).entries.append(entry)

    def busy(self, tenant_id: int, agent_id: int) -> bool:
        """Whether a state of the agent is still on its way to the database."""
        batches = (self._pending.get(tenant_id), self._saving.get(tenant_id))
        return any(batch is not None and agent_id in batch.states for batch in batches)

    def drop(self, tenant_id: int, agent_id: int) -> bool:
        """Forget the agent's state not yet being written (a change made elsewhere, the
        API's, is newer); whether there was one."""
        batch = self._pending.get(tenant_id)
        return batch is not None and batch.states.pop(agent_id, None) is not None

    def _batch(self, tenant_id: int) -> _Batch:
        batch = self._pending.get(tenant_id)
        if batch is None:
            batch = self._pending[tenant_id] = _Batch()
            task = self._tasks.get(tenant_id)
            if (task is None or task.done()) and tenant_id not in self._timers:
                if self._closing:
                    self._start(tenant_id)
                else:
                    self._timers[tenant_id] = self._loop.call_later(
                        self.tick, self._start, tenant_id
                    )
        return batch

    def _start(self, tenant_id: int) -> None:
        self._timers.pop(tenant_id, None)
        self._tasks[tenant_id] = self._loop.create_task(self._write(tenant_id))

    async def _write(self, tenant_id: int) -> None:
        while (batch := self._pending.pop(tenant_id, None)) is not None:
            self._saving[tenant_id] = batch
            try:
                async with self.runtime.unit_of_work() as session:
                    if batch.states:
                        await presence.save_agent_states(
                            session,
                            tenant_id=tenant_id,
                            states=list(batch.states.values()),
                            node=self.node,
                            origin=self.origin,
                        )
                    if batch.entries:
                        rows = [_row(tenant_id, entry) for entry in batch.entries]
                        await session.execute(insert(QueueEvent), rows)
            except SQLAlchemyError as exc:
                log.warning(
                    "ACD: %d agent states and %d queue events of tenant %d not written: %s",
                    len(batch.states),
                    len(batch.entries),
                    tenant_id,
                    exc,
                )
            finally:
                self._saving.pop(tenant_id, None)

    async def flush(self) -> None:
        """Write what is pending now, and wait until it is written."""
        for tenant_id, timer in list(self._timers.items()):
            timer.cancel()
            self._start(tenant_id)
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            await asyncio.wait(tasks)

    async def close(self) -> None:
        """Write what is pending now (within :data:`CLOSE_SECONDS`), then stop; what
        comes later is written at once."""
        self._closing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), CLOSE_SECONDS)
        late = [task for task in self._tasks.values() if not task.done()]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


def _row(tenant_id: int, entry: QueueEntry) -> dict[str, object]:
    """The ``queue_events`` row of ``entry`` (all rows of a batch go in one statement)."""
    return {
        "tenant_id": tenant_id,
        "at": entry.at,
        "queue": entry.queue[:MAX_QUEUE_LENGTH],
        "call_id": entry.call_id[:MAX_CALL_ID_LENGTH],
        "event": entry.kind,
        "agent": None if entry.agent is None else entry.agent[:MAX_USERNAME_LENGTH],
        "wait_seconds": None if entry.wait is None else round(entry.wait, 3),
        "position": entry.position,
    }
