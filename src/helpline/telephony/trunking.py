"""Trunks as call control uses them: who is calling in, and how a call goes out.

Theory of operation: every enabled trunk of every tenant is read from the database and
cached for ``TRUNK_CACHE_SECONDS`` (a cache, not state: every node reads the same
rows). A change made through this node's API drops the cache at once (the
``config.changed`` event of the trunk); other nodes see it within that time. An INVITE whose
source address is on a trunk's allowlist comes from that trunk (its tenant, no
authentication); a trunk in ``digest`` mode authenticates like a phone, with the
trunk's username and password. An outbound call picks the trunks whose prefixes match
the dialed number (:func:`helpline.trunks.rules.choose_outbound`), rewrites the
number, presents the trunk's caller-ID rules and answers the provider's challenge
with the trunk's credentials; when a trunk fails with a server error or a timeout the
next one is tried.

A trunk host that is not an IP literal is resolved with ``getaddrinfo`` (A/AAAA); DNS
SRV and NAPTR (RFC 3263) are not used yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass

from helpline.core.events import ConfigChanged, Event
from helpline.runtime import Runtime
from helpline.sip.headers import Header, NameAddr
from helpline.sip.routing import Address
from helpline.sip.uri import SipUri
from helpline.trunks import rules
from helpline.trunks import service as trunks
from helpline.trunks.rules import TrunkConfig

TRUNK_CACHE_SECONDS = 10.0
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
        self.runtime = runtime
        self._all: list[TrunkConfig] = []
        self._until = 0.0
        self._loop = asyncio.get_running_loop()
        self._changes = runtime.bus.subscribe(_is_trunk_change, maxsize=100)
        self._watcher = self._loop.create_task(self._watch())

    async def _watch(self) -> None:
        async for _event in self._changes:
            self._until = 0.0

    async def close(self) -> None:
        """Stop watching for changes."""
        self._changes.close()
        self._watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watcher

    async def all(self) -> list[TrunkConfig]:
        """Every enabled trunk (cached)."""
        now = self._loop.time()
        if now >= self._until:
            async with self.runtime.unit_of_work() as session:
                self._all = await trunks.inbound_candidates(session)
            self._until = now + TRUNK_CACHE_SECONDS
        return self._all

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


def _is_trunk_change(event: Event) -> bool:
    return isinstance(event, ConfigChanged) and event.entity == "trunk"


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


async def resolve(trunk: TrunkConfig) -> Address:
    """Where to send the trunk's requests (the host resolved once, first address)."""
    if rules.ip_literal(trunk.host) is not None:
        return Address(trunk.host.strip("[]"), trunk.port)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(trunk.host, trunk.port, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"{trunk.host} has no address")
    host = str(infos[0][4][0])
    return Address(host, trunk.port)
