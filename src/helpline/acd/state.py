"""The agent state machine of the ACD: states, events and a transition table.

Theory of operation: an agent is an immutable :class:`AgentRecord`.  The runner feeds
it an event (:class:`Login`, :class:`Offer`, :class:`CallEnded` ...) with the current
time through :func:`apply` and gets back a :class:`Transition`: the new status plus
what the runner has to act on (an offer or call the agent no longer holds, an
auto-pause).  Nothing here reads a clock or does I/O; times are seconds on the
runner's clock, passed in.

:data:`TRANSITIONS` maps ``(state, event kind)`` to the nominal next state.  A pair
missing from the table is illegal and raises :exc:`IllegalTransition`; an event about
a call the agent does not hold raises :exc:`StaleCallEvent`.  Nothing is silently
ignored: that is how agents end up stuck in "reserved" in other ACDs.  Three guards
refine the nominal target, and only these three:

* *idle*: a nominal ``available`` becomes ``not_ready`` when a pause is pending (the
  agent asked for a pause while ringing or talking, logged in paused, or lost their
  phone during a call);
* *auto-pause*: a failed offer counts a miss; after the queue's
  :attr:`QueuePolicy.max_missed_offers` consecutive misses the agent goes
  ``not_ready`` with reason :data:`MISSED_OFFERS`;
* *no wrap-up*: a call ending in a queue without wrap-up time goes straight to idle.

Wrap-up ends at ``ended_at + wrap_up_seconds``: :func:`get_timer` tells the runner
when, :func:`handle_timer` applies :class:`WrapUpDone` once it is due.  After a
process restart :func:`recover` releases every agent whose offer or call is not among
the calls known to be live, so no agent is left reserved, on a call or in wrap-up
forever.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "MISSED_OFFERS",
    "PHONE_UNREGISTERED",
    "TRANSITIONS",
    "AgentRecord",
    "AgentState",
    "Answer",
    "CallEnded",
    "Event",
    "EventKind",
    "IllegalTransition",
    "Login",
    "Logout",
    "Offer",
    "OfferFailed",
    "OfferFailure",
    "Pause",
    "PhoneUnregistered",
    "QueuePolicy",
    "Recover",
    "Resume",
    "StaleCallEvent",
    "Transition",
    "WrapUpDone",
    "apply",
    "get_timer",
    "handle_timer",
    "recover",
]

#: Reason code of an automatic pause after too many missed offers.
MISSED_OFFERS = "missed-offers"
#: Reason code of a pause caused by the agent's phone unregistering.
PHONE_UNREGISTERED = "phone-unregistered"


class AgentState(StrEnum):
    """Where an agent is, as the ACD sees it."""

    OFFLINE = "offline"
    """Logged out: not a candidate for anything."""
    AVAILABLE = "available"
    """Logged in, ready and idle: a candidate for offers."""
    RESERVED = "reserved"
    """An offer is ringing on the agent's phone."""
    ON_CALL = "on_call"
    """Talking to a caller."""
    WRAP_UP = "wrap_up"
    """After-call work; ends at :attr:`AgentRecord.wrap_up_until`."""
    NOT_READY = "not_ready"
    """Logged in but paused, with a reason code."""


#: States in which the agent holds an offer or a call (``call_id`` is set).
BUSY_STATES = frozenset({AgentState.RESERVED, AgentState.ON_CALL})


class EventKind(StrEnum):
    """The kinds of events the machine consumes (the column of the table)."""

    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"
    RESUME = "resume"
    OFFER = "offer"
    ANSWER = "answer"
    OFFER_FAILED = "offer_failed"
    CALL_ENDED = "call_ended"
    WRAP_UP_DONE = "wrap_up_done"
    PHONE_UNREGISTERED = "phone_unregistered"
    RECOVER = "recover"


class OfferFailure(StrEnum):
    """Why an offer did not become a call; each counts as a missed offer."""

    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """The per-queue settings the machine needs while an agent handles that queue's call.

    ``max_missed_offers`` of 0 never auto-pauses; ``wrap_up_seconds`` of 0 skips wrap-up.
    """

    max_missed_offers: int = 0
    wrap_up_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.max_missed_offers < 0:
            raise ValueError("max_missed_offers must be >= 0")
        if self.wrap_up_seconds < 0:
            raise ValueError("wrap_up_seconds must be >= 0")


@dataclass(frozen=True, slots=True)
class Login:
    """The agent logs in: available, or not ready with ``reason`` when given."""

    reason: str | None = None
    kind: ClassVar[EventKind] = EventKind.LOGIN


@dataclass(frozen=True, slots=True)
class Logout:
    """The agent logs out (not allowed during a call); a ringing offer is released."""

    kind: ClassVar[EventKind] = EventKind.LOGOUT


@dataclass(frozen=True, slots=True)
class Pause:
    """The agent (or a supervisor) asks for a pause with a reason code.

    Immediate when idle or in wrap-up; while ringing or talking it is remembered and
    takes effect when the offer or call is over.
    """

    reason: str
    kind: ClassVar[EventKind] = EventKind.PAUSE


@dataclass(frozen=True, slots=True)
class Resume:
    """The agent becomes ready again, or cancels a pending pause."""

    kind: ClassVar[EventKind] = EventKind.RESUME


@dataclass(frozen=True, slots=True)
class Offer:
    """The ACD offers call ``call_id`` of a queue with ``policy``: the phone rings."""

    call_id: str
    policy: QueuePolicy = field(default_factory=QueuePolicy)
    kind: ClassVar[EventKind] = EventKind.OFFER


@dataclass(frozen=True, slots=True)
class Answer:
    """The agent answered the offer of ``call_id``."""

    call_id: str
    kind: ClassVar[EventKind] = EventKind.ANSWER


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """The offer of ``call_id`` was not answered, rejected or could not reach the phone."""

    call_id: str
    cause: OfferFailure = OfferFailure.NO_ANSWER
    kind: ClassVar[EventKind] = EventKind.OFFER_FAILED


@dataclass(frozen=True, slots=True)
class CallEnded:
    """Call ``call_id`` is over: either side hung up, or the caller left while ringing.

    ``ended_at`` is when it ended if the runner learned it late; wrap-up counts from it.
    """

    call_id: str
    ended_at: float | None = None
    kind: ClassVar[EventKind] = EventKind.CALL_ENDED


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    """After-call work is over (its time ran out, or the agent ended it early)."""

    kind: ClassVar[EventKind] = EventKind.WRAP_UP_DONE


@dataclass(frozen=True, slots=True)
class PhoneUnregistered:
    """The agent's phone (SIP registration or browser phone) went away."""

    kind: ClassVar[EventKind] = EventKind.PHONE_UNREGISTERED


@dataclass(frozen=True, slots=True)
class Recover:
    """After a restart the agent's offer or call is gone (see :func:`recover`)."""

    kind: ClassVar[EventKind] = EventKind.RECOVER


Event = (
    Login
    | Logout
    | Pause
    | Resume
    | Offer
    | Answer
    | OfferFailed
    | CallEnded
    | WrapUpDone
    | PhoneUnregistered
    | Recover
)

_S = AgentState
_E = EventKind

#: ``(state, event kind) -> nominal next state``; a missing pair is illegal.
TRANSITIONS: dict[tuple[AgentState, EventKind], AgentState] = {
    (_S.OFFLINE, _E.LOGIN): _S.AVAILABLE,
    (_S.OFFLINE, _E.PHONE_UNREGISTERED): _S.OFFLINE,
    (_S.AVAILABLE, _E.LOGOUT): _S.OFFLINE,
    (_S.AVAILABLE, _E.PAUSE): _S.NOT_READY,
    (_S.AVAILABLE, _E.OFFER): _S.RESERVED,
    (_S.AVAILABLE, _E.PHONE_UNREGISTERED): _S.NOT_READY,
    (_S.RESERVED, _E.LOGOUT): _S.OFFLINE,
    (_S.RESERVED, _E.PAUSE): _S.RESERVED,
    (_S.RESERVED, _E.RESUME): _S.RESERVED,
    (_S.RESERVED, _E.ANSWER): _S.ON_CALL,
    (_S.RESERVED, _E.OFFER_FAILED): _S.AVAILABLE,
    (_S.RESERVED, _E.CALL_ENDED): _S.AVAILABLE,
    (_S.RESERVED, _E.PHONE_UNREGISTERED): _S.NOT_READY,
    (_S.RESERVED, _E.RECOVER): _S.AVAILABLE,
    (_S.ON_CALL, _E.PAUSE): _S.ON_CALL,
    (_S.ON_CALL, _E.RESUME): _S.ON_CALL,
    (_S.ON_CALL, _E.CALL_ENDED): _S.WRAP_UP,
    (_S.ON_CALL, _E.PHONE_UNREGISTERED): _S.ON_CALL,
    (_S.ON_CALL, _E.RECOVER): _S.AVAILABLE,
    (_S.WRAP_UP, _E.LOGOUT): _S.OFFLINE,
    (_S.WRAP_UP, _E.PAUSE): _S.NOT_READY,
    (_S.WRAP_UP, _E.RESUME): _S.WRAP_UP,
    (_S.WRAP_UP, _E.WRAP_UP_DONE): _S.AVAILABLE,
    (_S.WRAP_UP, _E.PHONE_UNREGISTERED): _S.NOT_READY,
    (_S.WRAP_UP, _E.RECOVER): _S.AVAILABLE,
    (_S.NOT_READY, _E.LOGOUT): _S.OFFLINE,
    (_S.NOT_READY, _E.PAUSE): _S.NOT_READY,
    (_S.NOT_READY, _E.RESUME): _S.AVAILABLE,
    (_S.NOT_READY, _E.PHONE_UNREGISTERED): _S.NOT_READY,
}


class IllegalTransition(Exception):
    """An event that the agent's current state does not accept."""

    def __init__(self, state: AgentState, event: EventKind, detail: str = "") -> None:
        self.state = state
        self.event = event
        message = f"event {event.value!r} is illegal in state {state.value!r}"
        super().__init__(f"{message}: {detail}" if detail else message)


class StaleCallEvent(IllegalTransition):
    """An event about a call the agent does not hold (late, duplicated or misrouted)."""


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """One agent's state-machine record; replaced, never mutated.

    ``call_id`` is set exactly in the reserved and on-call states; ``policy`` is the
    queue policy of that call (kept through wrap-up).  ``pending_reason`` is a pause
    that takes effect when the current offer, call or wrap-up is over.
    """

    agent_id: str
    state: AgentState = AgentState.OFFLINE
    since: float = 0.0
    reason: str | None = None
    call_id: str | None = None
    policy: QueuePolicy | None = None
    pending_reason: str | None = None
    missed_offers: int = 0
    wrap_up_until: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of one event: the new status and what the runner must act on.

    ``released_call_id`` is an offer or call the agent held before and no longer does
    (cancel its ringing and put the caller back, or stop expecting its events);
    ``auto_paused`` is set when this event paused the agent for missed offers.
    """

    agent: AgentRecord
    previous: AgentRecord
    event: Event | None
    released_call_id: str | None = None
    auto_paused: bool = False

    @property
    def changed(self) -> bool:
        """Whether the state (not only a detail such as the reason) changed."""
        return self.agent.state is not self.previous.state


def apply(agent: AgentRecord, event: Event, now: float) -> Transition:
    """Feed ``event`` to ``agent`` at time ``now`` and return the transition.

    Raises :exc:`StaleCallEvent` when the event names a call the agent does not hold,
    and :exc:`IllegalTransition` when the table has no entry for the pair (or a resume
    has nothing to resume).
    """
    state = agent.state
    if isinstance(event, Answer | OfferFailed | CallEnded) and event.call_id != agent.call_id:
        held = agent.call_id or "none"
        raise StaleCallEvent(state, event.kind, f"call {event.call_id!r}, agent holds {held}")
    target = TRANSITIONS.get((state, event.kind))
    if target is None:
        raise IllegalTransition(state, event.kind)
    missed = agent.missed_offers
    pending = agent.pending_reason
    reason = agent.reason
    auto_paused = False
    match event:
        case Login():
            missed, pending, reason = 0, event.reason, None
        case Pause():
            if target is _S.NOT_READY:
                reason, pending = event.reason, None
            else:
                pending = event.reason
        case Resume():
            if target is _S.AVAILABLE:
                missed, reason = 0, None
            elif pending is None:
                raise IllegalTransition(state, event.kind, "no pause is pending")
            else:
                pending = None
        case Answer():
            missed = 0
        case OfferFailed():
            missed += 1
            limit = agent.policy.max_missed_offers if agent.policy else 0
            if limit and missed >= limit:
                target, reason, pending, auto_paused = _S.NOT_READY, MISSED_OFFERS, None, True
        case PhoneUnregistered():
            if target is _S.ON_CALL:
                pending = PHONE_UNREGISTERED
            elif target is _S.NOT_READY and state is not _S.NOT_READY:
                reason, pending = PHONE_UNREGISTERED, None
        case CallEnded():
            policy = agent.policy
            if target is _S.WRAP_UP and (policy is None or policy.wrap_up_seconds <= 0):
                target = _S.AVAILABLE
        case _:
            pass
    if target is _S.OFFLINE:
        pending = None
    if target is _S.AVAILABLE and pending is not None:
        target, reason, pending = _S.NOT_READY, pending, None
    return _transition(agent, event, now, target, reason, pending, missed, auto_paused)


def _transition(
    agent: AgentRecord,
    event: Event,
    now: float,
    target: AgentState,
    reason: str | None,
    pending: str | None,
    missed: int,
    auto_paused: bool,
) -> Transition:
    call_id, policy = agent.call_id, agent.policy
    if isinstance(event, Offer):
        call_id, policy = event.call_id, event.policy
    released = None
    if target not in BUSY_STATES:
        released, call_id = agent.call_id, None
        if target is not _S.WRAP_UP:
            policy = None
    wrap_up_until: float | None = None
    if target is _S.WRAP_UP:
        wrap_up_until = agent.wrap_up_until
        if isinstance(event, CallEnded) and policy is not None:
            ended = now if event.ended_at is None else event.ended_at
            wrap_up_until = ended + policy.wrap_up_seconds
    if target is not _S.NOT_READY:
        reason = None
    new = replace(
        agent,
        state=target,
        since=agent.since if target is agent.state else now,
        reason=reason,
        call_id=call_id,
        policy=policy,
        pending_reason=pending,
        missed_offers=missed,
        wrap_up_until=wrap_up_until,
    )
    return Transition(new, agent, event, released, auto_paused)


def get_timer(agent: AgentRecord) -> float | None:
    """When the agent's next timed event (the end of wrap-up) is due, or None."""
    return agent.wrap_up_until if agent.state is _S.WRAP_UP else None


def handle_timer(agent: AgentRecord, now: float) -> Transition | None:
    """Apply :class:`WrapUpDone` if the agent's wrap-up is due at ``now``; else None."""
    due = get_timer(agent)
    if due is None or now < due:
        return None
    return apply(agent, WrapUpDone(), now)


def recover(agent: AgentRecord, live_calls: Container[str], *, now: float) -> Transition:
    """Repair ``agent`` after a process restart, given the calls known to be live.

    Reserved or on-call agents whose call is not in ``live_calls``, and agents whose
    wrap-up is overdue, become available (not ready if a pause was pending).  Any
    other agent is returned unchanged (``event`` is None); this never raises.
    """
    state = agent.state
    lost = state in BUSY_STATES and agent.call_id not in live_calls
    overdue = state is _S.WRAP_UP and (agent.wrap_up_until is None or agent.wrap_up_until <= now)
    if lost or overdue:
        return apply(agent, Recover(), now)
    return Transition(agent, agent, None)
