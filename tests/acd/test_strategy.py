"""Strategies, eligibility (skills, overflow, region, stickiness) and ``match``."""

from __future__ import annotations

from collections import Counter
from random import Random

import pytest

from helpline.acd.board import AgentInfo, Board, Caller, Membership, OverflowStage, QueueConfig
from helpline.acd.board import Strategy as St
from helpline.acd.state import AgentState
from helpline.acd.strategy import (
    Assignment,
    choose_agents,
    eligible_agents,
    match,
    next_caller,
)

S = AgentState


def member(
    aid: str,
    *,
    queues: tuple[str, ...] = ("q",),
    order: int = 0,
    penalty: int = 0,
    state: AgentState = S.AVAILABLE,
    **info: object,
) -> AgentInfo:
    memberships = tuple(Membership(q, penalty=penalty, order=order) for q in queues)
    return AgentInfo(aid, state, memberships=memberships, **info)  # type: ignore[arg-type]


def choose(board: Board, caller: Caller, now: float = 100.0, seed: int = 1) -> list[str]:
    return choose_agents(caller.queue_id, caller, board, now, Random(seed))


CALLER = Caller("c1", "q", 90.0)


def test_ring_all_offers_every_eligible_agent() -> None:
    agents = [member("a1"), member("a2"), member("a3", state=S.ON_CALL)]
    board = Board([QueueConfig("q", strategy=St.RING_ALL)], agents)
    assert sorted(choose(board, CALLER)) == ["a1", "a2"]


def test_longest_idle_prefers_the_agent_available_the_longest() -> None:
    agents = [member("a1", since=50.0), member("a2", since=10.0), member("a3", since=30.0)]
    board = Board([QueueConfig("q", strategy=St.LONGEST_IDLE)], agents)
    assert choose(board, CALLER) == ["a2", "a3", "a1"]


def test_round_robin_continues_after_the_agent_offered_last() -> None:
    agents = [member(f"a{n}", order=n) for n in range(1, 5)]
    board = Board([QueueConfig("q", strategy=St.ROUND_ROBIN)], agents)
    assert choose(board, CALLER)[0] == "a1"
    board.record_offer("q", "a3")
    assert choose(board, CALLER) == ["a4", "a1", "a2", "a3"]
    board.record_offer("q", "a4")
    assert choose(board, CALLER)[0] == "a1"


def test_round_robin_memory_advances_within_one_match() -> None:
    agents = [member(f"a{n}", order=n) for n in range(1, 4)]
    board = Board([QueueConfig("q", strategy=St.ROUND_ROBIN)], agents)
    board.record_offer("q", "a1")
    for n in range(3):
        board.add_caller(Caller(f"c{n}", "q", float(n)))
    result = match(board, 10.0, Random(0))
    assert [a.agent_ids for a in result] == [("a2",), ("a3",), ("a1",)]


def test_fewest_calls_and_least_talk_time() -> None:
    agents = [
        member("busy", calls_today=9, talk_seconds_today=100.0),
        member("chatty", calls_today=2, talk_seconds_today=9000.0),
    ]
    board = Board([QueueConfig("q", strategy=St.FEWEST_CALLS)], agents)
    assert choose(board, CALLER)[0] == "chatty"
    board.set_queue(QueueConfig("q", strategy=St.LEAST_TALK_TIME))
    assert choose(board, CALLER)[0] == "busy"


def test_linear_goes_top_down_by_member_order() -> None:
    agents = [member("third", order=3), member("first", order=1), member("second", order=2)]
    board = Board([QueueConfig("q", strategy=St.LINEAR)], agents)
    assert choose(board, CALLER) == ["first", "second", "third"]


def test_random_spreads_calls_over_all_agents() -> None:
    board = Board([QueueConfig("q", strategy=St.RANDOM)], [member(f"a{n}") for n in range(4)])
    rng = Random(7)
    firsts = Counter(choose_agents("q", CALLER, board, 100.0, rng)[0] for _ in range(400))
    assert set(firsts) == {"a0", "a1", "a2", "a3"}


def test_weighted_random_follows_the_weights() -> None:
    agents = [member("heavy", weight=3.0), member("light", weight=1.0), member("none", weight=0)]
    board = Board([QueueConfig("q", strategy=St.WEIGHTED_RANDOM)], agents)
    rng = Random(3)
    firsts = Counter(choose_agents("q", CALLER, board, 100.0, rng)[0] for _ in range(2000))
    assert firsts["none"] == 0
    assert 2.4 < firsts["heavy"] / firsts["light"] < 3.8


def test_lower_penalty_members_are_preferred() -> None:
    agents = [member("backup", penalty=1, since=0.0), member("main", since=50.0)]
    board = Board([QueueConfig("q")], agents)
    assert choose(board, CALLER) == ["main", "backup"]


def test_agents_without_the_required_skill_level_are_not_eligible() -> None:
    agents = [
        member("junior", skills={"tech": 2}),
        member("senior", skills={"tech": 5}),
        member("sales", skills={"sales": 5}),
    ]
    board = Board([QueueConfig("q", skills={"tech": 1})], agents)
    assert sorted(choose(board, CALLER)) == ["junior", "senior"]
    demanding = Caller("c2", "q", 90.0, skills={"tech": 4})
    assert choose(board, demanding) == ["senior"]


def test_overflow_lowers_skill_minimums_then_adds_other_queues() -> None:
    queue = QueueConfig(
        "q",
        overflow=(
            OverflowStage(30.0, lower_levels_by=2),
            OverflowStage(60.0, add_queues=("other",)),
        ),
    )
    agents = [member("mid", skills={"tech": 3}), member("helper", queues=("other",))]
    board = Board([queue, QueueConfig("other")], agents)
    caller = Caller("c", "q", 0.0, skills={"tech": 5})
    assert choose(board, caller, now=29.0) == []
    assert choose(board, caller, now=30.0) == ["mid"]
    assert choose(board, caller, now=60.0) == ["mid"]
    board.set_agent(member("mid", state=S.ON_CALL, skills={"tech": 3}))
    assert choose(board, caller, now=59.0) == []
    free_caller = Caller("c2", "q", 0.0)
    assert choose(board, free_caller, now=60.0) == ["helper"]


def test_overflow_queue_members_come_after_the_queues_own() -> None:
    queue = QueueConfig("q", overflow=(OverflowStage(10.0, add_queues=("other",)),))
    agents = [member("guest", queues=("other",), since=0.0), member("own", since=90.0)]
    board = Board([queue, QueueConfig("other")], agents)
    assert choose(board, Caller("c", "q", 0.0)) == ["own", "guest"]


def test_returning_caller_reaches_the_last_agent_within_the_window() -> None:
    agents = [member("idle-longest", since=0.0), member("last", since=99.0)]
    board = Board([QueueConfig("q", sticky_seconds=3600.0)], agents)
    returning = Caller("c", "q", 95.0, last_agent_id="last", last_agent_at=0.0)
    assert choose(board, returning, now=100.0)[0] == "last"
    assert choose(board, returning, now=3601.0)[0] == "idle-longest"
    board.set_agent(member("last", state=S.ON_CALL))
    assert choose(board, returning, now=100.0) == ["idle-longest"]


def test_ring_all_rings_only_the_last_agent_when_sticky() -> None:
    board = Board([QueueConfig("q", strategy=St.RING_ALL, sticky_seconds=60.0)])
    board.set_agent(member("a1"))
    board.set_agent(member("a2"))
    caller = Caller("c", "q", 95.0, last_agent_id="a2", last_agent_at=80.0)
    assert choose(board, caller) == ["a2"]
    board.add_caller(caller)
    assert match(board, 100.0, Random(0)) == [Assignment("c", "q", ("a2",))]


def test_region_callers_go_to_their_team_first_then_to_anyone() -> None:
    queue = QueueConfig("q", region_groups={"north": "team-n"}, region_wait_seconds=20.0)
    north = frozenset({"team-n"})
    agents = [
        member("south", since=0.0, groups=frozenset({"team-s"})),
        member("north-1", state=S.ON_CALL, groups=north),
    ]
    board = Board([queue], agents)
    caller = Caller("c", "q", 100.0, region="north")
    assert choose(board, caller, now=110.0) == []
    assert choose(board, caller, now=120.0) == ["south"]
    board.set_agent(member("north-1", since=90.0, groups=north))
    assert choose(board, caller, now=110.0) == ["north-1"]
    assert choose(board, caller, now=130.0) == ["north-1", "south"]
    assert sorted(eligible_agents("q", Caller("x", "q", 100.0), board, 101.0)) == [
        "north-1",
        "south",
    ]


def test_agents_who_missed_the_caller_are_skipped() -> None:
    board = Board([QueueConfig("q")], [member("a1", since=0.0), member("a2", since=50.0)])
    caller = Caller("c", "q", 90.0, skip_agents=frozenset({"a1"}))
    assert choose(board, caller) == ["a2"]


def test_next_caller_is_the_vip_then_the_longest_waiting() -> None:
    board = Board([QueueConfig("q", customer_type_priority={"vip": 5})])
    assert next_caller("q", board, 0.0) is None
    board.add_caller(Caller("first", "q", 0.0))
    board.add_caller(Caller("second", "q", 1.0))
    assert next_caller("q", board, 2.0) == Caller("first", "q", 0.0)
    board.add_caller(Caller("vip", "q", 2.0, customer_type="vip"))
    caller = next_caller("q", board, 3.0)
    assert caller is not None and caller.call_id == "vip"


def test_match_serves_callers_in_priority_order_and_uses_each_agent_once() -> None:
    board = Board(
        [QueueConfig("q", customer_type_priority={"vip": 10})],
        [member("a1", since=0.0), member("a2", since=5.0)],
    )
    for n in range(4):
        board.add_caller(Caller(f"c{n}", "q", float(n)))
    board.add_caller(Caller("vip", "q", 9.0, customer_type="vip"))
    result = match(board, 10.0, Random(0))
    assert result == [Assignment("vip", "q", ("a1",)), Assignment("c0", "q", ("a2",))]


def test_match_passes_over_a_caller_nobody_can_take() -> None:
    board = Board([QueueConfig("q")], [member("a1", skills={"sales": 3})])
    board.add_caller(Caller("tech", "q", 0.0, skills={"tech": 1}))
    board.add_caller(Caller("tech-2", "q", 0.5, skills={"tech": 1}))
    board.add_caller(Caller("sales", "q", 1.0, skills={"sales": 2}))
    assert match(board, 5.0, Random(0)) == [Assignment("sales", "q", ("a1",))]


def test_match_across_queues_never_offers_an_agent_twice() -> None:
    queues = [QueueConfig("q"), QueueConfig("r", strategy=St.RING_ALL)]
    agents = [member("both", queues=("q", "r")), member("r-only", queues=("r",))]
    board = Board(queues, agents)
    board.add_caller(Caller("in-r", "r", 0.0))
    board.add_caller(Caller("in-q", "q", 1.0))
    result = match(board, 5.0, Random(0))
    assert result == [Assignment("in-r", "r", ("both", "r-only"))]


def test_match_with_no_available_agent_or_caller_is_empty() -> None:
    board = Board([QueueConfig("q")], [member("a1", state=S.ON_CALL)])
    board.add_caller(Caller("c", "q", 0.0))
    assert match(board, 1.0, Random(0)) == []
    board.set_agent(member("a1"))
    board.remove_caller("c")
    assert match(board, 1.0, Random(0)) == []


@pytest.mark.parametrize("strategy", list(St))
def test_every_strategy_only_offers_eligible_agents(strategy: St) -> None:
    agents = [
        member("ok-1", skills={"tech": 3}, order=2, since=3.0),
        member("ok-2", skills={"tech": 4}, order=1, since=1.0, calls_today=4),
        member("weak", skills={"tech": 1}),
        member("paused", skills={"tech": 5}, state=S.NOT_READY),
        member("elsewhere", queues=("other",), skills={"tech": 5}),
    ]
    board = Board([QueueConfig("q", strategy=strategy), QueueConfig("other")], agents)
    caller = Caller("c", "q", 90.0, skills={"tech": 2})
    assert sorted(choose(board, caller)) == ["ok-1", "ok-2"]
    board.add_caller(caller)
    (assignment,) = match(board, 100.0, Random(0))
    assert set(assignment.agent_ids) <= {"ok-1", "ok-2"}


def test_match_holds_region_callers_for_their_team_until_the_wait_ends() -> None:
    queue = QueueConfig("q", region_groups={"north": "team-n"}, region_wait_seconds=30.0)
    board = Board([queue], [member("south", groups=frozenset({"team-s"}))])
    board.add_caller(Caller("c", "q", 0.0, region="north"))
    assert match(board, 29.0, Random(0)) == []
    assert match(board, 30.0, Random(0)) == [Assignment("c", "q", ("south",))]


def test_match_reaches_overflow_agents_once_the_stage_starts() -> None:
    queue = QueueConfig("q", overflow=(OverflowStage(45.0, add_queues=("backup",)),))
    board = Board([queue, QueueConfig("backup")], [member("helper", queues=("backup",))])
    board.add_caller(Caller("c", "q", 0.0, skills={"tech": 1}))
    board.set_agent(member("helper", queues=("backup",), skills={"tech": 2}))
    assert match(board, 44.0, Random(0)) == []
    assert match(board, 45.0, Random(0)) == [Assignment("c", "q", ("helper",))]


def test_present_stages_lists_the_stages_callers_are_in() -> None:
    queue = QueueConfig("q", overflow=(OverflowStage(10.0), OverflowStage(20.0)))
    board = Board([queue])
    board.add_caller(Caller("new", "q", 100.0))
    board.add_caller(Caller("old", "q", 75.0))
    assert [s.index for s in board.present_stages("q", 105.0)] == [0, 2]
    assert [s.index for s in board.present_stages("q", 125.0)] == [2]
