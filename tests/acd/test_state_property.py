"""Property: whatever happens (hang-ups on either side, no answer, rejected offers,
phones unregistering, logouts, pauses, process restarts), no agent is left reserved, on
a call or in wrap-up without a live call.

The test plays the runner: it keeps its own list of live calls, feeds the agents'
machines the events a runner would, puts released callers back in the queue, and on a
restart drops some calls and calls :func:`recover` for every agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from helpline.acd.state import (
    AgentRecord,
    AgentState,
    Answer,
    CallEnded,
    Event,
    IllegalTransition,
    Login,
    Logout,
    Offer,
    OfferFailed,
    OfferFailure,
    Pause,
    PhoneUnregistered,
    QueuePolicy,
    Resume,
    StaleCallEvent,
    WrapUpDone,
    apply,
    handle_timer,
    recover,
)

AGENTS = ("a1", "a2", "a3", "a4")
POLICIES = (
    QueuePolicy(),
    QueuePolicy(max_missed_offers=2, wrap_up_seconds=5.0),
    QueuePolicy(max_missed_offers=1, wrap_up_seconds=30.0),
)
MAX_WRAP_UP = max(p.wrap_up_seconds for p in POLICIES)
BUSY = (AgentState.RESERVED, AgentState.ON_CALL)

agent_ids = st.sampled_from(AGENTS)


@dataclass
class LiveCall:
    """A call as the test's telephony layer knows it: live, and rung at or talking to
    ``agent_id`` (None while waiting in the queue)."""

    agent_id: str | None = None


class AgentsAndCalls(RuleBasedStateMachine):
    """The runner around the agent machines, with its own record of live calls."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.agents = {aid: AgentRecord(aid) for aid in AGENTS}
        self.calls: dict[str, LiveCall] = {}
        self.counter = 0

    def deliver(self, agent_id: str, event: Event) -> bool:
        """Apply ``event`` the way the runner does; False if the machine refused it."""
        before = self.agents[agent_id]
        try:
            t = apply(before, event, self.now)
        except IllegalTransition:
            assert self.agents[agent_id] is before
            return False
        self.agents[agent_id] = t.agent
        self.release(t.released_call_id)
        return True

    def release(self, call_id: str | None) -> None:
        if call_id is not None and call_id in self.calls:
            self.calls[call_id].agent_id = None

    def call_of(self, agent_id: str) -> str | None:
        return self.agents[agent_id].call_id

    # Callers and the clock

    @rule()
    def caller_joins(self) -> None:
        self.counter += 1
        self.calls[f"c{self.counter}"] = LiveCall()

    @rule(seconds=st.sampled_from((0.5, 3.0, 10.0, 40.0)))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        for aid, agent in self.agents.items():
            t = handle_timer(agent, self.now)
            if t is not None:
                self.agents[aid] = t.agent

    # Agents

    @rule(agent_id=agent_ids, paused=st.booleans())
    def login(self, agent_id: str, paused: bool) -> None:
        self.deliver(agent_id, Login("training" if paused else None))

    @rule(agent_id=agent_ids)
    def logout(self, agent_id: str) -> None:
        on_call = self.agents[agent_id].state is AgentState.ON_CALL
        accepted = self.deliver(agent_id, Logout())
        assert not (on_call and accepted), "logged out in the middle of a call"

    @rule(agent_id=agent_ids, reason=st.sampled_from(("lunch", "meeting")))
    def pause(self, agent_id: str, reason: str) -> None:
        self.deliver(agent_id, Pause(reason))

    @rule(agent_id=agent_ids)
    def resume(self, agent_id: str) -> None:
        self.deliver(agent_id, Resume())

    @rule(agent_id=agent_ids)
    def end_wrap_up_early(self, agent_id: str) -> None:
        self.deliver(agent_id, WrapUpDone())

    @rule(agent_id=agent_ids)
    def phone_unregisters(self, agent_id: str) -> None:
        assert self.deliver(agent_id, PhoneUnregistered())

    # Offers and calls

    @precondition(lambda self: any(c.agent_id is None for c in self.calls.values()))
    @rule(data=st.data(), policy=st.sampled_from(POLICIES))
    def offer(self, data: st.DataObject, policy: QueuePolicy) -> None:
        waiting = sorted(cid for cid, c in self.calls.items() if c.agent_id is None)
        call_id = data.draw(st.sampled_from(waiting))
        agent_id = data.draw(agent_ids)
        ready = self.agents[agent_id].state is AgentState.AVAILABLE
        assert self.deliver(agent_id, Offer(call_id, policy)) is ready
        if ready:
            self.calls[call_id].agent_id = agent_id

    @rule(agent_id=agent_ids)
    def agent_answers(self, agent_id: str) -> None:
        call_id = self.call_of(agent_id)
        if call_id is not None:
            self.deliver(agent_id, Answer(call_id))

    @rule(agent_id=agent_ids, cause=st.sampled_from(OfferFailure))
    def offer_fails(self, agent_id: str, cause: OfferFailure) -> None:
        call_id = self.call_of(agent_id)
        if call_id is not None:
            self.deliver(agent_id, OfferFailed(call_id, cause))

    @precondition(lambda self: bool(self.calls))
    @rule(data=st.data())
    def caller_hangs_up(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.calls)))
        call = self.calls.pop(call_id)
        if call.agent_id is not None:
            assert self.deliver(call.agent_id, CallEnded(call_id))

    @rule(agent_id=agent_ids)
    def agent_hangs_up(self, agent_id: str) -> None:
        agent = self.agents[agent_id]
        if agent.state is AgentState.ON_CALL and agent.call_id is not None:
            del self.calls[agent.call_id]
            assert self.deliver(agent_id, CallEnded(agent.call_id))

    @rule(agent_id=agent_ids, call_no=st.integers(0, 5), kind=st.sampled_from("AOC"))
    def late_event_for_another_call(self, agent_id: str, call_no: int, kind: str) -> None:
        call_id = f"c{call_no}"
        if call_id == self.call_of(agent_id):
            return
        events: dict[str, Event] = {
            "A": Answer(call_id),
            "O": OfferFailed(call_id),
            "C": CallEnded(call_id),
        }
        event = events[kind]
        before = self.agents[agent_id]
        try:
            apply(before, event, self.now)
        except StaleCallEvent:
            return
        raise AssertionError("an event for a call the agent does not hold was accepted")

    @rule(data=st.data())
    def process_restarts(self, data: st.DataObject) -> None:
        lost = data.draw(st.sets(st.sampled_from(sorted(self.calls) or ["none"])))
        for call_id in lost:
            self.calls.pop(call_id, None)
        live = set(self.calls)
        for aid, agent in self.agents.items():
            t = recover(agent, live, now=self.now)
            self.agents[aid] = t.agent
            self.release(t.released_call_id)
        for call in self.calls.values():
            holder = call.agent_id
            if holder is not None and self.agents[holder].call_id is None:
                call.agent_id = None

    # The property

    @invariant()
    def no_agent_is_stuck(self) -> None:
        holders: dict[str, str] = {}
        for aid, agent in self.agents.items():
            if agent.state in BUSY:
                assert agent.call_id in self.calls, f"{aid} holds a dead call"
                assert self.calls[agent.call_id].agent_id == aid
                assert agent.call_id not in holders, "two agents hold one call"
                holders[agent.call_id] = aid
            else:
                assert agent.call_id is None
            if agent.state is AgentState.WRAP_UP:
                assert agent.wrap_up_until is not None
                assert self.now < agent.wrap_up_until <= self.now + MAX_WRAP_UP
            if agent.state is AgentState.NOT_READY:
                assert agent.reason
        for cid, call in self.calls.items():
            if call.agent_id is not None:
                assert holders.get(cid) == call.agent_id


AgentsAndCalls.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAgentsNeverStuck = AgentsAndCalls.TestCase
