"""ACD decisions: which agents a caller is offered to, and which caller goes next.

Theory of operation: the runner calls :func:`match` whenever an agent becomes
available, a caller joins, or :meth:`helpline.acd.board.Board.next_deadline` passes,
and makes the offers it returns (then updates the board: agents reserved, callers
out of the queue, :meth:`~helpline.acd.board.Board.record_offer` for round robin).
Everything is computed from the board and the ``now`` and ``rng`` passed in; nothing
here reads a clock, does I/O or changes the board.

An agent is *eligible* for a caller when the agent is available, is a member of the
caller's queue or of a queue added by the overflow stage the caller has reached, is
not in the caller's ``skip_agents``, has every required skill at the stage's minimum
(the caller's and the queue's minimums, lowered by the stage, dropped skills ignored),
and, while the caller is in the region-only part of the wait, belongs to the agent
group of the caller's region.  Eligible agents are ranked by, in order:

1. the caller's last agent, within the queue's stickiness window;
2. members of the caller's region group;
3. the caller's own queue before overflow queues (in stage order);
4. the membership penalty (lower first);
5. the queue's strategy: longest idle (available since earliest), round robin (the
   member after the one last offered, in member order, wrapping), fewest calls today,
   least talk time today, linear (member order), random, or weighted random
   (Efraimidis-Spirakis keys, so an agent's chance is its share of the weights);
6. the agent id, so that equal keys give a stable answer.

Ring-all offers to every eligible agent at once (only to the last agent when
stickiness applies).  Callers are served by effective priority (priority, customer
type bonus and aging), ties by arrival.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from random import Random

from helpline.acd.board import (
    AgentInfo,
    Board,
    Caller,
    Membership,
    QueueConfig,
    Stage,
    Strategy,
    requirements,
)

__all__ = ["Assignment", "choose_agents", "eligible_agents", "match", "next_caller"]

_Key = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Assignment:
    """An offer to make now: ``call_id`` of ``queue_id`` to ``agent_ids`` (several for
    ring-all, one otherwise)."""

    call_id: str
    queue_id: str
    agent_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Candidate:
    agent: AgentInfo
    member: Membership
    rank: int
    in_group: bool


@dataclass(frozen=True, slots=True)
class _Request:
    stage: Stage
    need: tuple[tuple[str, int], ...]
    group: str | None
    only_group: bool
    sticky: str | None


def _request(
    queue: QueueConfig, caller: Caller, needs: tuple[tuple[str, int], ...], stage: Stage, now: float
) -> _Request:
    waited = now - caller.joined_at
    relax, dropped = stage.lower_levels_by, stage.dropped_skills
    need = tuple((s, lv - relax) for s, lv in needs if lv > relax and s not in dropped)
    group = queue.region_groups.get(caller.region) if caller.region is not None else None
    sticky = None
    if (
        queue.sticky_seconds > 0
        and caller.last_agent_at is not None
        and now - caller.last_agent_at <= queue.sticky_seconds
    ):
        sticky = caller.last_agent_id
    only_group = group is not None and waited < queue.region_wait_seconds
    return _Request(stage, need, group, only_group, sticky)


def _candidates(board: Board, request: _Request, skip: Collection[str]) -> list[_Candidate]:
    seen: set[str] = set()
    out: list[_Candidate] = []
    need, group, only_group = request.need, request.group, request.only_group
    for rank, qid in enumerate(request.stage.queue_ids):
        for aid, member in board.available_members(qid).items():
            if aid in seen:
                continue
            seen.add(aid)
            if aid in skip:
                continue
            agent = board.agent(aid)
            skills = agent.skills
            if any(skills.get(s, 0) < lv for s, lv in need):
                continue
            in_group = group is not None and group in agent.groups
            if in_group or not only_group:
                out.append(_Candidate(agent, member, rank, in_group))
    return out


def _ranker(
    strategy: Strategy,
    sticky: str | None,
    last_offered: tuple[int, str] | None,
    rng: Random,
) -> Callable[[_Candidate], _Key]:
    def strategy_key(c: _Candidate) -> _Key:
        a = c.agent
        if strategy is Strategy.ROUND_ROBIN:
            mk = (c.member.order, a.agent_id)
            return (last_offered is not None and mk <= last_offered, mk)
        if strategy is Strategy.FEWEST_CALLS:
            return (a.calls_today, a.since)
        if strategy is Strategy.LEAST_TALK_TIME:
            return (a.talk_seconds_today, a.since)
        if strategy is Strategy.LINEAR:
            return (c.member.order,)
        if strategy is Strategy.RANDOM:
            return (rng.random(),)
        if strategy is Strategy.WEIGHTED_RANDOM:
            if a.weight <= 0:
                return (math.inf,)
            return (-math.log(1.0 - rng.random()) / a.weight,)
        ended = a.last_call_ended_at
        return (a.since, -math.inf if ended is None else ended)

    def key(c: _Candidate) -> _Key:
        a = c.agent
        head = (a.agent_id != sticky, not c.in_group, c.rank, c.member.penalty)
        return (*head, *strategy_key(c), a.agent_id)

    return key


def _prepare(
    queue_id: str, caller: Caller, board: Board, now: float
) -> tuple[QueueConfig, _Request]:
    queue = board.queue(queue_id)
    on_board = board.is_waiting(caller.call_id)
    entry = board.waiting_entry(caller.call_id) if on_board else None
    if entry is not None and entry.caller.queue_id == queue_id:
        needs = entry.requirements
    else:
        needs = requirements(queue, caller)
    stage = board.stage(queue_id, now - caller.joined_at)
    return queue, _request(queue, caller, needs, stage, now)


def eligible_agents(queue: str, caller: Caller, board: Board, now: float) -> list[str]:
    """The agents eligible for ``caller`` in ``queue`` at ``now``, in no particular order."""
    _, request = _prepare(queue, caller, board, now)
    return [c.agent.agent_id for c in _candidates(board, request, caller.skip_agents)]


def choose_agents(queue: str, caller: Caller, board: Board, now: float, rng: Random) -> list[str]:
    """The agents to offer ``caller`` (waiting in, or about to join, ``queue``) to at ``now``.

    Ring-all: every eligible agent (or only the sticky last agent).  Other strategies:
    every eligible agent in order of preference; offer to the first, then the next.
    Empty when nobody is eligible.  ``rng`` is only used by the random strategies.
    """
    config, request = _prepare(queue, caller, board, now)
    candidates = _candidates(board, request, caller.skip_agents)
    if config.strategy is Strategy.RING_ALL and any(
        c.agent.agent_id == request.sticky for c in candidates
    ):
        return [str(request.sticky)]
    key = _ranker(config.strategy, request.sticky, board.last_offered(queue), rng)
    return [c.agent.agent_id for c in sorted(candidates, key=key)]


def next_caller(queue: str, board: Board, now: float) -> Caller | None:
    """The caller ``queue`` serves next at ``now``: highest effective priority
    (priority + customer-type bonus + aging * seconds waited), then earliest joined.

    With one aging rate per queue this order does not change over time, so the board
    keeps it sorted and this is O(1); ``now`` is accepted for the contract's sake.
    """
    del now
    entry = board.first_waiting(queue)
    return entry.caller if entry is not None else None


def _free_maxima(board: Board, queue_id: str, group: str | None) -> dict[str, int] | None:
    """The highest level of each skill among the available members of ``queue_id`` (in
    ``group`` when given); None when there are none."""
    best: dict[str, int] | None = None
    for aid in board.available_members(queue_id):
        agent = board.agent(aid)
        if group is not None and group not in agent.groups:
            continue
        best = {} if best is None else best
        for skill, level in agent.skills.items():
            if level > best.get(skill, 0):
                best[skill] = level
    return best


_Maxima = dict[tuple[str, str | None], dict[str, int] | None]


def _stage_maxima(
    board: Board, stage: Stage, group: str | None, maxima: _Maxima
) -> dict[str, int] | None:
    combined: dict[str, int] | None = None
    for qid in stage.queue_ids:
        if (qid, group) not in maxima:
            maxima[qid, group] = _free_maxima(board, qid, group)
        levels = maxima[qid, group]
        if levels is None:
            continue
        if combined is None:
            combined = dict(levels)
        else:
            for skill, level in levels.items():
                combined[skill] = max(level, combined.get(skill, 0))
    return combined


def _may_serve(board: Board, queue_id: str, now: float, maxima: _Maxima) -> bool:
    """A necessary condition for ``match`` to find anyone for a caller of ``queue_id``:
    in a stage some caller is in, the free agents reachable at that stage (only their
    region team's, while every caller is in the region-only wait) together reach every
    minimum of one of the queue's requirement sets."""
    queue = board.queue(queue_id)
    oldest = board.oldest_joined(queue_id)
    all_in_window = (
        bool(queue.region_groups)
        and oldest is not None
        and now - oldest < queue.region_wait_seconds
    )
    for stage in board.present_stages(queue_id, now):
        relax, dropped = stage.lower_levels_by, stage.dropped_skills
        by_group: dict[str | None, dict[str, int] | None] = {
            None: _stage_maxima(board, stage, None, maxima)
        }
        if by_group[None] is None:
            continue
        for needs, region in board.needs(queue_id):
            group = None
            if all_in_window and region is not None:
                group = queue.region_groups.get(region)
            if group not in by_group:
                by_group[group] = _stage_maxima(board, stage, group, maxima)
            levels = by_group[group]
            if levels is not None and all(
                s in dropped or levels.get(s, 0) >= lv - relax for s, lv in needs
            ):
                return True
    return False


def match(board: Board, now: float, rng: Random) -> list[Assignment]:
    """The offers to make now across all queues of the board's tenant.

    Callers are taken in effective-priority order across queues; each gets its best
    eligible agent not yet assigned in this round (ring-all: all of them), so no agent
    appears twice.  Callers nobody can take are passed over, not blocking the others.
    Stops as soon as every available agent is assigned.
    """
    free = board.available_count
    if free == 0:
        return []
    maxima: _Maxima = {}
    live = [q for q in board.queues if _may_serve(board, q, now, maxima)]
    taken: set[str] = set()
    round_robin: dict[str, tuple[int, str] | None] = {}
    failed: set[_Key] = set()
    out: list[Assignment] = []
    for entry in board.waiting_order(now, live):
        caller = entry.caller
        qid = caller.queue_id
        queue = board.queue(qid)
        waited = now - caller.joined_at
        stage = board.stage(qid, waited)
        signature: _Key | None = None
        if not caller.skip_agents:
            region, group = caller.region, None
            if region is not None and waited < queue.region_wait_seconds:
                group = queue.region_groups.get(region)
            signature = (qid, stage.index, entry.requirements, group)
            if signature in failed:
                continue
        request = _request(queue, caller, entry.requirements, stage, now)
        skip = taken | caller.skip_agents if caller.skip_agents else taken
        candidates = _candidates(board, request, skip)
        if not candidates:
            if signature is not None:
                failed.add(signature)
            continue
        if queue.strategy is Strategy.RING_ALL:
            chosen = [c for c in candidates if c.agent.agent_id == request.sticky] or candidates
        else:
            last = round_robin[qid] if qid in round_robin else board.last_offered(qid)
            best = min(candidates, key=_ranker(queue.strategy, request.sticky, last, rng))
            if best.rank == 0:
                round_robin[qid] = (best.member.order, best.agent.agent_id)
            chosen = [best]
        ids = tuple(c.agent.agent_id for c in chosen)
        taken.update(ids)
        out.append(Assignment(caller.call_id, qid, ids))
        if len(taken) >= free:
            break
    return out
