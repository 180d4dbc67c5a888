"""Call control: inbound calls to built-in services and to phones, as a B2BUA.

Theory of operation
-------------------
Every inbound INVITE is matched against the dial plan of its tenant (the Request-URI
user): a built-in service (:mod:`helpline.telephony.services`: ``echo``,
``prompt-test``, ``ring``), else a SIP account of the tenant, whose registered phones
all ring at once, else 404. Each call holds a line of its tenant's capacity while it
lasts (503 when none is free).

A call to a phone is bridged by a back-to-back user agent: the caller's leg (A) gets a
media endpoint answering the caller's SDP, the phones' side (B) a second endpoint on
the same media worker whose offer goes out in one INVITE per registered contact.
:class:`~helpline.telephony.fork.ForkSet` decides what each answer means: the first 180
is relayed, the first provisional with SDP is early media (183 with our answer, the
endpoints bridged), the first 2xx connects (200 to the caller, other branches
cancelled), and when all fail the caller gets the best failure. A caller CANCEL or
``dial_timeout`` cancels the branches. BYE on either side ends the other; DTMF
(RFC 4733 or SIP INFO) is relayed to the other side as RFC 4733; re-INVITEs (hold,
resume) are answered on their own leg from that leg's SDP session.

Events for one call are handled in order (one queue per call); a call whose RTP stops
for ``rtp_timeout`` is ended with BYE on both sides. Scripts (the prompt test, later
IVR flows) run as tasks with a :class:`~helpline.telephony.channel.Channel`.

This module keeps the call's lifecycle (dispatch, the caller's leg, the phones' side,
the end); the rest is in modules of their own that work through its public methods:
:mod:`~helpline.telephony.inbound` (what a new INVITE means),
:mod:`~helpline.telephony.offers` (queued callers and the ACD's offers),
:mod:`~helpline.telephony.indialog` (re-INVITEs, INFO and keys in a call),
:mod:`~helpline.telephony.supervisors` (supervisors in agents' calls),
:mod:`~helpline.telephony.recorder` (recordings), :mod:`~helpline.telephony.legs`
(the call's objects) and :mod:`~helpline.telephony.trunk_invite` (trunk failover).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from helpline.calls.models import HangupSide, SegmentKind
from helpline.core.errors import ApiError, CapacityExceeded
from helpline.ivr.port import CallGone, TransferKind, TransferTarget
from helpline.media.backend import (
    DtmfReceived,
    EndpointTimeout,
    LocalMedia,
    MediaBackend,
    MediaBackendError,
    PlaybackFinished,
    RemoteMedia,
    SilenceDetected,
    ToneSource,
)
from helpline.media.tones import RINGBACK
from helpline.prompts.language import Language
from helpline.prompts.library import PromptLibrary
from helpline.recordings.models import CallDirection
from helpline.registrations import service as registrations
from helpline.routing import service as routing
from helpline.routing.decide import RoutingConfig, load_routing
from helpline.runtime import Runtime
from helpline.sdp import SdpError, parse, serialize_bytes
from helpline.sdp.negotiate import LocalSession, answer_offer, build_offer, process_answer
from helpline.sip.dialog import DialogId
from helpline.sip.headers import NameAddr
from helpline.sip.message import Response
from helpline.sip.registrar import Binding
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import (
    CallCancelled,
    CallEnded,
    EndReason,
    IncomingCall,
    IncomingRequest,
    InDialogRequest,
    OutgoingAnswered,
    OutgoingFailed,
    OutgoingProgress,
    RequestAnswered,
    UaEvent,
    UserAgent,
)
from helpline.sip.uri import SipUri
from helpline.telephony.abuse import Edge
from helpline.telephony.acd import Distributor, Offered
from helpline.telephony.callbacks import Dialer
from helpline.telephony.calllog import CallLog
from helpline.telephony.channel import Channel, Playbacks
from helpline.telephony.config_cache import ConfigCache
from helpline.telephony.fork import Relay
from helpline.telephony.forwarding import Forwarding
from helpline.telephony.hooks import Extensions, NoExtensions
from helpline.telephony.inbound import Inbound
from helpline.telephony.indialog import InDialog
from helpline.telephony.leases import Leases
from helpline.telephony.legs import SDP_TYPE, Call, Outbound, is_sdp, user_of
from helpline.telephony.moh import MusicClasses
from helpline.telephony.offers import Offers
from helpline.telephony.phones import Phones, SipTenant
from helpline.telephony.recorder import Recorder
from helpline.telephony.selfservice import BUSY_PROMPT, SelfService
from helpline.telephony.supervisors import Supervision
from helpline.telephony.trunk_invite import invite_next
from helpline.telephony.trunking import FAILOVER, TrunkDirectory
from helpline.telephony.waiting import WaitingRoom
from helpline.telephony.webrtc_legs import WebRtcLegs
from helpline.tenants.models import LeaseKind
from helpline.trunks.rules import TrunkConfig
from helpline.voicemail import service as voicemail
from helpline.voicemail.notify import Notifier, SmtpConfig

log = logging.getLogger(__name__)

DIAL_TIMEOUT = 30.0
OUTBOUND_TIMEOUT = 120.0
ROUTING_ENTITIES = frozenset({"number", "service", "blacklist_entry"})


@dataclass(slots=True)
class _Queue:
    items: asyncio.Queue[Callable[[], Awaitable[None]]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class CallControl:
    """Reacts to UA and media events; ``flush`` sends what the UA queued."""

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
        self.flush = flush
        self.phones = Phones(runtime, ua, edge, flush, registrar_secret=registrar_secret)
        self.trunks = TrunkDirectory(runtime)
        self.notifier = Notifier(SmtpConfig.from_settings(runtime.settings))
        self.leases = Leases(runtime)
        self.dialer = Dialer(self)
        self.offers = Offers(self)
        self.acd = Distributor(runtime, self.offers.ring_agents, self.dialer.dial)
        self.inbound = Inbound(self)
        self.indialog = InDialog(self)
        self.supervision = Supervision(self)
        self.calllog = CallLog(runtime)
        self.recorder = Recorder(runtime, media, self.calllog)
        self.waiting = WaitingRoom(self)
        self.forwarding = Forwarding(self)
        self.selfservice = SelfService(runtime, self.notifier)
        self.routing: ConfigCache[str, RoutingConfig | None] = ConfigCache(
            runtime, load_routing, entities=ROUTING_ENTITIES
        )
        self.library = PromptLibrary(data_dir=runtime.settings.data_dir)
        self.playbacks = Playbacks()
        self.music = MusicClasses(media, self.library)
        #: Browser legs: WebRTC media through the gateway (helpline.webrtc).
        self.webrtc = WebRtcLegs(runtime.settings, media)
        self.dial_timeout = DIAL_TIMEOUT
        #: Takes answers to requests other parts of the node sent (trunk REGISTERs).
        self.answers: Callable[[RequestAnswered], object] | None = None
        #: CTI commands on live calls (set by the SIP service).
        self.extensions: Extensions = NoExtensions()
        self.calls: dict[str, Call] = {}
        self._by_dialog: dict[DialogId, Call] = {}
        self._by_endpoint: dict[str, Call] = {}
        self._by_branch: dict[TransactionKey, Call] = {}
        #: Media endpoints ever allocated by this node's calls (health and tests).
        self.endpoints_allocated = 0
        self._queues: dict[str, _Queue] = {}
        self._loop = asyncio.get_running_loop()

    # -- dispatch -----------------------------------------------------------------------

    def dispatch(self, event: UaEvent) -> None:
        """Queue the reaction to ``event`` behind earlier ones of the same call."""
        if isinstance(event, IncomingCall):
            self._enqueue(event.request.call_id, lambda: self.inbound.incoming(event))
        elif isinstance(event, CallCancelled):
            cancelled = next((c for c in self.calls.values() if c.key == event.call), None)
            if cancelled is not None:
                cancelled.log.side = HangupSide.CALLER
                self._enqueue(cancelled.call_id, lambda: self.end(cancelled))
        elif isinstance(event, CallEnded):
            ended = self._by_dialog.get(event.dialog)
            if ended is not None:
                if event.reason is EndReason.REMOTE_BYE:
                    by_caller = event.dialog == ended.dialog
                    ended.log.side = HangupSide.CALLER if by_caller else HangupSide.AGENT
                self._enqueue(ended.call_id, lambda: self._dialog_ended(ended, event.dialog))
        elif isinstance(event, InDialogRequest):
            self._on_dialog(event.dialog, lambda call: self.indialog.request(call, event))
        elif isinstance(event, OutgoingProgress | OutgoingAnswered | OutgoingFailed):
            self._on_branch(event)
        elif isinstance(event, RequestAnswered):
            if self.extensions.answered(event):
                return
            if not self.phones.answered(event) and self.answers is not None:
                self.answers(event)
        elif isinstance(event, IncomingRequest):
            if event.request.method == "REGISTER":
                self._enqueue(f"reg:{event.request.call_id}", lambda: self.phones.register(event))
            else:
                self.respond(event.key, 501)

    def _on_dialog(self, dialog: DialogId, work: Callable[[Call], Awaitable[None]]) -> None:
        call = self._by_dialog.get(dialog)
        if call is None:
            self._enqueue(dialog.call_id, lambda: self._orphan(dialog))
        else:
            self._enqueue(call.call_id, lambda: work(call))

    async def _dialog_ended(self, call: Call, dialog: DialogId) -> None:
        if not await self.extensions.leg_ended(call, dialog):
            await self.end(call)

    async def _orphan(self, dialog: DialogId) -> None:
        """A request in a dialog no call owns any more: end it."""
        self.ua.bye(dialog, self._loop.time())

    def _on_branch(self, event: OutgoingProgress | OutgoingAnswered | OutgoingFailed) -> None:
        call = self._by_branch.get(event.call)
        if call is None:
            if self.dialer.branch(event):
                return  # an ACD callback ringing the caller
            if isinstance(event, OutgoingAnswered):
                self.ua.bye(event.dialog, self._loop.time())
                self.flush()
            return
        if not isinstance(event, OutgoingProgress):
            self._by_branch.pop(event.call, None)
        self._enqueue(call.call_id, lambda: self._branch(call, event))

    def on_media_event(self, event: object) -> None:
        """A media event: digits, the end of a playback, RTP that stopped."""
        if isinstance(event, PlaybackFinished):
            self.playbacks.finished(event.playback, event.reason)
        elif isinstance(event, DtmfReceived):
            keyed = self._by_endpoint.get(event.endpoint)
            if keyed is not None:
                self._enqueue(
                    keyed.call_id, lambda: self.indialog.digit(keyed, event.endpoint, event.digit)
                )
        elif isinstance(event, SilenceDetected):
            quiet = self._by_endpoint.get(event.endpoint)
            if quiet is not None and quiet.channel is not None:
                quiet.channel.silent.set()
        elif isinstance(event, EndpointTimeout):
            call = self._by_endpoint.get(event.endpoint)
            if call is not None and call.dialog is not None:
                log.info("call %s: no RTP for %.0f s, hanging up", call.call_id, event.silent_for)
                self._enqueue(call.call_id, lambda: self.hang_up(call))

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
        """End every call (BYE or CANCEL) and release its resources."""
        for call in list(self.calls.values()):
            await self.hang_up(call)
        self.flush()
        await self.trunks.close()
        await self.routing.close()
        await self.selfservice.close()
        await self.leases.close()
        await self.waiting.close()
        await self.acd.close()
        await self.notifier.drain()
        await self.webrtc.close()
        for queue in list(self._queues.values()):
            if queue.task is not None:
                queue.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await queue.task

    # -- the caller's leg ---------------------------------------------------------------

    def respond(self, key: TransactionKey, status: int, **kwargs: object) -> DialogId | None:
        """Answer the server transaction ``key`` and send it at once."""
        dialog = self.ua.respond(key, status, self._loop.time(), **kwargs)  # type: ignore[arg-type]
        self.flush()
        return dialog

    def refuse(self, call: Call, status: int) -> None:
        """Answer an unanswered caller a failure (an answered one is hung up instead)."""
        call.log.failed(status)
        if call.dialog is None:
            self.respond(call.key, status)

    async def admit(
        self,
        event: IncomingCall,
        tenant: SipTenant,
        direction: CallDirection | None = CallDirection.INBOUND,
    ) -> Call | None:
        """Take a line of the tenant for the call (503 when none is free) and open its
        record (none when ``direction`` is None: the built-in test services)."""
        try:
            await self.lease(tenant.id, LeaseKind.LINE, event.request.call_id)
        except CapacityExceeded:
            self.respond(event.call, 503)
            return None
        call = Call(event.call, event.request, tenant)
        self.calls[call.call_id] = call
        if direction is not None:
            call.log = await self.calllog.open(
                tenant.id,
                call.call_id,
                user_of(call.request.from_.uri),
                user_of(call.request.uri),
                direction,
            )
        return call

    async def lease(self, tenant_id: int, kind: LeaseKind, ref: str) -> None:
        """Take a lease of the tenant (CapacityExceeded when none is free): from the
        node's block of leases, which refills from the database in the background."""
        await self.leases.acquire(tenant_id, kind, ref)

    async def answer_offer(self, call: Call, *, affinity: str | None = None) -> bool:
        """Allocate the caller's endpoint (on the media worker of ``affinity``, by default
        the call's own) and our answer to its offer; False if refused."""
        try:
            offer = parse(call.request.body)
            call.media = await self.allocate(call, affinity)
            call.session = LocalSession(
                session_id=secrets.randbelow(2**31), address=call.media.address
            )
            if self.webrtc.wants(offer):
                call.answer = await self.webrtc.answer(call.media, call.request.body)
                return True
            answer = answer_offer(offer, call.media.capabilities(), call.session)
            await self.media.update_endpoint(
                call.media.endpoint, RemoteMedia.from_negotiated(answer.media)
            )
        except (SdpError, MediaBackendError) as exc:
            log.info("call %s refused: %s", call.call_id, exc)
            self.respond(call.key, exc.status_code if isinstance(exc, SdpError) else 488)
            await self.end(call)
            return False
        call.answer = serialize_bytes(answer.description)
        return True

    async def allocate(self, call: Call, affinity: str | None = None) -> LocalMedia:
        """A media endpoint for one of the call's legs, on the call's media worker."""
        media = await self.media.allocate_endpoint(
            affinity=affinity or call.affinity or call.call_id
        )
        self.endpoints_allocated += 1
        self._by_endpoint[media.endpoint] = call
        return media

    @property
    def endpoints_in_use(self) -> int:
        """Media endpoints held by this node's calls now."""
        return len(self._by_endpoint)

    def connect(self, call: Call) -> None:
        """Answer the caller 200 with our SDP."""
        call.dialog = self.respond(call.key, 200, body=call.answer, content_type=SDP_TYPE)
        if call.dialog is not None:
            self._by_dialog[call.dialog] = call

    def open_channel(self, call: Call) -> Channel:
        """The answered caller's channel for scripts (prompts, digits, transfers)."""
        assert call.media is not None
        try:
            language = Language(call.tenant.locale)
        except ValueError:
            language = Language.EN
        target = call.request.uri
        caller = call.request.from_.uri
        call.channel = Channel(
            self.media,
            call.media.endpoint,
            self.playbacks,
            self.library,
            tenant_id=call.tenant.id,
            language=language,
            call_id=call.call_id,
            caller=(caller.user or "") if isinstance(caller, SipUri) else "",
            called=(target.user or "") if isinstance(target, SipUri) else "",
            hang_up=lambda: self._enqueue(call.call_id, lambda: self.hang_up(call)),
            transfer=lambda where: self._transfer(call, where),
        )
        return call.channel

    def run_script(self, call: Call, script: Callable[[Channel], Awaitable[None]]) -> None:
        """Run ``script`` on the answered caller's channel (an after-call survey); the
        caller is hung up if it fails."""
        channel = call.channel or self.open_channel(call)
        self.start_script(call, script(channel))

    def start_script(self, call: Call, script: Awaitable[None]) -> None:
        """Run ``script`` as the call's task; the caller is hung up if it fails."""
        call.script = self._loop.create_task(self._script(call, script))

    async def _script(self, call: Call, script: Awaitable[None]) -> None:
        try:
            await script
        except CallGone:
            return
        except (MediaBackendError, LookupError, ApiError) as exc:
            log.warning("call %s: script failed: %s", call.call_id, exc)
            self._enqueue(call.call_id, lambda: self.hang_up(call))

    async def _transfer(self, call: Call, where: TransferTarget) -> None:
        """A script hands the answered call on: voicemail, a phone, or out a number."""
        port = call.channel
        if where.kind is TransferKind.VOICEMAIL and port is not None:
            await self.calllog.segment(call.log, SegmentKind.VOICEMAIL)
            await self.selfservice.voicemail(
                port,
                lambda db: voicemail.box_for_call(db, tenant_id=call.tenant.id, name=where.target),
            )
            self._enqueue(call.call_id, lambda: self.hang_up(call))
            return
        if where.kind is TransferKind.QUEUE and port is not None:
            if not await self.forwarding.queue(
                call, where.target, priority=where.priority, skills=where.skills, data=where.data
            ):
                await self.selfservice.announce(port, BUSY_PROMPT)
                self._enqueue(call.call_id, lambda: self.hang_up(call))
            return
        self.release_ivr_port(call)
        call.channel = None
        if where.kind is TransferKind.AGENT and await self.has_account(call.tenant, where.target):
            self._enqueue(call.call_id, lambda: self.dial(call, where.target))
            return
        if where.kind is TransferKind.NUMBER:
            routes = await self.trunks.outbound(call.tenant.id, where.target)
            if routes:
                self._enqueue(call.call_id, lambda: self.dial_out(call, where.target, routes))
                return
        log.warning("call %s: cannot transfer to %s %s", call.call_id, where.kind, where.target)
        self._enqueue(call.call_id, lambda: self.hang_up(call))

    # -- the phones' side ---------------------------------------------------------------

    async def dial(self, call: Call, username: str) -> None:
        """Ring every registered contact of ``username`` at once."""
        async with self.runtime.unit_of_work() as db:
            contacts = await registrations.contacts_for(
                db, tenant_id=call.tenant.id, username=username, now=datetime.now(UTC)
            )
        if not contacts:
            self.refuse(call, 480)
            await self.end(call)
            return
        out = await self.outbound(call, self.dial_timeout)
        if out is None:
            return
        out.callee = username
        await self.calllog.segment(call.log, SegmentKind.RING, agent=username)
        await self.ring(call, out, [(username, binding) for binding in contacts])

    async def ring(self, call: Call, out: Outbound, contacts: list[tuple[str, Binding]]) -> None:
        """INVITE every ``(account, binding)`` at once as the call's other side ``out``."""
        body = serialize_bytes(out.offer)
        caller = call.request.from_
        now = self._loop.time()
        for account, binding in contacts:
            browser = await self.webrtc.offer(out.media, binding.transport)
            key = self.ua.invite(
                request_uri=binding.contact_uri,
                from_=NameAddr(caller.uri, caller.display_name),
                to=NameAddr(SipUri(call.tenant.realm, account)),
                destination=binding.destination,
                transport=binding.transport,
                now=now,
                body=body if browser is None else browser.body,
            )
            self.webrtc.sent(key, browser)
            out.forks.add(key)
            out.accounts[key] = account
            self._by_branch[key] = call
        self.flush()

    async def outbound(self, call: Call, ring_for: float) -> Outbound | None:
        """The callee side's endpoint and offer, and the ring timer; None if refused."""
        try:
            media = await self.allocate(call)
        except MediaBackendError as exc:
            log.warning("call %s: no endpoint for the callee: %s", call.call_id, exc)
            self.refuse(call, 503)
            await self.end(call)
            return None
        session = LocalSession(session_id=secrets.randbelow(2**31), address=media.address)
        offer = build_offer(media.capabilities(), session)
        out = call.out = Outbound(media, session, offer)
        out.timer = self._loop.call_later(ring_for, self._dial_timed_out, call)
        return out

    async def dial_out(self, call: Call, number: str, routes: list[TrunkConfig]) -> None:
        """Call ``number`` through the first of ``routes``; the others are fallbacks."""
        out = await self.outbound(call, OUTBOUND_TIMEOUT)
        if out is None:
            return
        out.dialed = number
        out.fallback = list(routes)
        await self._next_trunk(call)

    async def _next_trunk(self, call: Call) -> bool:
        """Send the call on the next fallback trunk that resolves; False if none is left."""
        out = call.out
        assert out is not None
        key = await invite_next(
            self.ua,
            out.fallback,
            out.dialed,
            caller_name=call.request.from_.display_name,
            body=serialize_bytes(out.offer),
            now=self._loop.time(),
        )
        if key is None:
            return False
        out.forks.add(key)
        self._by_branch[key] = call
        self.flush()
        return True

    def _dial_timed_out(self, call: Call) -> None:
        self._enqueue(call.call_id, lambda: self._give_up(call, 480))

    async def _give_up(self, call: Call, status: int) -> None:
        if call.ended or call.out is None or call.out.forks.settled:
            return
        self.cancel_branches(call.out.forks.cancel())
        if call.out.offered is not None:
            await self.offers.failed(call, 408)
            return
        self.refuse(call, status)
        await self.end(call)

    async def _branch(
        self, call: Call, event: OutgoingProgress | OutgoingAnswered | OutgoingFailed
    ) -> None:
        if await self.extensions.placed(call, event):
            return
        out = call.out
        if out is None or call.ended:
            if isinstance(event, OutgoingAnswered):
                self.ua.bye(event.dialog, self._loop.time())
            return
        if isinstance(event, OutgoingProgress):
            has_sdp = bool(event.response.body) and is_sdp(event.response)
            relay = out.forks.progress(event.call, event.response.status, has_sdp=has_sdp)
            if out.offered is not None:
                return  # a queued caller keeps hearing the queue's music
            up = call.dialog is not None
            if relay is Relay.RINGING:
                if up:
                    await self._ringback(call, on=True)
                else:
                    self.respond(call.key, 180)
            elif relay is Relay.EARLY_MEDIA and await self._callee_media(call, event.response):
                await self._ringback(call, on=False)
                if not up:
                    self.respond(call.key, 183, body=call.answer, content_type=SDP_TYPE)
            return
        if isinstance(event, OutgoingFailed):
            if event.status in FAILOVER and out.fallback and event.call in out.forks.pending:
                out.forks.pending.discard(event.call)
                if await self._next_trunk(call):
                    return
                out.forks.pending.add(event.call)
            step = out.forks.failed(event.call, event.status)
            self.cancel_branches(step.cancel)
            if step.fail is not None and out.offered is not None:
                await self.offers.failed(call, step.fail)
            elif step.fail is not None:
                self.refuse(call, step.fail)
                await self.end(call)
            return
        answered = out.forks.answered(event.call)
        if answered.hang_up:
            self.ua.bye(event.dialog, self._loop.time())
            return
        self.cancel_branches(answered.cancel)
        out.dialog = event.dialog
        self._by_dialog[event.dialog] = call
        if not await self._callee_media(call, event.response) and not out.bridged:
            self.ua.bye(event.dialog, self._loop.time())
            self.refuse(call, 488)
            await self.end(call)
            return
        if out.timer is not None:
            out.timer.cancel()
        await self._ringback(call, on=False)
        if call.dialog is None:
            self.connect(call)
        if out.offered is not None and not out.offered.done():
            out.answered_by = out.accounts.get(event.call)
            out.acd_call = call.call_id
            out.offered.set_result(Offered(200, out.answered_by))
        agent = out.answered_by or out.callee or call.account or out.dialed
        await self.calllog.answered(call.log, agent)
        await self.extensions.connected(call)
        if (self.runtime.settings.record_calls or call.record) and call.recording is None:
            await self.recorder.start(call, event.response, agent)

    async def _ringback(self, call: Call, *, on: bool) -> None:
        """Ringback tone to an answered caller while a transfer rings (or stop it)."""
        if call.media is None or on == (call.ringback is not None):
            return
        with contextlib.suppress(MediaBackendError):
            if on:
                tone = ToneSource(RINGBACK)
                call.ringback = await self.media.play(call.media.endpoint, [tone])
            elif call.ringback is not None:
                await self.media.stop_playback(call.ringback)
                call.ringback = None

    async def _callee_media(self, call: Call, response: Response) -> bool:
        """Apply the callee's SDP answer to the B endpoint and bridge it to the caller."""
        out = call.out
        assert out is not None and call.media is not None
        if not response.body or not is_sdp(response):
            return False
        try:
            remote = await self.webrtc.answered(response)
            if remote is None:
                remote = RemoteMedia.from_negotiated(
                    process_answer(out.offer, parse(response.body))
                )
            await self.media.update_endpoint(out.media.endpoint, remote)
            if out.bridge is None:
                if call.queued:
                    await self.media.detach_moh(call.media.endpoint)
                out.bridge = await self.media.bridge(call.media.endpoint, out.media.endpoint)
        except (SdpError, MediaBackendError) as exc:
            log.info("call %s: callee SDP refused: %s", call.call_id, exc)
            return False
        return True

    # -- for the modules that extend call control (and CTI commands) -------------------

    def enqueue(self, call: Call, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after the call's earlier events and commands."""
        self._enqueue(call.call_id, work)

    def track(
        self,
        call: Call,
        *,
        dialog: DialogId | None = None,
        endpoint: str | None = None,
        branch: TransactionKey | None = None,
    ) -> None:
        """Route the events of a dialog, a media endpoint or an INVITE branch to ``call``."""
        if dialog is not None:
            self._by_dialog[dialog] = call
        if endpoint is not None:
            self._by_endpoint[endpoint] = call
        if branch is not None:
            self._by_branch[branch] = call

    async def release_leg(self, out: Outbound) -> None:
        """End one outbound leg (BYE, or CANCEL while it rings) and free its endpoint."""
        if out.timer is not None:
            out.timer.cancel()
        if not out.forks.settled:
            self.cancel_branches(out.forks.cancel())
        if out.dialog is not None:
            self._by_dialog.pop(out.dialog, None)
            self.ua.bye(out.dialog, self._loop.time())
        await self.release_endpoint(out.media)

    async def release_endpoint(self, media: LocalMedia) -> None:
        """Free a leg's endpoint (it leaves any bridge or conference)."""
        self._by_endpoint.pop(media.endpoint, None)
        await self.webrtc.release(media.endpoint)
        with contextlib.suppress(MediaBackendError):
            await self.media.release_endpoint(media.endpoint)
        self.flush()

    async def has_account(self, tenant: SipTenant, user: str) -> bool:
        """Whether ``user`` is one of the tenant's SIP accounts."""
        async with self.runtime.unit_of_work() as session:
            account = await registrations.get_credentials(
                session, tenant_id=tenant.id, username=user
            )
        return account is not None

    def cancel_branches(self, branches: tuple[TransactionKey, ...]) -> None:
        """CANCEL INVITE branches still ringing."""
        now = self._loop.time()
        for branch in branches:
            self.ua.cancel(branch, now)

    # -- the end ------------------------------------------------------------------------

    async def hang_up(self, call: Call) -> None:
        """End the call from our side: BYE to answered legs, CANCEL/final to the rest."""
        if call.ended:
            return
        now = self._loop.time()
        if call.dialog is None:
            self.ua.respond(call.key, 480, now)
        if call.out is not None:
            self.cancel_branches(call.out.forks.cancel())
        await self.end(call)

    async def end(self, call: Call) -> None:
        """Release everything of the call; BYE whichever confirmed leg is still up."""
        if call.ended:
            return
        call.ended = True
        await self.extensions.ending(call)
        now = self._loop.time()
        self.calls.pop(call.call_id, None)
        if call.channel is not None:
            call.channel.close()
        out = call.out
        if call.queued:
            self.acd.leave(call.tenant.id, call.call_id)
            if out is not None and out.offered is not None and not out.offered.done():
                out.offered.set_result(Offered(487))
        if out is not None and out.answered_by is not None:
            self.acd.call_ended(call.tenant.id, out.acd_call or call.call_id, out.answered_by)
        for supervisor in call.supervisors:
            self._enqueue(supervisor.call_id, functools.partial(self.hang_up, supervisor))
        if call.supervising is not None:
            with contextlib.suppress(ValueError):
                call.supervising.supervisors.remove(call)
        dialogs = [call.dialog]
        endpoints = [call.media]
        if call.out is not None:
            if call.out.timer is not None:
                call.out.timer.cancel()
            if not call.out.forks.settled:
                self.cancel_branches(call.out.forks.cancel())
            dialogs.append(call.out.dialog)
            endpoints.append(call.out.media)
        await self.recorder.stop(call)
        for dialog in dialogs:
            if dialog is not None:
                self._by_dialog.pop(dialog, None)
                self.ua.bye(dialog, now)
        for media in endpoints:
            if media is not None:
                self._by_endpoint.pop(media.endpoint, None)
                await self.webrtc.release(media.endpoint)
                with contextlib.suppress(MediaBackendError):
                    await self.media.release_endpoint(media.endpoint)
        if call.out is not None and call.out.conference is not None:
            with contextlib.suppress(MediaBackendError):
                await self.media.destroy_conference(call.out.conference)
        if call.supervising is not None:
            await self.supervision.apply_masks(call.supervising)
        self.flush()
        self.release_ivr_port(call)
        self.leases.release(call.tenant.id, LeaseKind.LINE, call.call_id)
        if call.service_id is not None:
            async with self.runtime.engine.begin() as conn:
                await routing.release_service_slot(
                    conn, service_id=call.service_id, ref=call.call_id
                )
        await self.calllog.close(call.log)

    def release_ivr_port(self, call: Call) -> None:
        """The call leaves self-service: its IVR port is free again."""
        if call.ivr_port:
            call.ivr_port = False
            self.leases.release(call.tenant.id, LeaseKind.IVR_PORT, call.call_id)
