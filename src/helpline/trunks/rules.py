"""Pure trunk rules for call control: which trunk a call came in on, which trunks may
carry a dialed number, how the number is rewritten, and which caller ID goes out.

Theory of operation: call control loads a tenant's trunks once as frozen
:class:`TrunkConfig` values (``helpline.trunks.service.to_config``) and asks these
functions; nothing here touches the database, a socket or a clock.

* Inbound (RFC 3261 §26.3.2.2 leaves peer admission to policy): a trunk in ``allowlist``
  mode admits requests whose packet source lies in one of its ``allowed_sources``
  (addresses or CIDR networks) or equals its own host when that is an IP literal.  The
  most specific match wins (longest network prefix), then the lower ``priority``.
  Trunks in ``digest`` mode are admitted by RFC 7616 digest instead and never match
  here.
* Outbound: enabled trunks whose ``prefixes`` start the dialed number (no prefixes =
  every number), by ``priority`` (lower first) then longest matching prefix; the number
  is rewritten by dropping ``strip_digits`` leading characters and prepending
  ``prepend``.
* Caller ID: the calling account's own number (``account`` mode) or the trunk's fixed
  one; ``anonymous`` asks for RFC 3323 privacy (``Privacy: id`` and an anonymous From),
  the real identity travelling only in P-Asserted-Identity (RFC 3325).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ANONYMOUS_NAME",
    "ANONYMOUS_USER",
    "CallerId",
    "CallerIdMode",
    "InboundMode",
    "Transport",
    "TrunkConfig",
    "caller_id",
    "choose_outbound",
    "ip_literal",
    "match_inbound",
    "rewrite_number",
]

#: The From of an anonymous call (RFC 3323 §4.1.1.3).
ANONYMOUS_USER = "anonymous"
ANONYMOUS_NAME = "Anonymous"

_Ip = ipaddress.IPv4Address | ipaddress.IPv6Address
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


class Transport(StrEnum):
    """How SIP reaches the trunk's host."""

    UDP = "UDP"
    TCP = "TCP"
    TLS = "TLS"


class InboundMode(StrEnum):
    """How requests from the provider are admitted."""

    ALLOWLIST = "allowlist"
    DIGEST = "digest"


class CallerIdMode(StrEnum):
    """Whose number is presented on outbound calls."""

    ACCOUNT = "account"
    """The calling SIP account's own caller ID when it has one, else the trunk's."""
    FIXED = "fixed"
    """Always the trunk's caller ID."""


@dataclass(frozen=True, slots=True)
class TrunkConfig:
    """One trunk as call control sees it (never an ORM row)."""

    id: int
    tenant_id: int
    name: str
    host: str
    port: int = 5060
    transport: Transport = Transport.UDP
    enabled: bool = True
    inbound_mode: InboundMode = InboundMode.ALLOWLIST
    allowed_sources: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth_realm: str | None = None
    register_enabled: bool = False
    register_expires: int = 3600
    from_domain: str | None = None
    prefixes: tuple[str, ...] = ()
    strip_digits: int = 0
    prepend: str = ""
    priority: int = 100
    caller_id_mode: CallerIdMode = CallerIdMode.ACCOUNT
    caller_id_number: str | None = None
    caller_id_name: str | None = None
    anonymous: bool = False
    max_channels: int | None = None


@dataclass(frozen=True, slots=True)
class CallerId:
    """The identity an outbound call presents."""

    number: str | None
    name: str | None
    anonymous: bool = False

    @property
    def from_user(self) -> str | None:
        """The user part of the From URI (``anonymous`` when withheld)."""
        return ANONYMOUS_USER if self.anonymous else self.number

    @property
    def from_name(self) -> str | None:
        """The From display name (``Anonymous`` when withheld)."""
        return ANONYMOUS_NAME if self.anonymous else self.name

    @property
    def privacy(self) -> str | None:
        """The Privacy header value (RFC 3323 §4.2), None when the identity is shown."""
        return "id" if self.anonymous else None


def ip_literal(text: str) -> _Ip | None:
    """``text`` as an IP address (IPv6 brackets allowed, IPv4-mapped IPv6 unwrapped)."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _networks(trunk: TrunkConfig) -> Iterable[_Net]:
    for source in trunk.allowed_sources:
        try:
            yield ipaddress.ip_network(source, strict=False)
        except ValueError:
            continue  # rejected by the API already; a bad stored value admits nobody
    own = ip_literal(trunk.host)
    if own is not None:
        yield ipaddress.ip_network(own)


def _inbound_rank(trunk: TrunkConfig, address: _Ip) -> int | None:
    """The longest prefix of the trunk's allowlist containing ``address``, else None."""
    lengths = [n.prefixlen for n in _networks(trunk) if address in n]
    return max(lengths) if lengths else None


def match_inbound(trunks: Iterable[TrunkConfig], source_ip: str) -> TrunkConfig | None:
    """The enabled allowlist trunk admitting packets from ``source_ip``, else None.

    The most specific allowlist entry wins, then the lower priority, then the lower id.
    """
    address = ip_literal(source_ip)
    if address is None:
        return None
    best: tuple[int, int, int] | None = None
    found: TrunkConfig | None = None
    for trunk in trunks:
        if not trunk.enabled or trunk.inbound_mode is not InboundMode.ALLOWLIST:
            continue
        rank = _inbound_rank(trunk, address)
        if rank is None:
            continue
        key = (-rank, trunk.priority, trunk.id)
        if best is None or key < best:
            best, found = key, trunk
    return found


def _prefix_length(trunk: TrunkConfig, dialed: str) -> int | None:
    """Length of the longest prefix of ``trunk`` starting ``dialed`` (0 for catch-all)."""
    if not trunk.prefixes:
        return 0
    lengths = [len(p) for p in trunk.prefixes if dialed.startswith(p)]
    return max(lengths) if lengths else None


def choose_outbound(trunks: Iterable[TrunkConfig], dialed: str) -> list[TrunkConfig]:
    """Enabled trunks that take ``dialed``, in the order to try them.

    Lower ``priority`` first; among equal priorities the longest matching prefix, then
    the lower id.
    """
    ranked: list[tuple[int, int, int, TrunkConfig]] = []
    for trunk in trunks:
        if not trunk.enabled:
            continue
        length = _prefix_length(trunk, dialed)
        if length is not None:
            ranked.append((trunk.priority, -length, trunk.id, trunk))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked]


def rewrite_number(trunk: TrunkConfig, dialed: str) -> str:
    """The number sent to the trunk: ``strip_digits`` leading characters dropped, then
    ``prepend`` put in front."""
    return trunk.prepend + dialed[trunk.strip_digits :]


def caller_id(
    trunk: TrunkConfig, account_caller_id: str | None, account_name: str | None
) -> CallerId:
    """The caller ID an outbound call on ``trunk`` presents.

    In ``account`` mode the calling account's number and name are used when it has
    them, each falling back to the trunk's; in ``fixed`` mode the trunk's are used.  A
    number may still be None when neither is configured (call control then uses the
    trunk's username).
    """
    if trunk.caller_id_mode is CallerIdMode.ACCOUNT:
        number = account_caller_id or trunk.caller_id_number
        name = account_name or trunk.caller_id_name
    else:
        number, name = trunk.caller_id_number, trunk.caller_id_name
    return CallerId(number=number, name=name, anonymous=trunk.anonymous)
