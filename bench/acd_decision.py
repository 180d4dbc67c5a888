"""ACD decision time: ``choose_agents``, ``next_caller`` and ``match`` on a large board.

Builds one tenant's board (default 1,000 agents, 5,000 waiting callers, 20 queues with
all eight strategies, 8 skills, overflow stages, VIP bonus, aging, region routing and
stickiness; a seeded random generator, so every run builds the same board) and times,
each over many iterations, with ``time.perf_counter_ns``:

* ``choose_agents``: the ranked agent list for one random waiting caller;
* ``next_caller``: the next caller of one random queue;
* ``match, agent freed``: every agent busy but one, who just became available (the
  runtime's most frequent trigger);
* ``match, caller joined``: the board after a full match round was applied (the agents
  still available cannot take anyone waiting), then one new caller joins: ``match``
  has to walk the whole waiting list, the worst case of a single decision;
* ``match, bulk``: a full round from scratch with every available agent free (what a
  restart or a burst of logins costs; many assignments, not one decision);
* ``match, region hold``: free agents in every queue, but every caller is in the
  region-only part of its wait for a team none of them belongs to;
* ``match, full walk``: the adversarial worst case: every caller needs two skills that
  the free agents have only between them, so ``match`` visits every waiting caller.

Usage::

    .venv/bin/python bench/acd_decision.py
    .venv/bin/python bench/acd_decision.py --agents 1000 --callers 5000 --queues 20 \
        --available 0.05 --iterations 2000 --unfit 40
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from helpline.acd.board import (
    AgentInfo,
    Board,
    Caller,
    Membership,
    OverflowStage,
    QueueConfig,
    Strategy,
)
from helpline.acd.state import AgentState
from helpline.acd.strategy import choose_agents, match, next_caller

SKILLS = ("sales", "billing", "tech", "returns", "en", "fr", "de", "premium")
REGIONS = ("north", "south", "east", "west")
BUSY = (AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.NOT_READY, AgentState.RESERVED)
NOW = 10_000.0


def build_queues(count: int, rng: Random) -> list[QueueConfig]:
    """``count`` queues cycling through the strategies, some with skills and overflow."""
    strategies = list(Strategy)
    queues = []
    for n in range(count):
        qid = f"q{n}"
        skill = SKILLS[n % len(SKILLS)]
        overflow: tuple[OverflowStage, ...] = ()
        if n % 2 == 0:
            overflow = (
                OverflowStage(60.0, lower_levels_by=1),
                OverflowStage(180.0, add_queues=(f"q{(n + 1) % count}",)),
            )
        queues.append(
            QueueConfig(
                qid,
                strategy=strategies[n % len(strategies)],
                skills={skill: 1 + n % 2},
                aging_per_second=0.01 * (n % 3),
                customer_type_priority={"vip": 10.0},
                overflow=overflow,
                sticky_seconds=3600.0,
                region_groups={r: f"team-{r}" for r in REGIONS} if n % 4 == 0 else {},
                region_wait_seconds=30.0,
            )
        )
    return queues


def build_agents(count: int, queues: int, available: float, rng: Random) -> list[AgentInfo]:
    """``count`` agents in 2-4 queues each, 3-5 skills, a fraction ``available``."""
    agents = []
    for n in range(count):
        member_of = rng.sample(range(queues), rng.randint(2, 4))
        memberships = tuple(
            Membership(f"q{q}", penalty=rng.choice((0, 0, 0, 1)), order=rng.randint(0, 99))
            for q in member_of
        )
        skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(3, 5))}
        state = AgentState.AVAILABLE if rng.random() < available else rng.choice(BUSY)
        agents.append(
            AgentInfo(
                f"a{n}",
                state,
                since=NOW - rng.uniform(0, 3600),
                skills=skills,
                memberships=memberships,
                groups=frozenset({f"team-{rng.choice(REGIONS)}"}),
                calls_today=rng.randint(0, 60),
                talk_seconds_today=rng.uniform(0, 20_000),
                last_call_ended_at=NOW - rng.uniform(0, 3600),
                weight=rng.choice((1.0, 1.0, 2.0, 0.5)),
            )
        )
    return agents


def random_caller(n: int, queues: int, agents: int, rng: Random) -> Caller:
    """A caller of a random queue; some VIP, some with skill needs, regions, history."""
    needs = {rng.choice(SKILLS): rng.randint(1, 4)} if rng.random() < 0.3 else {}
    returning = rng.random() < 0.1
    return Caller(
        f"c{n}",
        f"q{rng.randrange(queues)}",
        NOW - rng.uniform(0, 600),
        priority=rng.choice((0, 0, 0, 1, 2)),
        customer_type="vip" if rng.random() < 0.05 else None,
        skills=needs,
        region=rng.choice(REGIONS),
        last_agent_id=f"a{rng.randrange(agents)}" if returning else None,
        last_agent_at=NOW - 600 if returning else None,
    )


def percentiles(samples: list[int]) -> tuple[float, float, float]:
    """p50, p99 and max of nanosecond samples, in milliseconds."""
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6

    return pick(0.50), pick(0.99), ordered[-1] / 1e6


def timed(
    iterations: int, setup: Callable[[], object], run: Callable[[object], object]
) -> list[int]:
    """Time ``run(setup())`` ``iterations`` times; only ``run`` is inside the clock."""
    samples = []
    for _ in range(iterations):
        arg = setup()
        start = time.perf_counter_ns()
        run(arg)
        samples.append(time.perf_counter_ns() - start)
    return samples


def apply_round(board: Board, now: float, rng: Random) -> int:
    """Run one ``match`` and apply it as the runtime would; return the offers made."""
    result = match(board, now, rng)
    for assignment in result:
        board.remove_caller(assignment.call_id)
        for aid in assignment.agent_ids:
            board.record_offer(assignment.queue_id, aid)
            board.set_agent(replace(board.agent(aid), state=AgentState.RESERVED, since=now))
    return len(result)


def main() -> None:
    """Build the board, run the scenarios and write one line per scenario."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=5000)
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--available", type=float, default=0.05, help="share of agents free")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--unfit", type=int, default=40, help="free agents nobody waiting can use (worst case)"
    )
    args = parser.parse_args()
    rng = Random(args.seed)

    build_start = time.perf_counter()
    queues = build_queues(args.queues, rng)
    agents = build_agents(args.agents, args.queues, args.available, rng)
    board = Board(queues, agents)
    for n in range(args.callers):
        board.add_caller(random_caller(n, args.queues, args.agents, rng))
    build_ms = (time.perf_counter() - build_start) * 1e3
    out = sys.stdout
    out.write(
        f"board: {args.agents} agents ({board.available_count} available), "
        f"{board.waiting_count()} callers, {args.queues} queues, built in {build_ms:.0f} ms\n"
    )
    rows: list[tuple[str, list[int], str]] = []
    waiting_ids = [w.caller.call_id for q in board.queues for w in board.waiting(q)]

    def a_waiting_caller() -> object:
        return board.waiting_entry(rng.choice(waiting_ids)).caller

    def choose(caller: object) -> list[str]:
        assert isinstance(caller, Caller)
        return choose_agents(caller.queue_id, caller, board, NOW, rng)

    lengths = [len(choose(a_waiting_caller())) for _ in range(200)]
    note = f"mean {sum(lengths) / len(lengths):.1f} agents ranked"
    rows.append(("choose_agents", timed(args.iterations, a_waiting_caller, choose), note))
    queue_ids = list(board.queues)
    samples = timed(
        args.iterations,
        lambda: rng.choice(queue_ids),
        lambda q: next_caller(str(q), board, NOW),
    )
    rows.append(("next_caller", samples, ""))

    gc.collect()
    bulk = Board(queues, agents)
    for w in (board.waiting_entry(c) for c in waiting_ids):
        bulk.add_caller(w.caller)
    bulk_samples = timed(
        max(20, args.iterations // 50), lambda: None, lambda _: match(bulk, NOW, rng)
    )
    offers = len(match(bulk, NOW, rng))
    rows.append(("match, bulk", bulk_samples, f"{offers} offers from scratch"))

    busy = [replace(a, state=AgentState.ON_CALL) for a in agents]
    freed_board = Board(queues, busy)
    for c in waiting_ids:
        freed_board.add_caller(board.waiting_entry(c).caller)
    made: list[int] = []

    def free_one() -> object:
        agent = rng.choice(busy)
        freed_board.set_agent(replace(agent, state=AgentState.AVAILABLE, since=NOW))
        return agent

    def match_freed(agent: object) -> object:
        made.append(len(match(freed_board, NOW, rng)))
        assert isinstance(agent, AgentInfo)
        freed_board.set_agent(agent)
        return None

    samples = timed(args.iterations, free_one, match_freed)
    rows.append(("match, agent freed", samples, f"{sum(made)} of {len(made)} found a caller"))

    applied = apply_round(board, NOW, rng)
    board.set_queue(QueueConfig("training"))
    elsewhere = (Membership("training"),)
    for n in range(args.unfit):
        board.set_agent(AgentInfo(f"trainee{n}", AgentState.AVAILABLE, NOW, {}, elsewhere))
    joined: list[int] = []
    serial = [args.callers]

    def join() -> object:
        serial[0] += 1
        return board.add_caller(random_caller(serial[0], args.queues, args.agents, rng)).caller

    def match_joined(caller: object) -> object:
        joined.append(len(match(board, NOW, rng)))
        assert isinstance(caller, Caller)
        board.remove_caller(caller.call_id)
        return None

    samples = timed(args.iterations, join, match_joined)
    note = (
        f"after a round of {applied} offers; {board.available_count} agents left free, "
        f"{board.waiting_count()} waiting; {sum(joined)} of {len(joined)} joins matched"
    )
    rows.append(("match, caller joined", samples, note))

    lost: list[Caller] = []
    for q in queue_ids:
        lost += [w.caller for w in board.waiting(q)]
        for caller in [w.caller for w in board.waiting(q)]:
            board.remove_caller(caller.call_id)
        board.set_queue(
            replace(
                board.queue(q),
                region_groups={r: f"team-{r}" for r in REGIONS},
                region_wait_seconds=1e9,
            )
        )
    for caller in lost:
        board.add_caller(caller)
    for n in range(args.unfit):
        trainee = board.agent(f"trainee{n}")
        board.set_agent(replace(trainee, memberships=tuple(Membership(q) for q in queue_ids)))
    walked: list[int] = []

    def match_and_leave(caller: object) -> object:
        walked.append(len(match(board, NOW, rng)))
        assert isinstance(caller, Caller)
        return board.remove_caller(caller.call_id)

    samples = timed(args.iterations // 10, join, match_and_leave)
    rows.append(
        (
            "match, region hold",
            samples,
            f"{args.unfit} free agents in every queue, every caller held for a region "
            f"team none of them is in; {sum(walked)} matched",
        )
    )

    # Defeat the pruning: together the free agents have every skill, none alone does.
    for q in queue_ids:
        board.set_queue(replace(board.queue(q), region_groups={}))
    for caller in lost:
        board.remove_caller(caller.call_id)
        board.add_caller(replace(caller, skills={"en": 3, "fr": 3}))
    for n in range(args.unfit):
        lacking = "fr" if n % 2 else "en"
        trainee = board.agent(f"trainee{n}")
        skills = {s: 5 for s in SKILLS if s != lacking}
        board.set_agent(replace(trainee, skills=skills))
    walked.clear()

    def join_bilingual() -> object:
        serial[0] += 1
        caller = random_caller(serial[0], args.queues, args.agents, rng)
        return board.add_caller(replace(caller, skills={"en": 3, "fr": 3})).caller

    samples = timed(args.iterations // 10, join_bilingual, match_and_leave)
    rows.append(
        (
            "match, full walk",
            samples,
            f"worst case: {args.unfit} free agents in every queue, every caller needs en+fr at 3, "
            f"each agent lacks one; {sum(walked)} matched",
        )
    )

    out.write("| decision | iterations | p50 | p99 | max | notes |\n|---|---|---|---|---|---|\n")
    for name, samples, note in rows:
        p50, p99, worst = percentiles(samples)
        line = f"| {name} | {len(samples)} | {p50:.3f} ms | {p99:.3f} ms | {worst:.2f} ms"
        out.write(f"{line} | {note} |\n")


if __name__ == "__main__":
    main()
