"""Values exchanged between the SIP transports and the sans-IO core."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from helpline.sip.routing import Address

__all__ = ["Address", "Outgoing", "Transport"]


class Transport(StrEnum):
    """SIP transports, as named in Via headers."""

    UDP = "UDP"
    TCP = "TCP"
    TLS = "TLS"
    WS = "WS"
    WSS = "WSS"

    @property
    def reliable(self) -> bool:
        """Whether the transport retransmits by itself (timers shrink, §17)."""
        return self is not Transport.UDP


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes to send: to ``dest`` over UDP, or back on the connection they came from."""

    data: bytes
    dest: Address
    transport: Transport = Transport.UDP
