"""The ACD at run time: callers wait in queues, agents' phones are offered calls.

Theory of operation
-------------------
The decisions are the pure core's (:mod:`helpline.acd.board`, :mod:`helpline.acd.strategy`,
:mod:`helpline.acd.state`, :mod:`helpline.acd.callback`); this module feeds it and
carries out what it decides.  Per tenant it keeps a
:class:`~helpline.telephony.acd_tenant.TenantAcd`: the board loaded from the database
(queues, agents with skills, memberships and saved states, pending callbacks) and one
agent record per agent.

* A caller sent to a queue is already answered and hears music on hold
  (:mod:`helpline.telephony.waiting` runs what they hear).  :meth:`Distributor.join`
  looks the caller up (customer record, IVR path, last agent: the screen pop and the
  customer type, see :mod:`helpline.acd.screenpop`) and applies the queue's admission
  rules: a full queue, or one nobody is logged in to when it refuses to join empty,
  answers with the queue's fallback instead.  A joined caller gets a future that
  resolves if the queue later sends them away (maximum wait, or the last agent left
  and ``leave_empty_seconds`` passed).
* :meth:`Distributor._run` is the one place decisions are made: departures, then
  :func:`~helpline.acd.strategy.match`, then the live figures (``acd.queue`` events)
  and a timer for the next deadline the board names (an overflow stage, a maximum
  wait).  It runs whenever a caller joins or leaves, an agent changes, an offer ends.
* An offer reserves the agent(s) and rings every registered phone of their SIP
  accounts through call control for the queue's ring timeout; the desktop gets the
  screen pop.  The first phone to answer is bridged; a miss counts against the agent
  (auto-pause after the queue's N misses in a row) and the caller goes back to their
  place, not to that agent again; a caller who hangs up meanwhile costs the agent
  nothing.  When the call ends the agent goes to wrap-up, then available.
* A caller who asks for a callback leaves a board entry with their place
  (:meth:`Distributor.request_callback`, saved in ``acd_callbacks``).  When its turn
  comes one agent is reserved and call control dials the caller (``dial``); once they
  answer the call is an ordinary waiting call offered to the reserved agent.  A dial
  that fails releases the agent without a miss and the request waits out the queue's
  retry delay off the board, then takes its place again, until its attempts run out.
* Agents log in, pause and resume through the API, which saves their state and
  publishes ``acd.agent_state``; the runtime reloads the tenant on such events and
  on configuration changes, and saves the states it changes itself (reserved, on
  call, wrap-up) in order, one writer per tenant.

One node runs a tenant's distributor: it holds the tenant's lease
(:mod:`helpline.acd.leader`) and renews it; a node that cannot get the lease refuses
to queue that tenant's callers (they get the queue's fallback).  On start the node
takes up the tenants with open callback requests.  The live state is offered
read-only as :class:`~helpline.acd.live.LiveAcd` under ``Runtime.listeners["acd"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from helpline.acd import callback_store, leader, presence
from helpline.acd.board import Admission, Caller
from helpline.acd.callback import CallbackState
from helpline.acd.events import (
    AgentStateChanged,
    CallAnswered,
    CallbackChanged,
    CallFinished,
    CallOffered,
)
from helpline.acd.live import ACD_LISTENER, AcdSnapshot
from helpline.acd.presence import AgentIdentity, StoredState
from helpline.acd.schemas import QueueOut
from helpline.acd.screenpop import CallerContext, ScreenPop, caller_context, customer_json
from helpline.acd.state import (
    AgentState,
    Answer,
    CallEnded,
    Event,
    IllegalTransition,
    Offer,
    OfferFailed,
    OfferFailure,
    Transition,
    apply,
    handle_timer,
)
from helpline.acd.strategy import Assignment, match
from helpline.acd.waiting import HandleTime
from helpline.calls.models import QueueEventKind
from helpline.core.events import ConfigChanged
from helpline.core.events import Event as BusEvent
from helpline.customers.lookup import tenant_region
from helpline.runtime import Runtime
from helpline.telephony.acd_callbacks import DIAL_SECONDS, CallbackDesk, Dialer, DialRequest
from helpline.telephony.acd_tenant import (
    Leave,
    LeaveReason,
    TenantAcd,
    agent_info,
    caller_region,
    departures,
    is_own_change,
    next_wakeup,
    now_utc,
    queue_changes,
    reload,
    snapshot,
)
from helpline.telephony.acd_writer import Journal, QueueEntry

__all__ = [
    "DIAL_SECONDS",
    "DialRequest",
    "Dialer",
    "Distributor",
    "Leave",
    "LeaveReason",
    "Offered",
    "Ring",
    "ScreenPop",
    "Ticket",
]

log = logging.getLogger(__name__)

#: Offer outcome statuses that mean the agent's phone was not there at all.
UNREACHABLE = frozenset({404, 408, 480, 503})
#: Configuration entities whose change makes the runtime reload a tenant.
RELOAD_ENTITIES = frozenset(
    {
        "queue",
        "skill",
        "agent",
        "agent_skills",
        "agent_memberships",
        "sip_account",
        "user",
        "tenant",
        "customer_settings",
    }
)


@dataclass(frozen=True, slots=True)
class Offered:
    """What call control reports about one offer: the status (200 answered) and the
    agent (SIP account) whose phone answered."""

    status: int
    answered_by: str | None = None


#: Rings the given SIP accounts for ``seconds`` and connects the first to answer.
Ring = Callable[[str, tuple[str, ...], float], Awaitable[Offered]]


@dataclass(frozen=True, slots=True)
class Ticket:
    """The answer to :meth:`Distributor.join`: refused (``refused``), or joined with a
    future that resolves with a :class:`Leave` if the queue sends the caller away."""

    queue: QueueOut | None
    refused: Leave | None = None
    departure: asyncio.Future[Leave] | None = None


class Distributor:
    """The ACD of one node for every tenant it leads."""

    def __init__(self, runtime: Runtime, ring: Ring, dial: Dialer | None = None) -> None:
        self.runtime = runtime
        self.ring = ring
        self.dial = dial
        self.node = runtime.settings.node_name
        self.rng = random.Random()
        self.lease_seconds = leader.LEASE_SECONDS
        self._tenants: dict[int, TenantAcd] = {}
        self._loading: dict[int, asyncio.Future[TenantAcd | None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.get_running_loop()
        self._timers: dict[tuple[int, str], asyncio.TimerHandle] = {}
        self.writer = Journal(runtime, self.node)
        self.desk = CallbackDesk(self, runtime, dial, self.node)
        self._changes = runtime.bus.subscribe(_is_acd_change, maxsize=1000)
        self._watcher = self._loop.create_task(self._watch())
        self._background = [
            self._loop.create_task(self._take_up()),
            self._loop.create_task(self._renew()),
        ]
        runtime.listeners[ACD_LISTENER] = self

    # -- tenants, leases, loading ------------------------------------------------------

    async def _tenant(self, tenant_id: int) -> TenantAcd | None:
        """The tenant's ACD, loaded (and its lease taken) on first use; None when
        another node leads it."""
        acd = self._tenants.get(tenant_id)
        if acd is not None:
            return acd
        loading = self._loading.get(tenant_id)
        if loading is None:
            loading = self._loading[tenant_id] = self._loop.create_future()
            try:
                loading.set_result(await self._open(tenant_id))
            except BaseException as exc:
                loading.set_exception(exc)
                raise
            finally:
                del self._loading[tenant_id]
        return await asyncio.shield(loading)

    async def _open(self, tenant_id: int) -> TenantAcd | None:
        if not await self._lease(tenant_id):
            log.info("ACD: tenant %d is led by another node", tenant_id)
            return None
        acd = TenantAcd(tenant_id)
        await self._load(acd)
        await self.desk.load(acd)
        self._tenants[tenant_id] = acd
        return acd

    async def _lease(self, tenant_id: int) -> bool:
        try:
            async with self.runtime.unit_of_work() as session:
                return await leader.acquire(
                    session,
                    tenant_id=tenant_id,
                    node=self.node,
                    now=now_utc(),
                    seconds=self.lease_seconds,
                )
        except SQLAlchemyError as exc:
            log.warning("ACD: lease of tenant %d not taken: %s", tenant_id, exc)
            return False

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            for tenant_id in list(self._tenants):
                if not await self._lease(tenant_id):
                    log.error("ACD: lost the lease of tenant %d to another node", tenant_id)
                    self._drop(tenant_id)

    def _drop(self, tenant_id: int) -> None:
        """Stop leading a tenant: its waiting callers get their queue's fallback."""
        acd = self._tenants.pop(tenant_id, None)
        if acd is None:
            return
        for call_id, future in acd.departures.items():
            if not future.done():
                queue = acd.pops.get(call_id)
                future.set_result(Leave(LeaveReason.NOT_LEADER, queue.queue if queue else ""))
        for entry in acd.retrying.values():
            if entry.timer is not None:
                entry.timer.cancel()
        if acd.timer is not None:
            acd.timer.cancel()

    async def _take_up(self) -> None:
        """On start: lead the tenants whose callback requests are not finished."""
        try:
            async with self.runtime.unit_of_work() as session:
                tenants = await callback_store.tenants_with_open_callbacks(session)
        except SQLAlchemyError as exc:
            log.warning("ACD: pending callbacks not reloaded: %s", exc)
            return
        for tenant_id in tenants:
            if await self._tenant(tenant_id) is not None:
                self.run(tenant_id)

    async def _load(self, acd: TenantAcd) -> None:
        """Read queues and agents again (their saved states, ours kept while busy)."""
        async with self.runtime.unit_of_work() as session:
            rows = await presence.load_board_rows(session, acd.tenant_id)
            acd.region = await tenant_region(session, acd.tenant_id)
        tenant_id = acd.tenant_id
        reload(acd, rows, self._loop.time(), lambda key: self.writer.busy(tenant_id, int(key)))
        for key in acd.overridden & acd.records.keys() & acd.agents.keys():
            self._save(acd, key)  # the merged state replaces the dropped one
        acd.overridden.clear()
        for key in acd.records:
            self._time_wrap_up(acd, key)

    async def _watch(self) -> None:
        async for event in self._changes:
            acd = self._tenants.get(event.tenant_id or 0)
            if acd is None:
                loading = self._loading.get(event.tenant_id or 0)
                if loading is not None:  # it may have been read before this change
                    loading.add_done_callback(self._loaded_meanwhile)
                continue
            if isinstance(event, CallbackChanged):
                if event.state == CallbackState.CANCELLED.value:
                    self.desk.cancelled(acd, event.callback_id)
                continue
            if isinstance(event, AgentStateChanged):
                if self._own(acd, event):
                    continue
                # The API's change is newer than a state of ours still waiting to be
                # written: that write must not land after it (the reload merges both).
                if self.writer.drop(acd.tenant_id, event.agent_id):
                    acd.overridden.add(str(event.agent_id))
            self._mark(acd)

    def _mark(self, acd: TenantAcd) -> None:
        """Reload the tenant (once for however many changes come in meanwhile)."""
        acd.dirty = True
        if acd.reloading is None or acd.reloading.done():
            acd.reloading = self._loop.create_task(self._reload(acd))

    def _loaded_meanwhile(self, loading: asyncio.Future[TenantAcd | None]) -> None:
        """A change came in while the tenant was being loaded: read it again."""
        if not loading.cancelled() and loading.exception() is None:
            acd = loading.result()
            if acd is not None:
                self._mark(acd)

    def _own(self, acd: TenantAcd, event: AgentStateChanged) -> bool:
        """Whether an agent-state event reports this runtime's own save (or nothing it
        does not hold already)."""
        return event.origin == self.writer.origin or is_own_change(acd, event)

    async def _reload(self, acd: TenantAcd) -> None:
        """Reload a tenant once for however many changes came in meanwhile."""
        while acd.dirty:
            acd.dirty = False
            try:
                await self._load(acd)
            except SQLAlchemyError as exc:
                log.warning("ACD: reloading tenant %d failed: %s", acd.tenant_id, exc)
                return
            self.run(acd.tenant_id)

    async def close(self) -> None:
        """Stop watching, cancel offers and callbacks under way, give up the leases."""
        if self.runtime.listeners.get(ACD_LISTENER) is self:
            del self.runtime.listeners[ACD_LISTENER]
        self._changes.close()
        reloads = [acd.reloading for acd in self._tenants.values() if acd.reloading]
        tasks = [self._watcher, *self._background, *self._tasks, *reloads]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for timer in self._timers.values():
            timer.cancel()
        await self.writer.close()
        for tenant_id in list(self._tenants):
            self._drop(tenant_id)
            with contextlib.suppress(SQLAlchemyError):
                async with self.runtime.unit_of_work() as session:
                    await leader.release(session, tenant_id=tenant_id, node=self.node)

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task = self._loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- callers ------------------------------------------------------------------------

    async def queue_exists(self, tenant_id: int, name: str) -> QueueOut | None:
        """The tenant's queue ``name``, if this node leads the tenant and it exists."""
        acd = await self._tenant(tenant_id)
        return None if acd is None else acd.queues.get(name)

    async def join(
        self,
        tenant_id: int,
        call_id: str,
        queue: str,
        *,
        priority: int = 0,
        skills: dict[str, int] | None = None,
        data: dict[str, str] | None = None,
        caller: str = "",
        called: str = "",
    ) -> Ticket:
        """Put an answered caller in ``queue`` (see the module docstring)."""
        acd = await self._tenant(tenant_id)
        if acd is None:
            return Ticket(None, Leave(LeaveReason.NOT_LEADER, queue))
        config = acd.queues.get(queue)
        if config is None:
            return Ticket(None, Leave(LeaveReason.NO_QUEUE, queue))
        at = now_utc()
        try:
            async with self.runtime.unit_of_work() as session:
                context = await caller_context(
                    session,
                    tenant_id=tenant_id,
                    call_id=call_id,
                    caller=caller,
                    sticky_seconds=float(config.sticky_seconds),
                    now=at,
                    region=acd.region,
                )
        except SQLAlchemyError as exc:
            log.warning("call %s: caller lookup failed: %s", call_id, exc)
            context = CallerContext()
        qid = str(config.id)
        now = self._loop.time()
        customer = context.customer
        last_at = None
        if context.last_agent_at is not None:
            last_at = now - (at - context.last_agent_at).total_seconds()
        entry = Caller(
            call_id=call_id,
            queue_id=qid,
            joined_at=now,
            priority=float(priority),
            customer_type=customer.tier.value if customer is not None else None,
            skills=dict(skills or {}),
            region=caller_region(customer.region if customer else None, caller, config),
            last_agent_id=acd.by_account.get(context.last_agent or ""),
            last_agent_at=last_at,
        )
        acd.pops[call_id] = ScreenPop(
            queue,
            caller,
            called,
            dict(data or {}),
            customer_json(customer),
            context.ivr_path,
            context.digits,
        )
        admission = acd.board.admission(qid)
        if admission is not Admission.ADMITTED:
            acd.parked[call_id] = entry  # a callback fallback may still keep a place
            reason = LeaveReason.FULL if admission is Admission.FULL else LeaveReason.EMPTY
            self.log_queue(acd, queue, call_id, QueueEventKind.LEAVE)
            return Ticket(config, Leave(reason, queue, config.fallback))
        acd.board.add_caller(entry)
        departure: asyncio.Future[Leave] = self._loop.create_future()
        acd.departures[call_id] = departure
        position = acd.board.position(call_id)
        self.log_queue(acd, queue, call_id, QueueEventKind.JOIN, position=position)
        self.run(tenant_id)
        return Ticket(config, None, departure)

    def leave(self, tenant_id: int, call_id: str) -> None:
        """A waiting (or offered) caller hung up, or was sent elsewhere."""
        acd = self._tenants.get(tenant_id)
        if acd is None:
            return
        caller = acd.callers.pop(call_id, None)
        if acd.board.is_waiting(call_id):
            caller = acd.board.remove_caller(call_id)
        acd.parked.pop(call_id, None)
        pop = acd.pops.pop(call_id, None)
        departure = acd.departures.pop(call_id, None)
        if departure is not None and not departure.done():
            departure.cancel()
        self.desk.hung_up(acd, call_id)
        if caller is not None:
            waited = self._loop.time() - caller.joined_at
            queue = acd.by_id.get(caller.queue_id)
            name = queue.name if queue is not None else (pop.queue if pop else "")
            self.log_queue(acd, name, call_id, QueueEventKind.ABANDON, wait=waited)
        self.run(tenant_id)

    def position(self, tenant_id: int, call_id: str) -> int | None:
        """The caller's place in its queue (1 first), None when not waiting."""
        acd = self._tenants.get(tenant_id)
        if acd is None or not acd.board.is_waiting(call_id):
            return None
        return acd.board.position(call_id)

    def expected_wait(self, tenant_id: int, call_id: str) -> float | None:
        """The caller's expected wait (None: not waiting, or nobody serves the queue)."""
        acd = self._tenants.get(tenant_id)
        position = self.position(tenant_id, call_id)
        if acd is None or position is None:
            return None
        return acd.expected_wait(acd.board.waiting_entry(call_id).caller.queue_id, position)

    # -- callbacks ----------------------------------------------------------------------

    async def request_callback(
        self, tenant_id: int, call_id: str, *, number: str, fallback: bool = False
    ) -> bool:
        """Turn a waiting caller into a callback request that keeps their place; False
        when the caller is not waiting (an offer rings), has no number to call back, or
        the queue offers no callback (unless it is the queue's ``fallback``)."""
        acd = self._tenants.get(tenant_id)
        if acd is None:
            return False
        return await self.desk.request(acd, call_id, number=number, fallback=fallback)

    # -- decisions ----------------------------------------------------------------------

    def dispatch(self, tenant_id: int) -> None:
        """Decide now (see :meth:`_run`)."""
        self.run(tenant_id)

    def run(self, tenant_id: int) -> None:
        """Departures, offers, live figures and the next deadline of one tenant."""
        acd = self._tenants.get(tenant_id)
        if acd is None:
            return
        now = self._loop.time()
        self._depart(acd, now)
        again = False
        for assignment in match(acd.board, now, self.rng):
            again |= self._assign(acd, assignment, now)
        for event in queue_changes(acd, now):
            self.runtime.bus.publish(event)
        self._schedule(acd, now)
        if again:
            self._loop.call_soon(self.run, tenant_id)

    def _assign(self, acd: TenantAcd, assignment: Assignment, now: float) -> bool:
        """Reserve the agents of one assignment and start its offer (or callback);
        True when agents the core chose were left free (a callback takes one)."""
        call_id = assignment.call_id
        caller = acd.board.remove_caller(call_id)
        acd.callers[call_id] = caller
        entry = acd.callbacks.get(call_id)
        turn = entry is not None and entry.record.state is CallbackState.PENDING
        agent_ids = assignment.agent_ids[:1] if turn else assignment.agent_ids
        queue = acd.by_id[assignment.queue_id]
        policy = acd.board.queue(assignment.queue_id).policy
        pop = acd.pops.get(call_id) or ScreenPop(queue.name, "", "")
        for agent_id in agent_ids:
            self.agent_event(acd, agent_id, Offer(call_id, policy))
            acd.board.record_offer(assignment.queue_id, agent_id)
            agent = acd.agents[agent_id]
            self.runtime.bus.publish(
                CallOffered(
                    tenant_id=acd.tenant_id,
                    user_id=agent.user_id,
                    agent_id=agent.agent_id,
                    username=agent.username,
                    call_id=call_id,
                    queue=queue.name,
                    caller=pop.caller,
                    called=pop.called,
                    data=dict(pop.data),
                    customer=pop.customer,
                    ivr_path=pop.ivr_path,
                    digits=pop.digits,
                    callback=entry is not None,
                    waited_seconds=round(now - caller.joined_at, 3),
                )
            )
            self.log_queue(
                acd,
                queue.name,
                call_id,
                QueueEventKind.OFFER,
                agent=_account(agent.sip_accounts, agent.username),
                wait=now - caller.joined_at,
            )
        if turn:
            assert entry is not None
            self.spawn(self.desk.turn(acd, entry, queue, agent_ids))
        else:
            self.spawn(self.offer(acd, call_id, queue, agent_ids))
        return len(agent_ids) < len(assignment.agent_ids)

    async def offer(
        self, acd: TenantAcd, call_id: str, queue: QueueOut, agent_ids: tuple[str, ...]
    ) -> None:
        accounts = tuple(
            account for agent_id in agent_ids for account in acd.agents[agent_id].sip_accounts
        )
        try:
            result = await self.ring(call_id, accounts, float(queue.ring_timeout))
        except Exception:
            log.exception("ACD: offer of %s failed", call_id)
            result = Offered(500)
        self._settle_offer(acd, call_id, queue, agent_ids, result)
        self.run(acd.tenant_id)

    def _settle_offer(
        self,
        acd: TenantAcd,
        call_id: str,
        queue: QueueOut,
        agent_ids: tuple[str, ...],
        result: Offered,
    ) -> None:
        caller = acd.callers.pop(call_id, None)
        winner = acd.by_account.get(result.answered_by or "")
        answered = result.status == 200
        for agent_id in agent_ids:
            if answered and agent_id == winner:
                self.agent_event(acd, agent_id, Answer(call_id))
                agent = acd.agents[agent_id]
                self.runtime.bus.publish(
                    CallAnswered(
                        tenant_id=acd.tenant_id,
                        user_id=agent.user_id,
                        agent_id=agent.agent_id,
                        username=agent.username,
                        call_id=call_id,
                        queue=queue.name,
                    )
                )
            elif result.status == 487 and caller is None:
                self.agent_event(acd, agent_id, CallEnded(call_id))  # the caller left
            else:
                cause = OfferFailure.UNREACHABLE if result.status in UNREACHABLE else None
                if answered:
                    cause = OfferFailure.REJECTED  # another phone of a ring-all took it
                failed = OfferFailed(call_id, cause or OfferFailure.NO_ANSWER)
                self.agent_event(acd, agent_id, failed)
        now = self._loop.time()
        if answered:
            acd.answered[call_id] = (now, str(queue.id))
            departure = acd.departures.pop(call_id, None)
            if departure is not None and not departure.done():
                departure.cancel()
            waited = None if caller is None else now - caller.joined_at
            self.log_queue(
                acd,
                queue.name,
                call_id,
                QueueEventKind.ANSWER,
                agent=result.answered_by,
                wait=waited,
            )
            self.desk.answered(acd, call_id, result.answered_by or "")
        elif caller is not None and result.status != 487:
            missed = caller.skip_agents | frozenset(agent_ids)
            acd.board.add_caller(replace(caller, skip_agents=missed))

    def _depart(self, acd: TenantAcd, now: float) -> None:
        """Send away the callers the queue does not keep (callbacks always stay)."""
        for call_id, leave, waited in departures(acd, now):
            future = acd.departures.pop(call_id)
            if not future.done():
                future.set_result(leave)
            timeout = leave.reason is LeaveReason.MAX_WAIT
            kind = QueueEventKind.TIMEOUT if timeout else QueueEventKind.LEAVE
            self.log_queue(acd, leave.queue, call_id, kind, wait=waited)

    def _schedule(self, acd: TenantAcd, now: float) -> None:
        """Wake up at the next deadline: an overflow stage, a maximum wait, the end of
        a queue's grace after its last agent left."""
        if acd.timer is not None:
            acd.timer.cancel()
            acd.timer = None
        due = next_wakeup(acd, now)
        if due is not None:
            acd.timer = self._loop.call_at(due + 0.001, self.run, acd.tenant_id)

    def call_ended(self, tenant_id: int, call_id: str, agent_account: str) -> None:
        """The agent's call ended: wrap-up, then available again."""
        acd = self._tenants.get(tenant_id)
        agent_id = None if acd is None else acd.by_account.get(agent_account)
        if acd is None or agent_id is None:
            return
        self.agent_event(acd, agent_id, CallEnded(call_id))
        agent = acd.agents[agent_id]
        self.runtime.bus.publish(
            CallFinished(
                tenant_id=tenant_id,
                user_id=agent.user_id,
                agent_id=agent.agent_id,
                username=agent.username,
                call_id=call_id,
            )
        )
        acd.pops.pop(call_id, None)
        answered = acd.answered.pop(call_id, None)
        if answered is not None:
            started, qid = answered
            queue = acd.by_id.get(qid)
            wrap = float(queue.wrap_up_seconds) if queue is not None else 0.0
            handled = self._loop.time() - started + wrap
            acd.handle[qid] = acd.handle.get(qid, HandleTime()).add(handled)
        self.run(tenant_id)

    # -- agents -------------------------------------------------------------------------

    def agent_event(self, acd: TenantAcd, agent_id: str, event: Event) -> None:
        """Feed an agent's state machine, update the board, save and time what follows."""
        record = acd.records.get(agent_id)
        if record is None:
            return
        try:
            transition = apply(record, event, self._loop.time())
        except IllegalTransition as exc:
            log.warning("ACD: agent %s: %s", agent_id, exc)
            return
        self._settle(acd, agent_id, transition)

    def _settle(self, acd: TenantAcd, agent_id: str, transition: Transition) -> None:
        record = transition.agent
        acd.records[agent_id] = record
        acd.board.set_agent(agent_info(acd.agents[agent_id], record))
        self._time_wrap_up(acd, agent_id)
        previous = transition.previous
        if transition.changed or (record.reason, record.pending_reason) != (
            previous.reason,
            previous.pending_reason,
        ):
            self._save(acd, agent_id)

    def _time_wrap_up(self, acd: TenantAcd, agent_id: str) -> None:
        key = (acd.tenant_id, agent_id)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        record = acd.records[agent_id]
        if record.wrap_up_until is not None and record.state is AgentState.WRAP_UP:
            self._timers[key] = self._loop.call_at(
                record.wrap_up_until, self._wrap_up_due, acd.tenant_id, agent_id
            )

    def _wrap_up_due(self, tenant_id: int, agent_id: str) -> None:
        acd = self._tenants.get(tenant_id)
        record = None if acd is None else acd.records.get(agent_id)
        if acd is None or record is None:
            return
        transition = handle_timer(record, self._loop.time())
        if transition is not None:
            self._settle(acd, agent_id, transition)
            self.run(tenant_id)

    def _save(self, acd: TenantAcd, agent_id: str) -> None:
        """Hand the agent's state to the writer (saves go out in order)."""
        agent, record = acd.agents[agent_id], acd.records[agent_id]
        stored = agent.stored
        state = StoredState(
            agent_id=agent.agent_id,
            state=record.state,
            since=now_utc(),
            reason=record.reason,
            pending_reason=record.pending_reason,
            call_id=record.call_id,
            queue_ids=stored.queue_ids if stored is not None else tuple(agent.queues),
            missed_offers=record.missed_offers,
            calls_today=stored.calls_today if stored is not None else 0,
            talk_seconds_today=stored.talk_seconds_today if stored is not None else 0.0,
            last_call_ended_at=stored.last_call_ended_at if stored is not None else None,
        )
        who = AgentIdentity(agent.agent_id, agent.user_id, agent.username, agent.team_id)
        self.writer.save(acd.tenant_id, who, state)

    # -- the queue event log, live state ----------------------------------------------

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
        """Append to the queue event log (statistics) without holding anything up."""
        entry = QueueEntry(queue, call_id, kind, now_utc(), agent, wait, position)
        self.writer.log(acd.tenant_id, entry)

    async def snapshot(self, tenant_id: int) -> AcdSnapshot | None:
        """The tenant's live state (see :mod:`helpline.acd.live`); None when another
        node leads the tenant."""
        acd = await self._tenant(tenant_id)
        if acd is None:
            return None
        return snapshot(acd, now=self._loop.time(), at=now_utc(), node=self.node)

    def status(self) -> dict[str, object]:
        """For the health endpoint: the tenants led here and what waits."""
        tenants = list(self._tenants.values())
        return {
            "ok": True,
            "node": self.node,
            "tenants": sorted(acd.tenant_id for acd in tenants),
            "waiting": sum(acd.board.waiting_count() for acd in tenants),
            "offering": sum(len(acd.callers) for acd in tenants),
            "callbacks": sum(len(acd.callbacks) + len(acd.retrying) for acd in tenants),
        }


def _is_acd_change(event: BusEvent) -> bool:
    if isinstance(event, AgentStateChanged | CallbackChanged):
        return True
    return isinstance(event, ConfigChanged) and event.entity in RELOAD_ENTITIES


def _account(accounts: tuple[str, ...], username: str) -> str:
    return accounts[0] if accounts else username
