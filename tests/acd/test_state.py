"""The agent state machine: table, guards (idle, auto-pause, no wrap-up), timers, recovery."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import helpline.acd
from helpline.acd.state import (
    MISSED_OFFERS,
    PHONE_UNREGISTERED,
    TRANSITIONS,
    AgentRecord,
    AgentState,
    Answer,
    CallEnded,
    Event,
    EventKind,
    IllegalTransition,
    Login,
    Logout,
    Offer,
    OfferFailed,
    OfferFailure,
    Pause,
    PhoneUnregistered,
    QueuePolicy,
    Recover,
    Resume,
    StaleCallEvent,
    WrapUpDone,
    apply,
    get_timer,
    handle_timer,
    recover,
)

S = AgentState
POLICY = QueuePolicy(max_missed_offers=3, wrap_up_seconds=30.0)
PURE_MODULES = ("state.py", "board.py", "strategy.py")
FORBIDDEN = {"socket", "asyncio", "selectors", "threading", "time", "ssl", "subprocess", "os"}
FORBIDDEN |= {"sqlalchemy", "fastapi", "httpx", "helpline.db", "helpline.runtime"}


def run(agent: AgentRecord, *events: Event, now: float = 0.0) -> AgentRecord:
    for event in events:
        agent = apply(agent, event, now).agent
    return agent


def available(now: float = 0.0) -> AgentRecord:
    return run(AgentRecord("a1"), Login(), now=now)


def on_call(policy: QueuePolicy = POLICY) -> AgentRecord:
    return run(available(), Offer("c1", policy), Answer("c1"))


def example_event(kind: EventKind) -> Event:
    events: dict[EventKind, Event] = {
        EventKind.LOGIN: Login(),
        EventKind.LOGOUT: Logout(),
        EventKind.PAUSE: Pause("lunch"),
        EventKind.RESUME: Resume(),
        EventKind.OFFER: Offer("c9"),
        EventKind.ANSWER: Answer("c9"),
        EventKind.OFFER_FAILED: OfferFailed("c9"),
        EventKind.CALL_ENDED: CallEnded("c9"),
        EventKind.WRAP_UP_DONE: WrapUpDone(),
        EventKind.PHONE_UNREGISTERED: PhoneUnregistered(),
        EventKind.RECOVER: Recover(),
    }
    return events[kind]


@pytest.mark.parametrize(
    ("state", "kind"),
    [(s, k) for s in AgentState for k in EventKind if (s, k) not in TRANSITIONS],
)
def test_pairs_missing_from_the_table_raise_with_both_names(
    state: AgentState, kind: EventKind
) -> None:
    call_id = "c9" if state in (S.RESERVED, S.ON_CALL) else None
    agent = AgentRecord("a1", state=state, call_id=call_id, policy=POLICY)
    with pytest.raises(IllegalTransition) as caught:
        apply(agent, example_event(kind), 1.0)
    assert caught.value.state is state and caught.value.event is kind
    assert state.value in str(caught.value) and kind.value in str(caught.value)


def test_every_event_class_has_a_kind_used_by_the_table() -> None:
    assert {kind for _, kind in TRANSITIONS} == set(EventKind)


def test_login_makes_the_agent_available_and_paused_login_not_ready() -> None:
    assert available().state is S.AVAILABLE
    paused = run(AgentRecord("a1"), Login(reason="training"), now=5.0)
    assert (paused.state, paused.reason, paused.since) == (S.NOT_READY, "training", 5.0)


def test_logging_in_twice_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        apply(available(), Login(), 1.0)


def test_answered_call_goes_to_wrap_up_due_at_end_plus_wrap_up_time() -> None:
    t = apply(on_call(), CallEnded("c1", ended_at=100.0), 103.0)
    assert t.agent.state is S.WRAP_UP and t.released_call_id == "c1"
    assert t.agent.call_id is None
    assert get_timer(t.agent) == 130.0
    assert handle_timer(t.agent, 129.9) is None
    done = handle_timer(t.agent, 130.0)
    assert done is not None and done.agent.state is S.AVAILABLE and get_timer(done.agent) is None


def test_queue_without_wrap_up_returns_the_agent_straight_to_available() -> None:
    agent = run(on_call(QueuePolicy()), CallEnded("c1"), now=10.0)
    assert agent.state is S.AVAILABLE and agent.since == 10.0


def test_agent_may_end_wrap_up_early() -> None:
    agent = run(on_call(), CallEnded("c1"), WrapUpDone(), now=1.0)
    assert agent.state is S.AVAILABLE


def test_auto_pause_after_the_queues_number_of_consecutive_missed_offers() -> None:
    agent = available()
    for n, cause in enumerate(OfferFailure, start=1):
        t = apply(run(agent, Offer(f"c{n}", POLICY)), OfferFailed(f"c{n}", cause), float(n))
        agent = t.agent
        assert agent.missed_offers == n
    assert t.auto_paused and agent.state is S.NOT_READY and agent.reason == MISSED_OFFERS
    assert t.released_call_id == "c3"
    resumed = run(agent, Resume())
    assert resumed.state is S.AVAILABLE and resumed.missed_offers == 0


def test_an_answered_offer_resets_the_miss_count() -> None:
    agent = run(available(), Offer("c1", POLICY), OfferFailed("c1"), Offer("c2", POLICY))
    assert agent.missed_offers == 1
    assert run(agent, Answer("c2")).missed_offers == 0


def test_queue_without_limit_never_auto_pauses() -> None:
    agent = available()
    for n in range(20):
        agent = run(agent, Offer(f"c{n}"), OfferFailed(f"c{n}"))
    assert agent.state is S.AVAILABLE and agent.missed_offers == 20


def test_caller_hanging_up_while_ringing_frees_the_agent_without_a_miss() -> None:
    t = apply(run(available(), Offer("c1", POLICY)), CallEnded("c1"), 2.0)
    assert t.agent.state is S.AVAILABLE and t.agent.missed_offers == 0
    assert t.released_call_id == "c1"


def test_pause_during_a_call_takes_effect_after_wrap_up() -> None:
    agent = run(on_call(), Pause("break"))
    assert agent.state is S.ON_CALL and agent.pending_reason == "break"
    agent = run(agent, CallEnded("c1"))
    assert agent.state is S.WRAP_UP
    agent = run(agent, WrapUpDone(), now=40.0)
    assert (agent.state, agent.reason, agent.pending_reason) == (S.NOT_READY, "break", None)


def test_resume_cancels_a_pending_pause_and_otherwise_is_illegal() -> None:
    agent = run(on_call(), Pause("break"), Resume(), CallEnded("c1"), WrapUpDone())
    assert agent.state is S.AVAILABLE
    with pytest.raises(IllegalTransition, match="no pause is pending"):
        apply(on_call(), Resume(), 1.0)
    with pytest.raises(IllegalTransition):
        apply(available(), Resume(), 1.0)


def test_pause_while_ringing_applies_when_the_offer_fails() -> None:
    agent = run(available(), Offer("c1", POLICY), Pause("lunch"), OfferFailed("c1"))
    assert (agent.state, agent.reason) == (S.NOT_READY, "lunch")


def test_pause_in_wrap_up_is_immediate() -> None:
    agent = run(on_call(), CallEnded("c1"), Pause("meeting"))
    assert (agent.state, agent.reason, get_timer(agent)) == (S.NOT_READY, "meeting", None)


def test_pause_when_not_ready_changes_only_the_reason() -> None:
    agent = run(available(), Pause("lunch"), now=3.0)
    t = apply(agent, Pause("meeting"), 9.0)
    assert t.agent.reason == "meeting" and t.agent.since == 3.0 and not t.changed


def test_events_for_another_call_are_stale() -> None:
    agent = run(available(), Offer("c1"))
    for event in (Answer("c2"), OfferFailed("c2"), CallEnded("c2")):
        with pytest.raises(StaleCallEvent, match="c2"):
            apply(agent, event, 1.0)
    with pytest.raises(StaleCallEvent):
        apply(available(), CallEnded("c1"), 1.0)


def test_phone_unregistering_pauses_an_idle_agent() -> None:
    agent = run(available(), PhoneUnregistered())
    assert (agent.state, agent.reason) == (S.NOT_READY, PHONE_UNREGISTERED)


def test_phone_unregistering_while_ringing_releases_the_offer() -> None:
    t = apply(run(available(), Offer("c1")), PhoneUnregistered(), 1.0)
    assert t.agent.state is S.NOT_READY and t.released_call_id == "c1"


def test_phone_unregistering_during_a_call_pauses_after_it() -> None:
    agent = run(on_call(QueuePolicy()), PhoneUnregistered())
    assert agent.state is S.ON_CALL
    agent = run(agent, CallEnded("c1"))
    assert (agent.state, agent.reason) == (S.NOT_READY, PHONE_UNREGISTERED)


def test_phone_unregistering_keeps_a_break_reason() -> None:
    agent = run(available(), Pause("lunch"), PhoneUnregistered())
    assert agent.reason == "lunch"


def test_logout_is_refused_during_a_call_but_releases_a_ringing_offer() -> None:
    with pytest.raises(IllegalTransition):
        apply(on_call(), Logout(), 1.0)
    t = apply(run(available(), Offer("c1"), Pause("x")), Logout(), 2.0)
    assert t.agent.state is S.OFFLINE and t.released_call_id == "c1"
    assert t.agent.pending_reason is None and t.agent.policy is None


def test_recover_frees_agents_whose_call_is_gone() -> None:
    ringing = run(available(), Offer("c1"))
    t = recover(ringing, set(), now=50.0)
    assert t.agent.state is S.AVAILABLE and t.released_call_id == "c1"
    assert recover(on_call(), {"c2"}, now=50.0).agent.state is S.AVAILABLE


def test_recover_pauses_an_agent_who_asked_for_a_pause() -> None:
    agent = recover(run(on_call(), Pause("lunch")), (), now=5.0).agent
    assert (agent.state, agent.reason) == (S.NOT_READY, "lunch")


def test_recover_keeps_agents_whose_call_is_live() -> None:
    agent = on_call()
    t = recover(agent, {"c1"}, now=5.0)
    assert t.agent is agent and t.event is None and not t.changed


def test_recover_ends_overdue_wrap_up_and_keeps_running_wrap_up() -> None:
    agent = run(on_call(), CallEnded("c1", ended_at=0.0))
    assert recover(agent, (), now=10.0).agent.state is S.WRAP_UP
    assert recover(agent, (), now=30.0).agent.state is S.AVAILABLE


def test_recover_leaves_idle_and_offline_agents_alone() -> None:
    for agent in (AgentRecord("a1"), available(), run(available(), Pause("x"))):
        assert recover(agent, (), now=1.0).agent is agent


def test_policy_rejects_negative_values() -> None:
    with pytest.raises(ValueError):
        QueuePolicy(max_missed_offers=-1)
    with pytest.raises(ValueError):
        QueuePolicy(wrap_up_seconds=-1.0)


def test_acd_core_modules_import_no_io() -> None:
    package = Path(helpline.acd.__file__).parent
    offenders: list[str] = []
    for name in PURE_MODULES:
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in FORBIDDEN or ".".join(n.split(".")[:2]) in FORBIDDEN:
                    offenders.append(f"{name}: {n}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", name
    assert offenders == []
