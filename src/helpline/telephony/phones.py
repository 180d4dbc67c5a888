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
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.registrations import service as registrations
from helpline.runtime import Runtime
from helpline.sip.authenticator import AuthResult, DigestAuthenticator
from helpline.sip.digest import DigestAlgorithm, compute_ha1
from helpline.sip.errors import SipError
from helpline.sip.headers import Header
from helpline.sip.registrar import Registrar, RegistrarPolicy, Verdict, register_username
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import IncomingCall, IncomingRequest, RequestAnswered, UserAgent
from helpline.sip.uri import SipUri
from helpline.telephony.abuse import Edge
from helpline.telephony.trunking import TrunkDirectory
from helpline.tenants import service as tenants
from helpline.tenants.models import SYSTEM_TENANT, Tenant
from helpline.trunks.rules import TrunkConfig

TENANT_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who an authenticated INVITE comes from: a SIP account, or a digest trunk."""

    username: str
    trunk: TrunkConfig | None = None


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
        self.invite_auth = DigestAuthenticator(
            secret=registrar_secret, algorithms=algorithms, proxy=True
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

    async def tenant_by_id(self, tenant_id: int) -> SipTenant | None:
        """An active tenant by id (for calls from its trunks), cached like :meth:`tenant`."""
        return await self.tenant(f"#{tenant_id}")

    async def _find_tenant(self, session: AsyncSession, host: str) -> Tenant | None:
        if host.startswith("#") and host[1:].isdigit():
            tenant = await session.get(Tenant, int(host[1:]))
            return tenant if tenant is not None and tenant.active else None
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

    # -- INVITE -------------------------------------------------------------------------

    async def authenticate(
        self, event: IncomingCall, tenant: SipTenant, trunks: TrunkDirectory
    ) -> Caller | None:
        """The caller of an INVITE that must be authenticated (an outbound call), or
        None after answering it 407 (challenge), 403 (wrong credentials) or 400."""
        request, now = event.request, self._loop.time()
        try:
            credentials = self.invite_auth.credentials(request, tenant.realm)
        except SipError as exc:
            self._answer(event, exc.status, reason=exc.detail)
            return None
        if credentials is None:
            self._challenge(event, tenant, now)
            return None
        username = credentials.username
        ha1: Callable[[DigestAlgorithm], str | tuple[str, ...]] | None = None
        trunk = None
        async with self.runtime.unit_of_work() as session:
            account = await registrations.get_credentials(
                session, tenant_id=tenant.id, username=username
            )
        if account is not None:
            ha1 = account.ha1s
        else:
            trunk = await trunks.digest_trunk(tenant.id, username)
            if trunk is not None and trunk.password:
                password = trunk.password
                ha1 = functools.partial(compute_ha1, username, tenant.realm, password)
        result = self.invite_auth.decide(
            credentials,
            request,
            realm=tenant.realm,
            username=username if ha1 is not None else None,
            ha1=ha1,
            now=now,
        )
        if result is AuthResult.OK:
            self.edge.auth_succeeded(event.source.host)
            return Caller(username, trunk)
        if result is AuthResult.FAILED:
            self.edge.auth_failed(event.source.host, now)
            self._answer(event, 403)
        else:
            self._challenge(event, tenant, now, stale=result is AuthResult.STALE)
        return None

    def _challenge(
        self, event: IncomingCall, tenant: SipTenant, now: float, *, stale: bool = False
    ) -> None:
        headers = self.invite_auth.challenge_headers(tenant.realm, now, os.urandom(16), stale=stale)
        self._answer(event, self.invite_auth.status, extra=headers)

    def _answer(
        self,
        event: IncomingCall,
        status: int,
        *,
        extra: tuple[Header, ...] = (),
        reason: str | None = None,
    ) -> None:
        self.ua.respond(event.call, status, self._loop.time(), extra=extra, reason=reason)
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
