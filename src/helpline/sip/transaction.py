"""SIP transaction state machines, keys and events (RFC 3261 §17, RFC 6026).

Theory of operation: a transaction is a request plus every response to it (§17).  The
four machines of §17.1.1 (INVITE client, Figure 5), §17.1.2 (non-INVITE client,
Figure 6), §17.2.1 (INVITE server, Figure 7) and §17.2.2 (non-INVITE server, Figure 8)
are written here as data: each state is an Enum member and each :class:`Machine` holds a
transition table from (state, input) to (next state, actions).  Inputs are what can
happen to a transaction - a response class arriving, a request or ACK retransmission
arriving, the TU sending a response, a :class:`~helpline.sip.timers.Timer` firing, a
transport error.  Actions are what the runner (:mod:`helpline.sip.transaction_layer`)
must then do: pass the message up, retransmit, send an ACK, report a timeout...  The
table also lists the inputs that are absorbed (no action), so an input that is not in
it is a bug of the TU and raises :class:`TransactionStateError`; nothing is ignored
silently.  Each state names the timers that run while the machine is in it.

RFC 6026 is followed for 2xx to INVITE: both INVITE machines enter an Accepted state
(Timers L and M) instead of terminating, so that 2xx retransmissions reach the client
TU and the ACK for a 2xx reaches the server TU, while the transaction still absorbs
INVITE retransmissions.  The client ACK for a 2xx and the server 2xx retransmissions
are the TU's job (§13.2.2.4, §13.3.1.4); the ACK for a non-2xx final response is the
client transaction's (§17.1.1.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from helpline.sip.message import Request, Response
from helpline.sip.routing import Address
from helpline.sip.timers import Timer

__all__ = [
    "INVITE_CLIENT",
    "INVITE_SERVER",
    "MACHINES",
    "NON_INVITE_CLIENT",
    "NON_INVITE_SERVER",
    "AckReceived",
    "Action",
    "CancelReceived",
    "Datagram",
    "Event",
    "Input",
    "InviteClientState",
    "InviteServerState",
    "Kind",
    "Machine",
    "NonInviteClientState",
    "NonInviteServerState",
    "RequestReceived",
    "ResponseReceived",
    "State",
    "Stimulus",
    "TransactionKey",
    "TransactionStateError",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportError",
]


class Kind(Enum):
    """The four transaction kinds of RFC 3261 §17."""

    INVITE_CLIENT = "INVITE client"
    NON_INVITE_CLIENT = "non-INVITE client"
    INVITE_SERVER = "INVITE server"
    NON_INVITE_SERVER = "non-INVITE server"

    @property
    def is_server(self) -> bool:
        """True for server transactions."""
        return self in (Kind.INVITE_SERVER, Kind.NON_INVITE_SERVER)


class InviteClientState(Enum):
    """§17.1.1.2, Figure 5; ACCEPTED from RFC 6026 §7.2."""

    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    ACCEPTED = "Accepted"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class NonInviteClientState(Enum):
    """§17.1.2.2, Figure 6."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class InviteServerState(Enum):
    """§17.2.1, Figure 7; ACCEPTED from RFC 6026 §7.1."""

    PROCEEDING = "Proceeding"
    ACCEPTED = "Accepted"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    TERMINATED = "Terminated"


class NonInviteServerState(Enum):
    """§17.2.2, Figure 8."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


State = InviteClientState | NonInviteClientState | InviteServerState | NonInviteServerState


class Stimulus(Enum):
    """Non-timer inputs of a transaction."""

    RESPONSE_1XX = "1xx received"
    RESPONSE_2XX = "2xx received"
    RESPONSE_FINAL = "300-699 received (any final for non-INVITE)"
    REQUEST = "request retransmission received"
    ACK = "ACK received"
    SEND_1XX = "TU sends 1xx"
    SEND_2XX = "TU sends 2xx"
    SEND_FINAL = "TU sends 300-699 (any final for non-INVITE)"
    TRANSPORT_ERROR = "transport error"


Input = Stimulus | Timer


class Action(Enum):
    """What the runner does after a transition, in table order."""

    PASS_UP = "pass the message to the TU"
    RETRANSMIT_REQUEST = "re-send the request"
    SEND_ACK = "send (or re-send) the ACK for a non-2xx final response"
    SEND_RESPONSE = "send the TU's response and remember it"
    RESEND_RESPONSE = "re-send the last response"
    BACKOFF = "re-arm the fired retransmit timer with the next interval"
    REPORT_TIMEOUT = "tell the TU the transaction timed out"
    REPORT_TRANSPORT_ERROR = "tell the TU the transport failed"


class TransactionStateError(Exception):
    """An input the transaction's state machine does not accept (a TU or runner bug)."""

    def __init__(self, kind: Kind, state: State, stimulus: Input) -> None:
        self.kind = kind
        self.state = state
        self.stimulus = stimulus
        what = f"Timer {stimulus.value}" if isinstance(stimulus, Timer) else stimulus.value
        super().__init__(f"{kind.value} transaction in state {state.value}: illegal {what}")


Row = tuple[State, tuple[Action, ...]]


@dataclass(frozen=True, slots=True)
class Machine:
    """A transaction state machine: transition table and the timers of each state."""

    kind: Kind
    initial: State
    terminated: State
    table: Mapping[tuple[State, Input], Row]
    timers: Mapping[State, tuple[Timer, ...]]

    def step(self, state: State, stimulus: Input) -> Row:
        """Next state and actions for ``stimulus`` in ``state``; raise when illegal."""
        try:
            return self.table[(state, stimulus)]
        except KeyError:
            raise TransactionStateError(self.kind, state, stimulus) from None


_UP = (Action.PASS_UP,)
_NONE: tuple[Action, ...] = ()


def _machine(
    kind: Kind,
    states: type[Enum],
    rows: dict[tuple[State, Input], Row],
    timers: dict[State, tuple[Timer, ...]],
) -> Machine:
    members: list[State] = list(states)
    terminated = members[-1]
    for state in members[:-1]:
        rows.setdefault(
            (state, Stimulus.TRANSPORT_ERROR), (terminated, (Action.REPORT_TRANSPORT_ERROR,))
        )
    return Machine(kind, members[0], terminated, MappingProxyType(rows), MappingProxyType(timers))


_IC = InviteClientState
INVITE_CLIENT = _machine(
    Kind.INVITE_CLIENT,
    InviteClientState,
    {
        (_IC.CALLING, Timer.A): (_IC.CALLING, (Action.RETRANSMIT_REQUEST, Action.BACKOFF)),
        (_IC.CALLING, Timer.B): (_IC.TERMINATED, (Action.REPORT_TIMEOUT,)),
        (_IC.CALLING, Stimulus.RESPONSE_1XX): (_IC.PROCEEDING, _UP),
        (_IC.CALLING, Stimulus.RESPONSE_2XX): (_IC.ACCEPTED, _UP),
        (_IC.CALLING, Stimulus.RESPONSE_FINAL): (_IC.COMPLETED, (Action.PASS_UP, Action.SEND_ACK)),
        (_IC.PROCEEDING, Stimulus.RESPONSE_1XX): (_IC.PROCEEDING, _UP),
        (_IC.PROCEEDING, Stimulus.RESPONSE_2XX): (_IC.ACCEPTED, _UP),
        (_IC.PROCEEDING, Stimulus.RESPONSE_FINAL): (
            _IC.COMPLETED,
            (Action.PASS_UP, Action.SEND_ACK),
        ),
        (_IC.COMPLETED, Stimulus.RESPONSE_1XX): (_IC.COMPLETED, _NONE),
        (_IC.COMPLETED, Stimulus.RESPONSE_2XX): (_IC.COMPLETED, _NONE),
        (_IC.COMPLETED, Stimulus.RESPONSE_FINAL): (_IC.COMPLETED, (Action.SEND_ACK,)),
        (_IC.COMPLETED, Timer.D): (_IC.TERMINATED, _NONE),
        (_IC.ACCEPTED, Stimulus.RESPONSE_1XX): (_IC.ACCEPTED, _NONE),
        (_IC.ACCEPTED, Stimulus.RESPONSE_2XX): (_IC.ACCEPTED, _UP),
        (_IC.ACCEPTED, Stimulus.RESPONSE_FINAL): (_IC.ACCEPTED, _NONE),
        (_IC.ACCEPTED, Timer.M): (_IC.TERMINATED, _NONE),
    },
    {_IC.CALLING: (Timer.A, Timer.B), _IC.COMPLETED: (Timer.D,), _IC.ACCEPTED: (Timer.M,)},
)

_NC = NonInviteClientState
_E_ROW = (Action.RETRANSMIT_REQUEST, Action.BACKOFF)
NON_INVITE_CLIENT = _machine(
    Kind.NON_INVITE_CLIENT,
    NonInviteClientState,
    {
        (_NC.TRYING, Timer.E): (_NC.TRYING, _E_ROW),
        (_NC.TRYING, Timer.F): (_NC.TERMINATED, (Action.REPORT_TIMEOUT,)),
        (_NC.TRYING, Stimulus.RESPONSE_1XX): (_NC.PROCEEDING, _UP),
        (_NC.TRYING, Stimulus.RESPONSE_FINAL): (_NC.COMPLETED, _UP),
        (_NC.PROCEEDING, Timer.E): (_NC.PROCEEDING, _E_ROW),
        (_NC.PROCEEDING, Timer.F): (_NC.TERMINATED, (Action.REPORT_TIMEOUT,)),
        (_NC.PROCEEDING, Stimulus.RESPONSE_1XX): (_NC.PROCEEDING, _UP),
        (_NC.PROCEEDING, Stimulus.RESPONSE_FINAL): (_NC.COMPLETED, _UP),
        (_NC.COMPLETED, Stimulus.RESPONSE_1XX): (_NC.COMPLETED, _NONE),
        (_NC.COMPLETED, Stimulus.RESPONSE_FINAL): (_NC.COMPLETED, _NONE),
        (_NC.COMPLETED, Timer.K): (_NC.TERMINATED, _NONE),
    },
    {_NC.TRYING: (Timer.E, Timer.F), _NC.PROCEEDING: (Timer.E, Timer.F), _NC.COMPLETED: (Timer.K,)},
)

_IS = InviteServerState
_SEND = (Action.SEND_RESPONSE,)
_RESEND = (Action.RESEND_RESPONSE,)
INVITE_SERVER = _machine(
    Kind.INVITE_SERVER,
    InviteServerState,
    {
        (_IS.PROCEEDING, Stimulus.REQUEST): (_IS.PROCEEDING, _RESEND),
        (_IS.PROCEEDING, Stimulus.ACK): (_IS.PROCEEDING, _NONE),
        (_IS.PROCEEDING, Stimulus.SEND_1XX): (_IS.PROCEEDING, _SEND),
        (_IS.PROCEEDING, Stimulus.SEND_2XX): (_IS.ACCEPTED, _SEND),
        (_IS.PROCEEDING, Stimulus.SEND_FINAL): (_IS.COMPLETED, _SEND),
        (_IS.ACCEPTED, Stimulus.REQUEST): (_IS.ACCEPTED, _NONE),
        (_IS.ACCEPTED, Stimulus.ACK): (_IS.ACCEPTED, _UP),
        (_IS.ACCEPTED, Stimulus.SEND_2XX): (_IS.ACCEPTED, _SEND),
        (_IS.ACCEPTED, Timer.L): (_IS.TERMINATED, _NONE),
        (_IS.COMPLETED, Stimulus.REQUEST): (_IS.COMPLETED, _RESEND),
        (_IS.COMPLETED, Stimulus.ACK): (_IS.CONFIRMED, _NONE),
        (_IS.COMPLETED, Timer.G): (_IS.COMPLETED, (Action.RESEND_RESPONSE, Action.BACKOFF)),
        (_IS.COMPLETED, Timer.H): (_IS.TERMINATED, (Action.REPORT_TIMEOUT,)),
        (_IS.CONFIRMED, Stimulus.REQUEST): (_IS.CONFIRMED, _NONE),
        (_IS.CONFIRMED, Stimulus.ACK): (_IS.CONFIRMED, _NONE),
        (_IS.CONFIRMED, Timer.I): (_IS.TERMINATED, _NONE),
    },
    {_IS.ACCEPTED: (Timer.L,), _IS.COMPLETED: (Timer.G, Timer.H), _IS.CONFIRMED: (Timer.I,)},
)

_NS = NonInviteServerState
NON_INVITE_SERVER = _machine(
    Kind.NON_INVITE_SERVER,
    NonInviteServerState,
    {
        (_NS.TRYING, Stimulus.REQUEST): (_NS.TRYING, _NONE),
        (_NS.TRYING, Stimulus.SEND_1XX): (_NS.PROCEEDING, _SEND),
        (_NS.TRYING, Stimulus.SEND_FINAL): (_NS.COMPLETED, _SEND),
        (_NS.PROCEEDING, Stimulus.REQUEST): (_NS.PROCEEDING, _RESEND),
        (_NS.PROCEEDING, Stimulus.SEND_1XX): (_NS.PROCEEDING, _SEND),
        (_NS.PROCEEDING, Stimulus.SEND_FINAL): (_NS.COMPLETED, _SEND),
        (_NS.COMPLETED, Stimulus.REQUEST): (_NS.COMPLETED, _RESEND),
        (_NS.COMPLETED, Timer.J): (_NS.TERMINATED, _NONE),
    },
    {_NS.COMPLETED: (Timer.J,)},
)

#: The machine of each transaction kind.
MACHINES: Mapping[Kind, Machine] = MappingProxyType(
    {m.kind: m for m in (INVITE_CLIENT, NON_INVITE_CLIENT, INVITE_SERVER, NON_INVITE_SERVER)}
)


@dataclass(frozen=True, slots=True)
class TransactionKey:
    """Identifies a transaction (§17.1.3, §17.2.3).

    ``branch`` is the top Via branch (for RFC 2543 requests without the magic cookie, a
    synthetic ``rfc2543|...`` value built from the §17.2.3 fields); ``method`` is the
    CSeq method, INVITE for the ACK of a non-2xx; ``sent_by`` is the top Via sent-by of
    a server transaction's request ("" for client transactions).
    """

    branch: str
    method: str
    server: bool = False
    sent_by: str = ""


@dataclass(frozen=True, slots=True)
class Datagram:
    """A message to transmit: serialized bytes, destination, transport token.

    ``key`` names the transaction it belongs to (None for stateless sends), so that the
    I/O layer can report a failure with ``TransactionLayer.transport_error``.  A host
    name in ``destination`` (from a Via maddr) still needs RFC 3263 resolution.
    """

    data: bytes
    destination: Address
    transport: str
    key: TransactionKey | None = None


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request created server transaction ``key``; the TU must answer it."""

    key: TransactionKey
    request: Request
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response for client transaction ``key`` (1xx, final; 2xx again when Accepted)."""

    key: TransactionKey
    response: Response


@dataclass(frozen=True, slots=True)
class TransactionTimeout:
    """Timer B/F (client: act as on a 408, §8.1.3.1) or H (server: no ACK) fired."""

    key: TransactionKey
    timer: Timer


@dataclass(frozen=True, slots=True)
class TransportError:
    """The transport could not send a message of transaction ``key`` (§17.1.4, §17.2.4)."""

    key: TransactionKey


@dataclass(frozen=True, slots=True)
class CancelReceived:
    """A CANCEL matched INVITE server transaction ``invite_key`` (§9.2).

    The TU answers the CANCEL on ``cancel_key`` (200) and, if the INVITE has no final
    response yet, the INVITE with 487.
    """

    invite_key: TransactionKey
    cancel_key: TransactionKey
    request: Request
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class AckReceived:
    """An ACK for a 2xx: it belongs to the dialog, not to a transaction (§17.2.3).

    ``invite_key`` is the Accepted INVITE server transaction it matched, if any.
    """

    request: Request
    source: Address
    transport: str
    invite_key: TransactionKey | None = None


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    """Transaction ``key`` reached Terminated and was removed."""

    key: TransactionKey


Event = (
    RequestReceived
    | ResponseReceived
    | TransactionTimeout
    | TransportError
    | CancelReceived
    | AckReceived
    | TransactionTerminated
)
