"""The node's SIP core until call control lands: a stateless responder.

Placeholder handler: it counts what arrives and answers nothing; the RFC 3261 message
layer (``helpline.sip``) replaces this with real responses.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.telephony.transport import Address, Outgoing, Transport


@dataclass(slots=True)
class Counters:
    """Messages seen by the core."""

    received: int = 0


class _Stream:
    def __init__(self, core: SipCore) -> None:
        self.core = core

    def feed(self, data: bytes) -> list[bytes]:
        self.core.counters.received += 1
        return []


class SipCore:
    """Consumes SIP bytes; answers nothing yet."""

    def __init__(self) -> None:
        self.counters = Counters()

    def on_datagram(self, data: bytes, source: Address, transport: Transport) -> list[Outgoing]:
        """Count the datagram."""
        self.counters.received += 1
        return []

    def open_stream(self, source: Address, transport: Transport) -> _Stream:
        """A session for a TCP connection."""
        return _Stream(self)
