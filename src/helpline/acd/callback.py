"""The callback state machine: a caller who asked to be called back keeps their place.

Theory of operation: a waiting caller presses the queue's callback key (or the queue
falls back to a callback), hears a confirmation and hangs up.  Their place stays on the
board as a *callback entry* (same join time, priority and skills), and a
:class:`CallbackRecord` follows the request through this machine:

* ``pending``: waiting for its turn, on the board; after a failed attempt it is off
  the board until ``retry_at`` (:func:`get_timer` tells the runner when), then back
  on it with its original place;
* ``dialing``: its turn came, the chosen agent is reserved and the customer's phone
  rings (:class:`Dial` counts an attempt);
* ``connected``: the customer answered; from here the call is an ordinary waiting
  call offered to the reserved agent (and to the next ones if that agent misses it);
* ``completed`` (an agent took it), ``failed`` (no answer after ``max_attempts``),
  ``abandoned`` (the customer hung up before an agent answered) and ``cancelled``
  (a supervisor cancelled it, or the queue went away) are final.

:data:`TRANSITIONS` maps ``(state, event kind)`` to the nominal next state; a missing
pair raises :exc:`IllegalCallbackTransition`.  One guard refines it: a failed dial (or
a restart during an attempt) ends the request as ``failed`` once ``attempts`` reached
``max_attempts``, else it is pending again with ``retry_at = now + retry_seconds``.
Times are seconds on the runner's clock; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "FINAL",
    "TRANSITIONS",
    "CallbackEvent",
    "CallbackEventKind",
    "CallbackPolicy",
    "CallbackRecord",
    "CallbackState",
    "Cancel",
    "Completed",
    "Connected",
    "Dial",
    "DialFailed",
    "Hangup",
    "IllegalCallbackTransition",
    "Recover",
    "apply",
    "get_timer",
    "is_due",
]


class CallbackState(StrEnum):
    """Where a callback request is."""

    PENDING = "pending"
    DIALING = "dialing"
    CONNECTED = "connected"
    COMPLETED = "completed"
    FAILED = "failed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"


#: States a request never leaves.
FINAL = frozenset(
    {
        CallbackState.COMPLETED,
        CallbackState.FAILED,
        CallbackState.ABANDONED,
        CallbackState.CANCELLED,
    }
)


class CallbackEventKind(StrEnum):
    """The kinds of events the machine consumes."""

    DIAL = "dial"
    DIAL_FAILED = "dial_failed"
    CONNECTED = "connected"
    COMPLETED = "completed"
    HANGUP = "hangup"
    CANCEL = "cancel"
    RECOVER = "recover"


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """How often and how far apart a queue tries to reach a caller."""

    max_attempts: int = 3
    retry_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.retry_seconds < 0:
            raise ValueError("retry_seconds must be >= 0")


@dataclass(frozen=True, slots=True)
class Dial:
    """The request's turn came: an agent is reserved and ``call_id`` rings the caller."""

    call_id: str
    kind: ClassVar[CallbackEventKind] = CallbackEventKind.DIAL


@dataclass(frozen=True, slots=True)
class DialFailed:
    """The caller's phone did not answer (``status``: the SIP final status)."""

    status: int
    kind: ClassVar[CallbackEventKind] = CallbackEventKind.DIAL_FAILED


@dataclass(frozen=True, slots=True)
class Connected:
    """The caller answered the callback; it now waits for the reserved agent."""

    kind: ClassVar[CallbackEventKind] = CallbackEventKind.CONNECTED


@dataclass(frozen=True, slots=True)
class Completed:
    """An agent answered: caller and agent are talking."""

    agent: str
    kind: ClassVar[CallbackEventKind] = CallbackEventKind.COMPLETED


@dataclass(frozen=True, slots=True)
class Hangup:
    """The caller hung up after answering, before an agent took the call."""

    kind: ClassVar[CallbackEventKind] = CallbackEventKind.HANGUP


@dataclass(frozen=True, slots=True)
class Cancel:
    """A supervisor cancelled the request (or its queue was deleted)."""

    kind: ClassVar[CallbackEventKind] = CallbackEventKind.CANCEL


@dataclass(frozen=True, slots=True)
class Recover:
    """After a restart an attempt under way is lost: pending again (or failed)."""

    kind: ClassVar[CallbackEventKind] = CallbackEventKind.RECOVER


CallbackEvent = Dial | DialFailed | Connected | Completed | Hangup | Cancel | Recover

_S = CallbackState
_E = CallbackEventKind

#: ``(state, event kind) -> nominal next state``; a missing pair is illegal.
TRANSITIONS: dict[tuple[CallbackState, CallbackEventKind], CallbackState] = {
    (_S.PENDING, _E.DIAL): _S.DIALING,
    (_S.PENDING, _E.CANCEL): _S.CANCELLED,
    (_S.PENDING, _E.RECOVER): _S.PENDING,
    (_S.DIALING, _E.DIAL_FAILED): _S.PENDING,
    (_S.DIALING, _E.CONNECTED): _S.CONNECTED,
    (_S.DIALING, _E.CANCEL): _S.CANCELLED,
    (_S.DIALING, _E.RECOVER): _S.PENDING,
    (_S.CONNECTED, _E.COMPLETED): _S.COMPLETED,
    (_S.CONNECTED, _E.HANGUP): _S.ABANDONED,
    (_S.CONNECTED, _E.RECOVER): _S.PENDING,
}


class IllegalCallbackTransition(Exception):
    """An event the request's current state does not accept."""

    def __init__(self, state: CallbackState, event: CallbackEventKind) -> None:
        self.state = state
        self.event = event
        super().__init__(f"callback event {event.value!r} is illegal in state {state.value!r}")


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """One callback request; replaced, never mutated.

    ``attempts`` counts dials started; ``call_id`` is the call of the current (or
    last) attempt; ``retry_at`` is set while a pending request waits out the delay
    after a failed attempt; ``agent`` is who took the call once completed.
    """

    callback_id: int
    policy: CallbackPolicy = CallbackPolicy()
    state: CallbackState = CallbackState.PENDING
    since: float = 0.0
    attempts: int = 0
    retry_at: float | None = None
    call_id: str | None = None
    last_status: int | None = None
    agent: str | None = None


def apply(record: CallbackRecord, event: CallbackEvent, now: float) -> CallbackRecord:
    """``record`` after ``event`` at ``now``; :exc:`IllegalCallbackTransition` if the
    table has no entry for the pair."""
    target = TRANSITIONS.get((record.state, event.kind))
    if target is None:
        raise IllegalCallbackTransition(record.state, event.kind)
    attempts, call_id, retry_at = record.attempts, record.call_id, record.retry_at
    last_status, agent = record.last_status, record.agent
    match event:
        case Dial():
            attempts, call_id, retry_at = attempts + 1, event.call_id, None
        case DialFailed():
            last_status = event.status
        case Completed():
            agent = event.agent
        case _:
            pass
    if target is _S.PENDING and record.state is not _S.PENDING:
        if attempts >= record.policy.max_attempts:
            target = _S.FAILED
        else:
            retry_at = now + record.policy.retry_seconds
    if target in FINAL:
        retry_at = None
    return replace(
        record,
        state=target,
        since=record.since if target is record.state else now,
        attempts=attempts,
        retry_at=retry_at,
        call_id=call_id,
        last_status=last_status,
        agent=agent,
    )


def get_timer(record: CallbackRecord) -> float | None:
    """When a pending request waiting out its retry delay goes back on the board."""
    return record.retry_at if record.state is _S.PENDING else None


def is_due(record: CallbackRecord, now: float) -> bool:
    """Whether a pending request may be on the board (its turn may come) at ``now``."""
    return record.state is _S.PENDING and (record.retry_at is None or record.retry_at <= now)
