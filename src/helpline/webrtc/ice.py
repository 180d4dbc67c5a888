"""Which local addresses the gateway offers as ICE host candidates (RFC 8445 §5.1.1.1).

aioice (under aiortc) gathers one host candidate per address of every network
interface, leaving out 127.0.0.1, and has no per-connection option to choose them. A
server wants the opposite: offer exactly the addresses browsers can reach (its public
interface), and in tests only the loopback address. :func:`use_host_addresses`
therefore replaces aioice's module-level address lookup, once per process, with one
that answers the configured addresses (all interfaces again with an empty tuple). It
is the one place the gateway reaches into aioice; all gateways of a process share the
setting.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

import aioice.ice

_Lookup = Callable[[bool, bool], list[str]]

_ORIGINAL: _Lookup = aioice.ice.get_host_addresses
_addresses: tuple[str, ...] = ()


def _lookup(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if not _addresses:
        return _ORIGINAL(use_ipv4, use_ipv6)
    return [
        address
        for address in _addresses
        if (use_ipv6 if ipaddress.ip_address(address).version == 6 else use_ipv4)
    ]


def parse_addresses(text: str) -> tuple[str, ...]:
    """Comma-separated IP addresses (a setting) as a tuple; ValueError for a bad one."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(str(ipaddress.ip_address(part)) for part in parts)


def use_host_addresses(addresses: Iterable[str]) -> None:
    """Gather host candidates on exactly ``addresses`` from now on (every interface
    when empty)."""
    global _addresses
    _addresses = tuple(str(ipaddress.ip_address(a)) for a in addresses)
    aioice.ice.get_host_addresses = _lookup


def host_addresses() -> tuple[str, ...]:
    """The addresses set by :func:`use_host_addresses` (empty: every interface)."""
    return _addresses
