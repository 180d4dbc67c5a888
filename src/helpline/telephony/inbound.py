"""Inbound INVITEs: what a dialled user means and where the call goes.

The Request-URI user is, in this order, a number of the tenant (routing: blacklist,
schedule, service limit, then the service's target: a queue, an IVR flow, voicemail or
an announcement), a supervisor's feature code, a built-in service (``echo``,
``prompt-test``, ``ring``), a SIP account of the tenant (all its phones ring), or, for
an authenticated phone, a number dialled out through the tenant's trunks; else 404.
An INVITE another node sent to put its caller in a queue this node runs comes first
(:mod:`helpline.telephony.forwarding`, trusted from living nodes only); a queue this
node does not run sends the caller on to the node that does.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from helpline.calls.models import CallOutcome, SegmentKind
from helpline.core.errors import CapacityExceeded
from helpline.recordings.models import CallDirection
from helpline.routing import service as routing
from helpline.routing.blacklist import BlockAction, is_anonymous
from helpline.routing.decide import Blocked, RoutingConfig, decide
from helpline.routing.models import OverLimitAction
from helpline.routing.schedule import (
    AnnouncementTarget,
    FlowTarget,
    QueueTarget,
    Target,
    VoicemailTarget,
    VxmlTarget,
)
from helpline.sip.ua import IncomingCall
from helpline.sip.uri import SipUri
from helpline.telephony.channel import Channel
from helpline.telephony.legs import Call, user_of
from helpline.telephony.phones import SipTenant
from helpline.telephony.selfservice import BUSY_PROMPT
from helpline.telephony.services import ALIASES, Builtin, prompt_test
from helpline.telephony.supervision import parse_feature
from helpline.tenants.models import LeaseKind
from helpline.trunks.rules import TrunkConfig

if TYPE_CHECKING:
    from helpline.telephony.calls import CallControl

log = logging.getLogger(__name__)

RING_LIMIT = 120.0


class Inbound:
    """Routes new calls for call control."""

    def __init__(self, control: CallControl) -> None:
        self.control = control

    async def incoming(self, event: IncomingCall) -> None:
        """A new INVITE: a number, a feature code, a built-in service, a phone or out."""
        control = self.control
        if await control.forwarding.accept(event):
            return  # a caller another node sent on to this one, the tenant's ACD leader
        request = event.request
        target = request.uri
        user = target.user if isinstance(target, SipUri) else None
        routing = await control.routing.get(user) if user else None
        if routing is not None:
            await self._routed(event, routing)
            return
        feature = parse_feature(user) if user else None
        if feature is not None:
            await control.supervision.supervise(event, *feature)
            return
        trunk = await control.trunks.inbound(event.source.host)
        if trunk is not None:
            tenant = await control.phones.tenant_by_id(trunk.tenant_id)
        else:
            tenant = await control.phones.tenant(target.host if isinstance(target, SipUri) else "")
        if tenant is None or not user:
            control.respond(event.call, 404)
            return
        builtin = ALIASES.get(user)
        routes: list[TrunkConfig] = []
        account = None
        if builtin is None and not await control.has_account(tenant, user):
            # Not ours: an outbound call, for authenticated phones only. (Numbers that
            # trunks deliver are routed to services with issue 6; until then 404.)
            if trunk is None:
                routes = await control.trunks.outbound(tenant.id, user)
            if not routes:
                control.respond(event.call, 404)
                return
            caller = await control.phones.authenticate(event, tenant, control.trunks)
            if caller is None:
                return
            if caller.trunk is not None:
                control.respond(event.call, 404)
                return
            account = caller.username
        if builtin is not None:
            direction = None
        elif routes:
            direction = CallDirection.OUTBOUND
        else:
            direction = CallDirection.INBOUND if trunk is not None else CallDirection.INTERNAL
        call = await control.admit(event, tenant, direction)
        if call is None:
            return
        call.account = account
        if builtin is Builtin.RING:
            control.respond(event.call, 180)
            asyncio.get_running_loop().call_later(RING_LIMIT, self._ring_out, call)
            return
        if not await control.answer_offer(call):
            return
        if routes:
            await control.dial_out(call, user, routes)
            return
        if builtin is None:
            await control.dial(call, user)
            return
        control.respond(call.key, 180)
        assert call.media is not None
        if builtin is Builtin.ECHO:
            await control.media.bridge(call.media.endpoint, call.media.endpoint)
        control.connect(call)
        if builtin is Builtin.PROMPT_TEST:
            channel = control.open_channel(call)
            control.start_script(call, prompt_test(channel))

    async def _routed(self, event: IncomingCall, config: RoutingConfig) -> None:
        """A call to a number (DID): blacklist, schedule, service limit, then its target."""
        control = self.control
        request, now = event.request, datetime.now(UTC)
        caller = request.from_.uri.user if isinstance(request.from_.uri, SipUri) else None
        anonymous = is_anonymous(caller, request.header("Privacy"))
        decision = decide(config, caller, now, anonymous=anonymous)
        tenant = await control.phones.tenant_by_id(config.tenant_id)
        if tenant is None:
            control.respond(event.call, 404)
            return
        if isinstance(decision, Blocked):
            async with control.runtime.engine.begin() as conn:
                await routing.record_hit(conn, decision.entry_id, now)
            log.info(
                "call %s from %r blocked (entry %d)", request.call_id, caller, decision.entry_id
            )
            await self._blocked_record(event, tenant.id)
            if decision.sip_status is not None:
                control.respond(event.call, decision.sip_status)
            elif decision.action is not BlockAction.DROP:
                await self._self_service(
                    event, tenant, AnnouncementTarget(prompt=decision.prompt or BUSY_PROMPT)
                )
            return
        call = await control.admit(event, tenant)
        if call is None:
            return
        async with control.runtime.engine.begin() as conn:
            admitted = await routing.acquire_service_slot(
                conn,
                tenant_id=tenant.id,
                service_id=decision.service_id,
                max_calls=decision.max_calls,
                ref=call.call_id,
                node=control.runtime.settings.node_name,
            )
        if not admitted:
            await control.end(call)
            if decision.over_limit_action is OverLimitAction.BUSY:
                control.respond(event.call, 486)
            else:
                prompt = decision.over_limit_prompt or BUSY_PROMPT
                await self._self_service(event, tenant, AnnouncementTarget(prompt=prompt))
            return
        call.service_id = decision.service_id
        if isinstance(decision.target, FlowTarget | VxmlTarget):
            try:
                await control.lease(tenant.id, LeaseKind.IVR_PORT, call.call_id)
            except CapacityExceeded:
                control.respond(call.key, 503)
                await control.end(call)
                return
            call.ivr_port = True
        await self.run_target(call, decision.target)

    async def _blocked_record(self, event: IncomingCall, tenant_id: int) -> None:
        control = self.control
        request = event.request
        entry = await control.calllog.open(
            tenant_id,
            request.call_id,
            user_of(request.from_.uri),
            user_of(request.uri),
            CallDirection.INBOUND,
        )
        entry.outcome = CallOutcome.BLACKLISTED
        await control.calllog.close(entry)

    async def _self_service(self, event: IncomingCall, tenant: SipTenant, target: Target) -> None:
        """Answer a call outside any service (an announcement to a blocked caller)."""
        control = self.control
        call = await control.admit(event, tenant, None)
        if call is not None:
            await self.run_target(call, target)

    async def run_target(self, call: Call, target: Target) -> None:
        control = self.control
        if not await control.answer_offer(call):
            return
        control.connect(call)
        channel = control.open_channel(call)
        if isinstance(target, QueueTarget):
            if await control.offers.queue(call, target.queue):
                return
            control.start_script(call, self._elsewhere(call, channel, target))
            return
        if isinstance(target, FlowTarget | VxmlTarget):
            await control.calllog.segment(call.log, SegmentKind.IVR)
        elif isinstance(target, VoicemailTarget):
            await control.calllog.segment(call.log, SegmentKind.VOICEMAIL)
        control.start_script(call, control.selfservice.run(channel, target, channel.hang_up))

    async def _elsewhere(self, call: Call, channel: Channel, target: QueueTarget) -> None:
        """A queue this node does not run: the leader's, else what happens today."""
        control = self.control
        if not await control.forwarding.forward(call, target.queue):
            await control.selfservice.run(channel, target, channel.hang_up)

    def _ring_out(self, call: Call) -> None:
        control = self.control
        if not call.ended:
            control.respond(call.key, 480)
            control.enqueue(call, lambda: control.end(call))
