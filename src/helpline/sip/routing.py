"""Where responses go: RFC 3261 §18.2.1/§18.2.2 with RFC 3581 symmetric response routing.

Theory of operation: a server transport stamps the top Via of each received request with
``received`` (when sent-by differs from the packet source) and, if the client asked with
a valueless ``rport``, the source port (§18.2.1, RFC 3581 §4).  A response then goes:
over the same connection for reliable transports; to ``maddr`` if present; otherwise to
the ``received`` address (the packet source) and the ``rport`` or sent-by port (default
5060/5061).  When no source is known (a proxy forwarding a response using the next Via)
``received``/sent-by are used instead.  Responses are never sent to broadcast, multicast
or unspecified addresses (RFC 4475 §3.3.10): the functions return None, meaning drop.
A host name in the result still needs RFC 3263 resolution; check the resolved address
again with :func:`is_forbidden_destination`.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from helpline.sip.headers import Via
from helpline.sip.message import Request
from helpline.sip.timers import RELIABLE_TRANSPORTS

__all__ = [
    "Address",
    "ResponseDestination",
    "is_forbidden_destination",
    "response_destination",
    "response_destination_for",
    "stamp_received",
]

_SECURE = frozenset(("TLS", "TLS-SCTP", "WSS"))
_LIMITED_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


@dataclass(frozen=True, slots=True)
class Address:
    """An IP address (no brackets for IPv6) and port, e.g. a packet source.

    ``name`` is the host name the address was resolved from (a trunk configured by
    name): a TLS connection to the address verifies the server's certificate against
    it and sends it as the server name (RFC 5922 §7.2, RFC 6066 SNI). Empty for
    addresses that came as IP literals or from packets.
    """

    host: str
    port: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class ResponseDestination:
    """Where a response goes; ``use_connection`` means "back over the same connection"."""

    host: str
    port: int
    transport: str
    use_connection: bool = False
    needs_resolution: bool = False


@functools.lru_cache(maxsize=1024)
def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_forbidden_destination(host: str) -> bool:
    """True for broadcast, multicast and unspecified addresses (never answer there)."""
    ip = _ip(host)
    if ip is None:
        return False
    if ip.is_multicast or ip.is_unspecified:
        return True
    return ip == _LIMITED_BROADCAST


def response_destination(via: Via, source: Address | None = None) -> ResponseDestination | None:
    """Destination of a response for ``via`` (§18.2.2, RFC 3581); None means drop.

    ``source`` is where the request came from, or None when forwarding a response
    along a Via that is not our own.
    """
    transport = via.transport
    default_port = 5061 if transport in _SECURE else 5060
    if source is not None and transport in RELIABLE_TRANSPORTS:
        host, port, reuse = source.host, source.port, True
    elif via.maddr:
        host, port, reuse = via.maddr, via.port or default_port, False
    elif source is not None:
        host = via.received or source.host
        port = source.port if via.has_rport else (via.port or default_port)
        reuse = False
    else:
        host = via.received or via.host
        port = via.rport or via.port or default_port
        reuse = False
    if is_forbidden_destination(host):
        return None
    return ResponseDestination(
        host.strip("[]"), port, transport, reuse, needs_resolution=_ip(host) is None
    )


def response_destination_for(
    request: Request, source: Address | None = None
) -> ResponseDestination | None:
    """Destination of responses to ``request`` (its top Via); None means drop."""
    return response_destination(request.top_via, source)


def stamp_received(request: Request, source: Address) -> Request:
    """Add ``received`` and the ``rport`` value to the top Via (§18.2.1, RFC 3581 §4)."""
    via = request.top_via
    stamped = via
    if via.host.strip("[]") != source.host:
        stamped = stamped.with_param("received", source.host)
    if via.has_rport and via.rport is None:
        stamped = stamped.with_param("rport", str(source.port))
    if stamped is via:
        return request
    return request.with_top_via(stamped)
