"""Placing ACD callbacks: call the caller back, then hand the answered call to call control.

Theory of operation: when a callback's turn comes the distributor has reserved an
agent and asks :meth:`Dialer.dial` to reach the caller under the callback's call id.
The number is a SIP account of the tenant (a phone inside the company: every
registered contact rings at once, the first to answer wins, as
:class:`~helpline.telephony.fork.ForkSet` decides) or else a number dialed out the
tenant's trunks that take it (the first that resolves; when it fails with 408 or a
5xx the next one is tried, as for outbound calls).  The call holds a line of
the tenant's capacity like any other.

Our INVITE offers the SDP of a fresh media endpoint.  Its answers come back through
call control (:meth:`Dialer.branch`, called for branches call control does not own).
When the caller answers, the call becomes an ordinary call of call control
(registered in ``calls`` and routed with :meth:`~helpline.telephony.calls.CallControl.track`):
a :class:`Call` whose request
is the callback seen from the caller's side (From: the caller, To: the number they
once dialed), queued, with its own call record (outbound).  They hear the callback
greeting (the reserved agent's phone rings once it is over), then the queue's music on
hold until the agent answers; from then
on BYE, DTMF, RTP timeouts and the agent's offer are call control's.  A dial that
fails (every branch failed, or nobody answered within ``seconds``) frees the endpoint
and the line and reports the best failure (RFC 3261 §16.7), which the distributor
counts as a failed attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from helpline.acd.waiting import CALLBACK_GREETING
from helpline.calls.models import SegmentKind
from helpline.core.errors import CapacityExceeded
from helpline.media.backend import LocalMedia, MediaBackendError, RemoteMedia, WavSource
from helpline.prompts.language import Language
from helpline.prompts.library import PromptNotFound
from helpline.recordings.models import CallDirection
from helpline.registrations import service as registrations
from helpline.sdp import SdpError, SessionDescription, parse, serialize_bytes
from helpline.sdp.negotiate import LocalSession, build_offer, process_answer
from helpline.sip.headers import Header, NameAddr
from helpline.sip.message import Request
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import OutgoingAnswered, OutgoingFailed, OutgoingProgress
from helpline.sip.uri import SipUri
from helpline.telephony.acd_callbacks import DialRequest
from helpline.telephony.fork import ForkSet
from helpline.telephony.phones import SipTenant
from helpline.telephony.trunk_invite import invite_next
from helpline.telephony.trunking import FAILOVER
from helpline.tenants.models import LeaseKind
from helpline.trunks.rules import TrunkConfig

if TYPE_CHECKING:
    from helpline.telephony.calls import CallControl
    from helpline.telephony.legs import Call

__all__ = ["Dialer"]

log = logging.getLogger(__name__)

SDP_TYPE = "application/sdp"
#: The longest the greeting may hold up the agent's offer.
GREETING_LIMIT = 15.0


@dataclass(slots=True)
class _Dialing:
    """One callback being placed."""

    request: DialRequest
    tenant: SipTenant
    media: LocalMedia
    session: LocalSession
    offer: SessionDescription
    result: asyncio.Future[int]
    forks: ForkSet[TransactionKey] = field(default_factory=ForkSet)
    answered: bool = False
    """The caller answered: the call is call control's, whatever happens next."""
    fallback: list[TrunkConfig] = field(default_factory=list)
    """The trunks still to try for a number, best first."""


class Dialer:
    """Places the callbacks of one node's call control."""

    def __init__(self, control: CallControl) -> None:
        self.control = control
        self._branches: dict[TransactionKey, _Dialing] = {}
        self._loop = asyncio.get_running_loop()

    async def dial(self, request: DialRequest) -> int:
        """Ring the caller of ``request``; 200 once they answered and call control holds
        the call, else the final failure (404: nowhere to call, 503: no line free)."""
        control = self.control
        tenant = await control.phones.tenant_by_id(request.tenant_id)
        if tenant is None:
            return 404
        try:
            await control.lease(tenant.id, LeaseKind.LINE, request.call_id)
        except CapacityExceeded:
            return 503
        try:
            media = await control.media.allocate_endpoint(affinity=request.call_id)
        except MediaBackendError as exc:
            log.warning("callback %s: no media endpoint: %s", request.call_id, exc)
            control.leases.release(tenant.id, LeaseKind.LINE, request.call_id)
            return 503
        session = LocalSession(session_id=secrets.randbelow(2**31), address=media.address)
        offer = build_offer(media.capabilities(), session)
        dialing = _Dialing(request, tenant, media, session, offer, self._loop.create_future())
        status = 480
        try:
            if await self._send(dialing):
                timer = self._loop.call_later(request.seconds, self._timed_out, dialing)
                try:
                    status = await dialing.result
                finally:
                    timer.cancel()
            else:
                status = 404
        finally:
            if not dialing.result.done():
                dialing.result.cancel()
            self._cancel(dialing, dialing.forks.cancel())
            if not dialing.answered:
                with contextlib.suppress(MediaBackendError):
                    await control.media.release_endpoint(media.endpoint)
                control.leases.release(tenant.id, LeaseKind.LINE, request.call_id)
        return status

    async def _send(self, dialing: _Dialing) -> bool:
        """INVITE the caller's phones, or the first trunk that takes the number."""
        control, request, tenant = self.control, dialing.request, dialing.tenant
        async with control.runtime.unit_of_work() as db:
            contacts = await registrations.contacts_for(
                db, tenant_id=tenant.id, username=request.number, now=datetime.now(UTC)
            )
            account = await registrations.get_credentials(
                db, tenant_id=tenant.id, username=request.number
            )
        now = self._loop.time()
        shown = NameAddr(SipUri(tenant.realm, request.caller_id or None), request.queue)
        if account is not None:
            for binding in contacts:
                key = control.ua.invite(
                    request_uri=binding.contact_uri,
                    from_=shown,
                    to=NameAddr(SipUri(tenant.realm, request.number)),
                    destination=binding.destination,
                    transport=binding.transport,
                    now=now,
                    body=serialize_bytes(dialing.offer),
                    call_id=request.call_id,
                )
                self._track(dialing, key)
            control.flush()
            return bool(contacts)
        dialing.fallback = await control.trunks.outbound(tenant.id, request.number)
        return await self._next_trunk(dialing)

    async def _next_trunk(self, dialing: _Dialing) -> bool:
        """INVITE the number through the next trunk that takes it; False if none is left."""
        request = dialing.request
        key = await invite_next(
            self.control.ua,
            dialing.fallback,
            request.number,
            caller_name=request.queue,
            body=serialize_bytes(dialing.offer),
            now=self._loop.time(),
            call_id=request.call_id,
        )
        if key is None:
            return False
        self._track(dialing, key)
        self.control.flush()
        return True

    def _track(self, dialing: _Dialing, key: TransactionKey) -> None:
        dialing.forks.add(key)
        self._branches[key] = dialing

    def _cancel(self, dialing: _Dialing, branches: tuple[TransactionKey, ...]) -> None:
        now = self._loop.time()
        for branch in branches:
            self.control.ua.cancel(branch, now)
        if branches:
            self.control.flush()

    def _timed_out(self, dialing: _Dialing) -> None:
        if not dialing.result.done() and not dialing.answered:
            self._cancel(dialing, dialing.forks.cancel())
            dialing.result.set_result(408)

    def branch(self, event: OutgoingProgress | OutgoingAnswered | OutgoingFailed) -> bool:
        """An answer to one of our INVITEs (False: not a callback's branch)."""
        dialing = self._branches.get(event.call)
        if dialing is None:
            return False
        if isinstance(event, OutgoingProgress):
            return True
        del self._branches[event.call]
        if isinstance(event, OutgoingFailed):
            retry = event.status in FAILOVER and event.call in dialing.forks.pending
            if retry and dialing.fallback and not dialing.result.done():
                dialing.forks.pending.discard(event.call)
                self._loop.create_task(self._failover(dialing, event))
                return True
            self._failed(dialing, event)
            return True
        answered = dialing.forks.answered(event.call)
        if answered.hang_up or dialing.result.done():
            self.control.ua.bye(event.dialog, self._loop.time())
            self.control.flush()
            return True
        self._cancel(dialing, answered.cancel)
        dialing.answered = True
        call = self._adopt(dialing, event)
        self._loop.create_task(self._connected(dialing, call, event))
        return True

    def _failed(self, dialing: _Dialing, event: OutgoingFailed) -> None:
        step = dialing.forks.failed(event.call, event.status)
        self._cancel(dialing, step.cancel)
        if step.fail is not None and not dialing.result.done():
            dialing.result.set_result(step.fail)

    async def _failover(self, dialing: _Dialing, event: OutgoingFailed) -> None:
        """The trunk tried failed over (408, 5xx): the next one, else the failure."""
        if not dialing.result.done() and await self._next_trunk(dialing):
            return
        dialing.forks.pending.add(event.call)
        self._failed(dialing, event)

    def _adopt(self, dialing: _Dialing, event: OutgoingAnswered) -> Call:
        """The caller answered: the call is call control's from now on."""
        from helpline.telephony.legs import Call

        request, tenant = dialing.request, dialing.tenant
        caller = NameAddr(SipUri(tenant.realm, request.number))
        seen = Request(
            "INVITE",
            SipUri(tenant.realm, request.caller_id or None),
            (
                Header("From", str(caller.with_tag(secrets.token_hex(4)))),
                Header("To", str(NameAddr(SipUri(tenant.realm, request.caller_id or None)))),
                Header("Call-ID", request.call_id),
                Header("CSeq", "1 INVITE"),
            ),
        )
        key = TransactionKey(f"callback-{request.call_id}", "INVITE", server=True)
        call = Call(key, seen, tenant, media=dialing.media, session=dialing.session)
        call.dialog = event.dialog
        call.queued = True
        call.queue = request.queue
        self.control.calls[call.call_id] = call
        self.control.track(call, dialog=event.dialog, endpoint=dialing.media.endpoint)
        return call

    async def _connected(self, dialing: _Dialing, call: Call, event: OutgoingAnswered) -> None:
        """Apply the caller's SDP, open the call's record, greet them, music on hold."""
        control, request = self.control, dialing.request
        try:
            negotiated = process_answer(dialing.offer, parse(event.response.body))
            await control.media.update_endpoint(
                dialing.media.endpoint, RemoteMedia.from_negotiated(negotiated)
            )
        except (SdpError, MediaBackendError) as exc:
            log.info("callback %s: caller's SDP refused: %s", request.call_id, exc)
        call.log = await control.calllog.open(
            dialing.tenant.id,
            request.call_id,
            request.caller_id,
            request.number,
            CallDirection.OUTBOUND,
        )
        await control.calllog.segment(call.log, SegmentKind.QUEUE, queue=request.queue)
        greeting = self._greeting(dialing)
        with contextlib.suppress(MediaBackendError, TimeoutError):
            music = await control.music.resolve(
                dialing.tenant.id, dialing.tenant.locale, request.music_on_hold
            )
            await control.media.attach_moh(dialing.media.endpoint, music)
            if greeting:
                played = await control.media.play(dialing.media.endpoint, greeting)
                try:
                    await asyncio.wait_for(control.playbacks.expect(played), GREETING_LIMIT)
                finally:
                    control.playbacks.forget(played)
        if not dialing.result.done():
            dialing.result.set_result(200)

    def _greeting(self, dialing: _Dialing) -> list[WavSource]:
        try:
            language = Language(dialing.tenant.locale)
        except ValueError:
            language = Language.EN
        library = self.control.library
        try:
            paths = library.resolve_all([CALLBACK_GREETING], language, tenant_id=dialing.tenant.id)
        except (PromptNotFound, ValueError) as exc:
            log.warning("callback %s: no greeting: %s", dialing.request.call_id, exc)
            return []
        return [WavSource(str(path)) for path in paths]
