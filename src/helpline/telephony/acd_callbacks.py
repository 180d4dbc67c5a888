"""Callbacks that keep the caller's place, as the ACD runtime carries them out.

Theory of operation: :class:`CallbackDesk` is the part of the distributor that holds
callback requests (their machine is :mod:`helpline.acd.callback`).  A waiting caller's
request takes them off the board and puts a *callback entry* in their place: the same
join time, priority, customer type and skills under a fresh call id, saved in
``acd_callbacks`` first.  When the board gives that entry an agent, the distributor
reserves the agent and hands the turn here: the caller is dialed through call control
(``dial``, :mod:`helpline.telephony.callbacks`), under the entry's call id.  A failed
dial releases the agent without counting a miss, and the request waits out the
queue's retry delay off the board before it takes its place again (a new call id per
attempt) - until the attempts run out and it fails.  Once the caller answers, the call
is an ordinary waiting call offered to the reserved agent (and to the next agents if
that one misses it); an agent answering completes the request, the caller hanging up
first abandons it.  A starting node reloads the open requests at their original
places; an attempt cut off by a restart counts as failed.  Every change is saved by a
background task; a supervisor's cancellation (``acd.callback`` event) takes a pending
request off the board.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from helpline.acd import callback_store
from helpline.acd.board import Caller
from helpline.acd.callback import (
    CallbackEvent,
    CallbackPolicy,
    CallbackRecord,
    CallbackState,
    Completed,
    Connected,
    Dial,
    DialFailed,
    Hangup,
    IllegalCallbackTransition,
    Recover,
)
from helpline.acd.callback import apply as apply_callback
from helpline.acd.schemas import QueueOut
from helpline.acd.screenpop import ScreenPop
from helpline.acd.state import CallEnded, Event
from helpline.calls.models import QueueEventKind
from helpline.runtime import Runtime
from helpline.telephony.acd_tenant import CallbackEntry, TenantAcd, caller_region, now_utc, wall

__all__ = ["DIAL_SECONDS", "CallbackDesk", "DialRequest", "Dialer", "Host"]

log = logging.getLogger(__name__)

#: How long a callback rings the caller's phone.
DIAL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class DialRequest:
    """A callback to place: ring ``number`` (a SIP account of the tenant, else a number
    out a trunk) for ``seconds`` as call ``call_id``, showing ``caller_id``; once
    answered the call waits in ``queue`` with its music on hold."""

    tenant_id: int
    call_id: str
    number: str
    caller_id: str
    queue: str
    music_on_hold: str
    seconds: float
    pop: ScreenPop


#: Places a callback; the final status (200: answered, now a call of call control).
Dialer = Callable[[DialRequest], Awaitable[int]]


class Host(Protocol):
    """What the desk needs from the distributor."""

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Run ``work`` in the background (cancelled on close)."""

    def run(self, tenant_id: int) -> None:
        """Decide again for the tenant."""

    def agent_event(self, acd: TenantAcd, agent_id: str, event: Event) -> None:
        """Feed an agent's state machine."""

    async def offer(
        self, acd: TenantAcd, call_id: str, queue: QueueOut, agent_ids: tuple[str, ...]
    ) -> None:
        """Ring the agents for a waiting call and settle the outcome."""

    def log_queue(
        self,
        acd: TenantAcd,
        queue: str,
        call_id: str,
        kind: QueueEventKind,
        *,
        agent: str | None = None,
        wait: float | None = None,
        position: int | None = None,
    ) -> None:
        """Append to the queue event log."""


class CallbackDesk:
    """The callback requests of every tenant the distributor leads."""

    def __init__(self, host: Host, runtime: Runtime, dial: Dialer | None, node: str) -> None:
        self.host = host
        self.runtime = runtime
        self.dial = dial
        self.node = node
        self._loop = asyncio.get_running_loop()

    async def request(self, acd: TenantAcd, call_id: str, *, number: str, fallback: bool) -> bool:
        """Turn a waiting caller into a request that keeps their place (see
        :meth:`helpline.telephony.acd.Distributor.request_callback`)."""
        waiting = acd.board.is_waiting(call_id)
        if waiting:
            caller = acd.board.waiting_entry(call_id).caller
        elif call_id in acd.parked:
            caller = acd.parked[call_id]
        else:
            return False
        queue = acd.by_id[caller.queue_id]
        if not number or not (queue.callback_enabled or fallback):
            return False
        if waiting:
            acd.board.remove_caller(call_id)
        acd.parked.pop(call_id, None)
        acd.departures.pop(call_id, None)
        pop = acd.pops.pop(call_id, None) or ScreenPop(queue.name, number, "")
        now, at = self._loop.time(), now_utc()
        policy = CallbackPolicy(queue.callback_attempts, float(queue.callback_retry_seconds))
        try:
            async with self.runtime.unit_of_work() as session:
                row = await callback_store.create_callback(
                    session,
                    tenant_id=acd.tenant_id,
                    queue_id=queue.id,
                    call_id=call_id,
                    number=number,
                    called=pop.called,
                    joined_at=wall(caller.joined_at, now, at),
                    priority=caller.priority,
                    customer_type=caller.customer_type,
                    skills=dict(caller.skills),
                    data=pop.to_json(),
                    policy=policy,
                    node=self.node,
                )
                callback_id = row.id
        except SQLAlchemyError as exc:
            log.warning("call %s: callback not saved: %s", call_id, exc)
            acd.board.add_caller(caller)
            acd.pops[call_id] = pop
            return False
        record = CallbackRecord(callback_id, policy, since=now)
        self._place(acd, CallbackEntry(record, caller, queue.id, number, pop.called, pop))
        wait = now - caller.joined_at
        self.host.log_queue(acd, queue.name, call_id, QueueEventKind.CALLBACK_REQUESTED, wait=wait)
        self.host.run(acd.tenant_id)
        return True

    def _place(self, acd: TenantAcd, entry: CallbackEntry) -> None:
        """Put a pending request on the board at its place, under a new attempt id."""
        attempt = entry.record.attempts + 1
        call_id = f"cb-{entry.record.callback_id}-{attempt}-{secrets.token_hex(6)}"
        entry.caller = replace(entry.caller, call_id=call_id, skip_agents=frozenset())
        acd.board.add_caller(entry.caller)
        acd.callbacks[call_id] = entry
        acd.pops[call_id] = entry.pop

    async def load(self, acd: TenantAcd) -> None:
        """Take up the tenant's open requests, each at its original place."""
        async with self.runtime.unit_of_work() as session:
            rows = await callback_store.open_callbacks(session, tenant_id=acd.tenant_id)
        now, at = self._loop.time(), now_utc()
        for row in rows:
            if str(row.queue_id) not in acd.by_id:
                continue
            policy = CallbackPolicy(max(1, row.max_attempts), float(row.retry_seconds))
            retry_at = None
            if row.next_attempt_at is not None:
                retry_at = now + (row.next_attempt_at - at).total_seconds()
            record = CallbackRecord(
                row.id,
                policy,
                row.state,
                now,
                row.attempts,
                retry_at,
                row.last_call_id,
                row.last_status,
            )
            pop = ScreenPop.from_json(row.data)
            customer = pop.customer or {}
            queue = acd.by_id[str(row.queue_id)]
            caller = Caller(
                call_id=row.call_id,
                queue_id=str(row.queue_id),
                joined_at=now - (at - row.joined_at).total_seconds(),
                priority=row.priority,
                customer_type=row.customer_type,
                skills={str(k): int(v) for k, v in row.skills.items()},
                region=caller_region(customer.get("region"), pop.caller or row.number, queue),
            )
            entry = CallbackEntry(record, caller, row.queue_id, row.number, row.called, pop)
            if record.state is not CallbackState.PENDING:
                self._event(acd, entry, Recover())
            self._pending(acd, entry)

    def _pending(self, acd: TenantAcd, entry: CallbackEntry) -> None:
        """A request pending again: on the board now, or after its retry delay."""
        record = entry.record
        if record.state is not CallbackState.PENDING:
            return
        if record.retry_at is None or record.retry_at <= self._loop.time():
            self._place(acd, entry)
            return
        acd.retrying[record.callback_id] = entry
        entry.timer = self._loop.call_at(record.retry_at, self._retry_due, acd, entry)

    def _retry_due(self, acd: TenantAcd, entry: CallbackEntry) -> None:
        held = acd.retrying.pop(entry.record.callback_id, None)
        if held is None or entry.record.state is not CallbackState.PENDING:
            return
        self._place(acd, entry)
        self.host.run(acd.tenant_id)

    def cancelled(self, acd: TenantAcd, callback_id: int) -> None:
        """A supervisor cancelled a pending request: take it off the board."""
        entry = acd.retrying.pop(callback_id, None)
        if entry is not None and entry.timer is not None:
            entry.timer.cancel()
        for call_id, held in list(acd.callbacks.items()):
            if held.record.callback_id == callback_id and acd.board.is_waiting(call_id):
                acd.board.remove_caller(call_id)
                acd.pops.pop(call_id, None)
                del acd.callbacks[call_id]
                entry = held
        if entry is not None and entry.record.state is CallbackState.PENDING:
            entry.record = replace(entry.record, state=CallbackState.CANCELLED, retry_at=None)
        self.host.run(acd.tenant_id)

    def hung_up(self, acd: TenantAcd, call_id: str) -> None:
        """The caller of a connected callback hung up before an agent answered."""
        entry = acd.callbacks.get(call_id)
        if entry is not None and entry.record.state is CallbackState.CONNECTED:
            del acd.callbacks[call_id]
            self._event(acd, entry, Hangup())

    def answered(self, acd: TenantAcd, call_id: str, agent: str) -> None:
        """An agent took a callback: the request is complete."""
        entry = acd.callbacks.pop(call_id, None)
        if entry is not None:
            self._event(acd, entry, Completed(agent))

    def _event(self, acd: TenantAcd, entry: CallbackEntry, event: CallbackEvent) -> None:
        """Feed a request's machine and save the outcome."""
        try:
            entry.record = apply_callback(entry.record, event, self._loop.time())
        except IllegalCallbackTransition as exc:
            log.warning("ACD: callback %d: %s", entry.record.callback_id, exc)
            return
        record, now, at = entry.record, self._loop.time(), now_utc()
        retry = None if record.retry_at is None else wall(record.retry_at, now, at)
        self.host.spawn(self._save(acd.tenant_id, record, retry))

    async def _save(self, tenant_id: int, record: CallbackRecord, retry: datetime | None) -> None:
        try:
            async with self.runtime.unit_of_work() as session:
                await callback_store.save_callback(
                    session,
                    tenant_id=tenant_id,
                    callback_id=record.callback_id,
                    state=record.state,
                    attempts=record.attempts,
                    next_attempt_at=retry,
                    last_call_id=record.call_id,
                    last_status=record.last_status,
                    agent=record.agent,
                    node=self.node,
                )
        except SQLAlchemyError as exc:
            log.warning("ACD: callback %d not saved: %s", record.callback_id, exc)

    async def turn(
        self, acd: TenantAcd, entry: CallbackEntry, queue: QueueOut, agent_ids: tuple[str, ...]
    ) -> None:
        """A request's turn: dial the caller, then offer the answered call to the
        reserved agent; a failed dial releases the agent and waits to retry."""
        call_id = entry.caller.call_id
        self._event(acd, entry, Dial(call_id))
        status = 503
        if self.dial is not None:
            request = DialRequest(
                acd.tenant_id,
                call_id,
                entry.number,
                entry.called,
                queue.name,
                queue.music_on_hold,
                DIAL_SECONDS,
                entry.pop,
            )
            try:
                status = await self.dial(request)
            except Exception:
                log.exception("ACD: callback %d: dialing failed", entry.record.callback_id)
                status = 500
        if status != 200:
            acd.callers.pop(call_id, None)
            acd.callbacks.pop(call_id, None)
            acd.pops.pop(call_id, None)
            for agent_id in agent_ids:
                self.host.agent_event(acd, agent_id, CallEnded(call_id))
            self._event(acd, entry, DialFailed(status))
            self._pending(acd, entry)
            self.host.run(acd.tenant_id)
            return
        self._event(acd, entry, Connected())
        await self.host.offer(acd, call_id, queue, agent_ids)
