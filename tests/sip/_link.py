"""Two in-memory SIP peers joined by a lossy network, driven by a fake clock.

Each :class:`Peer` is a :class:`TransactionLayer` at an address with a small TU
``handler`` called for every event.  :class:`Link` moves datagrams between them, with
hooks to drop, duplicate and reorder datagrams, and advances its clock from timer to
timer (layer timers and TU timers alike): no sleeping, no wall clock.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from helpline.sip.message import Request, Response, parse_message
from helpline.sip.routing import Address
from helpline.sip.transaction import Datagram, Event, TransactionKey
from helpline.sip.transaction_layer import TransactionLayer

Handler = Callable[["Peer", Event, float], None]
_E = TypeVar("_E")


@dataclass
class Peer:
    """One SIP node: a transaction layer, its address, its TU and what it saw."""

    name: str
    address: Address
    layer: TransactionLayer
    link: Link | None = None
    handler: Handler | None = None
    log: list[tuple[float, Event]] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return [e for _, e in self.log]

    def of_type(self, kind: type[_E]) -> list[_E]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class Sent:
    """One datagram put on the wire, with when and by whom."""

    at: float
    sender: str
    datagram: Datagram
    dropped: bool

    @property
    def message(self) -> Request | Response:
        return parse_message(self.datagram.data)

    @property
    def first_line(self) -> str:
        return self.datagram.data.split(b"\r\n", 1)[0].decode()


class Link:
    """Joins two peers; ``drop`` / ``duplicate`` decide per datagram, ``reorder`` reverses
    each batch in flight."""

    def __init__(self, a: Peer, b: Peer) -> None:
        self.peers = (a, b)
        a.link = b.link = self
        self.now = 0.0
        self.drop: Callable[[Datagram], bool] = lambda d: False
        self.duplicate: Callable[[Datagram], bool] = lambda d: False
        self.reorder = False
        self.wire: list[Sent] = []
        self.undeliverable = 0
        self._tu_timers: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = 0

    def call_at(self, at: float, action: Callable[[float], None]) -> None:
        """Schedule a TU action (e.g. a 2xx retransmission) on the fake clock."""
        self._seq += 1
        heapq.heappush(self._tu_timers, (at, self._seq, action))

    def sent_by(self, name: str, prefix: str) -> list[Sent]:
        """Datagrams sent by ``name`` whose first line starts with ``prefix``."""
        return [s for s in self.wire if s.sender == name and s.first_line.startswith(prefix)]

    def pump(self) -> None:
        """Deliver datagrams and events until the network and the TUs are quiet."""
        while True:
            moved = self._drain_events()
            batch: list[tuple[Peer, Datagram]] = []
            for peer in self.peers:
                for datagram in peer.layer.datagrams_to_send(self.now):
                    dropped = self.drop(datagram)
                    self.wire.append(Sent(self.now, peer.name, datagram, dropped))
                    if dropped:
                        continue
                    batch.append((peer, datagram))
                    if self.duplicate(datagram):
                        batch.append((peer, datagram))
            if self.reorder:
                batch.reverse()
            for sender, datagram in batch:
                self._deliver(sender, datagram)
            if not batch and not moved:
                return

    def _deliver(self, sender: Peer, datagram: Datagram) -> None:
        for peer in self.peers:
            if peer is not sender and peer.address == datagram.destination:
                peer.layer.receive_datagram(
                    datagram.data, sender.address, self.now, datagram.transport
                )
                return
        self.undeliverable += 1

    def _drain_events(self) -> bool:
        moved = False
        for peer in self.peers:
            while (event := peer.layer.next_event()) is not None:
                moved = True
                peer.log.append((self.now, event))
                if peer.handler is not None:
                    peer.handler(peer, event, self.now)
        return moved

    def next_deadline(self) -> float | None:
        """The earliest layer or TU timer."""
        deadlines = [t for p in self.peers if (t := p.layer.get_timer()) is not None]
        if self._tu_timers:
            deadlines.append(self._tu_timers[0][0])
        return min(deadlines) if deadlines else None

    def run(self, until: float | None = None) -> None:
        """Pump, then jump from deadline to deadline up to ``until`` (None: until idle);
        the clock ends at ``until`` when given."""
        self.pump()
        limit = float("inf") if until is None else until
        while (deadline := self.next_deadline()) is not None and deadline <= limit:
            self.now = max(self.now, deadline)
            for peer in self.peers:
                peer.layer.handle_timer(self.now)
            while self._tu_timers and self._tu_timers[0][0] <= self.now:
                _, _, action = heapq.heappop(self._tu_timers)
                action(self.now)
            self.pump()
        if until is not None:
            self.now = max(self.now, until)


ALICE = Address("10.0.0.1", 5060)
BOB = Address("10.0.0.2", 5060)


def make_pair(seed: int = 1) -> tuple[Peer, Peer, Link]:
    """Alice (client side) and Bob (server side) with deterministic identifiers."""
    alice = Peer("alice", ALICE, TransactionLayer(rng=random.Random(seed)))
    bob = Peer("bob", BOB, TransactionLayer(rng=random.Random(seed + 1000)))
    return alice, bob, Link(alice, bob)


def request(
    method: str = "INVITE",
    *,
    branch: str | None = "z9hG4bKa1",
    transport: str = "UDP",
    cseq: int = 1,
    call_id: str = "call-1",
    from_tag: str = "ft1",
    to_tag: str | None = None,
    via_host: str = "10.0.0.1:5060",
    extra_via: str = "",
) -> Request:
    """A minimal valid request from Alice to Bob."""
    params = f";branch={branch}" if branch else ""
    to = "<sip:bob@10.0.0.2>" + (f";tag={to_tag}" if to_tag else "")
    text = (
        f"{method} sip:bob@10.0.0.2 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {via_host}{params}{extra_via}\r\n"
        "Max-Forwards: 70\r\n"
        f"To: {to}\r\n"
        f"From: <sip:alice@10.0.0.1>;tag={from_tag}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:alice@10.0.0.1>\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def ack_for_2xx(invite: Request, response: Response, branch: str) -> Request:
    """The UAC core's ACK for a 2xx (§13.2.2.4): a new branch, CSeq number of the INVITE."""
    return request(
        "ACK",
        branch=branch,
        transport=invite.top_via.transport,
        cseq=invite.cseq.number,
        call_id=invite.call_id,
        from_tag=invite.from_tag or "",
        to_tag=response.to_tag,
    )


def key_of(event: object) -> TransactionKey:
    """The ``key`` field of an event."""
    key = getattr(event, "key", None)
    assert isinstance(key, TransactionKey)
    return key
