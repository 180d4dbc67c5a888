"""The node's SIP core (sans-IO): the edge every SIP message passes first.

Bytes, a source address, a transport and the time go in; bytes to send come out. In
order: the per-source rate limit and bans (``abuse.Edge``); parsing, where a broken
request is answered with the status RFC 3261 and RFC 4475 give it and a broken response
is dropped (§18.1.2); scanners are dropped unanswered; requests are validated (§8.2);
OPTIONS is answered (§11.2); an in-dialog request for a dialog this node does not have
gets 481 (§12.2.2); responses to requests are routed per §18.2.2 and RFC 3581 and never
to broadcast or multicast addresses. Dialog-creating requests are left to call control.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from helpline import __version__
from helpline.sip.errors import SipError
from helpline.sip.framing import KeepAlive, StreamFramer
from helpline.sip.headers import Header
from helpline.sip.message import (
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from helpline.sip.routing import response_destination, response_destination_for
from helpline.sip.validate import Policy, rejection_response, validate_request
from helpline.telephony.abuse import Edge, Refusal
from helpline.telephony.wire import Address, Outgoing, Transport

log = logging.getLogger(__name__)

ALLOWED = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "UPDATE", "REGISTER")
ALLOW_HEADER = Header("Allow", ", ".join(ALLOWED))
SERVER_HEADER = Header("Server", f"Helpline/{__version__}")
POLICY = Policy(allowed_methods=frozenset(ALLOWED))


@dataclass(slots=True)
class Counters:
    """Messages seen and answered by the core."""

    received: int = 0
    requests: int = 0
    responses: int = 0
    dropped_responses: int = 0


class SipCore:
    """Answers what a node answers statelessly; counts everything it refuses."""

    def __init__(self, edge: Edge | None = None) -> None:
        self.edge = edge or Edge()
        self.counters = Counters()

    def on_datagram(
        self, data: bytes, source: Address, transport: Transport, now: float
    ) -> list[Outgoing]:
        """Handle one datagram; what to send in reply."""
        self.counters.received += 1
        if not data.strip(b"\r\n"):
            return []
        if self.edge.admit(source.host, now) is not None:
            return []
        try:
            message = parse_message(data)
        except SipError as exc:
            return self.answer_broken(exc, source, transport)
        return self.handle_message(message, source, transport)

    def open_stream(self, source: Address, transport: Transport) -> StreamSession:
        """State for a new stream (TCP/TLS) connection from ``source``."""
        return StreamSession(self, source, transport)

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
        self, message: Request | Response, source: Address, transport: Transport
    ) -> list[Outgoing]:
        """Handle one parsed message from ``source``; what to send in reply."""
        if isinstance(message, Response):
            self.counters.responses += 1
            self.counters.dropped_responses += 1
            return []
        self.counters.requests += 1
        request = message
        if self.edge.is_scanner(request.header("User-Agent")):
            self.edge.refuse(Refusal.SCANNER)
            return []
        response = self._respond(request)
        if response is None:
            return []
        dest = response_destination_for(request, source)
        if dest is None:
            return []
        return [Outgoing(response.serialize(), Address(dest.host, dest.port), transport)]

    def _respond(self, request: Request) -> Response | None:
        rejection = validate_request(request, POLICY)
        if rejection is not None:
            self.edge.refuse(Refusal.MALFORMED if rejection.status == 400 else Refusal.REJECTED)
            if request.method == "ACK":
                return None
            return rejection_response(request, rejection, to_tag=_tag(request))
        if request.method == "ACK":
            return None
        if request.method == "OPTIONS":
            return make_response(
                request,
                200,
                to_tag=_tag(request),
                extra=(ALLOW_HEADER, Header("Accept", "application/sdp"), SERVER_HEADER),
            )
        if request.to_tag is not None:
            return make_response(request, 481)
        return make_response(request, 480, to_tag=_tag(request), extra=(SERVER_HEADER,))


def _tag(request: Request) -> str:
    """A To tag for a stateless response: the same for retransmissions of one request."""
    key = "\n".join(request.header(n) or "" for n in ("Call-ID", "From", "CSeq")).encode()
    return "hl" + hashlib.blake2s(key, digest_size=6).hexdigest()


class StreamSession:
    """One TCP/TLS connection: frames the byte stream, answers keep-alives."""

    def __init__(self, core: SipCore, source: Address, transport: Transport) -> None:
        self.core = core
        self.source = source
        self.transport = transport
        self.framer = StreamFramer()

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """Consume bytes from the connection; what to write back on it."""
        replies: list[bytes] = []
        for item in self.framer.feed(data):
            if isinstance(item, KeepAlive):
                replies.append(item.reply)
                continue
            self.core.counters.received += 1
            if self.core.edge.admit(self.source.host, now) is not None:
                continue
            out = (
                self.core.answer_broken(item, self.source, self.transport)
                if isinstance(item, SipError)
                else self.core.handle_message(item, self.source, self.transport)
            )
            replies.extend(o.data for o in out)
        return replies

    @property
    def closed(self) -> bool:
        """Whether framing failed and the connection must be closed."""
        return self.framer.failed
