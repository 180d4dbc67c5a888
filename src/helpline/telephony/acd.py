"""The ACD at run time: callers wait in queues, agents' phones are offered calls.

Theory of operation
-------------------
The decisions are the pure core's (:mod:`helpline.acd.board`, :mod:`helpline.acd.strategy`,
:mod:`helpline.acd.state`); this module feeds it and carries out what it decides.
Per tenant it keeps a :class:`~helpline.acd.board.Board` loaded from the database
(queues, agents with their skills, memberships and saved states) and one
:class:`~helpline.acd.state.AgentRecord` per agent.

* A caller sent to a queue (by routing, an IVR flow or VoiceXML) is already answered;
  it hears the queue's music on hold and joins the board. Then, and whenever an agent
  becomes available, :func:`~helpline.acd.strategy.match` says which caller goes to
  which agents.
* An offer reserves the agent(s) and rings every registered phone of their SIP
  accounts (call control's B2BUA) for the queue's ring timeout. The first to answer is
  bridged to the caller; a miss counts against the agent (auto-pause after N misses in
  a row) and the caller goes back to its place, never to that agent again.
* When the call ends the agent goes to wrap-up and is available again after the
  queue's wrap-up time.
* Agents log in, pause and resume through the API, which saves their state and
  publishes ``acd.agent_state``; the distributor reloads the tenant's agents on that
  event. States it changes itself (reserved, on call, wrap-up) are saved back so that
  the API, supervisors and a restarted node see them.

One node runs a tenant's ACD (the board lives in its memory, its state in the
database); sharing one tenant's queues between nodes needs a leader per tenant, which
is not built yet. Overflow stages, region routing, fallbacks, callbacks and position
announcements are decided by the core but not yet carried out here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from helpline.acd import presence
from helpline.acd.board import AgentInfo, Board, Caller, Membership, QueueConfig
from helpline.acd.events import AgentStateChanged, CallAnswered, CallFinished, CallOffered
from helpline.acd.presence import BoardAgent, StoredState
from helpline.acd.schemas import QueueOut
from helpline.acd.state import (
    AgentRecord,
    AgentState,
    Answer,
    CallEnded,
    Event,
    IllegalTransition,
    Offer,
    OfferFailed,
    OfferFailure,
    QueuePolicy,
    Transition,
    apply,
    handle_timer,
)
from helpline.acd.strategy import Assignment, match
from helpline.core.events import Event as BusEvent
from helpline.runtime import Runtime

log = logging.getLogger(__name__)

#: Offer outcome statuses that mean the agent's phone was not there at all.
UNREACHABLE = frozenset({404, 408, 480, 503})


@dataclass(frozen=True, slots=True)
class Offered:
    """What call control reports about one offer: the status (200 answered) and the
    agent (username) whose phone answered."""

    status: int
    answered_by: str | None = None


#: Rings the given SIP accounts for ``seconds`` and connects the first to answer.
Ring = Callable[[str, tuple[str, ...], float], Awaitable[Offered]]


@dataclass(slots=True)
class _Tenant:
    """One tenant's ACD: the board, the agents' records, the queues by name."""

    board: Board
    records: dict[str, AgentRecord] = field(default_factory=dict)
    agents: dict[str, BoardAgent] = field(default_factory=dict)
    queues: dict[str, QueueOut] = field(default_factory=dict)
    by_account: dict[str, str] = field(default_factory=dict)
    callers: dict[str, Caller] = field(default_factory=dict)
    """Callers taken off the board while their offer rings."""
    pops: dict[str, ScreenPop] = field(default_factory=dict)
    """What each waiting caller's offer shows the agent."""


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """What an agent's desktop is told about an offered call."""

    queue: str
    caller: str
    called: str
    data: dict[str, str] = field(default_factory=dict)


class Distributor:
    """The ACD of one node for every tenant it has loaded."""

    def __init__(self, runtime: Runtime, ring: Ring) -> None:
        self.runtime = runtime
        self.ring = ring
        self.rng = random.Random()
        self._tenants: dict[int, _Tenant] = {}
        self._offers: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._own_changes = 0
        self._changes = runtime.bus.subscribe(_is_agent_change, maxsize=1000)
        self._watcher = self._loop.create_task(self._watch())

    # -- loading ------------------------------------------------------------------------

    async def _tenant(self, tenant_id: int) -> _Tenant:
        acd = self._tenants.get(tenant_id)
        if acd is None:
            acd = self._tenants[tenant_id] = _Tenant(Board())
            await self._load(tenant_id, acd)
        return acd

    async def _load(self, tenant_id: int, acd: _Tenant) -> None:
        """Read queues and agents again (their states as saved, ours kept)."""
        async with self.runtime.unit_of_work() as session:
            rows = await presence.load_board_rows(session, tenant_id)
        now = self._loop.time()
        acd.queues = {q.name: q for q in rows.queues}
        for queue in rows.queues:
            acd.board.set_queue(_queue_config(queue))
        for agent in rows.agents:
            key = str(agent.agent_id)
            acd.agents[key] = agent
            for account in agent.sip_accounts:
                acd.by_account[account] = key
            ours = acd.records.get(key)
            if ours is None or ours.state not in (AgentState.RESERVED, AgentState.ON_CALL):
                acd.records[key] = _record(agent, ours, now)
            acd.board.set_agent(_info(agent, acd.records[key]))

    async def _watch(self) -> None:
        async for event in self._changes:
            assert isinstance(event, AgentStateChanged)
            acd = self._tenants.get(event.tenant_id or 0)
            if acd is None:
                continue
            try:
                await self._load(event.tenant_id or 0, acd)
            except SQLAlchemyError as exc:
                log.warning("ACD: reloading agents failed: %s", exc)
                continue
            self.dispatch(event.tenant_id or 0)

    async def close(self) -> None:
        """Stop watching and cancel offers under way."""
        self._changes.close()
        self._watcher.cancel()
        for task in [self._watcher, *self._offers]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for timer in self._timers.values():
            timer.cancel()

    # -- callers ------------------------------------------------------------------------

    async def queue_exists(self, tenant_id: int, name: str) -> QueueOut | None:
        """The tenant's queue ``name``, if there is one."""
        return (await self._tenant(tenant_id)).queues.get(name)

    async def join(
        self,
        tenant_id: int,
        call_id: str,
        queue: str,
        *,
        priority: int = 0,
        skills: dict[str, int] | None = None,
        pop: ScreenPop | None = None,
    ) -> bool:
        """Put an answered caller in ``queue``; False if there is no such queue or it
        is full (the caller then needs another destination)."""
        acd = await self._tenant(tenant_id)
        config = acd.queues.get(queue)
        if config is None:
            return False
        caller = Caller(
            call_id=call_id,
            queue_id=str(config.id),
            joined_at=self._loop.time(),
            priority=float(priority),
            skills=dict(skills or {}),
        )
        if (
            config.max_length is not None
            and len(acd.board.waiting(str(config.id))) >= config.max_length
        ):
            return False
        acd.board.add_caller(caller)
        acd.pops[call_id] = pop or ScreenPop(queue, "", "")
        self.dispatch(tenant_id)
        return True

    def leave(self, tenant_id: int, call_id: str) -> None:
        """A waiting caller hung up (or was sent elsewhere)."""
        acd = self._tenants.get(tenant_id)
        if acd is None:
            return
        acd.callers.pop(call_id, None)
        acd.pops.pop(call_id, None)
        with contextlib.suppress(KeyError):
            acd.board.remove_caller(call_id)

    def position(self, tenant_id: int, call_id: str) -> int | None:
        """The caller's place in its queue (1 first), None when not waiting."""
        acd = self._tenants.get(tenant_id)
        if acd is None:
            return None
        try:
            return acd.board.position(call_id)
        except KeyError:
            return None

    # -- decisions ----------------------------------------------------------------------

    def dispatch(self, tenant_id: int) -> None:
        """Make the offers the core decides now."""
        acd = self._tenants.get(tenant_id)
        if acd is None:
            return
        now = self._loop.time()
        for assignment in match(acd.board, now, self.rng):
            caller = acd.board.remove_caller(assignment.call_id)
            acd.callers[assignment.call_id] = caller
            queue = acd.board.queue(assignment.queue_id)
            pop = acd.pops.get(assignment.call_id) or ScreenPop("", "", "")
            for agent_id in assignment.agent_ids:
                self._event(tenant_id, acd, agent_id, Offer(assignment.call_id, queue.policy))
                acd.board.record_offer(assignment.queue_id, agent_id)
                agent = acd.agents[agent_id]
                self.runtime.bus.publish(
                    CallOffered(
                        tenant_id=tenant_id,
                        user_id=agent.user_id,
                        agent_id=agent.agent_id,
                        username=agent.username,
                        call_id=assignment.call_id,
                        queue=pop.queue,
                        caller=pop.caller,
                        called=pop.called,
                        data=dict(pop.data),
                    )
                )
            task = self._loop.create_task(self._offer(tenant_id, acd, assignment))
            self._offers.add(task)
            task.add_done_callback(self._offers.discard)

    async def _offer(self, tenant_id: int, acd: _Tenant, assignment: Assignment) -> None:
        queue = next(q for q in acd.queues.values() if str(q.id) == assignment.queue_id)
        accounts = tuple(
            account
            for agent_id in assignment.agent_ids
            for account in acd.agents[agent_id].sip_accounts
        )
        try:
            result = await self.ring(assignment.call_id, accounts, float(queue.ring_timeout))
        except Exception:
            log.exception("ACD: offer of %s failed", assignment.call_id)
            result = Offered(500)
        caller = acd.callers.pop(assignment.call_id, None)
        winner = acd.by_account.get(result.answered_by or "")
        for agent_id in assignment.agent_ids:
            if result.status == 200 and agent_id == winner:
                self._event(tenant_id, acd, agent_id, Answer(assignment.call_id))
                agent = acd.agents[agent_id]
                self.runtime.bus.publish(
                    CallAnswered(
                        tenant_id=tenant_id,
                        user_id=agent.user_id,
                        agent_id=agent.agent_id,
                        username=agent.username,
                        call_id=assignment.call_id,
                        queue=queue.name,
                    )
                )
            else:
                cause = (
                    OfferFailure.UNREACHABLE
                    if result.status in UNREACHABLE
                    else OfferFailure.NO_ANSWER
                )
                if result.status == 200:
                    cause = OfferFailure.REJECTED  # another phone of a ring-all took it
                self._event(tenant_id, acd, agent_id, OfferFailed(assignment.call_id, cause))
        if result.status != 200 and caller is not None and result.status != 487:
            missed = caller.skip_agents | frozenset(assignment.agent_ids)
            acd.board.add_caller(replace(caller, skip_agents=missed))
        self.dispatch(tenant_id)

    def call_ended(self, tenant_id: int, call_id: str, agent_account: str) -> None:
        """The agent's call ended: wrap-up, then available again."""
        acd = self._tenants.get(tenant_id)
        agent_id = None if acd is None else acd.by_account.get(agent_account)
        if acd is None or agent_id is None:
            return
        self._event(tenant_id, acd, agent_id, CallEnded(call_id))
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
        self.dispatch(tenant_id)

    # -- agents -------------------------------------------------------------------------

    def _event(self, tenant_id: int, acd: _Tenant, agent_id: str, event: Event) -> None:
        """Feed an agent's state machine, update the board, save and time what follows."""
        record = acd.records.get(agent_id)
        if record is None:
            return
        now = self._loop.time()
        try:
            transition = apply(record, event, now)
        except IllegalTransition as exc:
            log.warning("ACD: agent %s: %s", agent_id, exc)
            return
        self._settle(tenant_id, acd, agent_id, transition)

    def _settle(self, tenant_id: int, acd: _Tenant, agent_id: str, transition: Transition) -> None:
        record = transition.agent
        acd.records[agent_id] = record
        acd.board.set_agent(_info(acd.agents[agent_id], record))
        timer = self._timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()
        if record.wrap_up_until is not None and record.state is AgentState.WRAP_UP:
            self._timers[agent_id] = self._loop.call_at(
                record.wrap_up_until, self._wrap_up_due, tenant_id, agent_id
            )
        if transition.changed:
            self._save(tenant_id, acd.agents[agent_id], record)

    def _wrap_up_due(self, tenant_id: int, agent_id: str) -> None:
        acd = self._tenants.get(tenant_id)
        record = None if acd is None else acd.records.get(agent_id)
        if acd is None or record is None:
            return
        transition = handle_timer(record, self._loop.time())
        if transition is not None:
            self._settle(tenant_id, acd, agent_id, transition)
            self.dispatch(tenant_id)

    def _save(self, tenant_id: int, agent: BoardAgent, record: AgentRecord) -> None:
        stored = agent.stored
        state = StoredState(
            agent_id=agent.agent_id,
            state=record.state,
            since=datetime.now(UTC),
            reason=record.reason,
            pending_reason=record.pending_reason,
            call_id=record.call_id,
            queue_ids=stored.queue_ids if stored is not None else tuple(agent.queues),
            missed_offers=record.missed_offers,
            calls_today=stored.calls_today if stored is not None else 0,
            talk_seconds_today=stored.talk_seconds_today if stored is not None else 0.0,
            last_call_ended_at=stored.last_call_ended_at if stored is not None else None,
        )
        task = self._loop.create_task(self._write(tenant_id, state))
        self._offers.add(task)
        task.add_done_callback(self._offers.discard)

    async def _write(self, tenant_id: int, state: StoredState) -> None:
        try:
            async with self.runtime.unit_of_work() as session:
                await presence.save_agent_state(
                    session, tenant_id=tenant_id, state=state, node=self.runtime.settings.node_name
                )
        except SQLAlchemyError as exc:
            log.warning("ACD: saving agent %d failed: %s", state.agent_id, exc)


def _is_agent_change(event: BusEvent) -> bool:
    return isinstance(event, AgentStateChanged)


def _queue_config(queue: QueueOut) -> QueueConfig:
    return QueueConfig(
        queue_id=str(queue.id),
        strategy=queue.strategy,
        skills=dict(queue.required_skills),
        aging_per_second=queue.priority_aging / 60.0,
        sticky_seconds=float(queue.sticky_seconds),
        max_length=queue.max_length,
        max_wait_seconds=float(queue.max_wait_seconds) if queue.max_wait_seconds else None,
        policy=QueuePolicy(
            max_missed_offers=queue.auto_pause_after, wrap_up_seconds=float(queue.wrap_up_seconds)
        ),
    )


def _record(agent: BoardAgent, ours: AgentRecord | None, now: float) -> AgentRecord:
    """The agent's record from its saved state; a call this node does not hold is gone
    (recovered as the state machine says), a wrap-up restarts its clock."""
    stored = agent.stored
    if stored is None or not agent.enabled:
        return AgentRecord(str(agent.agent_id), AgentState.OFFLINE, now)
    state = stored.state
    if state in (AgentState.RESERVED, AgentState.ON_CALL) and ours is None:
        state = AgentState.AVAILABLE if stored.pending_reason is None else AgentState.NOT_READY
    wrap_up_until = now if state is AgentState.WRAP_UP else None
    return AgentRecord(
        str(agent.agent_id),
        state,
        now,
        reason=stored.reason if state is AgentState.NOT_READY else None,
        pending_reason=stored.pending_reason,
        missed_offers=stored.missed_offers,
        wrap_up_until=wrap_up_until,
        policy=ours.policy if ours is not None else None,
    )


def _info(agent: BoardAgent, record: AgentRecord) -> AgentInfo:
    stored = agent.stored
    return AgentInfo(
        agent_id=str(agent.agent_id),
        state=record.state,
        since=record.since,
        skills=dict(agent.skills),
        memberships=tuple(
            Membership(str(queue_id), place.penalty, place.position)
            for queue_id, place in agent.queues.items()
        ),
        groups=frozenset({agent.region}) if agent.region else frozenset(),
        calls_today=stored.calls_today if stored is not None else 0,
        talk_seconds_today=stored.talk_seconds_today if stored is not None else 0.0,
        missed_offers=record.missed_offers,
        weight=float(agent.weight),
    )
