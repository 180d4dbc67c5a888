"""One tenant's ACD as the runtime holds it, and how database rows become board records.

Theory of operation: :class:`~helpline.telephony.acd.Distributor` keeps one
:class:`TenantAcd` per tenant it leads: the pure board (queues, agents, waiting callers
and callback entries), the agents' state-machine records, what each waiting call's
offer shows the agent, the callback requests under way, and the runtime's own memory
(average handling times, when a queue lost its last agent, the figures last published).
The functions below turn the rows :func:`helpline.acd.presence.load_board_rows` reads
into the core's records (:class:`~helpline.acd.board.QueueConfig`,
:class:`~helpline.acd.board.AgentInfo`, :class:`~helpline.acd.state.AgentRecord`) and
build the read-only :class:`~helpline.acd.live.AcdSnapshot` of the tenant.  The loop
clock (``loop.time()``) is the board's clock; :func:`wall` converts to UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from helpline.acd.board import (
    AgentInfo,
    Board,
    Caller,
    DepartureReason,
    EmptyRule,
    Membership,
    OverflowStage,
    QueueConfig,
    region_for_number,
)
from helpline.acd.callback import CallbackRecord, CallbackState
from helpline.acd.events import AgentStateChanged, QueueChanged
from helpline.acd.live import AcdSnapshot, AgentSnapshot, CallerSnapshot, QueueSnapshot
from helpline.acd.models import JoinWhenEmpty, LeaveWhenEmpty
from helpline.acd.presence import BoardAgent, BoardRows, StoredState
from helpline.acd.schemas import Fallback, QueueOut
from helpline.acd.screenpop import ScreenPop
from helpline.acd.state import (
    BUSY_STATES,
    AgentRecord,
    AgentState,
    IllegalTransition,
    Pause,
    QueuePolicy,
    Resume,
    apply,
)
from helpline.acd.waiting import HandleTime, expected_wait

__all__ = [
    "CallbackEntry",
    "Leave",
    "LeaveReason",
    "TenantAcd",
    "agent_info",
    "agent_record",
    "caller_region",
    "departures",
    "is_own_change",
    "next_wakeup",
    "queue_changes",
    "queue_config",
    "reload",
    "snapshot",
    "wall",
]


class LeaveReason(StrEnum):
    """Why a caller is not (or no longer) waiting in a queue."""

    NO_QUEUE = "no_queue"
    NOT_LEADER = "not_leader"
    """Another node runs this tenant's distributor."""
    FULL = "full"
    EMPTY = "empty"
    """Nobody is logged in to a queue that refuses callers then."""
    MAX_WAIT = "max_wait"
    LEFT_EMPTY = "left_empty"
    """The last agent left a queue whose callers do not stay then."""


@dataclass(frozen=True, slots=True)
class Leave:
    """A caller the queue does not keep, and where the queue sends them (None: "all
    agents are busy", then the call ends)."""

    reason: LeaveReason
    queue: str
    fallback: Fallback | None = None


@dataclass(slots=True)
class CallbackEntry:
    """A callback request the runtime holds: its machine record, the board entry that
    keeps its place (``caller``, with the attempt's call id), where to call and the
    screen pop of the original call."""

    record: CallbackRecord
    caller: Caller
    queue_id: int
    number: str
    called: str
    pop: ScreenPop
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class TenantAcd:
    """One tenant's ACD on this node."""

    tenant_id: int
    board: Board = field(default_factory=Board)
    records: dict[str, AgentRecord] = field(default_factory=dict)
    agents: dict[str, BoardAgent] = field(default_factory=dict)
    queues: dict[str, QueueOut] = field(default_factory=dict)
    """By name (what routing and IVR flows refer to)."""
    by_id: dict[str, QueueOut] = field(default_factory=dict)
    """By board queue id (the database id as text)."""
    by_account: dict[str, str] = field(default_factory=dict)
    """SIP account -> agent id."""
    callers: dict[str, Caller] = field(default_factory=dict)
    """Callers taken off the board while their offer rings."""
    parked: dict[str, Caller] = field(default_factory=dict)
    """Callers the queue sent away (or refused), kept while they may still ask for a
    callback that keeps their place."""
    pops: dict[str, ScreenPop] = field(default_factory=dict)
    departures: dict[str, asyncio.Future[Leave]] = field(default_factory=dict)
    """Waiting calls' futures, resolved when the queue sends the caller away."""
    callbacks: dict[str, CallbackEntry] = field(default_factory=dict)
    """Callback requests by the call id of their board entry or current attempt."""
    retrying: dict[int, CallbackEntry] = field(default_factory=dict)
    """Callback requests waiting out the delay after a failed attempt (off the board)."""
    answered: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Answered queue calls: when, and in which queue (for handling times)."""
    handle: dict[str, HandleTime] = field(default_factory=dict)
    empty_since: dict[str, float] = field(default_factory=dict)
    published: dict[str, tuple[object, ...]] = field(default_factory=dict)
    region: str | None = None
    """The tenant's default region (caller numbers are read in it)."""
    timer: asyncio.TimerHandle | None = None
    dirty: bool = False
    """Changes came in that the next reload has to read."""
    reloading: asyncio.Task[None] | None = None
    overridden: set[str] = field(default_factory=set)
    """Agents whose state the API changed while ours waited to be written (dropped)."""

    def handle_seconds(self, queue_id: str) -> float:
        """The queue's average handling time on this node (a default before any call)."""
        return self.handle.get(queue_id, HandleTime()).seconds

    def expected_wait(self, queue_id: str, position: int) -> float | None:
        """The expected wait at ``position`` in ``queue_id``."""
        serving = self.board.ready_count(queue_id)
        return expected_wait(position, serving, self.handle_seconds(queue_id))


def wall(loop_time: float, now: float, at: datetime) -> datetime:
    """The UTC time of ``loop_time`` on a loop whose clock reads ``now`` at ``at``."""
    return at - timedelta(seconds=now - loop_time)


def queue_config(queue: QueueOut, ids: dict[str, int]) -> QueueConfig:
    """The core's view of a queue; ``ids`` maps queue names to ids (overflow)."""
    stages = tuple(
        OverflowStage(
            after_seconds=float(stage.after_seconds),
            lower_levels_by=stage.min_level_drop,
            drop_skills=frozenset(stage.drop_skills),
            add_queues=tuple(str(ids[name]) for name in stage.add_queues if name in ids),
        )
        for stage in queue.overflow
    )
    return QueueConfig(
        queue_id=str(queue.id),
        strategy=queue.strategy,
        skills=dict(queue.required_skills),
        aging_per_second=queue.priority_aging / 60.0,
        customer_type_priority={str(k): v for k, v in queue.customer_priority.items()},
        overflow=stages,
        sticky_seconds=float(queue.sticky_seconds),
        region_groups={
            **{region: region for region in queue.region_prefixes.values()},
            **queue.region_teams,
        },
        region_wait_seconds=float(queue.region_wait_seconds),
        max_length=queue.max_length,
        max_wait_seconds=float(queue.max_wait_seconds) if queue.max_wait_seconds else None,
        join_empty=(
            EmptyRule.LOGGED_IN
            if queue.join_when_empty is JoinWhenEmpty.REFUSE
            else EmptyRule.ALWAYS
        ),
        leave_empty=(
            EmptyRule.LOGGED_IN
            if queue.leave_when_empty is LeaveWhenEmpty.LEAVE
            else EmptyRule.ALWAYS
        ),
        policy=QueuePolicy(
            max_missed_offers=queue.auto_pause_after, wrap_up_seconds=float(queue.wrap_up_seconds)
        ),
    )


def agent_record(agent: BoardAgent, ours: AgentRecord | None, now: float) -> AgentRecord:
    """The agent's record from its saved state; a call this node does not hold is gone
    (recovered as the state machine says), a wrap-up restarts its clock."""
    stored = agent.stored
    if stored is None or not agent.enabled:
        return AgentRecord(str(agent.agent_id), AgentState.OFFLINE, now)
    state = stored.state
    if state in BUSY_STATES and ours is None:
        state = AgentState.AVAILABLE if stored.pending_reason is None else AgentState.NOT_READY
    wrap_up_until = now if state is AgentState.WRAP_UP else None
    if ours is not None and ours.state is AgentState.WRAP_UP and state is AgentState.WRAP_UP:
        wrap_up_until = ours.wrap_up_until
    return AgentRecord(
        str(agent.agent_id),
        state,
        ours.since if ours is not None and ours.state is state else now,
        reason=stored.reason if state is AgentState.NOT_READY else None,
        pending_reason=stored.pending_reason,
        missed_offers=stored.missed_offers,
        wrap_up_until=wrap_up_until,
        policy=ours.policy if ours is not None else None,
    )


def agent_info(agent: BoardAgent, record: AgentRecord) -> AgentInfo:
    """The board's view of an agent in ``record``'s state."""
    stored = agent.stored
    logged_in = set(stored.queue_ids) if stored is not None else set()
    return AgentInfo(
        agent_id=str(agent.agent_id),
        state=record.state,
        since=record.since,
        skills=dict(agent.skills),
        memberships=tuple(
            Membership(str(queue_id), place.penalty, place.position)
            for queue_id, place in agent.queues.items()
            if not logged_in or queue_id in logged_in
        ),
        groups=frozenset({agent.region}) if agent.region else frozenset(),
        calls_today=stored.calls_today if stored is not None else 0,
        talk_seconds_today=stored.talk_seconds_today if stored is not None else 0.0,
        missed_offers=record.missed_offers,
        weight=float(agent.weight),
    )


def snapshot(acd: TenantAcd, *, now: float, at: datetime, node: str) -> AcdSnapshot:
    """The tenant's live state as plain data (see :mod:`helpline.acd.live`)."""
    board = acd.board
    queues = []
    offering: dict[str, int] = {}
    for caller in acd.callers.values():
        offering[caller.queue_id] = offering.get(caller.queue_id, 0) + 1
    for qid, queue in sorted(acd.by_id.items(), key=lambda item: item[1].name):
        if qid not in board.queues:
            continue
        callers = []
        for position, entry in enumerate(board.waiting(qid), start=1):
            caller = entry.caller
            callers.append(
                CallerSnapshot(
                    call_id=caller.call_id,
                    position=position,
                    joined_at=wall(caller.joined_at, now, at),
                    waited_seconds=max(0.0, now - caller.joined_at),
                    priority=entry.effective_priority(now),
                    customer_type=caller.customer_type,
                    callback=_is_callback(acd, caller.call_id),
                )
            )
        members = board.members(qid)
        busy = sum(acd.records[aid].state in BUSY_STATES for aid in members if aid in acd.records)
        pending = sum(1 for cb in _open_callbacks(acd) if str(cb.queue_id) == qid)
        queues.append(
            QueueSnapshot(
                queue_id=queue.id,
                name=queue.name,
                waiting=len(callers),
                longest_wait_seconds=max((c.waited_seconds for c in callers), default=0.0),
                callbacks_pending=pending,
                offering=offering.get(qid, 0),
                agents_logged_in=board.logged_in_count(qid),
                agents_available=len(board.available_members(qid)),
                agents_busy=busy,
                handle_seconds=acd.handle_seconds(qid),
                expected_wait_seconds=acd.expected_wait(qid, len(callers) + 1),
                callers=tuple(callers),
            )
        )
    agents = []
    for aid, agent in sorted(acd.agents.items(), key=lambda item: item[1].username):
        record = acd.records.get(aid)
        if record is None:
            continue
        stored = agent.stored
        agents.append(
            AgentSnapshot(
                agent_id=agent.agent_id,
                user_id=agent.user_id,
                username=agent.username,
                team_id=agent.team_id,
                state=record.state,
                since=wall(record.since, now, at),
                reason=record.reason,
                call_id=record.call_id,
                queue_ids=stored.queue_ids if stored is not None else (),
                missed_offers=record.missed_offers,
                calls_today=stored.calls_today if stored is not None else 0,
                talk_seconds_today=stored.talk_seconds_today if stored is not None else 0.0,
                last_call_ended_at=stored.last_call_ended_at if stored is not None else None,
            )
        )
    return AcdSnapshot(
        tenant_id=acd.tenant_id, at=at, node=node, queues=tuple(queues), agents=tuple(agents)
    )


def queue_changes(acd: TenantAcd, now: float) -> list[QueueChanged]:
    """``acd.queue`` events for the queues whose figures changed since the last ones
    (the longest wait alone, which grows all the time, is no change)."""
    offering: dict[str, int] = {}
    for caller in acd.callers.values():
        offering[caller.queue_id] = offering.get(caller.queue_id, 0) + 1
    pending: dict[int, int] = {}
    for entry in _open_callbacks(acd):
        pending[entry.queue_id] = pending.get(entry.queue_id, 0) + 1
    board = acd.board
    out = []
    for qid, queue in acd.by_id.items():
        if qid not in board.queues:
            continue
        members = board.members(qid)
        busy = sum(acd.records[aid].state in BUSY_STATES for aid in members if aid in acd.records)
        figures = (
            board.waiting_count(qid),
            pending.get(queue.id, 0),
            offering.get(qid, 0),
            board.logged_in_count(qid),
            len(board.available_members(qid)),
            busy,
        )
        if acd.published.get(qid) == figures:
            continue
        acd.published[qid] = figures
        oldest = board.oldest_joined(qid)
        out.append(
            QueueChanged(
                tenant_id=acd.tenant_id,
                queue_id=queue.id,
                queue=queue.name,
                waiting=figures[0],
                longest_wait_seconds=0.0 if oldest is None else round(now - oldest, 3),
                callbacks_pending=figures[1],
                offering=figures[2],
                agents_logged_in=figures[3],
                agents_available=figures[4],
                agents_busy=figures[5],
                expected_wait_seconds=acd.expected_wait(qid, figures[0] + 1),
            )
        )
    return out


def _is_callback(acd: TenantAcd, call_id: str) -> bool:
    entry = acd.callbacks.get(call_id)
    return entry is not None and entry.record.state is CallbackState.PENDING


def _open_callbacks(acd: TenantAcd) -> list[CallbackEntry]:
    seen: dict[int, CallbackEntry] = {}
    for entry in [*acd.callbacks.values(), *acd.retrying.values()]:
        seen[entry.record.callback_id] = entry
    return list(seen.values())


def caller_region(customer_region: object, number: str, queue: QueueOut) -> str | None:
    """A caller's region: their customer record's, else that of the longest prefix of
    their number among the queue's ``region_prefixes``."""
    if isinstance(customer_region, str) and customer_region:
        return customer_region
    return region_for_number(number, queue.region_prefixes)


def now_utc() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def reload(acd: TenantAcd, rows: BoardRows, now: float, writing: Callable[[str], bool]) -> None:
    """Apply freshly read queues and agents: saved states replace the records, except
    while the agent holds an offer or call here (only a pause asked for meanwhile is
    taken) and while a newer state of ours is still being written (``writing``)."""
    ids = {q.name: q.id for q in rows.queues}
    acd.queues = {q.name: q for q in rows.queues}
    acd.by_id = {str(q.id): q for q in rows.queues}
    for queue in rows.queues:
        acd.board.set_queue(queue_config(queue, ids))
    for agent in rows.agents:
        key = str(agent.agent_id)
        acd.agents[key] = agent
        for account in agent.sip_accounts:
            acd.by_account[account] = key
        ours = acd.records.get(key)
        if ours is not None and writing(key):
            pass  # our own newer state is on its way to the database
        elif ours is not None and ours.state in BUSY_STATES:
            acd.records[key] = _pending_pause(ours, agent.stored, now)
        else:
            acd.records[key] = agent_record(agent, ours, now)
        acd.board.set_agent(agent_info(agent, acd.records[key]))


def _pending_pause(ours: AgentRecord, stored: StoredState | None, now: float) -> AgentRecord:
    """A busy agent's record with the pause asked for meanwhile through the API."""
    if stored is None or stored.pending_reason == ours.pending_reason:
        return ours
    event: Pause | Resume = Pause(stored.pending_reason) if stored.pending_reason else Resume()
    try:
        return apply(ours, event, now).agent
    except IllegalTransition:
        return ours


def is_own_change(acd: TenantAcd, event: AgentStateChanged) -> bool:
    """Whether an agent-state event only reports what the runtime already holds."""
    key = str(event.agent_id)
    record, agent = acd.records.get(key), acd.agents.get(key)
    if record is None or agent is None:
        return False
    stored = agent.stored
    queue_ids = stored.queue_ids if stored is not None else ()
    return (
        record.state.value == event.state
        and record.reason == event.reason
        and record.pending_reason == event.pending_reason
        and tuple(event.queue_ids) == tuple(queue_ids)
    )


def departures(acd: TenantAcd, now: float) -> list[tuple[str, Leave, float]]:
    """Take off the board the callers their queue does not keep now, with where the
    queue sends them and how long they waited: past the maximum wait, or
    ``leave_empty_seconds`` after the queue lost its last agent.  Callbacks stay."""
    board = acd.board
    for qid in board.queues:
        if board.staffed(qid):
            acd.empty_since.pop(qid, None)
        else:
            acd.empty_since.setdefault(qid, now)
    out = []
    for departure in board.departures(now):
        call_id = departure.call_id
        if call_id in acd.callbacks or call_id not in acd.departures:
            continue
        queue = acd.by_id[departure.queue_id]
        reason = LeaveReason.MAX_WAIT
        if departure.reason is DepartureReason.EMPTY:
            since = acd.empty_since.get(departure.queue_id, now)
            if now - since < queue.leave_empty_seconds:
                continue
            reason = LeaveReason.LEFT_EMPTY
        caller = acd.parked[call_id] = board.remove_caller(call_id)
        out.append((call_id, Leave(reason, queue.name, queue.fallback), now - caller.joined_at))
    return out


def next_wakeup(acd: TenantAcd, now: float) -> float | None:
    """The next deadline: an overflow stage, a maximum wait, the end of a queue's grace
    after its last agent left."""
    due = acd.board.next_deadline(now)
    for qid, since in acd.empty_since.items():
        queue = acd.by_id.get(qid)
        if queue is None or not acd.board.waiting_count(qid):
            continue
        end = since + queue.leave_empty_seconds
        if end > now and (due is None or end < due):
            due = end
    return due
