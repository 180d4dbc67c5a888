"""Trunks as call control uses them: who is calling in, and how a call goes out.

Theory of operation: every enabled trunk of every tenant is read from the database and
cached (:class:`~helpline.telephony.config_cache.ConfigCache`). An INVITE whose
source address is on a trunk's allowlist comes from that trunk (its tenant, no
authentication); a trunk in ``digest`` mode authenticates like a phone, with the
trunk's username and password. An outbound call picks the trunks whose prefixes match
the dialed number (:func:`helpline.trunks.rules.choose_outbound`), rewrites the
number, presents the trunk's caller-ID rules and answers the provider's challenge
with the trunk's credentials; when a trunk fails with a server error or a timeout the
next one is tried.

A trunk host that is not an IP literal is resolved with ``getaddrinfo`` (A/AAAA); DNS
SRV and NAPTR (RFC 3263) are not used yet. The resolved address keeps the host name, so
that a TLS trunk's certificate is verified against the name configured, not the IP
address (RFC 5922 §7.2), and the name is sent for SNI.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.runtime import Runtime
from helpline.sip.headers import Header, NameAddr
from helpline.sip.routing import Address
from helpline.sip.uri import SipUri
from helpline.telephony.config_cache import ConfigCache
from helpline.trunks import rules
from helpline.trunks import service as trunks
from helpline.trunks.rules import TrunkConfig

#: Resolves ``(host, port, transport)`` to an IP address; raises OSError when it cannot.
Resolver = Callable[[str, int, str], Awaitable[str]]

#: Failures after which the next trunk is tried.
FAILOVER = frozenset({408, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class TrunkCall:
    """How one outbound call is sent on one trunk."""

    trunk: TrunkConfig
    request_uri: SipUri
    from_: NameAddr
    to: NameAddr
    extra: tuple[Header, ...]


class TrunkDirectory:
    """Cached trunk configuration of every tenant."""

    def __init__(self, runtime: Runtime) -> None:
        self._cache: ConfigCache[None, list[TrunkConfig]] = ConfigCache(
            runtime, _load_trunks, entities=frozenset({"trunk"})
        )

    async def all(self) -> list[TrunkConfig]:
        """Every enabled trunk (cached)."""
        return await self._cache.get(None)

    async def close(self) -> None:
        """Stop watching for changes."""
        await self._cache.close()

    async def inbound(self, source_host: str) -> TrunkConfig | None:
        """The allowlisted trunk a request from ``source_host`` comes from, if any."""
        return rules.match_inbound(await self.all(), source_host)

    async def digest_trunk(self, tenant_id: int, username: str) -> TrunkConfig | None:
        """The tenant's digest-mode trunk that authenticates as ``username``."""
        for trunk in await self.all():
            if (
                trunk.tenant_id == tenant_id
                and trunk.inbound_mode is rules.InboundMode.DIGEST
                and trunk.username == username
                and trunk.password
            ):
                return trunk
        return None

    async def outbound(self, tenant_id: int, dialed: str) -> list[TrunkConfig]:
        """The tenant's trunks that take ``dialed``, in the order to try them."""
        mine = [t for t in await self.all() if t.tenant_id == tenant_id]
        return rules.choose_outbound(mine, dialed)


async def _load_trunks(session: AsyncSession, _key: None) -> list[TrunkConfig]:
    return await trunks.inbound_candidates(session)


def plan_call(trunk: TrunkConfig, dialed: str, *, caller_name: str | None) -> TrunkCall:
    """The Request-URI, From, To and privacy headers of a call to ``dialed``."""
    number = rules.rewrite_number(trunk, dialed)
    identity = rules.caller_id(trunk, None, caller_name)
    domain = trunk.from_domain or trunk.host
    params = (("transport", trunk.transport.value.lower()),) if trunk.transport != "UDP" else ()
    request_uri = SipUri(trunk.host, number, port=trunk.port, params=params)
    from_user = identity.from_user or trunk.username or rules.ANONYMOUS_USER
    extra: list[Header] = []
    if identity.privacy is not None:
        extra.append(Header("Privacy", identity.privacy))
    if identity.number:
        # the network-asserted identity (RFC 3325): kept even when the From is anonymous
        extra.append(Header("P-Asserted-Identity", f"<{SipUri(domain, identity.number)}>"))
    return TrunkCall(
        trunk,
        request_uri,
        NameAddr(SipUri(domain, from_user), identity.from_name),
        NameAddr(SipUri(trunk.host, number)),
        tuple(extra),
    )


async def resolve_host(host: str, port: int, transport: str) -> str:
    """The address to send to for ``host``: an IP literal as it is, else the first
    A/AAAA answer of ``getaddrinfo`` (no NAPTR/SRV, RFC 3263 is not implemented)."""
    literal = rules.ip_literal(host)
    if literal is not None:
        return str(literal)
    kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind)
    if not infos:
        raise OSError(f"no address for {host}")
    return str(infos[0][4][0])


async def host_address(host: str, port: int, transport: str, lookup: Resolver) -> Address:
    """``host`` resolved with ``lookup``; a host name stays on the address as its
    ``name``, which TLS verifies the provider's certificate against (RFC 5922 §7.2)."""
    address = await lookup(host, port, transport)
    name = "" if rules.ip_literal(host) is not None else host.lower().rstrip(".")
    return Address(address, port, name)


async def resolve(trunk: TrunkConfig, lookup: Resolver = resolve_host) -> Address:
    """Where to send the trunk's requests (the host resolved once, first address)."""
    return await host_address(trunk.host, trunk.port, trunk.transport.value, lookup)
