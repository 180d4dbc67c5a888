"""The ACD board: an in-memory, indexed snapshot of one tenant's agents, queues and callers.

Theory of operation: the runner keeps one :class:`Board` per tenant and updates it as
things happen (an agent's state changes, a caller joins or leaves, a queue is
reconfigured); :mod:`helpline.acd.strategy` decides from it.  Records are frozen
slotted dataclasses (:class:`AgentInfo`, :class:`Caller`, :class:`QueueConfig`); the
board only holds them and keeps indexes so that a decision never scans what it does
not need:

* per queue, its members and, separately, its *available* members;
* per queue, the waiting callers sorted by effective priority.  Effective priority is
  ``base + aging_per_second * (now - joined_at)`` with ``base`` the caller's priority
  plus the queue's bonus for the caller's customer type; since the aging rate is the
  queue's, the order inside a queue does not change with time, so it is kept sorted
  once (ties by ``joined_at``) and queues are merged lazily at decision time;
* per queue, the callers sorted by ``joined_at`` for timeouts and :meth:`next_deadline`;
* counts of logged-in and ready members per queue for the join/leave-empty rules.

Overflow stages accumulate: at stage *k* (reached ``after_seconds`` into the wait) the
skill minimums are lowered by the largest ``lower_levels_by`` so far, the skills
dropped so far no longer count, and the members of every queue added so far are
candidates too (after the queue's own).  Times are seconds on the runner's clock; the
board never reads a clock and does no I/O.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from helpline.acd.state import AgentState, QueuePolicy

__all__ = [
    "MAX_LEVEL",
    "Admission",
    "AgentInfo",
    "Board",
    "Caller",
    "Departure",
    "DepartureReason",
    "EmptyRule",
    "Fallback",
    "FallbackKind",
    "Membership",
    "Need",
    "OverflowStage",
    "QueueConfig",
    "Stage",
    "Strategy",
    "Waiting",
    "region_for_number",
    "requirements",
]

#: Highest skill proficiency (0 means "does not have the skill").
MAX_LEVEL = 5

_LOGGED_OUT = frozenset({AgentState.OFFLINE})
_NOT_READY = frozenset({AgentState.OFFLINE, AgentState.NOT_READY})


class Strategy(StrEnum):
    """How a queue picks among its eligible agents."""

    RING_ALL = "ring_all"
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    LEAST_TALK_TIME = "least_talk_time"
    LINEAR = "linear"
    RANDOM = "random"
    WEIGHTED_RANDOM = "weighted_random"


class EmptyRule(StrEnum):
    """When callers may join (or must leave) a queue with no agent to take them."""

    ALWAYS = "always"
    """Join and stay even when no member is logged in."""
    LOGGED_IN = "logged_in"
    """Only while at least one member is logged in (paused members count)."""
    READY = "ready"
    """Only while at least one member is logged in and not paused."""


class FallbackKind(StrEnum):
    """Where a caller goes when the queue is full, empty, or the wait is too long."""

    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    QUEUE = "queue"
    ANNOUNCEMENT = "announcement"
    HANGUP = "hangup"


class Admission(StrEnum):
    """The answer to "may this caller join the queue now?"."""

    ADMITTED = "admitted"
    FULL = "full"
    EMPTY = "empty"


class DepartureReason(StrEnum):
    """Why a waiting caller has to leave the queue."""

    MAX_WAIT = "max_wait"
    EMPTY = "empty"


def _check_levels(skills: Mapping[str, int], what: str) -> None:
    for name, level in skills.items():
        if not 0 <= level <= MAX_LEVEL:
            raise ValueError(f"{what} skill {name!r}: level {level} not in 0..{MAX_LEVEL}")


@dataclass(frozen=True, slots=True)
class Fallback:
    """A fallback destination: ``target`` is a mailbox, queue or prompt name as needed."""

    kind: FallbackKind
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """An agent's membership of a queue: lower ``penalty`` first; ``order`` for linear."""

    queue_id: str
    penalty: int = 0
    order: int = 0


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """What the ACD knows about an agent when deciding.

    ``since`` is when the agent entered ``state`` (for an available agent: idle since);
    ``skills`` maps skill names to proficiency 0-5; ``groups`` are the teams used by
    region routing; ``weight`` is the share for weighted-random queues.
    """

    agent_id: str
    state: AgentState = AgentState.OFFLINE
    since: float = 0.0
    skills: Mapping[str, int] = field(default_factory=dict)
    memberships: tuple[Membership, ...] = ()
    groups: frozenset[str] = frozenset()
    calls_today: int = 0
    talk_seconds_today: float = 0.0
    last_call_ended_at: float | None = None
    missed_offers: int = 0
    weight: float = 1.0

    def __post_init__(self) -> None:
        _check_levels(self.skills, f"agent {self.agent_id!r}")
        queues = [m.queue_id for m in self.memberships]
        if len(set(queues)) != len(queues):
            raise ValueError(f"agent {self.agent_id!r} is a member of a queue twice")


@dataclass(frozen=True, slots=True)
class OverflowStage:
    """From ``after_seconds`` into the wait: relax skills and/or add other queues' agents."""

    after_seconds: float
    lower_levels_by: int = 0
    drop_skills: frozenset[str] = frozenset()
    add_queues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue's configuration as the ACD decides from it.

    ``skills`` are minimum levels every caller of the queue needs (merged with the
    caller's own, the higher wins); ``customer_type_priority`` raises the base priority
    of callers of a customer type (e.g. ``{"vip": 10}``); ``region_groups`` maps a
    caller region to the agent group tried alone for ``region_wait_seconds``, preferred
    afterwards; ``sticky_seconds`` is the last-agent window (0: off); ``max_length``
    and ``max_wait_seconds`` of None are unlimited.
    """

    queue_id: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: Mapping[str, int] = field(default_factory=dict)
    aging_per_second: float = 0.0
    customer_type_priority: Mapping[str, float] = field(default_factory=dict)
    overflow: tuple[OverflowStage, ...] = ()
    sticky_seconds: float = 0.0
    region_groups: Mapping[str, str] = field(default_factory=dict)
    region_wait_seconds: float = 0.0
    max_length: int | None = None
    max_wait_seconds: float | None = None
    join_empty: EmptyRule = EmptyRule.ALWAYS
    leave_empty: EmptyRule = EmptyRule.ALWAYS
    fallback: Fallback | None = None
    policy: QueuePolicy = field(default_factory=QueuePolicy)

    def __post_init__(self) -> None:
        _check_levels(self.skills, f"queue {self.queue_id!r}")
        starts = [stage.after_seconds for stage in self.overflow]
        if any(b <= a for a, b in zip([0.0, *starts], starts, strict=False)):
            raise ValueError("overflow stages must start after 0 s, in increasing order")
        if self.aging_per_second < 0:
            raise ValueError("aging_per_second must be >= 0")


@dataclass(frozen=True, slots=True)
class Stage:
    """The overflow stage a caller is in: its index, total relaxation and queues."""

    index: int
    starts_after: float
    lower_levels_by: int
    dropped_skills: frozenset[str]
    queue_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Caller:
    """A caller waiting in a queue.

    ``skills`` maps required skills to minimum levels; ``last_agent_id`` and
    ``last_agent_at`` are who served the caller last and when (for stickiness);
    ``skip_agents`` are agents not to offer this caller to again (they missed it).
    """

    call_id: str
    queue_id: str
    joined_at: float
    priority: float = 0.0
    customer_type: str | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    region: str | None = None
    last_agent_id: str | None = None
    last_agent_at: float | None = None
    skip_agents: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_levels(self.skills, f"caller {self.call_id!r}")


@dataclass(frozen=True, slots=True)
class Waiting:
    """A caller as the board holds it, with what decisions need precomputed.

    ``requirements`` are the merged (queue and caller) minimum levels, sorted;
    ``base_priority`` includes the customer-type bonus.
    """

    caller: Caller
    requirements: tuple[tuple[str, int], ...]
    base_priority: float
    aging_per_second: float
    seq: int

    @property
    def order_key(self) -> tuple[float, float, int]:
        """The time-independent sort key inside the queue (smallest is served first)."""
        static = self.base_priority - self.aging_per_second * self.caller.joined_at
        return (-static, self.caller.joined_at, self.seq)

    def effective_priority(self, now: float) -> float:
        """``base_priority + aging_per_second * seconds waited`` at ``now``."""
        return self.base_priority + self.aging_per_second * (now - self.caller.joined_at)


@dataclass(frozen=True, slots=True)
class Departure:
    """A caller who has to leave the queue now, and where the queue sends them."""

    call_id: str
    queue_id: str
    reason: DepartureReason
    fallback: Fallback | None


def region_for_number(number: str, prefixes: Mapping[str, str]) -> str | None:
    """The region of the longest prefix of ``number`` in ``prefixes``, or None."""
    for end in range(len(number), 0, -1):
        region = prefixes.get(number[:end])
        if region is not None:
            return region
    return None


def requirements(queue: QueueConfig, caller: Caller) -> tuple[tuple[str, int], ...]:
    """The minimum levels ``caller`` needs in ``queue``: the caller's and the queue's
    merged (the higher wins), level-0 entries dropped, sorted by skill name."""
    merged = dict(queue.skills)
    for name, level in caller.skills.items():
        merged[name] = max(level, merged.get(name, 0))
    return tuple(sorted((name, level) for name, level in merged.items() if level > 0))


def _stages(queue: QueueConfig) -> tuple[Stage, ...]:
    out = [Stage(0, 0.0, 0, frozenset(), (queue.queue_id,))]
    for index, step in enumerate(queue.overflow, start=1):
        last = out[-1]
        added = tuple(q for q in step.add_queues if q not in last.queue_ids)
        out.append(
            Stage(
                index,
                step.after_seconds,
                max(last.lower_levels_by, step.lower_levels_by),
                last.dropped_skills | step.drop_skills,
                last.queue_ids + tuple(dict.fromkeys(added)),
            )
        )
    return tuple(out)


#: A class of callers of one queue: their merged requirements and their region.
Need = tuple[tuple[tuple[str, int], ...], str | None]


def _waiting_key(w: Waiting) -> tuple[float, float, int]:
    return w.order_key


def _joined_key(item: tuple[float, int]) -> float:
    return item[0]


class Board:
    """One tenant's agents, queues and waiting callers, indexed for fast decisions.

    Mutated only through its methods by the runner; read by the strategy functions.
    Unknown ids raise :exc:`KeyError`.
    """

    __slots__ = (
        "_agents",
        "_available",
        "_by_call",
        "_free",
        "_joined",
        "_last_offered",
        "_logged_in",
        "_members",
        "_needs",
        "_queues",
        "_ready",
        "_seq",
        "_stage_starts",
        "_stages",
        "_waiting",
    )

    def __init__(
        self,
        queues: Iterable[QueueConfig] = (),
        agents: Iterable[AgentInfo] = (),
        callers: Iterable[Caller] = (),
    ) -> None:
        self._queues: dict[str, QueueConfig] = {}
        self._stages: dict[str, tuple[Stage, ...]] = {}
        self._stage_starts: dict[str, list[float]] = {}
        self._agents: dict[str, AgentInfo] = {}
        self._members: dict[str, dict[str, Membership]] = {}
        self._available: dict[str, dict[str, Membership]] = {}
        self._free: set[str] = set()
        self._logged_in: dict[str, int] = {}
        self._ready: dict[str, int] = {}
        self._waiting: dict[str, list[Waiting]] = {}
        self._joined: dict[str, list[tuple[float, int]]] = {}
        self._by_call: dict[str, Waiting] = {}
        self._needs: dict[str, dict[Need, int]] = {}
        self._last_offered: dict[str, tuple[int, str]] = {}
        self._seq = 0
        for queue in queues:
            self.set_queue(queue)
        for agent in agents:
            self.set_agent(agent)
        for caller in callers:
            self.add_caller(caller)

    # Queues

    @property
    def queues(self) -> Mapping[str, QueueConfig]:
        """All queues by id (read-only view)."""
        return MappingProxyType(self._queues)

    def queue(self, queue_id: str) -> QueueConfig:
        """The configuration of ``queue_id``."""
        return self._queues[queue_id]

    def set_queue(self, queue: QueueConfig) -> None:
        """Add or reconfigure a queue; its waiting callers are re-ranked."""
        qid = queue.queue_id
        self._queues[qid] = queue
        self._stages[qid] = _stages(queue)
        self._stage_starts[qid] = [stage.starts_after for stage in self._stages[qid]]
        waiting = self._waiting.setdefault(qid, [])
        self._joined.setdefault(qid, [])
        self._needs.setdefault(qid, {})
        if waiting:
            callers = [w.caller for w in waiting]
            for caller in callers:
                self.remove_caller(caller.call_id)
            for caller in callers:
                self.add_caller(caller)

    def remove_queue(self, queue_id: str) -> None:
        """Remove a queue; refused (:exc:`ValueError`) while callers wait in it."""
        if self._waiting.get(queue_id):
            raise ValueError(f"callers are waiting in queue {queue_id!r}")
        del self._queues[queue_id]
        for index in (self._stages, self._stage_starts, self._waiting, self._joined, self._needs):
            index.pop(queue_id, None)
        self._last_offered.pop(queue_id, None)

    def stage(self, queue_id: str, waited: float) -> Stage:
        """The overflow stage of a caller of ``queue_id`` who has waited ``waited`` s."""
        index = bisect_right(self._stage_starts[queue_id], waited) - 1
        return self._stages[queue_id][max(index, 0)]

    # Agents

    @property
    def agents(self) -> Mapping[str, AgentInfo]:
        """All agents by id (read-only view)."""
        return MappingProxyType(self._agents)

    @property
    def available_count(self) -> int:
        """How many agents are available (in any queue)."""
        return len(self._free)

    def agent(self, agent_id: str) -> AgentInfo:
        """The record of ``agent_id``."""
        return self._agents[agent_id]

    def set_agent(self, agent: AgentInfo) -> None:
        """Add or replace an agent record (state, skills, memberships, counters)."""
        old = self._agents.get(agent.agent_id)
        if old is not None:
            self._unindex(old)
        self._agents[agent.agent_id] = agent
        self._index(agent)

    def remove_agent(self, agent_id: str) -> None:
        """Forget an agent."""
        self._unindex(self._agents.pop(agent_id))

    def members(self, queue_id: str) -> Mapping[str, Membership]:
        """The members of ``queue_id`` by agent id (read-only view)."""
        return MappingProxyType(self._members.get(queue_id, {}))

    def available_members(self, queue_id: str) -> Mapping[str, Membership]:
        """The available members of ``queue_id`` by agent id (read-only view)."""
        return MappingProxyType(self._available.get(queue_id, {}))

    def _index(self, agent: AgentInfo) -> None:
        aid = agent.agent_id
        if agent.state is AgentState.AVAILABLE:
            self._free.add(aid)
        for m in agent.memberships:
            self._members.setdefault(m.queue_id, {})[aid] = m
            if agent.state is AgentState.AVAILABLE:
                self._available.setdefault(m.queue_id, {})[aid] = m
            if agent.state not in _LOGGED_OUT:
                self._logged_in[m.queue_id] = self._logged_in.get(m.queue_id, 0) + 1
            if agent.state not in _NOT_READY:
                self._ready[m.queue_id] = self._ready.get(m.queue_id, 0) + 1

    def _unindex(self, agent: AgentInfo) -> None:
        aid = agent.agent_id
        self._free.discard(aid)
        for m in agent.memberships:
            self._members[m.queue_id].pop(aid, None)
            self._available.get(m.queue_id, {}).pop(aid, None)
            if agent.state not in _LOGGED_OUT:
                self._logged_in[m.queue_id] -= 1
            if agent.state not in _NOT_READY:
                self._ready[m.queue_id] -= 1

    # Callers

    def add_caller(self, caller: Caller) -> Waiting:
        """Put ``caller`` in its queue (which must exist) and return its board entry."""
        if caller.call_id in self._by_call:
            raise ValueError(f"call {caller.call_id!r} is already waiting")
        queue = self._queues[caller.queue_id]
        bonus = queue.customer_type_priority.get(caller.customer_type or "", 0.0)
        self._seq += 1
        entry = Waiting(
            caller,
            requirements(queue, caller),
            caller.priority + bonus,
            queue.aging_per_second,
            self._seq,
        )
        insort(self._waiting[caller.queue_id], entry, key=_waiting_key)
        insort(self._joined[caller.queue_id], (caller.joined_at, entry.seq))
        self._by_call[caller.call_id] = entry
        needs = self._needs[caller.queue_id]
        need = (entry.requirements, caller.region)
        needs[need] = needs.get(need, 0) + 1
        return entry

    def remove_caller(self, call_id: str) -> Caller:
        """Take a caller out of its queue (answered, abandoned, sent to a fallback)."""
        entry = self._by_call.pop(call_id)
        qid = entry.caller.queue_id
        waiting = self._waiting[qid]
        del waiting[bisect_left(waiting, entry.order_key, key=_waiting_key)]
        joined = self._joined[qid]
        del joined[bisect_left(joined, (entry.caller.joined_at, entry.seq))]
        needs = self._needs[qid]
        need = (entry.requirements, entry.caller.region)
        needs[need] -= 1
        if not needs[need]:
            del needs[need]
        return entry.caller

    def is_waiting(self, call_id: str) -> bool:
        """Whether ``call_id`` waits in a queue of this board."""
        return call_id in self._by_call

    def waiting_entry(self, call_id: str) -> Waiting:
        """The board entry of a waiting call."""
        return self._by_call[call_id]

    def waiting(self, queue_id: str) -> tuple[Waiting, ...]:
        """The callers of ``queue_id`` in the order they will be served."""
        return tuple(self._waiting.get(queue_id, ()))

    def first_waiting(self, queue_id: str) -> Waiting | None:
        """The caller of ``queue_id`` served next, or None when nobody waits."""
        waiting = self._waiting.get(queue_id)
        return waiting[0] if waiting else None

    def waiting_count(self, queue_id: str | None = None) -> int:
        """How many callers wait in ``queue_id`` (in all queues when None)."""
        if queue_id is None:
            return len(self._by_call)
        return len(self._waiting.get(queue_id, ()))

    def position(self, call_id: str) -> int:
        """The 1-based position of a waiting call in its queue (for announcements)."""
        entry = self._by_call[call_id]
        waiting = self._waiting[entry.caller.queue_id]
        return bisect_left(waiting, entry.order_key, key=_waiting_key) + 1

    def needs(self, queue_id: str) -> Collection[Need]:
        """The distinct ``(requirements, region)`` pairs among the callers of ``queue_id``."""
        return self._needs.get(queue_id, {}).keys()

    def oldest_joined(self, queue_id: str) -> float | None:
        """When the longest-waiting caller of ``queue_id`` joined, or None."""
        joined = self._joined.get(queue_id)
        return joined[0][0] if joined else None

    def present_stages(self, queue_id: str, now: float) -> list[Stage]:
        """The overflow stages that at least one caller of ``queue_id`` is in at ``now``."""
        joined = self._joined.get(queue_id)
        if not joined:
            return []
        stages = self._stages[queue_id]
        out = []
        for stage in stages:
            # Callers in this stage joined in (now - next start, now - this start].
            hi = bisect_right(joined, now - stage.starts_after, key=_joined_key)
            nxt = stage.index + 1
            lo = 0
            if nxt < len(stages):
                lo = bisect_right(joined, now - stages[nxt].starts_after, key=_joined_key)
            if hi > lo:
                out.append(stage)
        return out

    def waiting_order(
        self, now: float, queue_ids: Iterable[str] | None = None
    ) -> Iterator[Waiting]:
        """All waiting callers (of ``queue_ids``, or of every queue), highest effective
        priority at ``now`` first.

        Lazy: the per-queue orders are merged as the iterator is consumed.  The board
        must not be changed while the iterator is in use.
        """
        if queue_ids is None:
            queue_ids = self._waiting
        lists = [w for w in (self._waiting.get(q, []) for q in queue_ids) if w]
        if not lists:
            return iter(())
        if len(lists) == 1:
            return iter(lists[0])

        def key(w: Waiting) -> tuple[float, float, int]:
            return (-w.effective_priority(now), w.caller.joined_at, w.seq)

        return heapq.merge(*lists, key=key)

    # Round-robin memory

    def record_offer(self, queue_id: str, agent_id: str) -> None:
        """Remember that ``queue_id`` offered a call to ``agent_id`` (round-robin memory)."""
        member = self._members.get(queue_id, {}).get(agent_id)
        if member is not None:
            self._last_offered[queue_id] = (member.order, agent_id)

    def last_offered(self, queue_id: str) -> tuple[int, str] | None:
        """``(member order, agent id)`` of the last agent ``queue_id`` offered to, or None."""
        return self._last_offered.get(queue_id)

    # Admission, timeouts, timers

    def _rule_met(self, queue_id: str, rule: EmptyRule) -> bool:
        if rule is EmptyRule.LOGGED_IN:
            return self._logged_in.get(queue_id, 0) > 0
        if rule is EmptyRule.READY:
            return self._ready.get(queue_id, 0) > 0
        return True

    def logged_in_count(self, queue_id: str) -> int:
        """How many members of ``queue_id`` are logged in (paused ones too)."""
        return self._logged_in.get(queue_id, 0)

    def ready_count(self, queue_id: str) -> int:
        """How many members of ``queue_id`` are logged in and not paused (they serve it)."""
        return self._ready.get(queue_id, 0)

    def staffed(self, queue_id: str) -> bool:
        """Whether ``queue_id``'s leave-empty rule lets its callers stay now."""
        return self._rule_met(queue_id, self._queues[queue_id].leave_empty)

    def admission(self, queue_id: str) -> Admission:
        """Whether a new caller may join ``queue_id`` now (max length, join-empty rule)."""
        queue = self._queues[queue_id]
        if queue.max_length is not None and self.waiting_count(queue_id) >= queue.max_length:
            return Admission.FULL
        if not self._rule_met(queue_id, queue.join_empty):
            return Admission.EMPTY
        return Admission.ADMITTED

    def departures(self, now: float) -> list[Departure]:
        """The callers who must leave now: leave-empty rule broken, or waited too long."""
        out: list[Departure] = []
        for qid, joined in self._joined.items():
            if not joined:
                continue
            queue = self._queues[qid]
            if not self._rule_met(qid, queue.leave_empty):
                out += [
                    Departure(w.caller.call_id, qid, DepartureReason.EMPTY, queue.fallback)
                    for w in self._waiting[qid]
                ]
            elif queue.max_wait_seconds is not None:
                cut = bisect_right(joined, now - queue.max_wait_seconds, key=_joined_key)
                seqs = {seq for _, seq in joined[:cut]}
                out += [
                    Departure(w.caller.call_id, qid, DepartureReason.MAX_WAIT, queue.fallback)
                    for w in self._waiting[qid]
                    if w.seq in seqs
                ]
        return out

    def next_deadline(self, now: float) -> float | None:
        """The next time after ``now`` a waiting caller reaches an overflow stage, the
        end of its region-only wait or its maximum wait: when to decide again, or None.
        """
        best: float | None = None
        for qid, joined in self._joined.items():
            if not joined:
                continue
            queue = self._queues[qid]
            offsets = self._stage_starts[qid][1:]
            if queue.region_groups and queue.region_wait_seconds > 0:
                offsets.append(queue.region_wait_seconds)
            if queue.max_wait_seconds is not None:
                offsets.append(queue.max_wait_seconds)
            for offset in offsets:
                i = bisect_right(joined, now - offset, key=_joined_key)
                if i < len(joined):
                    due = joined[i][0] + offset
                    best = due if best is None else min(best, due)
        return best
