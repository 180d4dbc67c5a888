"""Registration of the node's SIP trunks with their providers (RFC 3261 §10.2).

Theory of operation: one :class:`~helpline.sip.register_client.RegistrationClient`
(sans-IO, it builds the REGISTERs and answers the digest challenges) per enabled trunk
of every tenant whose ``register_enabled`` is set.  :class:`TrunkRegistrations` is the
asyncio runner around them:

* Every ``reload_seconds`` it reads the trunk list from the database.  A new trunk
  starts registering; a removed or disabled one unregisters (Expires 0, §10.2.2) and is
  dropped once answered; a trunk whose host, port, transport, credentials, realm,
  expiry or From domain changed unregisters the old binding and starts a new client.
* The trunk's host is resolved to one address: an IP literal as it is, a name through
  ``loop.getaddrinfo`` (A/AAAA records, first answer), again on every reload; a TLS
  trunk's certificate is verified against the name (the address keeps it).  RFC 3263
  NAPTR/SRV lookup is not done, so a provider reached only through SRV needs its
  proxy's name or address as the trunk host.
* Due REGISTERs go out through :meth:`UserAgent.send_request
  <helpline.sip.ua.UserAgent.send_request>`; the final answer comes back as a
  :class:`~helpline.sip.ua.RequestAnswered` that call control hands to
  :meth:`TrunkRegistrations.on_answer` (408 without a response: Timer F; 503: the
  transport failed).
* The Contact is ``sip:<username>@<our address>:<port>`` for the trunk's transport
  (with ``transport=`` for TCP and TLS), the address-of-record
  ``sip:<username>@<from_domain or host>``.
* One task sleeps until the next REGISTER is due, an answer arrives or the next reload;
  :meth:`TrunkRegistrations.close` removes every binding at node stop, waiting at most
  ``CLOSE_WAIT`` seconds for the answers.
* :meth:`TrunkRegistrations.status` is shown on ``/api/health`` as ``sip.trunks``.

Our address in Via and Contact is ``HELPLINE_SIP_HOST``, as for every request the node
sends: a node listening on a wildcard address needs a reachable one there.  TCP and
TLS trunks are reached over connections the transport opens (a refused or failed
connection answers the REGISTER 503 at once); an idle connection is closed after ten
minutes, so a provider that needs one kept open (RFC 5626) is not served yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpline import __version__
from helpline.sip.register_client import (
    RegistrationClient,
    RegistrationError,
    RegistrationState,
)
from helpline.sip.routing import Address
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import RequestAnswered, UserAgent
from helpline.sip.uri import SipUri
from helpline.telephony.trunking import Resolver, host_address, resolve_host
from helpline.trunks.rules import TrunkConfig
from helpline.trunks.service import all_registering_trunks

__all__ = [
    "CLOSE_WAIT",
    "Resolver",
    "TrunkRegistrations",
    "TrunkStatus",
    "database_loader",
    "resolve_host",
]

log = logging.getLogger(__name__)

#: Seconds :meth:`TrunkRegistrations.close` waits for the providers' answers.
CLOSE_WAIT = 2.0


def database_loader(
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[[], Awaitable[list[TrunkConfig]]]:
    """A ``load`` for :class:`TrunkRegistrations` reading every tenant's trunks."""

    async def load() -> list[TrunkConfig]:
        async with sessions() as session:
            return await all_registering_trunks(session)

    return load


@dataclass(frozen=True, slots=True)
class TrunkStatus:
    """Where one trunk's registration stands, for the health endpoint."""

    id: int
    tenant_id: int
    name: str
    state: str
    last_status: int | None
    reason: str
    registered_until: str | None
    """ISO 8601 UTC time the binding lasts until, None when there is none."""

    def as_dict(self) -> dict[str, object]:
        """The JSON-ready form."""
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "state": self.state,
            "last_status": self.last_status,
            "reason": self.reason,
            "registered_until": self.registered_until,
        }


@dataclass(slots=True)
class _Entry:
    """One trunk's client and where its REGISTERs go."""

    trunk: TrunkConfig
    client: RegistrationClient
    destination: Address | None = None
    error: str | None = None
    key: TransactionKey | None = None

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing due (an unregistration has ended)."""
        return self.key is None and self.client.next_action_at() is None


def _binding(trunk: TrunkConfig) -> tuple[object, ...]:
    """The fields whose change needs a new registration."""
    return (
        trunk.tenant_id,
        trunk.host,
        trunk.port,
        trunk.transport,
        trunk.username,
        trunk.password,
        trunk.auth_realm,
        trunk.register_expires,
        trunk.from_domain,
    )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class TrunkRegistrations:
    """Keeps the registration of every registering trunk alive.

    ``load`` returns the registering trunks (the database read), ``flush`` sends what
    the UA queued, ``clock`` is the event loop's time (every deadline is on it) and
    ``wall_clock`` the UNIX time, only to show ``registered_until``.
    """

    def __init__(
        self,
        *,
        ua: UserAgent,
        load: Callable[[], Awaitable[list[TrunkConfig]]],
        flush: Callable[[], None],
        clock: Callable[[], float],
        reload_seconds: float = 30.0,
        resolve: Resolver = resolve_host,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.reload_seconds = reload_seconds
        self._ua = ua
        self._load = load
        self._flush = flush
        self._clock = clock
        self._resolve = resolve
        self._wall_clock = wall_clock
        self._entries: dict[int, _Entry] = {}
        self._leaving: list[_Entry] = []
        self._keys: dict[TransactionKey, _Entry] = {}
        self._next_reload: float | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- configuration ------------------------------------------------------------------

    async def reload(self) -> None:
        """Read the trunks again, apply the changes and resolve the hosts."""
        trunks = await self._load()
        self.apply(trunks, self._clock())
        for entry in list(self._entries.values()):
            await self._locate(entry)
        self._next_reload = self._clock() + self.reload_seconds

    def apply(self, trunks: list[TrunkConfig], now: float) -> None:
        """Start new trunks, unregister removed ones, restart changed ones."""
        wanted = {
            t.id: t
            for t in trunks
            if t.enabled and t.register_enabled and t.username and t.password
        }
        for trunk_id, entry in list(self._entries.items()):
            trunk = wanted.get(trunk_id)
            if trunk is None or _binding(trunk) != _binding(entry.trunk):
                log.info("trunk %s (%d): unregistering", entry.trunk.name, trunk_id)
                self._leave(self._entries.pop(trunk_id), now)
            else:
                entry.trunk = trunk
        for trunk_id, trunk in wanted.items():
            if trunk_id not in self._entries:
                self._entries[trunk_id] = _Entry(trunk, self._client(trunk))

    async def _locate(self, entry: _Entry) -> None:
        trunk = entry.trunk
        try:
            destination = await host_address(
                trunk.host, trunk.port, trunk.transport.value, self._resolve
            )
        except OSError as exc:
            if entry.error is None:
                log.warning(
                    "trunk %s (%d): cannot resolve %s: %s", trunk.name, trunk.id, trunk.host, exc
                )
            entry.error = f"cannot resolve {trunk.host}: {exc}"
            return
        entry.error = None
        first = entry.destination is None
        entry.destination = destination
        if first and self._entries.get(trunk.id) is entry:
            entry.client.start(self._clock())
            self._wake.set()

    def _client(self, trunk: TrunkConfig) -> RegistrationClient:
        transport = trunk.transport.value
        here = self._ua.local.get(transport) or self._ua.local["UDP"]
        params = () if transport == "UDP" else (("transport", transport.lower()),)
        username = trunk.username or ""
        return RegistrationClient(
            aor=SipUri(_bracketed(trunk.from_domain or trunk.host), username),
            registrar=SipUri(_bracketed(trunk.host), port=trunk.port, params=params),
            username=username,
            password=trunk.password or "",
            contact=SipUri(_bracketed(here.host), username, port=here.port, params=params),
            call_id=f"{secrets.token_hex(12)}@helpline",
            from_tag=secrets.token_hex(6),
            local=Address(here.host, here.port),
            transport=transport,
            expires=trunk.register_expires,
            realm=trunk.auth_realm,
            user_agent=f"Helpline/{__version__}",
        )

    def _leave(self, entry: _Entry, now: float) -> None:
        entry.client.unregister(now)
        if not entry.idle:
            self._leaving.append(entry)

    # -- driving ------------------------------------------------------------------------

    def send_due(self, now: float) -> None:
        """Send every REGISTER whose time has come."""
        sent = False
        for entry in (*self._entries.values(), *self._leaving):
            due = entry.client.next_action_at()
            if due is None or due > now or entry.destination is None or entry.key is not None:
                continue
            request = entry.client.request(now)
            transport = entry.trunk.transport.value
            key = self._ua.send_request(request, entry.destination, transport, now)
            entry.key = key
            self._keys[key] = entry
            sent = True
        self._leaving = [e for e in self._leaving if not e.idle]
        if sent:
            self._flush()

    def on_answer(self, event: RequestAnswered) -> bool:
        """Take the final answer to one of our REGISTERs; False if it is not ours."""
        entry = self._keys.pop(event.key, None)
        if entry is None:
            return False
        entry.key = None
        client, trunk, now = entry.client, entry.trunk, self._clock()
        before = client.state
        try:
            if event.response is not None:
                client.on_response(event.response, now)
            elif event.status == 408:
                client.on_timeout(now)
            else:
                client.on_transport_error(now)
        except RegistrationError as exc:
            log.warning("trunk %s (%d): %s", trunk.name, trunk.id, exc)
            with contextlib.suppress(RegistrationError):
                client.on_transport_error(now)
        if client.state is not before or client.state is RegistrationState.FAILED:
            log.info(
                "trunk %s (%d): %s (%s %s)",
                trunk.name,
                trunk.id,
                client.state.value,
                client.last_status,
                client.last_reason,
            )
        self._leaving = [e for e in self._leaving if not e.idle]
        self._wake.set()
        return True

    def next_deadline(self) -> float | None:
        """When :meth:`send_due` or :meth:`reload` must run next."""
        times = [
            due
            for e in (*self._entries.values(), *self._leaving)
            if e.destination is not None
            and e.key is None
            and (due := e.client.next_action_at()) is not None
        ]
        if self._next_reload is not None:
            times.append(self._next_reload)
        return min(times, default=None)

    def status(self) -> list[dict[str, object]]:
        """Per trunk: id, tenant, name, state, last status and reason, binding end."""
        now, wall = self._clock(), self._wall_clock()
        out: list[dict[str, object]] = []
        for trunk_id in sorted(self._entries):
            entry = self._entries[trunk_id]
            client = entry.client
            until = client.registered_until
            state = client.state
            if entry.error is not None and state is RegistrationState.UNREGISTERED:
                state = RegistrationState.FAILED
            out.append(
                TrunkStatus(
                    id=trunk_id,
                    tenant_id=entry.trunk.tenant_id,
                    name=entry.trunk.name,
                    state=state.value,
                    last_status=client.last_status,
                    reason=entry.error or client.last_reason,
                    registered_until=None
                    if until is None
                    else datetime.fromtimestamp(wall + until - now, UTC).isoformat(),
                ).as_dict()
            )
        return out

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the task that reloads the trunks and sends the REGISTERs."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self, wait: float = CLOSE_WAIT) -> None:
        """Stop the task and remove every binding, waiting at most ``wait`` seconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        now = self._clock()
        for entry in self._entries.values():
            self._leave(entry, now)
        self._entries.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                while True:
                    self._wake.clear()
                    self.send_due(self._clock())
                    if not self._leaving:
                        break
                    await self._wake.wait()
        if self._leaving:
            log.warning("%d trunk(s) did not answer the unregistration", len(self._leaving))

    async def _run(self) -> None:
        while True:
            deadline = self._next_reload
            if deadline is None or self._clock() >= deadline:
                try:
                    await self.reload()
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("reloading the trunks failed: %s", exc)
                    self._next_reload = self._clock() + self.reload_seconds
            self._wake.clear()
            self.send_due(self._clock())
            deadline = self.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
