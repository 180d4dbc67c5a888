"""CTI on live calls: the states a call goes through under agents' commands (issue 7).

Theory of operation
-------------------
A call that reached an agent can be driven from the agent's desktop (REST, see
:mod:`helpline.callcontrol.router`): hung up, held and resumed, transferred blind or
after a consultation, turned into a three-way conference, sent DTMF, and supervised.
Whether a command is legal depends only on the call's :class:`CallState` and is
decided here, from the table :data:`TRANSITIONS`; a command the table does not list
for the current state raises :class:`IllegalCommand` (HTTP 409 ``call_wrong_state``).
Things the network does (the consulted party answers, fails or hangs up, the agent
hangs up in a consultation or a conference) are :class:`Happening` triggers of the
same table.

Two states are facts of the call's legs, not stored: ``connecting`` (the agent's side
is not connected: ringing, queued, in the IVR, a transfer ringing) and ``talking``
(both sides connected). The others are an *overlay* kept in :class:`Cti` while they
last: ``held`` (the customer hears music on hold after a re-INVITE with
``a=sendonly``), ``consult_ringing`` and ``consulting`` (the customer is held and the
agent talks with a third party in a consultation call), ``conference`` (customer,
agent and third party in one mix). :func:`effective` combines both.

:class:`Cti` is the per-call record call control keeps for these commands; it holds
references to call control's objects and does no I/O.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from helpline.core.errors import Conflict
from helpline.media.backend import LocalMedia
from helpline.media.mixer import SupervisionMode
from helpline.sdp.model import SessionDescription
from helpline.sdp.negotiate import LocalSession
from helpline.sip.transaction import TransactionKey
from helpline.telephony.fork import ForkSet

if TYPE_CHECKING:
    from helpline.telephony.legs import Call, Outbound


class CallState(StrEnum):
    """Where a call stands for CTI commands."""

    CONNECTING = "connecting"
    TALKING = "talking"
    HELD = "held"
    CONSULT_RINGING = "consult_ringing"
    CONSULTING = "consulting"
    CONFERENCE = "conference"
    ENDED = "ended"


class Command(StrEnum):
    """What an agent or supervisor asks for."""

    HANG_UP = "hangup"
    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer"
    CONSULT = "consult"
    COMPLETE = "complete"
    CANCEL = "cancel"
    CONFERENCE = "conference"
    DTMF = "dtmf"
    SUPERVISE = "supervise"
    INTERCEPT = "intercept"


class Happening(StrEnum):
    """What the network does to a call in a CTI state."""

    CONSULT_ANSWERED = "consult_answered"
    CONSULT_FAILED = "consult_failed"
    """The consulted party did not answer, refused, or hung up."""
    AGENT_LEFT = "agent_left"
    THIRD_LEFT = "third_left"


Trigger = Command | Happening

_S, _C, _H = CallState, Command, Happening

#: Every legal (state, trigger) and the state it leads to; anything else is illegal.
TRANSITIONS: Final[Mapping[tuple[CallState, Trigger], CallState]] = {
    **{(state, _C.HANG_UP): _S.ENDED for state in _S if state is not _S.ENDED},
    (_S.TALKING, _C.HOLD): _S.HELD,
    (_S.HELD, _C.RESUME): _S.TALKING,
    (_S.TALKING, _C.TRANSFER): _S.CONNECTING,
    (_S.HELD, _C.TRANSFER): _S.CONNECTING,
    (_S.TALKING, _C.CONSULT): _S.CONSULT_RINGING,
    (_S.HELD, _C.CONSULT): _S.CONSULT_RINGING,
    (_S.CONSULT_RINGING, _H.CONSULT_ANSWERED): _S.CONSULTING,
    (_S.CONSULT_RINGING, _C.CANCEL): _S.TALKING,
    (_S.CONSULTING, _C.CANCEL): _S.TALKING,
    (_S.CONSULT_RINGING, _H.CONSULT_FAILED): _S.TALKING,
    (_S.CONSULTING, _H.CONSULT_FAILED): _S.TALKING,
    (_S.CONSULTING, _C.COMPLETE): _S.TALKING,
    (_S.CONSULTING, _C.CONFERENCE): _S.CONFERENCE,
    (_S.CONSULT_RINGING, _H.AGENT_LEFT): _S.ENDED,
    (_S.CONSULTING, _H.AGENT_LEFT): _S.TALKING,
    (_S.CONFERENCE, _H.AGENT_LEFT): _S.TALKING,
    (_S.CONFERENCE, _H.THIRD_LEFT): _S.TALKING,
    (_S.TALKING, _H.AGENT_LEFT): _S.ENDED,
    (_S.HELD, _H.AGENT_LEFT): _S.ENDED,
    (_S.TALKING, _C.DTMF): _S.TALKING,
    (_S.CONFERENCE, _C.DTMF): _S.CONFERENCE,
    (_S.TALKING, _C.SUPERVISE): _S.TALKING,
    (_S.HELD, _C.SUPERVISE): _S.HELD,
    (_S.CONFERENCE, _C.SUPERVISE): _S.CONFERENCE,
    (_S.TALKING, _C.INTERCEPT): _S.TALKING,
}

#: States kept in :attr:`Cti.overlay`; the others follow from the legs.
OVERLAY: Final = frozenset({_S.HELD, _S.CONSULT_RINGING, _S.CONSULTING, _S.CONFERENCE})


class IllegalCommand(Conflict):
    """A command the call's state does not allow (409 ``call_wrong_state``)."""

    error_id = "call_wrong_state"

    def __init__(self, state: CallState, trigger: Trigger) -> None:
        super().__init__(
            f"cannot {trigger.value} a call that is {state.value}",
            details={"state": state.value, "command": trigger.value},
        )
        self.state = state
        self.trigger = trigger


def advance(state: CallState, trigger: Trigger) -> CallState:
    """The state ``trigger`` leads to from ``state``; raises :class:`IllegalCommand`."""
    following = TRANSITIONS.get((state, trigger))
    if following is None:
        raise IllegalCommand(state, trigger)
    return following


def effective(overlay: CallState | None, *, connected: bool) -> CallState:
    """The call's state: its overlay while one lasts, else talking when both sides are
    connected and connecting otherwise."""
    if overlay is not None:
        return overlay
    return CallState.TALKING if connected else CallState.CONNECTING


def overlay_of(state: CallState) -> CallState | None:
    """What :attr:`Cti.overlay` holds for ``state`` (None for the derived states)."""
    return state if state in OVERLAY else None


# -- destinations and digits ----------------------------------------------------------


class DestinationKind(StrEnum):
    """Where a transfer, a consultation or a click-to-dial call goes."""

    EXTENSION = "extension"
    """An agent's (or any) SIP account of the tenant: all its registered phones ring."""
    QUEUE = "queue"
    NUMBER = "number"
    """A number dialed out through the tenant's trunks."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A validated destination."""

    kind: DestinationKind
    target: str


#: SIP users we dial (extensions, numbers): digits, ``+*#``, letters for named accounts.
TARGET_PATTERN: Final = re.compile(r"^[+]?[0-9A-Za-z*#._-]{1,64}$")
NUMBER_PATTERN: Final = re.compile(r"^[+]?[0-9*#]{1,32}$")
DTMF_PATTERN: Final = re.compile(r"^[0-9*#A-Da-d]{1,32}$")


def destination(kind: DestinationKind, target: str) -> Destination:
    """A :class:`Destination`; ValueError when ``target`` cannot be dialed as ``kind``."""
    target = target.strip()
    pattern = NUMBER_PATTERN if kind is DestinationKind.NUMBER else TARGET_PATTERN
    if not pattern.match(target):
        raise ValueError(f"{target!r} is not a valid {kind.value}")
    return Destination(kind, target)


def dtmf_digits(digits: str) -> str:
    """``digits`` upper-cased if they are RFC 4733 keys (0-9 * # A-D), else ValueError."""
    if not DTMF_PATTERN.match(digits):
        raise ValueError("digits are 1 to 32 of 0-9 * # A-D")
    return digits.upper()


# -- what call control keeps per call ----------------------------------------------------


@dataclass(slots=True)
class Placing:
    """A leg rung first, before the call has any other party (click-to-dial rings the
    agent's phones, a supervisor's phone is rung to join): one endpoint, one offer, a
    branch per registered contact; ``then`` runs once a phone answers."""

    media: LocalMedia
    session: LocalSession
    offer: SessionDescription
    then: Callable[[], Awaitable[None]]
    forks: ForkSet[TransactionKey] = field(default_factory=ForkSet)
    accounts: dict[TransactionKey, str] = field(default_factory=dict)
    """The SIP account each branch rings (every branch ever sent: late answers too)."""
    timer: asyncio.TimerHandle | None = None
    done: bool = False
    """A phone answered, or the ringing ended."""
    adopted: bool = False
    """The answering phone's leg became the call's A side (its endpoint the call's)."""


@dataclass(slots=True)
class Consultation:
    """An attended transfer under way: the agent's leg is lent to the consultation
    call (``call``) while the customer waits on hold."""

    call: Call
    agent: Outbound
    target: Destination
    actor: str
    """Who asked for it (the username), for the events that follow."""
    cancelled: bool = False


@dataclass(slots=True)
class Cti:
    """What CTI commands keep about one call."""

    overlay: CallState | None = None
    consult: Consultation | None = None
    """The customer's call: the consultation under way."""
    parent: Call | None = None
    """A consultation call: the customer's call it consults for."""
    third: Outbound | None = None
    """In a conference: the third party's leg."""
    placing: Placing | None = None
    moh: str = "default"
    """The music-on-hold class a held customer hears."""


# -- what the API is told about a live call --------------------------------------------


class Side(StrEnum):
    """A party's place in the call."""

    CUSTOMER = "customer"
    """The side that is not the agent's (the caller of an inbound call)."""
    AGENT = "agent"
    THIRD = "third"
    """A conference's third party."""


@dataclass(frozen=True, slots=True)
class Party:
    """One connected or ringing party of a live call."""

    side: Side
    account: str | None
    """The tenant's SIP account on that side, if it is one (an agent's phone)."""
    number: str


@dataclass(frozen=True, slots=True)
class Watcher:
    """A supervisor in the call."""

    account: str | None
    mode: SupervisionMode


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A snapshot of a live call for the API."""

    call_id: str
    tenant_id: int
    state: CallState
    parties: tuple[Party, ...]
    supervisors: tuple[Watcher, ...] = ()
    consultation: Party | None = None
    """The party being consulted, while a consultation lasts."""
    queue: str | None = None
    """The ACD queue the call came through (its last one), None for others."""

    @property
    def agent(self) -> str | None:
        """The agent's SIP account on the call (None before an agent is connected)."""
        return next((p.account for p in self.parties if p.side is Side.AGENT), None)

    @property
    def accounts(self) -> frozenset[str]:
        """Every SIP account that is a party of the call."""
        return frozenset(p.account for p in self.parties if p.account)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who gives a command: the user's name, and the user's SIP account on the call
    when the user is one of its parties (None for a supervisor or an admin)."""

    username: str
    account: str | None = None
