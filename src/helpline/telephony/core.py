"""The node's SIP core (sans-IO): the edge every message passes, then the UA core.

Bytes, a source address, a transport and the time go in; bytes to send come out. In
order: the per-source rate limit and bans (``abuse.Edge``); parsing, where a broken
request is answered with the status RFC 3261 and RFC 4475 give it and a broken response
is dropped (§18.1.2); scanners are dropped unanswered; requests are validated (§8.2).
What passes goes to the :class:`~helpline.sip.ua.UserAgent` (transactions, dialogs,
OPTIONS, 481), whose call events call control reads with ``next_event``. Responses are
routed per §18.2.2 and RFC 3581 and never to broadcast or multicast addresses. A
message of a transaction that the transports could not deliver comes back through
``send_failed``: the transaction ends with a transport error (§17.1.4, §17.2.4), which
the UA reports as a 503 (§8.1.3.1).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from helpline import __version__
from helpline.sip.errors import SipError
from helpline.sip.framing import KeepAlive, StreamFramer
from helpline.sip.message import Request, Response, make_error_response, parse_message
from helpline.sip.routing import response_destination
from helpline.sip.transaction import Datagram, TransactionKey
from helpline.sip.ua import ALLOW, LocalAddress, UaEvent, UserAgent
from helpline.sip.validate import Policy, rejection_response, validate_request
from helpline.telephony.abuse import Edge, Refusal
from helpline.telephony.wire import Address, Outgoing, Transport

log = logging.getLogger(__name__)

POLICY = Policy(allowed_methods=frozenset(m.strip() for m in ALLOW.split(",")))


@dataclass(slots=True)
class Counters:
    """Messages seen by the core."""

    received: int = 0
    requests: int = 0
    responses: int = 0


class SipCore:
    """The edge filters and the UA core of one node."""

    def __init__(
        self,
        local: dict[str, LocalAddress] | None = None,
        edge: Edge | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.edge = edge or Edge()
        self.counters = Counters()
        self.ua = UserAgent(
            local or {"UDP": LocalAddress("127.0.0.1", 5060)},
            rng=rng,
            server=f"Helpline/{__version__}",
        )

    def on_datagram(
        self, data: bytes, source: Address, transport: Transport, now: float
    ) -> list[Outgoing]:
        """Handle one datagram (or WebSocket message); what to send."""
        self.counters.received += 1
        if not data or (data[0] in b"\r\n" and not data.strip(b"\r\n")):
            return []
        if self.edge.admit(source.host, now) is not None:
            return []
        try:
            message = parse_message(data, stream=transport.reliable)
        except SipError as exc:
            return self.answer_broken(exc, source, transport)
        return self.handle_message(message, source, transport, now)

    def open_stream(self, source: Address, transport: Transport) -> StreamSession:
        """State for a new stream (TCP/TLS) connection from ``source``."""
        return StreamSession(self, source, transport)

    def next_event(self) -> UaEvent | None:
        """The next call event for call control."""
        return self.ua.next_event()

    def get_timer(self) -> float | None:
        """When ``handle_timer`` must run next."""
        return self.ua.get_timer()

    def handle_timer(self, now: float) -> list[Outgoing]:
        """Fire due timers; what to send."""
        self.ua.handle_timer(now)
        return self.outgoing(now)

    def outgoing(self, now: float) -> list[Outgoing]:
        """What the UA core has queued to send."""
        return [_outgoing(d) for d in self.ua.datagrams_to_send(now)]

    def send_failed(self, out: Outgoing, now: float) -> list[Outgoing]:
        """The transports could not deliver ``out``: fail its transaction; what to send."""
        if isinstance(out, TransactionOutgoing) and out.key is not None:
            self.ua.layer.transport_error(out.key, now)
            # The UA turns the layer's events into call events when it runs timers.
            self.ua.handle_timer(now)
        return self.outgoing(now)

    def answer_broken(self, exc: SipError, source: Address, transport: Transport) -> list[Outgoing]:
        """The error response a broken request gets (none for a broken response)."""
        self.edge.refuse(Refusal.MALFORMED)
        response = make_error_response(exc)
        if response is None:
            return []
        try:
            via = response.top_via
        except SipError:
            return []
        dest = response_destination(via, source)
        if dest is None:
            return []
        return [Outgoing(response.serialize(), Address(dest.host, dest.port), transport)]

    def handle_message(
        self, message: Request | Response, source: Address, transport: Transport, now: float
    ) -> list[Outgoing]:
        """Handle one parsed message from ``source``; what to send."""
        if isinstance(message, Response):
            self.counters.responses += 1
        else:
            self.counters.requests += 1
            refused = self._refuse(message, source, transport)
            if refused is not None:
                return refused
        self.ua.receive_message(message, source, transport.value, now)
        return self.outgoing(now)

    def _refuse(
        self, request: Request, source: Address, transport: Transport
    ) -> list[Outgoing] | None:
        if self.edge.is_scanner(request.header("User-Agent")):
            self.edge.refuse(Refusal.SCANNER)
            return []
        rejection = validate_request(request, POLICY)
        if rejection is None:
            return None
        self.edge.refuse(Refusal.MALFORMED if rejection.status == 400 else Refusal.REJECTED)
        if request.method == "ACK":
            return []
        response = rejection_response(request, rejection, to_tag=self.ua.layer.new_tag())
        response = response.with_fields((*response.fields, self.ua.server))
        dest = response_destination(request.top_via, source)
        if dest is None:
            return []
        return [Outgoing(response.serialize(), Address(dest.host, dest.port), transport)]


@dataclass(frozen=True, slots=True)
class TransactionOutgoing(Outgoing):
    """Bytes of transaction ``key``, so that a failed send can be reported to it."""

    key: TransactionKey | None = None


_TRANSPORTS = {t.value: t for t in Transport}


def _outgoing(datagram: Datagram) -> Outgoing:
    transport = _TRANSPORTS.get(datagram.transport) or Transport(datagram.transport)
    if datagram.key is None:
        return Outgoing(datagram.data, datagram.destination, transport)
    return TransactionOutgoing(datagram.data, datagram.destination, transport, datagram.key)


class StreamSession:
    """One TCP/TLS connection: frames the byte stream, answers keep-alives."""

    def __init__(self, core: SipCore, source: Address, transport: Transport) -> None:
        self.core = core
        self.source = source
        self.transport = transport
        self.framer = StreamFramer()

    def feed(self, data: bytes, now: float) -> list[Outgoing]:
        """Consume bytes from the connection; what to send."""
        out: list[Outgoing] = []
        for item in self.framer.feed(data):
            if isinstance(item, KeepAlive):
                if item.reply:
                    out.append(Outgoing(item.reply, self.source, self.transport))
                continue
            self.core.counters.received += 1
            if self.core.edge.admit(self.source.host, now) is not None:
                continue
            if isinstance(item, SipError):
                out += self.core.answer_broken(item, self.source, self.transport)
            else:
                out += self.core.handle_message(item, self.source, self.transport, now)
        return out

    @property
    def closed(self) -> bool:
        """Whether framing failed and the connection must be closed."""
        return self.framer.failed
