"""Phones of a node: REGISTER handled by the sans-IO registrar, qualifying, tenants by domain.

REGISTER is handed to :class:`~helpline.sip.registrar.Registrar` with the account and
its bindings read (row-locked) in one unit of work, and the outcome persisted in the
same one. Registered UDP phones are sent OPTIONS every ``sip_qualify_seconds``: the
answer keeps NAT bindings open and tells which phones are reachable. The tenant of a
request comes from its domain (the tenant's SIP realm), else the configured default
tenant, else the only tenant there is; answers are cached for a few seconds (a cache,
not state: every node reads the same database).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.registrations import service as registrations
from helpline.runtime import Runtime
from helpline.sip.digest import DigestAlgorithm
from helpline.sip.registrar import Registrar, RegistrarPolicy, Verdict, register_username
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import IncomingRequest, RequestAnswered, UserAgent
from helpline.sip.uri import SipUri
from helpline.telephony.abuse import Edge
from helpline.tenants import service as tenants
from helpline.tenants.models import SYSTEM_TENANT, Tenant

TENANT_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SipTenant:
    """What call control needs of a tenant."""

    id: int
    realm: str
    locale: str = "en"


class Phones:
    """Registrar, qualifying and tenant lookup for one node's call control."""

    def __init__(
        self,
        runtime: Runtime,
        ua: UserAgent,
        edge: Edge,
        flush: Callable[[], None],
        *,
        registrar_secret: bytes,
    ) -> None:
        self.runtime = runtime
        self.ua = ua
        self.edge = edge
        self.flush = flush
        algorithms = tuple(
            DigestAlgorithm(name.strip().upper())
            for name in runtime.settings.sip_digest_algorithms.split(",")
            if name.strip()
        )
        self.registrar = Registrar(
            secret=registrar_secret, policy=RegistrarPolicy(algorithms=algorithms)
        )
        self._tenants: dict[str, tuple[float, SipTenant | None]] = {}
        self._qualifying: dict[TransactionKey, tuple[int, str, str]] = {}
        self.reachable: dict[tuple[int, str, str], bool] = {}
        self._loop = asyncio.get_running_loop()

    # -- tenants ------------------------------------------------------------------------

    async def tenant(self, host: str) -> SipTenant | None:
        """The tenant a SIP domain names, else the configured or the only tenant."""
        now = self._loop.time()
        cached = self._tenants.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.runtime.unit_of_work() as session:
            tenant = await self._find_tenant(session, host)
        found = None if tenant is None else SipTenant(tenant.id, tenant.sip_realm, tenant.locale)
        self._tenants[host] = (now + TENANT_CACHE_SECONDS, found)
        return found

    async def _find_tenant(self, session: AsyncSession, host: str) -> Tenant | None:
        tenant_id = await registrations.tenant_id_for_realm(session, realm=host)
        if tenant_id is not None:
            return await session.get(Tenant, tenant_id)
        slug = self.runtime.settings.sip_default_tenant
        if slug:
            return await tenants.by_slug(session, slug)
        stmt = select(Tenant).where(Tenant.slug != SYSTEM_TENANT, Tenant.active.is_(True))
        rows = (await session.execute(stmt.limit(2))).scalars().all()
        return rows[0] if len(rows) == 1 else None

    # -- qualifying ---------------------------------------------------------------------

    def answered(self, event: RequestAnswered) -> bool:
        """Take the answer to one of our OPTIONS; False when it was not ours."""
        phone = self._qualifying.pop(event.key, None)
        if phone is None:
            return False
        self.reachable[phone] = event.status not in (408, 503)
        return True

    async def qualify(self) -> None:
        """Purge expired bindings and send OPTIONS to every registered UDP phone.

        An answer of any kind marks the phone reachable, a timeout (408) unreachable.
        """
        now = datetime.now(UTC)
        async with self.runtime.unit_of_work() as session:
            await registrations.purge_expired(session, now=now)
            bindings = await registrations.active_bindings(session, tenant_id=None, now=now)
        live = {(b.aor.tenant_id, b.aor.username, b.contact) for b in bindings}
        self.reachable = {k: v for k, v in self.reachable.items() if k in live}
        at = self._loop.time()
        for binding in bindings:
            if binding.transport != "UDP":
                continue
            key = self.ua.options(binding.contact_uri, binding.destination, "UDP", at)
            self._qualifying[key] = (binding.aor.tenant_id, binding.aor.username, binding.contact)
        self.flush()

    # -- REGISTER -----------------------------------------------------------------------

    async def register(self, event: IncomingRequest) -> None:
        """Answer one REGISTER (after digest authentication) and persist the bindings."""
        request = event.request
        now = datetime.now(UTC)
        to_host = request.to.uri.host if isinstance(request.to.uri, SipUri) else ""
        tenant = await self.tenant(to_host)
        if tenant is None and isinstance(request.uri, SipUri):
            tenant = await self.tenant(request.uri.host)
        if tenant is None:
            self.ua.respond(event.key, 404, self._loop.time())
            self.flush()
            return
        async with self.runtime.unit_of_work() as session:
            username = register_username(request) or ""
            account = await registrations.get_credentials(
                session, tenant_id=tenant.id, username=username
            )
            bindings = await registrations.load_bindings(
                session, tenant_id=tenant.id, username=username, lock=True
            )
            outcome = self.registrar.handle(
                request,
                source=event.source,
                transport=event.transport,
                realm=tenant.realm,
                account=account,
                bindings=bindings,
                now=now.timestamp(),
                entropy=os.urandom(16),
            )
            await registrations.apply_outcome(session, outcome=outcome, now=now)
        if outcome.verdict is Verdict.AUTH_FAILED:
            self.edge.auth_failed(event.source.host, self._loop.time())
        elif outcome.verdict is Verdict.REGISTERED:
            self.edge.auth_succeeded(event.source.host)
        self.ua.send_response(event.key, outcome.response, self._loop.time())
        self.flush()
