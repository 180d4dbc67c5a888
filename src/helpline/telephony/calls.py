"""Call control, first cut: the built-in test services and the registrar.

Until IVR and ACD exist, a call to extension ``echo`` is answered and hears its own
voice (the media endpoint bridged with itself); ``ring`` rings without answering (for
checking CANCEL and ringback) until ``RING_LIMIT``; every other number gets 404. Each call
holds a line of its tenant's capacity while it lasts (503 when none is free) and one
media endpoint; hold and resume arrive as re-INVITEs and are answered from the same
SDP session. REGISTER is handed to the sans-IO registrar with the account and bindings
read from the database in one unit of work. Events for one call are handled in order
(one queue per Call-ID); a call whose RTP stops for ``rtp_timeout`` is ended with BYE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.core.errors import CapacityExceeded
from helpline.media.backend import (
    EndpointTimeout,
    LocalMedia,
    MediaBackend,
    MediaBackendError,
    RemoteMedia,
)
from helpline.registrations import service as registrations
from helpline.runtime import Runtime
from helpline.sdp import SdpError, parse, serialize_bytes
from helpline.sdp.negotiate import Answer, LocalSession, answer_offer
from helpline.sip.dialog import DialogId
from helpline.sip.digest import DigestAlgorithm
from helpline.sip.registrar import Registrar, RegistrarPolicy, Verdict, register_username
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import (
    CallCancelled,
    CallEnded,
    IncomingCall,
    IncomingRequest,
    InDialogRequest,
    RequestAnswered,
    UaEvent,
    UserAgent,
)
from helpline.sip.uri import SipUri
from helpline.telephony.abuse import Edge
from helpline.tenants import service as tenants
from helpline.tenants.models import SYSTEM_TENANT, LeaseKind, Tenant

log = logging.getLogger(__name__)

TENANT_CACHE_SECONDS = 10.0
ECHO = "echo"
RING = "ring"
RING_LIMIT = 120.0
SDP_TYPE = "application/sdp"


@dataclass(frozen=True, slots=True)
class SipTenant:
    """What call control needs of a tenant."""

    id: int
    realm: str


@dataclass(slots=True)
class Call:
    """One inbound call handled by a built-in service."""

    key: TransactionKey
    call_id: str
    tenant_id: int
    media: LocalMedia | None = None
    session: LocalSession | None = None
    dialog: DialogId | None = None
    ended: bool = False


@dataclass(slots=True)
class _Queue:
    items: asyncio.Queue[Callable[[], Awaitable[None]]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class CallControl:
    """Reacts to UA events; ``flush`` sends what the UA queued after each reaction."""

    def __init__(
        self,
        runtime: Runtime,
        ua: UserAgent,
        media: MediaBackend,
        edge: Edge,
        flush: Callable[[], None],
        *,
        registrar_secret: bytes,
    ) -> None:
        self.runtime = runtime
        self.ua = ua
        self.media = media
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
        self.calls: dict[str, Call] = {}
        self._by_dialog: dict[DialogId, Call] = {}
        self._by_endpoint: dict[str, Call] = {}
        self._queues: dict[str, _Queue] = {}
        self._tenants: dict[str, tuple[float, SipTenant | None]] = {}
        self._qualifying: dict[TransactionKey, tuple[int, str, str]] = {}
        self.reachable: dict[tuple[int, str, str], bool] = {}
        self._loop = asyncio.get_running_loop()

    # -- dispatch -----------------------------------------------------------------------

    def dispatch(self, event: UaEvent) -> None:
        """Queue the reaction to ``event`` behind earlier ones of the same call."""
        if isinstance(event, IncomingCall):
            self._enqueue(event.request.call_id, lambda: self._incoming(event))
        elif isinstance(event, CallCancelled | CallEnded):
            call = self._call_for(event)
            if call is not None:
                self._enqueue(call.call_id, lambda: self._end(call))
        elif isinstance(event, InDialogRequest):
            self._enqueue(event.dialog.call_id, lambda: self._in_dialog(event))
        elif isinstance(event, RequestAnswered):
            phone = self._qualifying.pop(event.key, None)
            if phone is not None:
                self.reachable[phone] = event.status not in (408, 503)
        elif isinstance(event, IncomingRequest):
            if event.request.method == "REGISTER":
                self._enqueue(f"reg:{event.request.call_id}", lambda: self._register(event))
            else:
                self._respond(event.key, 501)

    def on_media_event(self, event: object) -> None:
        """A media event: a call whose RTP stopped is ended."""
        if isinstance(event, EndpointTimeout):
            call = self._by_endpoint.get(event.endpoint)
            if call is not None and call.dialog is not None:
                log.info("call %s: no RTP for %.0f s, hanging up", call.call_id, event.silent_for)
                self.ua.bye(call.dialog, self._loop.time())
                self.flush()

    def _call_for(self, event: CallCancelled | CallEnded) -> Call | None:
        if isinstance(event, CallEnded):
            return self._by_dialog.get(event.dialog)
        return next((c for c in self.calls.values() if c.key == event.call), None)

    def _enqueue(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue()
            queue.task = self._loop.create_task(self._run(name, queue))
        queue.items.put_nowait(work)

    async def _run(self, name: str, queue: _Queue) -> None:
        while not queue.items.empty():
            work = queue.items.get_nowait()
            try:
                await work()
            except Exception:
                log.exception("call %s: handler failed", name)
            self.flush()
        self._queues.pop(name, None)

    async def close(self) -> None:
        """End every call (BYE) and release its resources."""
        now = self._loop.time()
        for call in list(self.calls.values()):
            if call.dialog is not None:
                self.ua.bye(call.dialog, now)
            await self._end(call)
        self.flush()
        for queue in list(self._queues.values()):
            if queue.task is not None:
                queue.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await queue.task

    # -- calls --------------------------------------------------------------------------

    def _respond(self, key: TransactionKey, status: int, **kwargs: object) -> DialogId | None:
        dialog = self.ua.respond(key, status, self._loop.time(), **kwargs)  # type: ignore[arg-type]
        self.flush()
        return dialog

    async def _incoming(self, event: IncomingCall) -> None:
        request = event.request
        target = request.uri
        user = target.user if isinstance(target, SipUri) else None
        tenant = await self._tenant(target.host if isinstance(target, SipUri) else "")
        if tenant is None or user not in (ECHO, RING):
            self._respond(event.call, 404)
            return
        try:
            async with self.runtime.engine.begin() as conn:
                await tenants.acquire_lease(
                    conn, tenant_id=tenant.id, kind=LeaseKind.LINE, ref=request.call_id
                )
        except CapacityExceeded:
            self._respond(event.call, 503)
            return
        call = Call(event.call, request.call_id, tenant.id)
        self.calls[call.call_id] = call
        if user == RING:
            self._respond(event.call, 180)
            self._loop.call_later(RING_LIMIT, self._ring_out, call)
            return
        try:
            offer = parse(request.body)
            call.media = await self.media.allocate_endpoint(affinity=call.call_id)
            self._by_endpoint[call.media.endpoint] = call
            call.session = LocalSession(
                session_id=secrets.randbelow(2**31), address=call.media.address
            )
            answer = answer_offer(offer, call.media.capabilities(), call.session)
            await self._apply(call, answer)
            await self.media.bridge(call.media.endpoint, call.media.endpoint)
        except (SdpError, MediaBackendError) as exc:
            status = exc.status_code if isinstance(exc, SdpError) else 488
            log.info("call %s refused: %s", call.call_id, exc)
            self._respond(event.call, status)
            await self._end(call)
            return
        self._respond(event.call, 180)
        call.dialog = self._respond(
            event.call, 200, body=serialize_bytes(answer.description), content_type=SDP_TYPE
        )
        if call.dialog is not None:
            self._by_dialog[call.dialog] = call

    def _ring_out(self, call: Call) -> None:
        if not call.ended:
            self._respond(call.key, 480)
            self._enqueue(call.call_id, lambda: self._end(call))

    async def _apply(self, call: Call, answer: Answer) -> None:
        assert call.media is not None
        await self.media.update_endpoint(
            call.media.endpoint, RemoteMedia.from_negotiated(answer.media)
        )

    async def _in_dialog(self, event: InDialogRequest) -> None:
        call = self._by_dialog.get(event.dialog)
        request = event.request
        if request.method == "INFO" or call is None or not request.body:
            self._respond(event.key, 200)
            return
        try:
            assert call.media is not None and call.session is not None
            answer = answer_offer(parse(request.body), call.media.capabilities(), call.session)
            await self._apply(call, answer)
        except (SdpError, MediaBackendError) as exc:
            self._respond(event.key, exc.status_code if isinstance(exc, SdpError) else 488)
            return
        self._respond(
            event.key, 200, body=serialize_bytes(answer.description), content_type=SDP_TYPE
        )

    async def _end(self, call: Call) -> None:
        if call.ended:
            return
        call.ended = True
        self.calls.pop(call.call_id, None)
        if call.dialog is not None:
            self._by_dialog.pop(call.dialog, None)
        if call.media is not None:
            self._by_endpoint.pop(call.media.endpoint, None)
            with contextlib.suppress(MediaBackendError):
                await self.media.release_endpoint(call.media.endpoint)
        async with self.runtime.engine.begin() as conn:
            await tenants.release_lease(
                conn, tenant_id=call.tenant_id, kind=LeaseKind.LINE, ref=call.call_id
            )

    # -- registrar ----------------------------------------------------------------------

    async def qualify(self) -> None:
        """Purge expired bindings and send OPTIONS to every registered UDP phone.

        The OPTIONS keep NAT bindings open (RFC 3581 phones) and tell which phones answer;
        an answer of any kind marks the phone reachable, a timeout (408) unreachable.
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

    async def _tenant(self, host: str) -> SipTenant | None:
        """The tenant a SIP domain names, else the configured or the only tenant.

        Answers are cached for ``TENANT_CACHE_SECONDS`` (a cache, not state: every node
        reads the same database).
        """
        now = self._loop.time()
        cached = self._tenants.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.runtime.unit_of_work() as session:
            tenant = await self._find_tenant(session, host)
        found = None if tenant is None else SipTenant(tenant.id, tenant.sip_realm)
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

    async def _register(self, event: IncomingRequest) -> None:
        request = event.request
        now = datetime.now(UTC)
        to_host = request.to.uri.host if isinstance(request.to.uri, SipUri) else ""
        tenant = await self._tenant(to_host)
        if tenant is None and isinstance(request.uri, SipUri):
            tenant = await self._tenant(request.uri.host)
        if tenant is None:
            self._respond(event.key, 404)
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
