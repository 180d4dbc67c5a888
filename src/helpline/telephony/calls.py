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
from pathlib import Path

from helpline.calls.models import CallOutcome, HangupSide, SegmentKind, SegmentResult
from helpline.core.errors import ApiError, CapacityExceeded
from helpline.ivr.port import CallGone, TransferKind, TransferTarget
from helpline.media.backend import (
    BridgeId,
    ConferenceId,
    DtmfReceived,
    EndpointTimeout,
    LocalMedia,
    MediaBackend,
    MediaBackendError,
    ParticipantMask,
    PlaybackFinished,
    PlaybackId,
    RecordingId,
    RemoteMedia,
    SilenceDetected,
    ToneSource,
)
from helpline.media.errors import MediaError
from helpline.media.mixer import SupervisionMode
from helpline.media.tones import RINGBACK
from helpline.media.wav import check_wav
from helpline.prompts.language import Language
from helpline.prompts.library import PromptLibrary
from helpline.recordings import service as recordings
from helpline.recordings.models import CallDirection
from helpline.registrations import service as registrations
from helpline.routing import service as routing
from helpline.routing.blacklist import BlockAction, is_anonymous
from helpline.routing.decide import Blocked, RoutingConfig, decide, load_routing
from helpline.routing.models import OverLimitAction
from helpline.routing.schedule import (
    AnnouncementTarget,
    FlowTarget,
    QueueTarget,
    Target,
    VoicemailTarget,
    VxmlTarget,
)
from helpline.runtime import Runtime
from helpline.sdp import SdpError, SessionDescription, parse, serialize_bytes
from helpline.sdp.negotiate import LocalSession, answer_offer, build_offer, process_answer
from helpline.sip.dialog import DialogId
from helpline.sip.dtmf_relay import parse_info_dtmf
from helpline.sip.headers import NameAddr
from helpline.sip.message import Request, Response
from helpline.sip.registrar import Binding
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import (
    CallCancelled,
    CallEnded,
    ClientAuth,
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
from helpline.telephony.calllog import CallLog, Entry
from helpline.telephony.channel import Channel, Playbacks
from helpline.telephony.config_cache import ConfigCache
from helpline.telephony.cti import CallState, Cti
from helpline.telephony.fork import ForkSet, Relay
from helpline.telephony.hooks import Extensions, NoExtensions
from helpline.telephony.leases import LeaseReleaser
from helpline.telephony.phones import Phones, SipTenant
from helpline.telephony.selfservice import BUSY_PROMPT, SelfService
from helpline.telephony.services import ALIASES, Builtin, prompt_test
from helpline.telephony.supervision import KEYS, masks, parse_feature
from helpline.telephony.trunking import FAILOVER, TrunkDirectory, plan_call, resolve
from helpline.telephony.waiting import Waiting, WaitingRoom
from helpline.telephony.webrtc_legs import WebRtcLegs
from helpline.tenants import service as tenants
from helpline.tenants.models import LeaseKind
from helpline.trunks.rules import TrunkConfig
from helpline.users import service as users
from helpline.users.models import Role
from helpline.voicemail import service as voicemail
from helpline.voicemail.notify import Notifier, SmtpConfig

log = logging.getLogger(__name__)

RING_LIMIT = 120.0
DIAL_TIMEOUT = 30.0
OUTBOUND_TIMEOUT = 120.0
SDP_TYPE = "application/sdp"
ROUTING_ENTITIES = frozenset({"number", "service", "blacklist_entry"})


@dataclass(slots=True)
class Outbound:
    """The B side of a bridged call: one endpoint, one offer, a branch per contact."""

    media: LocalMedia
    session: LocalSession
    offer: SessionDescription
    forks: ForkSet[TransactionKey] = field(default_factory=ForkSet)
    dialog: DialogId | None = None
    bridge: BridgeId | None = None
    conference: ConferenceId | None = None
    timer: asyncio.TimerHandle | None = None
    dialed: str = ""
    callee: str = ""
    """The SIP account rung (for supervisors to find the call)."""
    fallback: list[TrunkConfig] = field(default_factory=list)
    offered: asyncio.Future[Offered] | None = None
    """Set for an ACD offer: the caller stays up whatever happens to the offer."""
    accounts: dict[TransactionKey, str] = field(default_factory=dict)
    """The SIP account each branch rings (an ACD offer's agents)."""
    answered_by: str | None = None

    @property
    def bridged(self) -> bool:
        """True once the callee's media is connected to the caller's (a bridge, or a
        conference once a supervisor joined)."""
        return self.bridge is not None or self.conference is not None


@dataclass(slots=True)
class Call:
    """One inbound call and whatever it is connected to."""

    key: TransactionKey
    request: Request
    tenant: SipTenant
    media: LocalMedia | None = None
    session: LocalSession | None = None
    answer: bytes = b""
    dialog: DialogId | None = None
    ended: bool = False
    out: Outbound | None = None
    channel: Channel | None = None
    script: asyncio.Task[None] | None = None
    ringback: PlaybackId | None = None
    service_id: int | None = None
    ivr_port: bool = False
    supervising: Call | None = None
    """For a supervisor's call: the agent's call it joined."""
    spy_mode: SupervisionMode = SupervisionMode.LISTEN
    supervisors: list[Call] = field(default_factory=list)
    queued: bool = False
    """Waiting in (or offered from) an ACD queue."""
    log: Entry = field(default_factory=Entry)
    """The call's record (an empty entry for the built-in test services)."""
    account: str | None = None
    """The SIP account on the caller's side, when it authenticated as one (a phone's
    outbound call, a supervisor) or was rung first (click-to-dial)."""
    affinity: str | None = None
    """Media placement key when the call must share a worker with another call (a
    consultation); None: its own Call-ID."""
    recording: tuple[RecordingId, int, Path] | None = None
    """The recording of the caller's endpoint; it outlives transfers."""
    cti: Cti = field(default_factory=Cti)
    """What CTI commands keep about the call (:mod:`helpline.telephony.commands`)."""

    @property
    def call_id(self) -> str:
        """The caller's Call-ID (the call's reference)."""
        return self.request.call_id


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
        self.leases = LeaseReleaser(runtime)
        self.dialer = Dialer(self)
        self.acd = Distributor(runtime, self._ring_agents, self.dialer.dial)
        self.waiting = WaitingRoom(self)
        self.calllog = CallLog(runtime)
        self.selfservice = SelfService(runtime, self.notifier)
        self.routing: ConfigCache[str, RoutingConfig | None] = ConfigCache(
            runtime, load_routing, entities=ROUTING_ENTITIES
        )
        self.library = PromptLibrary(data_dir=runtime.settings.data_dir)
        self.playbacks = Playbacks()
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

    @property
    def reachable(self) -> dict[tuple[int, str, str], bool]:
        """Qualified phones: reachable or not."""
        return self.phones.reachable

    async def qualify(self) -> None:
        """Send OPTIONS to registered phones (see :meth:`Phones.qualify`)."""
        await self.phones.qualify()

    # -- dispatch -----------------------------------------------------------------------

    def dispatch(self, event: UaEvent) -> None:
        """Queue the reaction to ``event`` behind earlier ones of the same call."""
        if isinstance(event, IncomingCall):
            self._enqueue(event.request.call_id, lambda: self._incoming(event))
        elif isinstance(event, CallCancelled):
            cancelled = next((c for c in self.calls.values() if c.key == event.call), None)
            if cancelled is not None:
                cancelled.log.side = HangupSide.CALLER
                self._enqueue(cancelled.call_id, lambda: self._end(cancelled))
        elif isinstance(event, CallEnded):
            ended = self._by_dialog.get(event.dialog)
            if ended is not None:
                if event.reason is EndReason.REMOTE_BYE:
                    by_caller = event.dialog == ended.dialog
                    ended.log.side = HangupSide.CALLER if by_caller else HangupSide.AGENT
                self._enqueue(ended.call_id, lambda: self._dialog_ended(ended, event.dialog))
        elif isinstance(event, InDialogRequest):
            self._on_dialog(event.dialog, lambda call: self._in_dialog(call, event))
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
                self._respond(event.key, 501)

    def _on_dialog(self, dialog: DialogId, work: Callable[[Call], Awaitable[None]]) -> None:
        call = self._by_dialog.get(dialog)
        if call is None:
            self._enqueue(dialog.call_id, lambda: self._orphan(dialog))
        else:
            self._enqueue(call.call_id, lambda: work(call))

    async def _dialog_ended(self, call: Call, dialog: DialogId) -> None:
        if not await self.extensions.leg_ended(call, dialog):
            await self._end(call)

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
                    keyed.call_id, lambda: self._digit(keyed, event.endpoint, event.digit)
                )
        elif isinstance(event, SilenceDetected):
            quiet = self._by_endpoint.get(event.endpoint)
            if quiet is not None and quiet.channel is not None:
                quiet.channel.silent.set()
        elif isinstance(event, EndpointTimeout):
            call = self._by_endpoint.get(event.endpoint)
            if call is not None and call.dialog is not None:
                log.info("call %s: no RTP for %.0f s, hanging up", call.call_id, event.silent_for)
                self._enqueue(call.call_id, lambda: self._hang_up(call))

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
            await self._hang_up(call)
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

    def _respond(self, key: TransactionKey, status: int, **kwargs: object) -> DialogId | None:
        dialog = self.ua.respond(key, status, self._loop.time(), **kwargs)  # type: ignore[arg-type]
        self.flush()
        return dialog

    def _refuse(self, call: Call, status: int) -> None:
        """Answer an unanswered caller a failure (an answered one is hung up instead)."""
        if call.dialog is None:
            self._respond(call.key, status)

    async def _incoming(self, event: IncomingCall) -> None:
        request = event.request
        target = request.uri
        user = target.user if isinstance(target, SipUri) else None
        routing = await self.routing.get(user) if user else None
        if routing is not None:
            await self._routed(event, routing)
            return
        feature = parse_feature(user) if user else None
        if feature is not None:
            await self._supervise(event, *feature)
            return
        trunk = await self.trunks.inbound(event.source.host)
        if trunk is not None:
            tenant = await self.phones.tenant_by_id(trunk.tenant_id)
        else:
            tenant = await self.phones.tenant(target.host if isinstance(target, SipUri) else "")
        if tenant is None or not user:
            self._respond(event.call, 404)
            return
        builtin = ALIASES.get(user)
        routes: list[TrunkConfig] = []
        account = None
        if builtin is None and not await self._is_account(tenant, user):
            # Not ours: an outbound call, for authenticated phones only. (Numbers that
            # trunks deliver are routed to services with issue 6; until then 404.)
            if trunk is None:
                routes = await self.trunks.outbound(tenant.id, user)
            if not routes:
                self._respond(event.call, 404)
                return
            caller = await self.phones.authenticate(event, tenant, self.trunks)
            if caller is None:
                return
            if caller.trunk is not None:
                self._respond(event.call, 404)
                return
            account = caller.username
        if builtin is not None:
            direction = None
        elif routes:
            direction = CallDirection.OUTBOUND
        else:
            direction = CallDirection.INBOUND if trunk is not None else CallDirection.INTERNAL
        call = await self._admit(event, tenant, direction)
        if call is None:
            return
        call.account = account
        if builtin is Builtin.RING:
            self._respond(event.call, 180)
            self._loop.call_later(RING_LIMIT, self._ring_out, call)
            return
        if not await self._answer_offer(call):
            return
        if routes:
            await self._dial_out(call, user, routes)
            return
        if builtin is None:
            await self._dial(call, user)
            return
        self._respond(call.key, 180)
        assert call.media is not None
        if builtin is Builtin.ECHO:
            await self.media.bridge(call.media.endpoint, call.media.endpoint)
        self._connect(call)
        if builtin is Builtin.PROMPT_TEST:
            channel = self._channel(call)
            call.script = self._loop.create_task(self._script(call, prompt_test(channel)))

    async def _admit(
        self,
        event: IncomingCall,
        tenant: SipTenant,
        direction: CallDirection | None = CallDirection.INBOUND,
    ) -> Call | None:
        """Take a line of the tenant for the call (503 when none is free) and open its
        record (none when ``direction`` is None: the built-in test services)."""
        try:
            await self._lease(tenant.id, LeaseKind.LINE, event.request.call_id)
        except CapacityExceeded:
            self._respond(event.call, 503)
            return None
        call = Call(event.call, event.request, tenant)
        self.calls[call.call_id] = call
        if direction is not None:
            call.log = await self.calllog.open(
                tenant.id,
                call.call_id,
                _user(call.request.from_.uri),
                _user(call.request.uri),
                direction,
            )
        return call

    async def _lease(self, tenant_id: int, kind: LeaseKind, ref: str) -> None:
        async with self.runtime.engine.begin() as conn:
            await tenants.acquire_lease(
                conn,
                tenant_id=tenant_id,
                kind=kind,
                ref=ref,
                node=self.runtime.settings.node_name,
            )

    async def _routed(self, event: IncomingCall, config: RoutingConfig) -> None:
        """A call to a number (DID): blacklist, schedule, service limit, then its target."""
        request, now = event.request, datetime.now(UTC)
        caller = request.from_.uri.user if isinstance(request.from_.uri, SipUri) else None
        anonymous = is_anonymous(caller, request.header("Privacy"))
        decision = decide(config, caller, now, anonymous=anonymous)
        tenant = await self.phones.tenant_by_id(config.tenant_id)
        if tenant is None:
            self._respond(event.call, 404)
            return
        if isinstance(decision, Blocked):
            async with self.runtime.engine.begin() as conn:
                await routing.record_hit(conn, decision.entry_id, now)
            log.info(
                "call %s from %r blocked (entry %d)", request.call_id, caller, decision.entry_id
            )
            await self._blocked_record(event, tenant.id)
            if decision.sip_status is not None:
                self._respond(event.call, decision.sip_status)
            elif decision.action is not BlockAction.DROP:
                await self._self_service(
                    event, tenant, AnnouncementTarget(prompt=decision.prompt or BUSY_PROMPT)
                )
            return
        call = await self._admit(event, tenant)
        if call is None:
            return
        async with self.runtime.engine.begin() as conn:
            admitted = await routing.acquire_service_slot(
                conn,
                tenant_id=tenant.id,
                service_id=decision.service_id,
                max_calls=decision.max_calls,
                ref=call.call_id,
                node=self.runtime.settings.node_name,
            )
        if not admitted:
            await self._end(call)
            if decision.over_limit_action is OverLimitAction.BUSY:
                self._respond(event.call, 486)
            else:
                prompt = decision.over_limit_prompt or BUSY_PROMPT
                await self._self_service(event, tenant, AnnouncementTarget(prompt=prompt))
            return
        call.service_id = decision.service_id
        if isinstance(decision.target, FlowTarget | VxmlTarget):
            try:
                await self._lease(tenant.id, LeaseKind.IVR_PORT, call.call_id)
            except CapacityExceeded:
                self._respond(call.key, 503)
                await self._end(call)
                return
            call.ivr_port = True
        await self._run_target(call, decision.target)

    async def _blocked_record(self, event: IncomingCall, tenant_id: int) -> None:
        request = event.request
        entry = await self.calllog.open(
            tenant_id,
            request.call_id,
            _user(request.from_.uri),
            _user(request.uri),
            CallDirection.INBOUND,
        )
        entry.outcome = CallOutcome.BLACKLISTED
        await self.calllog.close(entry)

    async def _self_service(self, event: IncomingCall, tenant: SipTenant, target: Target) -> None:
        """Answer a call outside any service (an announcement to a blocked caller)."""
        call = await self._admit(event, tenant, None)
        if call is not None:
            await self._run_target(call, target)

    async def _run_target(self, call: Call, target: Target) -> None:
        if not await self._answer_offer(call):
            return
        self._connect(call)
        channel = self._channel(call)
        if isinstance(target, QueueTarget) and await self.queue(call, target.queue):
            return
        if isinstance(target, FlowTarget | VxmlTarget):
            await self.calllog.segment(call.log, SegmentKind.IVR)
        elif isinstance(target, VoicemailTarget):
            await self.calllog.segment(call.log, SegmentKind.VOICEMAIL)
        hang_up = channel.hang_up
        call.script = self._loop.create_task(
            self._script(call, self.selfservice.run(channel, target, hang_up))
        )

    async def _supervise(self, event: IncomingCall, mode: SupervisionMode, extension: str) -> None:
        """A supervisor joins the call of the agent at ``extension``."""
        target = event.request.uri
        tenant = await self.phones.tenant(target.host if isinstance(target, SipUri) else "")
        if tenant is None:
            self._respond(event.call, 404)
            return
        caller = await self.phones.authenticate(event, tenant, self.trunks)
        if caller is None:
            return
        async with self.runtime.unit_of_work() as db:
            role = await users.sip_account_role(db, tenant_id=tenant.id, username=caller.username)
        if caller.trunk is not None or role is None or not role.at_least(Role.SUPERVISOR):
            self._respond(event.call, 403)
            return
        agent_call = self._agent_call(tenant.id, extension)
        if agent_call is None:
            self._respond(event.call, 480, reason="No call to supervise")
            return
        call = await self._admit(event, tenant)
        if call is None or not await self._answer_offer(call, affinity=agent_call.call_id):
            return
        call.supervising, call.spy_mode = agent_call, mode
        call.account = caller.username
        agent_call.supervisors.append(call)
        self._connect(call)
        try:
            await self._join(agent_call, call)
        except MediaBackendError as exc:
            log.warning("call %s: supervisor could not join: %s", agent_call.call_id, exc)
            await self._hang_up(call)

    def _agent_call(self, tenant_id: int, extension: str) -> Call | None:
        """This node's answered call to the phones of ``extension``."""
        for call in self.calls.values():
            out = call.out
            if (
                call.tenant.id == tenant_id
                and out is not None
                and out.callee == extension
                and out.dialog is not None
                and not call.ended
            ):
                return call
        return None

    async def _join(self, agent_call: Call, supervisor: Call) -> None:
        """Move the agent's call into a conference (once) and add the supervisor."""
        out = agent_call.out
        assert out is not None and agent_call.media is not None and supervisor.media is not None
        if out.conference is None:
            if out.bridge is not None:
                await self.media.unbridge(out.bridge)
                out.bridge = None
            out.conference = await self.media.create_conference(affinity=agent_call.call_id)
            for endpoint in (agent_call.media.endpoint, out.media.endpoint):
                await self.media.add_participant(out.conference, endpoint, ParticipantMask())
        silent = ParticipantMask(sends=False, hears=frozenset())
        await self.media.add_participant(out.conference, supervisor.media.endpoint, silent)
        await self._apply_masks(agent_call)

    async def _apply_masks(self, agent_call: Call) -> None:
        out = agent_call.out
        if out is None or out.conference is None or agent_call.media is None:
            return
        third = agent_call.cti.third
        table = masks(
            agent_call.media.endpoint,
            out.media.endpoint,
            {s.media.endpoint: s.spy_mode for s in agent_call.supervisors if s.media is not None},
            others=() if third is None else (third.media.endpoint,),
            held=agent_call.cti.overlay is CallState.HELD,
        )
        for endpoint, mask in table.items():
            with contextlib.suppress(MediaBackendError):
                await self.media.update_participant(out.conference, endpoint, mask)

    async def _is_account(self, tenant: SipTenant, user: str) -> bool:
        async with self.runtime.unit_of_work() as session:
            account = await registrations.get_credentials(
                session, tenant_id=tenant.id, username=user
            )
        return account is not None

    async def _answer_offer(self, call: Call, *, affinity: str | None = None) -> bool:
        """Allocate the caller's endpoint (on the media worker of ``affinity``, by default
        the call's own) and our answer to its offer; False if refused."""
        try:
            offer = parse(call.request.body)
            call.media = await self._allocate(call, affinity)
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
            self._respond(call.key, exc.status_code if isinstance(exc, SdpError) else 488)
            await self._end(call)
            return False
        call.answer = serialize_bytes(answer.description)
        return True

    async def _allocate(self, call: Call, affinity: str | None = None) -> LocalMedia:
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

    def _connect(self, call: Call) -> None:
        """Answer the caller 200 with our SDP."""
        call.dialog = self._respond(call.key, 200, body=call.answer, content_type=SDP_TYPE)
        if call.dialog is not None:
            self._by_dialog[call.dialog] = call

    def _channel(self, call: Call) -> Channel:
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
            hang_up=lambda: self._enqueue(call.call_id, lambda: self._hang_up(call)),
            transfer=lambda where: self._transfer(call, where),
        )
        return call.channel

    def run_script(self, call: Call, script: Callable[[Channel], Awaitable[None]]) -> None:
        """Run ``script`` on the answered caller's channel (an after-call survey); the
        caller is hung up if it fails."""
        channel = call.channel or self._channel(call)
        call.script = self._loop.create_task(self._script(call, script(channel)))

    async def _script(self, call: Call, script: Awaitable[None]) -> None:
        try:
            await script
        except CallGone:
            return
        except (MediaBackendError, LookupError, ApiError) as exc:
            log.warning("call %s: script failed: %s", call.call_id, exc)
            self._enqueue(call.call_id, lambda: self._hang_up(call))

    async def _transfer(self, call: Call, where: TransferTarget) -> None:
        """A script hands the answered call on: voicemail, a phone, or out a number."""
        port = call.channel
        if where.kind is TransferKind.VOICEMAIL and port is not None:
            await self.calllog.segment(call.log, SegmentKind.VOICEMAIL)
            await self.selfservice.voicemail(
                port,
                lambda db: voicemail.box_for_call(db, tenant_id=call.tenant.id, name=where.target),
            )
            self._enqueue(call.call_id, lambda: self._hang_up(call))
            return
        if where.kind is TransferKind.QUEUE and port is not None:
            if not await self.queue(call, where.target, where.priority, where.skills, where.data):
                await self.selfservice.announce(port, BUSY_PROMPT)
                self._enqueue(call.call_id, lambda: self._hang_up(call))
            return
        self._release_ivr_port(call)
        call.channel = None
        if where.kind is TransferKind.AGENT and await self._is_account(call.tenant, where.target):
            self._enqueue(call.call_id, lambda: self._dial(call, where.target))
            return
        if where.kind is TransferKind.NUMBER:
            routes = await self.trunks.outbound(call.tenant.id, where.target)
            if routes:
                self._enqueue(call.call_id, lambda: self._dial_out(call, where.target, routes))
                return
        log.warning("call %s: cannot transfer to %s %s", call.call_id, where.kind, where.target)
        self._enqueue(call.call_id, lambda: self._hang_up(call))

    def _ring_out(self, call: Call) -> None:
        if not call.ended:
            self._respond(call.key, 480)
            self._enqueue(call.call_id, lambda: self._end(call))

    # -- the phones' side ---------------------------------------------------------------

    async def _dial(self, call: Call, username: str) -> None:
        """Ring every registered contact of ``username`` at once."""
        async with self.runtime.unit_of_work() as db:
            contacts = await registrations.contacts_for(
                db, tenant_id=call.tenant.id, username=username, now=datetime.now(UTC)
            )
        if not contacts:
            self._refuse(call, 480)
            await self._end(call)
            return
        out = await self._outbound(call, self.dial_timeout)
        if out is None:
            return
        out.callee = username
        await self.calllog.segment(call.log, SegmentKind.RING, agent=username)
        body = serialize_bytes(out.offer)
        caller = call.request.from_
        callee = NameAddr(SipUri(call.tenant.realm, username))
        now = self._loop.time()
        for binding in contacts:
            browser = await self.webrtc.offer(out.media, binding.transport)
            key = self.ua.invite(
                request_uri=binding.contact_uri,
                from_=NameAddr(caller.uri, caller.display_name),
                to=callee,
                destination=binding.destination,
                transport=binding.transport,
                now=now,
                body=body if browser is None else browser.body,
            )
            self.webrtc.sent(key, browser)
            out.forks.add(key)
            self._by_branch[key] = call
        self.flush()

    async def _outbound(self, call: Call, ring_for: float) -> Outbound | None:
        """The callee side's endpoint and offer, and the ring timer; None if refused."""
        try:
            media = await self._allocate(call)
        except MediaBackendError as exc:
            log.warning("call %s: no endpoint for the callee: %s", call.call_id, exc)
            self._refuse(call, 503)
            await self._end(call)
            return None
        session = LocalSession(session_id=secrets.randbelow(2**31), address=media.address)
        offer = build_offer(media.capabilities(), session)
        out = call.out = Outbound(media, session, offer)
        out.timer = self._loop.call_later(ring_for, self._dial_timed_out, call)
        return out

    async def _dial_out(self, call: Call, number: str, routes: list[TrunkConfig]) -> None:
        """Call ``number`` through the first of ``routes``; the others are fallbacks."""
        out = await self._outbound(call, OUTBOUND_TIMEOUT)
        if out is None:
            return
        out.dialed = number
        out.fallback = list(routes)
        await self._next_trunk(call)

    async def _next_trunk(self, call: Call) -> bool:
        """Send the call on the next fallback trunk that resolves; False if none is left."""
        out = call.out
        assert out is not None
        while out.fallback:
            trunk = out.fallback.pop(0)
            try:
                destination = await resolve(trunk)
            except OSError as exc:
                log.warning("call %s: trunk %s unreachable: %s", call.call_id, trunk.name, exc)
                continue
            plan = plan_call(trunk, out.dialed, caller_name=call.request.from_.display_name)
            auth = None
            if trunk.username and trunk.password:
                auth = ClientAuth(trunk.username, trunk.password)
            key = self.ua.invite(
                request_uri=plan.request_uri,
                from_=plan.from_,
                to=plan.to,
                destination=destination,
                transport=trunk.transport.value,
                now=self._loop.time(),
                body=serialize_bytes(out.offer),
                extra=plan.extra,
                auth=auth,
            )
            out.forks.add(key)
            self._by_branch[key] = call
            self.flush()
            return True
        return False

    def _dial_timed_out(self, call: Call) -> None:
        self._enqueue(call.call_id, lambda: self._give_up(call, 480))

    async def _give_up(self, call: Call, status: int) -> None:
        if call.ended or call.out is None or call.out.forks.settled:
            return
        self._cancel_branches(call.out.forks.cancel())
        if call.out.offered is not None:
            await self._offer_failed(call, 408)
            return
        self._refuse(call, status)
        await self._end(call)

    async def _offer_failed(self, call: Call, status: int) -> None:
        """An ACD offer came to nothing: free its endpoint; the caller waits on."""
        out = call.out
        assert out is not None and out.offered is not None
        call.out = None
        if out.timer is not None:
            out.timer.cancel()
        self._by_endpoint.pop(out.media.endpoint, None)
        await self.webrtc.release(out.media.endpoint)
        with contextlib.suppress(MediaBackendError):
            await self.media.release_endpoint(out.media.endpoint)
        if not out.offered.done():
            out.offered.set_result(Offered(status))
        if not call.ended:
            await self.calllog.segment(call.log, SegmentKind.QUEUE, ended=SegmentResult.NO_ANSWER)

    def _cancel_branches(self, branches: tuple[TransactionKey, ...]) -> None:
        now = self._loop.time()
        for branch in branches:
            self.ua.cancel(branch, now)

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
            has_sdp = bool(event.response.body) and _is_sdp(event.response)
            relay = out.forks.progress(event.call, event.response.status, has_sdp=has_sdp)
            if out.offered is not None:
                return  # a queued caller keeps hearing the queue's music
            up = call.dialog is not None
            if relay is Relay.RINGING:
                if up:
                    await self._ringback(call, on=True)
                else:
                    self._respond(call.key, 180)
            elif relay is Relay.EARLY_MEDIA and await self._callee_media(call, event.response):
                await self._ringback(call, on=False)
                if not up:
                    self._respond(call.key, 183, body=call.answer, content_type=SDP_TYPE)
            return
        if isinstance(event, OutgoingFailed):
            if event.status in FAILOVER and out.fallback and event.call in out.forks.pending:
                out.forks.pending.discard(event.call)
                if await self._next_trunk(call):
                    return
                out.forks.pending.add(event.call)
            step = out.forks.failed(event.call, event.status)
            self._cancel_branches(step.cancel)
            if step.fail is not None and out.offered is not None:
                await self._offer_failed(call, step.fail)
            elif step.fail is not None:
                self._refuse(call, step.fail)
                await self._end(call)
            return
        answered = out.forks.answered(event.call)
        if answered.hang_up:
            self.ua.bye(event.dialog, self._loop.time())
            return
        self._cancel_branches(answered.cancel)
        out.dialog = event.dialog
        self._by_dialog[event.dialog] = call
        if not await self._callee_media(call, event.response) and not out.bridged:
            self.ua.bye(event.dialog, self._loop.time())
            self._refuse(call, 488)
            await self._end(call)
            return
        if out.timer is not None:
            out.timer.cancel()
        await self._ringback(call, on=False)
        if call.dialog is None:
            self._connect(call)
        if out.offered is not None and not out.offered.done():
            out.answered_by = out.accounts.get(event.call)
            out.offered.set_result(Offered(200, out.answered_by))
        agent = out.answered_by or out.callee or call.account or out.dialed
        await self.calllog.answered(call.log, agent)
        await self.extensions.connected(call)
        if self.runtime.settings.record_calls and call.recording is None:
            await self._record(call, event.response)

    async def _record(self, call: Call, answer: Response) -> None:
        """Record the connected call from the caller's endpoint: what the caller says
        left, what the caller hears (the callee) right; it goes on when supervisors
        join (the call moves from a bridge into a conference)."""
        out = call.out
        assert out is not None
        now = datetime.now(UTC)
        settings = self.runtime.settings
        where = recordings.recording_path(settings.data_dir, call.tenant.id, now)
        async with self.runtime.unit_of_work() as db:
            row = await recordings.begin(
                db,
                tenant_id=call.tenant.id,
                call_id=call.call_id,
                caller=str(call.request.from_.uri),
                callee=str(answer.to.uri),
                path=where.relative,
                stereo=True,
                started_at=now,
                direction=CallDirection.INBOUND,
                node=settings.node_name,
            )
        try:
            assert call.media is not None
            made = await self.media.start_recording(call.media.endpoint, str(where.absolute))
        except MediaBackendError as exc:
            log.warning("call %s: recording failed to start: %s", call.call_id, exc)
            await self._finish_recording(row.id, where.absolute, error=str(exc))
            return
        call.recording = (made, row.id, where.absolute)

    async def _finish_recording(self, row_id: int, path: Path, *, error: str | None = None) -> None:
        duration, size = await asyncio.to_thread(_measure, path)
        async with self.runtime.unit_of_work() as db:
            await recordings.finish(
                db,
                recording_id=row_id,
                ended_at=datetime.now(UTC),
                duration=duration,
                size=size,
                error=error,
            )

    async def queue(
        self,
        call: Call,
        name: str,
        priority: int = 0,
        skills: dict[str, int] | None = None,
        data: dict[str, str] | None = None,
        *,
        hops: int = 0,
    ) -> bool:
        """Put the answered call in the ACD queue ``name`` with its music on hold and
        hand it to the waiting room (announcements, the callback key, the queue's
        fallback when it is full or sends the caller away); False when there is no
        such queue on this node."""
        config = await self.acd.queue_exists(call.tenant.id, name)
        if config is None or call.media is None:
            return False
        ivr = call.script
        self._release_ivr_port(call)
        call.queued = True
        with contextlib.suppress(MediaBackendError):
            await self.media.attach_moh(call.media.endpoint, config.music_on_hold)
        await self.calllog.segment(call.log, SegmentKind.QUEUE, queue=name)

        async def requeue(other: str, hop: int) -> bool:
            return await self.queue(call, other, priority, skills, data, hops=hop)

        self.waiting.start(
            Waiting(
                tenant_id=call.tenant.id,
                call_id=call.call_id,
                queue=name,
                channel=self._channel(call),
                log=call.log,
                requeue=requeue,
                priority=priority,
                skills=dict(skills or {}),
                data={k: str(v) for k, v in (data or {}).items()},
                caller=_user(call.request.from_.uri),
                called=_user(call.request.uri),
                ivr=ivr if ivr is not None and not ivr.done() else None,
                hops=hops,
            )
        )
        return True

    async def _ring_agents(
        self, call_id: str, accounts: tuple[str, ...], seconds: float
    ) -> Offered:
        """Ring every registered phone of ``accounts`` for the ACD; connect the first to
        answer to the waiting caller."""
        call = self.calls.get(call_id)
        if call is None or call.ended or call.out is not None:
            return Offered(487)
        contacts: list[tuple[str, Binding]] = []
        async with self.runtime.unit_of_work() as db:
            for account in accounts:
                found = await registrations.contacts_for(
                    db, tenant_id=call.tenant.id, username=account, now=datetime.now(UTC)
                )
                contacts.extend((account, binding) for binding in found)
        if not contacts or call.ended:
            return Offered(480)
        future: asyncio.Future[Offered] = self._loop.create_future()
        self._enqueue(call.call_id, lambda: self._send_offer(call, contacts, seconds, future))
        offered = await future
        if offered.status == 200:
            self.waiting.stop(call.call_id)
            call.channel = None  # keys go to the agent again
        return offered

    async def _send_offer(
        self,
        call: Call,
        contacts: list[tuple[str, Binding]],
        seconds: float,
        future: asyncio.Future[Offered],
    ) -> None:
        if call.ended or call.out is not None:
            future.set_result(Offered(487))
            return
        out = await self._outbound(call, seconds)
        if out is None:
            future.set_result(Offered(503))
            return
        out.offered = future
        out.callee = contacts[0][0]
        await self.calllog.segment(call.log, SegmentKind.RING, agent=out.callee)
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
        if not response.body or not _is_sdp(response):
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

    # -- in the call --------------------------------------------------------------------

    async def _in_dialog(self, call: Call, event: InDialogRequest) -> None:
        request = event.request
        if request.method == "INFO":
            self._respond(event.key, 200)
            content_type = request.header("Content-Type")
            digit = parse_info_dtmf(content_type, request.body)
            if digit is not None:
                endpoint = self._endpoint_of(call, event.dialog)
                if endpoint is not None:
                    await self._digit(call, endpoint, digit.key)
            return
        if not request.body:
            self._respond(event.key, 200)
            return
        media, session = self._leg_media(call, event.dialog)
        if media is None or session is None:
            self._respond(event.key, 488)
            return
        if self.webrtc.carries(media.endpoint):
            try:
                body = await self.webrtc.reoffer(media.endpoint, request.body)
            except MediaBackendError:
                self._respond(event.key, 488)
                return
            self._respond(event.key, 200, body=body, content_type=SDP_TYPE)
            return
        try:
            answer = answer_offer(parse(request.body), media.capabilities(), session)
            await self.media.update_endpoint(
                media.endpoint, RemoteMedia.from_negotiated(answer.media)
            )
        except (SdpError, MediaBackendError) as exc:
            self._respond(event.key, exc.status_code if isinstance(exc, SdpError) else 488)
            return
        self._respond(
            event.key, 200, body=serialize_bytes(answer.description), content_type=SDP_TYPE
        )

    def _leg_media(
        self, call: Call, dialog: DialogId
    ) -> tuple[LocalMedia | None, LocalSession | None]:
        if call.out is not None and dialog == call.out.dialog:
            return call.out.media, call.out.session
        third = call.cti.third
        if third is not None and dialog == third.dialog:
            return third.media, third.session
        return call.media, call.session

    def _endpoint_of(self, call: Call, dialog: DialogId) -> str | None:
        media, _ = self._leg_media(call, dialog)
        return None if media is None else media.endpoint

    async def _digit(self, call: Call, endpoint: str, key: str) -> None:
        """A key from one side: to the script, or relayed to the other side; a
        supervisor's keys switch the supervision mode."""
        if call.supervising is not None:
            mode = KEYS.get(key)
            if mode is not None and mode is not call.spy_mode:
                call.spy_mode = mode
                await self._apply_masks(call.supervising)
            return
        if call.channel is not None:
            call.channel.digits.put_nowait(key)
            return
        out = call.out
        if out is None or not out.bridged or call.media is None:
            return
        other = out.media.endpoint if endpoint == call.media.endpoint else call.media.endpoint
        with contextlib.suppress(MediaBackendError):
            await self.media.send_dtmf(other, key)

    # -- for CTI commands (helpline.telephony.commands) ----------------------------------

    def enqueue(self, call: Call, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after the call's earlier events and commands."""
        self._enqueue(call.call_id, work)

    async def hang_up(self, call: Call) -> None:
        """End the call from our side (BYE, CANCEL or a final response)."""
        await self._hang_up(call)

    async def end(self, call: Call) -> None:
        """Release the call and whatever legs it still holds."""
        await self._end(call)

    async def dial(self, call: Call, username: str) -> None:
        """Ring every registered phone of ``username`` as the call's other side."""
        await self._dial(call, username)

    async def dial_out(self, call: Call, number: str, routes: list[TrunkConfig]) -> None:
        """Call ``number`` through ``routes`` as the call's other side."""
        await self._dial_out(call, number, routes)

    async def allocate(self, call: Call) -> LocalMedia:
        """A media endpoint for one of the call's legs, on the call's media worker."""
        return await self._allocate(call)

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
            self._cancel_branches(out.forks.cancel())
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

    async def join(self, agent_call: Call, supervisor: Call) -> None:
        """Add an answered supervisor's leg to the agent's call (see :meth:`_join`)."""
        await self._join(agent_call, supervisor)

    async def apply_masks(self, call: Call) -> None:
        """Set who hears whom in the call's conference (if it is in one)."""
        await self._apply_masks(call)

    async def lease_line(self, tenant_id: int, ref: str) -> None:
        """Take a line of the tenant for ``ref`` (CapacityExceeded when none is free)."""
        await self._lease(tenant_id, LeaseKind.LINE, ref)

    def cancel_branches(self, branches: tuple[TransactionKey, ...]) -> None:
        """CANCEL INVITE branches still ringing."""
        self._cancel_branches(branches)

    async def has_account(self, tenant: SipTenant, user: str) -> bool:
        """Whether ``user`` is one of the tenant's SIP accounts."""
        return await self._is_account(tenant, user)

    # -- the end ------------------------------------------------------------------------

    async def _hang_up(self, call: Call) -> None:
        """End the call from our side: BYE to answered legs, CANCEL/final to the rest."""
        if call.ended:
            return
        now = self._loop.time()
        if call.dialog is None:
            self.ua.respond(call.key, 480, now)
        if call.out is not None:
            self._cancel_branches(call.out.forks.cancel())
        await self._end(call)

    async def _end(self, call: Call) -> None:
        """Release everything of the call; BYE whichever confirmed leg is still up."""
        if call.ended:
            return
        call.ended = True
        await self.extensions.ending(call)
        now = self._loop.time()
        self.calls.pop(call.call_id, None)
        if call.channel is not None:
            call.channel.close()
        if call.queued:
            self.acd.leave(call.tenant.id, call.call_id)
            out = call.out
            if out is not None and out.offered is not None and not out.offered.done():
                out.offered.set_result(Offered(487))
            if out is not None and out.answered_by is not None:
                self.acd.call_ended(call.tenant.id, call.call_id, out.answered_by)
        for supervisor in call.supervisors:
            self._enqueue(supervisor.call_id, functools.partial(self._hang_up, supervisor))
        if call.supervising is not None:
            with contextlib.suppress(ValueError):
                call.supervising.supervisors.remove(call)
        dialogs = [call.dialog]
        endpoints = [call.media]
        if call.out is not None:
            if call.out.timer is not None:
                call.out.timer.cancel()
            if not call.out.forks.settled:
                self._cancel_branches(call.out.forks.cancel())
            dialogs.append(call.out.dialog)
            endpoints.append(call.out.media)
        if call.recording is not None:
            made, row_id, path = call.recording
            with contextlib.suppress(MediaBackendError):
                await self.media.stop_recording(made)
            await self._finish_recording(row_id, path)
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
            await self._apply_masks(call.supervising)
        self.flush()
        self._release_ivr_port(call)
        self.leases.release(call.tenant.id, LeaseKind.LINE, call.call_id)
        if call.service_id is not None:
            async with self.runtime.engine.begin() as conn:
                await routing.release_service_slot(
                    conn, service_id=call.service_id, ref=call.call_id
                )
        await self.calllog.close(call.log)

    def _release_ivr_port(self, call: Call) -> None:
        """The call leaves self-service: its IVR port is free again."""
        if call.ivr_port:
            call.ivr_port = False
            self.leases.release(call.tenant.id, LeaseKind.IVR_PORT, call.call_id)


def _measure(path: Path) -> tuple[float, int]:
    """Duration (s) and size (bytes) of a finished WAV recording; zeros if unreadable."""
    try:
        return check_wav(path).duration, path.stat().st_size
    except (OSError, MediaError):
        return 0.0, 0


def _user(uri: object) -> str:
    """The user part of a SIP URI ("" for others)."""
    return (uri.user or "") if isinstance(uri, SipUri) else ""


def _is_sdp(response: Response) -> bool:
    content_type = response.header("Content-Type") or ""
    return content_type.split(";", 1)[0].strip().lower() == SDP_TYPE
