"""The SIP transaction layer: matching, retransmission and timers (RFC 3261 §17, RFC 6026).

Theory of operation: one :class:`TransactionLayer` per SIP node runs every client and
server transaction of that node.  It is sans-IO: datagrams (or stream-framed messages)
come in with ``receive_datagram(data, addr, now, transport)``, typed events for the TU
come out of ``next_event()``, bytes to transmit out of ``datagrams_to_send(now)``, and
``get_timer()`` / ``handle_timer(now)`` drive the timers of
:mod:`helpline.sip.timers` from one heap.  The state machines themselves are the tables
of :mod:`helpline.sip.transaction`; this module is their runner and performs the
actions the tables name.

* Requests are matched to server transactions by top Via branch (with the z9hG4bK
  cookie), sent-by and method, the ACK of a non-2xx matching its INVITE (§17.2.3); RFC
  2543 requests without the cookie fall back to Request-URI, tags, Call-ID, CSeq and top
  Via.  A retransmission is absorbed and the last response re-sent.  A new request opens
  a server transaction and is passed up; an INVITE gets a 100 (Trying) at once.
* A CANCEL opens its own non-INVITE server transaction and is matched to the INVITE it
  cancels (§9.2): :class:`CancelReceived` carries both keys; without a match it is
  answered 481.  A request whose From tag, Call-ID and CSeq equal those of an ongoing
  transaction reached via another branch is a merged request and is answered 482
  (§8.2.2.2).  An ACK that matches no transaction (the ACK for a 2xx) goes up as
  :class:`AckReceived` for the dialog layer.
* Responses are matched to client transactions by branch and CSeq method (§17.1.3);
  strays are dropped and counted.  The ACK for a non-2xx final response is built here
  (§17.1.1.3).  Server responses go where ``routing.response_destination_for`` says
  (received/rport, §18.2.2, RFC 3581), never to broadcast or multicast addresses.
* Terminated transactions are removed at once, so the table empties when calls end.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field

from helpline.sip.errors import SipError
from helpline.sip.headers import Header, Via
from helpline.sip.message import (
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from helpline.sip.routing import (
    Address,
    response_destination,
    response_destination_for,
    stamp_received,
)
from helpline.sip.timers import Timer, TimerConfig, is_reliable
from helpline.sip.transaction import (
    MACHINES,
    AckReceived,
    Action,
    CancelReceived,
    Datagram,
    Event,
    Input,
    InviteServerState,
    Kind,
    Machine,
    NonInviteClientState,
    NonInviteServerState,
    RequestReceived,
    ResponseReceived,
    State,
    Stimulus,
    TransactionKey,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
)

__all__ = ["LayerStats", "TransactionLayer", "make_ack", "make_cancel"]

MAGIC_COOKIE = "z9hG4bK"
_MergeKey = tuple[str, str, int, str]


def _replace_top_via(request: Request, via: Via) -> Request:
    return request.with_top_via(via)


def _copied(message: Request | Response, *names: str) -> list[Header]:
    return [Header(n, v) for n in names for v in message.header_lines(n)]


def make_ack(request: Request, response: Response) -> Request:
    """The ACK for a non-2xx final ``response`` to INVITE ``request`` (§17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as the INVITE; To from the response;
    a single Via equal to the INVITE's top Via; the INVITE's Route header fields.
    """
    fields = [
        Header("Via", str(request.top_via)),
        *_copied(request, "Max-Forwards", "Route", "From"),
        *_copied(response, "To"),
        *_copied(request, "Call-ID"),
        Header("CSeq", f"{request.cseq.number} ACK"),
    ]
    return Request("ACK", request.uri, tuple(fields))


def make_cancel(request: Request) -> Request:
    """A CANCEL for ``request`` (§9.1): same Request-URI, Call-ID, From, To, CSeq number
    and top Via (so the same branch), and the request's Route header fields."""
    fields = [
        Header("Via", str(request.top_via)),
        *_copied(request, "Max-Forwards", "Route", "From", "To", "Call-ID"),
        Header("CSeq", f"{request.cseq.number} CANCEL"),
    ]
    return Request("CANCEL", request.uri, tuple(fields))


@dataclass(slots=True)
class LayerStats:
    """Counters of what the layer dropped or answered on its own."""

    stray_responses: int = 0
    unroutable_responses: int = 0
    malformed: int = 0
    merged_requests: int = 0
    unmatched_cancels: int = 0


@dataclass(slots=True, eq=False)
class _Transaction:
    key: TransactionKey
    machine: Machine
    state: State
    request: Request | None
    """None once a server transaction only absorbs retransmissions (see _LINGERING)."""
    transport: str
    destination: Address | None
    wire: bytes = b""
    last_to_tag: str | None = None
    last_wire: bytes = b""
    ack_wire: bytes = b""
    merge_key: _MergeKey | None = None
    deadlines: dict[Timer, float] = field(default_factory=dict)
    intervals: dict[Timer, float] = field(default_factory=dict)

    @property
    def reliable(self) -> bool:
        return is_reliable(self.transport)


#: Server states in which a transaction only absorbs retransmissions until a timer ends
#: it (up to 64*T1 = 32 s on UDP): its parsed request and response are dropped then, so
#: that a busy node does not keep ~50 collector-tracked objects per finished request
#: alive for half a minute (full collections over them stalled the loop 0.4 s at a time
#: at 500 calls/s).  What is kept: the key, the route and the last response's bytes.
_LINGERING = frozenset(
    {
        InviteServerState.ACCEPTED,
        InviteServerState.COMPLETED,
        InviteServerState.CONFIRMED,
        NonInviteServerState.COMPLETED,
    }
)


@dataclass(order=True, slots=True)
class _Entry:
    deadline: float
    seq: int
    txn: _Transaction = field(compare=False)
    timer: Timer = field(compare=False)


class TransactionLayer:
    """All transactions of one SIP node (RFC 3261 §17), sans-IO.

    ``rng`` makes branch ids and tags deterministic in tests.  ``send_trying`` sends a
    100 (Trying) as soon as an INVITE arrives (§17.2.1).  ``detect_merged`` (a UAS
    duty, §8.2.2.2, off for proxies) answers merged requests with 482.
    ``answer_unmatched_cancel`` answers a CANCEL that matches no INVITE with 481 (§9.2);
    when off, such a CANCEL is passed up as a :class:`RequestReceived`.
    """

    def __init__(
        self,
        *,
        config: TimerConfig = TimerConfig(),
        rng: random.Random | None = None,
        send_trying: bool = True,
        detect_merged: bool = True,
        answer_unmatched_cancel: bool = True,
    ) -> None:
        self.config = config
        self.stats = LayerStats()
        self._rng = rng if rng is not None else random.SystemRandom()
        self._send_trying = send_trying
        self._detect_merged = detect_merged
        self._answer_unmatched_cancel = answer_unmatched_cancel
        self._transactions: dict[TransactionKey, _Transaction] = {}
        self._merge_index: dict[_MergeKey, TransactionKey] = {}
        self._heap: list[_Entry] = []
        self._seq = 0
        self._events: deque[Event] = deque()
        self._outbox: list[Datagram] = []

    # -- identifiers and inspection -------------------------------------------------

    def new_branch(self) -> str:
        """A fresh RFC 3261 branch id (magic cookie + 80 random bits)."""
        return f"{MAGIC_COOKIE}{self._rng.getrandbits(80):020x}"

    def new_tag(self) -> str:
        """A fresh From/To tag (64 random bits, §19.3)."""
        return f"{self._rng.getrandbits(64):016x}"

    def state_of(self, key: TransactionKey) -> State | None:
        """The state of transaction ``key``, None once it is terminated and removed."""
        txn = self._transactions.get(key)
        return None if txn is None else txn.state

    def request_of(self, key: TransactionKey) -> Request | None:
        """The request of transaction ``key`` as sent or received (branch filled in); None
        once a server transaction has sent its final response."""
        txn = self._transactions.get(key)
        return None if txn is None else txn.request

    def __len__(self) -> int:
        """Number of live transactions."""
        return len(self._transactions)

    # -- sans-IO interface ------------------------------------------------------------

    def next_event(self) -> Event | None:
        """The next event for the TU, or None."""
        return self._events.popleft() if self._events else None

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        """Everything to transmit, oldest first; the outbox is emptied."""
        out, self._outbox = self._outbox, []
        return out

    def get_timer(self) -> float | None:
        """The earliest pending timer deadline over all transactions, or None."""
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)
        return heap[0].deadline if heap else None

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now`` (deadline <= now), earliest first."""
        heap = self._heap
        while heap and heap[0].deadline <= now:
            entry = heapq.heappop(heap)
            if self._live(entry):
                del entry.txn.deadlines[entry.timer]
                self._apply(entry.txn, entry.timer, now)

    def receive_datagram(
        self, data: bytes, addr: Address, now: float, transport: str = "UDP"
    ) -> None:
        """Process one datagram (or one stream-framed message) received from ``addr``."""
        try:
            message = parse_message(data, stream=is_reliable(transport))
        except SipError as exc:
            self._reject_malformed(exc, addr, transport)
            return
        self.receive_message(message, addr, now, transport)

    def receive_message(
        self, message: Request | Response, addr: Address, now: float, transport: str = "UDP"
    ) -> None:
        """Process one message already parsed (by an edge that filtered it first)."""
        if isinstance(message, Response):
            self._on_response(message, now)
        else:
            self._on_request(message, addr, transport, now)
        self.handle_timer(now)

    def send_request(
        self, request: Request, destination: Address, transport: str, now: float
    ) -> TransactionKey:
        """Start a client transaction for ``request`` and send it; return its key.

        The request must have a top Via; a branch is generated when it has none (a
        CANCEL keeps the branch of its INVITE, §9.1).  ACKs are not transactions: send
        the ACK for a 2xx with :meth:`send_stateless`.
        """
        if request.method == "ACK":
            raise ValueError("an ACK is not a transaction; use send_stateless")
        if request.cseq.method != request.method:
            raise ValueError("CSeq method differs from the request method")
        via = request.top_via
        if via.branch is None:
            via = via.with_param("branch", self.new_branch())
            request = _replace_top_via(request, via)
        key = TransactionKey(via.branch or "", request.method)
        if key in self._transactions:
            raise ValueError(f"client transaction {key} already exists")
        kind = Kind.INVITE_CLIENT if request.method == "INVITE" else Kind.NON_INVITE_CLIENT
        machine = MACHINES[kind]
        txn = _Transaction(key, machine, machine.initial, request, transport, destination)
        txn.wire = request.serialize()
        self._transactions[key] = txn
        self._send(txn, txn.wire)
        self._enter(txn, machine.initial, now)
        self.handle_timer(now)
        return key

    def send_response(self, key: TransactionKey, response: Response, now: float) -> None:
        """Send ``response`` on server transaction ``key``.

        Raises KeyError when the transaction is gone and TransactionStateError when the
        response is illegal in its state (e.g. a second final response).
        """
        txn = self._transactions.get(key)
        if txn is None or not key.server:
            raise KeyError(f"no server transaction {key}")
        self._apply(txn, self._send_stimulus(txn, response.status), now, response)
        self.handle_timer(now)

    def send_stateless(
        self, message: Request | Response, destination: Address, transport: str
    ) -> None:
        """Transmit a message outside any transaction (the ACK for a 2xx, §17.1.1.3)."""
        self._outbox.append(Datagram(message.serialize(), destination, transport))

    def transport_error(self, key: TransactionKey, now: float) -> None:
        """The I/O layer failed to send a datagram of ``key`` (§17.1.4, §17.2.4)."""
        txn = self._transactions.get(key)
        if txn is not None:
            self._apply(txn, Stimulus.TRANSPORT_ERROR, now)
            self.handle_timer(now)

    # -- running the machines -----------------------------------------------------------

    def _apply(
        self,
        txn: _Transaction,
        stimulus: Input,
        now: float,
        message: Request | Response | None = None,
        source: Address | None = None,
    ) -> None:
        old = txn.state
        new, actions = txn.machine.step(old, stimulus)
        txn.state = new
        for action in actions:
            self._act(txn, action, stimulus, now, message, source)
        if new is not old:
            self._enter(txn, new, now)

    def _act(
        self,
        txn: _Transaction,
        action: Action,
        stimulus: Input,
        now: float,
        message: Request | Response | None,
        source: Address | None,
    ) -> None:
        key = txn.key
        if action is Action.PASS_UP:
            if isinstance(message, Response):
                self._events.append(ResponseReceived(key, message))
            elif isinstance(message, Request) and source is not None:
                self._events.append(AckReceived(message, source, txn.transport, key))
        elif action is Action.RETRANSMIT_REQUEST:
            self._send(txn, txn.wire)
        elif action is Action.SEND_ACK:
            if not txn.ack_wire and isinstance(message, Response) and txn.request is not None:
                txn.ack_wire = make_ack(txn.request, message).serialize()
            self._send(txn, txn.ack_wire)
        elif action is Action.SEND_RESPONSE:
            if isinstance(message, Response):
                txn.last_to_tag = message.to_tag
                txn.last_wire = message.serialize()
                self._send(txn, txn.last_wire)
        elif action is Action.RESEND_RESPONSE:
            if txn.last_wire:
                self._send(txn, txn.last_wire)
        elif action is Action.BACKOFF:
            if isinstance(stimulus, Timer):
                proceeding = txn.state is NonInviteClientState.PROCEEDING
                interval = self.config.next_interval(
                    stimulus, txn.intervals[stimulus], proceeding=proceeding
                )
                txn.intervals[stimulus] = interval
                self._arm(txn, stimulus, now + interval)
        elif action is Action.REPORT_TIMEOUT:
            if isinstance(stimulus, Timer):
                self._events.append(TransactionTimeout(key, stimulus))
        elif action is Action.REPORT_TRANSPORT_ERROR:
            self._events.append(TransportError(key))

    def _enter(self, txn: _Transaction, state: State, now: float) -> None:
        machine = txn.machine
        if state is machine.terminated:
            self._remove(txn)
            return
        if state in _LINGERING:
            txn.request = None
        wanted = machine.timers.get(state, ())
        for timer in [t for t in txn.deadlines if t not in wanted]:
            del txn.deadlines[timer]
        for timer in wanted:
            if timer in txn.deadlines:
                continue
            duration = self.config.duration(timer, reliable=txn.reliable)
            if duration is not None:
                txn.intervals[timer] = duration
                self._arm(txn, timer, now + duration)

    def _arm(self, txn: _Transaction, timer: Timer, deadline: float) -> None:
        txn.deadlines[timer] = deadline
        self._seq += 1
        heapq.heappush(self._heap, _Entry(deadline, self._seq, txn, timer))

    def _live(self, entry: _Entry) -> bool:
        txn = entry.txn
        return (
            self._transactions.get(txn.key) is txn
            and txn.deadlines.get(entry.timer) == entry.deadline
        )

    def _remove(self, txn: _Transaction) -> None:
        txn.deadlines.clear()
        if self._transactions.get(txn.key) is txn:
            del self._transactions[txn.key]
        if txn.merge_key is not None and self._merge_index.get(txn.merge_key) == txn.key:
            del self._merge_index[txn.merge_key]
        self._events.append(TransactionTerminated(txn.key))

    def _send(self, txn: _Transaction, data: bytes) -> None:
        if txn.destination is None:
            self.stats.unroutable_responses += 1
            return
        self._outbox.append(Datagram(data, txn.destination, txn.transport, txn.key))

    @staticmethod
    def _send_stimulus(txn: _Transaction, status: int) -> Stimulus:
        if status < 200:
            return Stimulus.SEND_1XX
        if status < 300 and txn.machine.kind is Kind.INVITE_SERVER:
            return Stimulus.SEND_2XX
        return Stimulus.SEND_FINAL

    # -- responses (client side) ------------------------------------------------------

    def _on_response(self, response: Response, now: float) -> None:
        try:
            branch = response.top_via.branch
            method = response.cseq.method
        except SipError:
            self.stats.malformed += 1
            return
        txn = self._transactions.get(TransactionKey(branch or "", method))
        if branch is None or txn is None:
            self.stats.stray_responses += 1
            return
        status = response.status
        if status < 200:
            stimulus = Stimulus.RESPONSE_1XX
        elif status < 300 and txn.machine.kind is Kind.INVITE_CLIENT:
            stimulus = Stimulus.RESPONSE_2XX
        else:
            stimulus = Stimulus.RESPONSE_FINAL
        self._apply(txn, stimulus, now, response)

    # -- requests (server side) ---------------------------------------------------------

    def _on_request(self, request: Request, addr: Address, transport: str, now: float) -> None:
        try:
            if request.cseq.method != request.method:
                raise SipError(400, "CSeq method differs from the request method")
            _ = (request.call_id, request.from_tag, request.to_tag)
            key = self._server_key(request, request.to_tag)
        except SipError as exc:
            self._reject_malformed(exc.with_request_headers(request.fields), addr, transport)
            return
        stamped = stamp_received(request, addr)
        if request.method == "ACK":
            legacy = None if request.top_via.rfc3261_branch else self._server_key(request, None)
            self._on_ack(stamped, key, legacy, addr, transport, now)
            return
        existing = self._transactions.get(key)
        if existing is not None:
            self._apply(existing, Stimulus.REQUEST, now)
            return
        merged = self._merged_with(request, key)
        txn = self._open_server(stamped, key, addr, transport)
        if merged:
            self.stats.merged_requests += 1
            self._answer(txn, 482, now)
        elif request.method == "CANCEL":
            self._on_cancel(txn, self._server_key(request, request.to_tag, "INVITE"), addr, now)
        else:
            self._events.append(RequestReceived(key, stamped, addr, transport))
            if request.method == "INVITE" and self._send_trying:
                self._apply(txn, Stimulus.SEND_1XX, now, make_response(stamped, 100))

    def _open_server(
        self, request: Request, key: TransactionKey, addr: Address, transport: str
    ) -> _Transaction:
        kind = Kind.INVITE_SERVER if request.method == "INVITE" else Kind.NON_INVITE_SERVER
        machine = MACHINES[kind]
        route = response_destination_for(request, addr)
        destination = None if route is None else Address(route.host, route.port)
        txn = _Transaction(key, machine, machine.initial, request, transport, destination)
        self._transactions[key] = txn
        if request.to_tag is None and request.from_tag is not None:
            cseq = request.cseq
            merge_key = (request.from_tag, request.call_id, cseq.number, cseq.method)
            self._merge_index.setdefault(merge_key, key)
            txn.merge_key = merge_key
        return txn

    def _merged_with(self, request: Request, key: TransactionKey) -> bool:
        if not self._detect_merged or request.to_tag is not None or request.from_tag is None:
            return False
        cseq = request.cseq
        other = self._merge_index.get((request.from_tag, request.call_id, cseq.number, cseq.method))
        return other is not None and other != key and other in self._transactions

    def _answer(self, txn: _Transaction, status: int, now: float) -> None:
        assert txn.request is not None, "answered before its final response"
        response = make_response(txn.request, status, to_tag=self.new_tag())
        self._apply(txn, self._send_stimulus(txn, status), now, response)

    def _on_cancel(
        self, txn: _Transaction, invite_key: TransactionKey, addr: Address, now: float
    ) -> None:
        cancel = txn.request
        assert cancel is not None, "a new CANCEL transaction holds its request"
        if invite_key in self._transactions:
            event = CancelReceived(invite_key, txn.key, cancel, addr, txn.transport)
            self._events.append(event)
        elif self._answer_unmatched_cancel:
            self.stats.unmatched_cancels += 1
            self._answer(txn, 481, now)
        else:
            self._events.append(RequestReceived(txn.key, cancel, addr, txn.transport))

    def _on_ack(
        self,
        ack: Request,
        key: TransactionKey,
        legacy_key: TransactionKey | None,
        addr: Address,
        transport: str,
        now: float,
    ) -> None:
        txn = self._transactions.get(key)
        if txn is None and legacy_key is not None:
            # RFC 2543: the ACK carries the To tag of our response, the INVITE had none.
            legacy = self._transactions.get(legacy_key)
            if legacy is not None and legacy.last_wire and legacy.last_to_tag == ack.to_tag:
                txn = legacy
        if txn is None or txn.machine.kind is not Kind.INVITE_SERVER:
            self._events.append(AckReceived(ack, addr, transport))
            return
        self._apply(txn, Stimulus.ACK, now, ack, addr)

    @staticmethod
    def _server_key(
        request: Request, to_tag: str | None, method: str | None = None
    ) -> TransactionKey:
        via = request.top_via
        if method is None:
            method = "INVITE" if request.method == "ACK" else request.method
        sent_by = via.sent_by.lower()
        if via.rfc3261_branch and via.branch is not None:
            return TransactionKey(via.branch, method, True, sent_by)
        cseq = request.cseq
        legacy = "|".join(
            (
                "rfc2543",
                str(request.uri),
                to_tag or "",
                request.from_tag or "",
                request.call_id,
                str(cseq.number),
                str(via),
            )
        )
        return TransactionKey(legacy, method, True, sent_by)

    def _reject_malformed(self, error: SipError, addr: Address, transport: str) -> None:
        self.stats.malformed += 1
        response = make_error_response(error, to_tag=self.new_tag())
        if response is None:
            return
        if (response.header("CSeq") or "").split()[-1:] == ["ACK"]:
            return  # an ACK is never answered (§17.2.1)
        try:
            route = response_destination(response.top_via, addr)
        except SipError:
            return
        if route is None:
            self.stats.unroutable_responses += 1
            return
        destination = Address(route.host, route.port)
        self._outbox.append(Datagram(response.serialize(), destination, transport))
