"""The board: caller order (priority, VIP, aging), indexes, admission, timeouts, stages."""

from __future__ import annotations

import pytest

from helpline.acd.board import (
    Admission,
    AgentInfo,
    Board,
    Caller,
    DepartureReason,
    EmptyRule,
    Fallback,
    FallbackKind,
    Membership,
    OverflowStage,
    QueueConfig,
    region_for_number,
    requirements,
)
from helpline.acd.state import AgentState

S = AgentState


def agent(aid: str, state: AgentState = S.AVAILABLE, *queues: str) -> AgentInfo:
    return AgentInfo(aid, state, memberships=tuple(Membership(q) for q in queues or ("q",)))


def order(board: Board, queue_id: str = "q") -> list[str]:
    return [w.caller.call_id for w in board.waiting(queue_id)]


def test_callers_wait_by_priority_then_arrival() -> None:
    board = Board([QueueConfig("q")])
    board.add_caller(Caller("late", "q", 5.0))
    board.add_caller(Caller("early", "q", 1.0))
    board.add_caller(Caller("urgent", "q", 9.0, priority=2))
    assert order(board) == ["urgent", "early", "late"]
    assert [board.position(c) for c in order(board)] == [1, 2, 3]


def test_vip_customer_type_queues_ahead() -> None:
    board = Board([QueueConfig("q", customer_type_priority={"vip": 10})])
    board.add_caller(Caller("regular", "q", 0.0))
    board.add_caller(Caller("vip", "q", 60.0, customer_type="vip"))
    assert order(board) == ["vip", "regular"]


def test_aging_lets_a_long_waiting_caller_overtake_a_higher_priority() -> None:
    board = Board([QueueConfig("q", aging_per_second=0.1)])
    board.add_caller(Caller("old", "q", 0.0, priority=0))
    board.add_caller(Caller("new", "q", 30.0, priority=5))
    # At 30 s: old = 0 + 3 = 3, new = 5; the order is the same at any time.
    assert order(board) == ["new", "old"]
    board.add_caller(Caller("older", "q", -100.0, priority=0))
    assert order(board)[0] == "older"
    entry = board.waiting_entry("older")
    assert entry.effective_priority(30.0) == pytest.approx(13.0)


def test_waiting_order_merges_queues_by_effective_priority_at_now() -> None:
    board = Board([QueueConfig("a"), QueueConfig("b", aging_per_second=1.0)])
    board.add_caller(Caller("a-prio", "a", 0.0, priority=5))
    board.add_caller(Caller("b-aged", "b", 0.0))
    board.add_caller(Caller("b-new", "b", 9.0))
    at_2 = [w.caller.call_id for w in board.waiting_order(2.0)]
    at_10 = [w.caller.call_id for w in board.waiting_order(10.0)]
    assert at_2 == ["a-prio", "b-aged", "b-new"]
    assert at_10 == ["b-aged", "a-prio", "b-new"]


def test_removing_callers_keeps_the_order() -> None:
    board = Board([QueueConfig("q")])
    for n in range(5):
        board.add_caller(Caller(f"c{n}", "q", float(n)))
    assert board.remove_caller("c2").call_id == "c2"
    assert order(board) == ["c0", "c1", "c3", "c4"]
    assert board.waiting_count() == 4 and not board.is_waiting("c2")
    with pytest.raises(ValueError):
        board.add_caller(Caller("c1", "q", 0.0))
    with pytest.raises(KeyError):
        board.add_caller(Caller("x", "nowhere", 0.0))


def test_reconfiguring_a_queue_reranks_its_callers() -> None:
    board = Board([QueueConfig("q")])
    board.add_caller(Caller("regular", "q", 0.0))
    board.add_caller(Caller("vip", "q", 1.0, customer_type="vip"))
    assert order(board) == ["regular", "vip"]
    board.set_queue(QueueConfig("q", customer_type_priority={"vip": 1}))
    assert order(board) == ["vip", "regular"]


def test_available_index_follows_agent_updates() -> None:
    board = Board([QueueConfig("q"), QueueConfig("r")], [agent("a1", S.AVAILABLE, "q", "r")])
    assert set(board.available_members("r")) == {"a1"} and board.available_count == 1
    board.set_agent(agent("a1", S.ON_CALL, "q", "r"))
    assert not board.available_members("q") and set(board.members("q")) == {"a1"}
    assert board.available_count == 0
    board.set_agent(agent("a1", S.AVAILABLE, "r"))
    assert not board.members("q") and set(board.available_members("r")) == {"a1"}
    board.remove_agent("a1")
    assert not board.members("r") and board.available_count == 0


def test_full_queue_refuses_new_callers() -> None:
    board = Board([QueueConfig("q", max_length=2)], [agent("a1")])
    board.add_caller(Caller("c1", "q", 0.0))
    assert board.admission("q") is Admission.ADMITTED
    board.add_caller(Caller("c2", "q", 0.0))
    assert board.admission("q") is Admission.FULL


@pytest.mark.parametrize(
    ("rule", "states", "admitted"),
    [
        (EmptyRule.ALWAYS, (), True),
        (EmptyRule.LOGGED_IN, (S.OFFLINE,), False),
        (EmptyRule.LOGGED_IN, (S.NOT_READY,), True),
        (EmptyRule.READY, (S.NOT_READY, S.OFFLINE), False),
        (EmptyRule.READY, (S.NOT_READY, S.WRAP_UP), True),
    ],
)
def test_join_empty_rules(rule: EmptyRule, states: tuple[AgentState, ...], admitted: bool) -> None:
    agents = [agent(f"a{n}", state) for n, state in enumerate(states)]
    board = Board([QueueConfig("q", join_empty=rule)], agents)
    assert (board.admission("q") is Admission.ADMITTED) is admitted


def test_callers_leave_after_max_wait_with_the_queues_fallback() -> None:
    fallback = Fallback(FallbackKind.VOICEMAIL, "sales-box")
    board = Board([QueueConfig("q", max_wait_seconds=60.0, fallback=fallback)], [agent("a")])
    board.add_caller(Caller("c1", "q", 0.0))
    board.add_caller(Caller("c2", "q", 30.0))
    assert board.departures(59.0) == []
    (gone,) = board.departures(60.0)
    assert (gone.call_id, gone.reason, gone.fallback) == ("c1", DepartureReason.MAX_WAIT, fallback)


def test_callers_leave_a_queue_whose_last_agent_paused() -> None:
    board = Board([QueueConfig("q", leave_empty=EmptyRule.READY)], [agent("a1")])
    board.add_caller(Caller("c1", "q", 0.0))
    assert board.departures(1.0) == []
    board.set_agent(agent("a1", S.NOT_READY))
    assert [d.reason for d in board.departures(1.0)] == [DepartureReason.EMPTY]


def test_next_deadline_is_the_next_stage_region_or_max_wait_edge() -> None:
    queue = QueueConfig(
        "q",
        overflow=(OverflowStage(20.0, lower_levels_by=1), OverflowStage(50.0)),
        region_groups={"north": "team-n"},
        region_wait_seconds=10.0,
        max_wait_seconds=90.0,
    )
    board = Board([queue])
    assert board.next_deadline(0.0) is None
    board.add_caller(Caller("c1", "q", 100.0))
    board.add_caller(Caller("c2", "q", 105.0))
    assert board.next_deadline(100.0) == 110.0
    assert board.next_deadline(110.0) == 115.0
    assert board.next_deadline(125.0) == 150.0
    assert board.next_deadline(200.0) is None


def test_overflow_stages_accumulate() -> None:
    queue = QueueConfig(
        "q",
        overflow=(
            OverflowStage(10.0, lower_levels_by=2, add_queues=("r",)),
            OverflowStage(20.0, lower_levels_by=1, drop_skills=frozenset({"fr"})),
            OverflowStage(30.0, add_queues=("r", "s")),
        ),
    )
    board = Board([queue])
    assert board.stage("q", 9.9).queue_ids == ("q",)
    second = board.stage("q", 25.0)
    assert (second.index, second.lower_levels_by, second.queue_ids) == (2, 2, ("q", "r"))
    assert second.dropped_skills == {"fr"}
    assert board.stage("q", 1e9).queue_ids == ("q", "r", "s")


def test_invalid_records_are_refused() -> None:
    with pytest.raises(ValueError):
        AgentInfo("a", skills={"sales": 6})
    with pytest.raises(ValueError):
        AgentInfo("a", memberships=(Membership("q"), Membership("q", penalty=1)))
    with pytest.raises(ValueError):
        QueueConfig("q", overflow=(OverflowStage(20.0), OverflowStage(10.0)))
    with pytest.raises(ValueError):
        Caller("c", "q", 0.0, skills={"x": -1})


def test_queue_with_waiting_callers_cannot_be_removed() -> None:
    board = Board([QueueConfig("q")])
    board.add_caller(Caller("c", "q", 0.0))
    with pytest.raises(ValueError):
        board.remove_queue("q")
    board.remove_caller("c")
    board.remove_queue("q")
    assert "q" not in board.queues


def test_requirements_merge_queue_and_caller_minimums() -> None:
    queue = QueueConfig("q", skills={"sales": 2, "en": 1})
    caller = Caller("c", "q", 0.0, skills={"sales": 1, "tech": 3, "fr": 0})
    assert requirements(queue, caller) == (("en", 1), ("sales", 2), ("tech", 3))


def test_region_is_found_by_the_longest_number_prefix() -> None:
    prefixes = {"+8210": "mobile", "+822": "seoul", "+8251": "busan"}
    assert region_for_number("+82212345678", prefixes) == "seoul"
    assert region_for_number("+825112345", prefixes) == "busan"
    assert region_for_number("+1555", prefixes) is None
