"""Calls that start by ringing one of our users' phones: click-to-dial, and supervisors
joining or taking over a call from the API.

Theory of operation
-------------------
Such a call has no inbound INVITE. Its A side is a leg we place ourselves: an endpoint
and an SDP offer, and one INVITE per registered contact of the user's SIP accounts,
forked like any B2BUA call (:class:`~helpline.telephony.fork.ForkSet`: the first 2xx
wins, the other branches are cancelled; when all fail, or after the ring time, the
call ends). Once a phone answers, the leg becomes the call's A side exactly as if
that phone had called in, and what follows is ordinary call control:

* click-to-dial rings the agent's phones first, then calls the customer's number
  through the tenant's trunks (or an extension) as the call's B side; the agent hears
  ringback meanwhile and the call record is the agent's outbound (or internal) call;
* a supervisor's phone rings, and once answered joins the agent's call in the chosen
  mode (listen, whisper, barge: the masks of :mod:`helpline.telephony.supervision`);
* intercept: the supervisor (already listening, or rung first) takes the agent's
  place: the supervisor's leg becomes the call's B side, the agent's leg gets BYE and
  the ACD puts the agent in wrap-up.

A supervisor's leg has a call record of its own, linked to the agent's call
(``parent_call_id``): the supervisor calls the agent, internal; the supervisor's phone
rings, then each supervision mode is a talk segment naming it; an intercept ends the
record with a transfer segment (the leg lives on in the agent's call, whose record
the supervisor now answers).

Calls made here carry a synthetic INVITE (:meth:`Originator.request`) describing them
the way an inbound call's INVITE would (From the calling side, To the called side,
a Call-ID of our own) and a server-transaction key that names no transaction, so call
control's answers to "the caller" go nowhere.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from helpline.callcontrol.events import CallTransferred, SupervisorJoined
from helpline.calls.models import SegmentKind
from helpline.core.errors import Conflict, NotFound
from helpline.media.backend import MediaBackendError, RemoteMedia
from helpline.media.mixer import SupervisionMode
from helpline.recordings.models import CallDirection
from helpline.registrations import service as registrations
from helpline.sdp import SdpError, parse, serialize_bytes
from helpline.sdp.negotiate import LocalSession, build_offer, process_answer
from helpline.sip.headers import Header, NameAddr
from helpline.sip.message import Request
from helpline.sip.registrar import Binding
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import OutgoingAnswered, OutgoingFailed, OutgoingProgress
from helpline.sip.uri import SipUri
from helpline.telephony.cti import (
    Actor,
    CallState,
    Command,
    Destination,
    DestinationKind,
    LiveCall,
    Placing,
)
from helpline.telephony.legs import Call, Outbound
from helpline.telephony.phones import SipTenant
from helpline.tenants.models import LeaseKind

if TYPE_CHECKING:
    from helpline.telephony.commands import CallCommands

#: The states in which a supervisor may join a call.
SUPERVISABLE = frozenset({CallState.TALKING, CallState.HELD, CallState.CONFERENCE})


def no_phone(accounts: Sequence[str]) -> Conflict:
    """409: none of the user's SIP accounts has a registered phone to ring."""
    return Conflict(
        "none of your phones is registered",
        error_id="phone_not_registered",
        details={"accounts": list(accounts)},
    )


class Originator:
    """Legs rung first, for :class:`~helpline.telephony.commands.CallCommands`."""

    def __init__(self, commands: CallCommands) -> None:
        self.commands = commands
        self.control = commands.control

    # -- making such calls ----------------------------------------------------------------

    @staticmethod
    def request(
        tenant: SipTenant, call_id: str, *, caller: str, called: str, display: str | None = None
    ) -> Request:
        """The INVITE a call from ``caller`` to ``called`` would have come with."""
        fields = (
            Header(
                "From",
                str(NameAddr(SipUri(tenant.realm, caller), display).with_tag(secrets.token_hex(4))),
            ),
            Header("To", str(NameAddr(SipUri(tenant.realm, called)))),
            Header("Call-ID", call_id),
            Header("CSeq", "1 INVITE"),
        )
        return Request("INVITE", SipUri(tenant.realm, called), fields)

    def new_call(
        self,
        tenant: SipTenant,
        *,
        caller: str,
        called: str,
        account: str | None,
        affinity: str | None = None,
    ) -> Call:
        """A call of our own making (not yet known to call control)."""
        call_id = f"cti-{secrets.token_hex(12)}@{tenant.realm}"
        key = TransactionKey(f"cti-{call_id}", "INVITE", server=True)
        request = self.request(tenant, call_id, caller=caller, called=called)
        return Call(key, request, tenant, account=account, affinity=affinity)

    async def contacts(self, tenant_id: int, accounts: Sequence[str]) -> list[tuple[str, Binding]]:
        """The registered phones of ``accounts``; 409 ``phone_not_registered`` if none."""
        found: list[tuple[str, Binding]] = []
        async with self.control.runtime.unit_of_work() as db:
            for account in accounts:
                bindings = await registrations.contacts_for(
                    db, tenant_id=tenant_id, username=account, now=datetime.now(UTC)
                )
                found.extend((account, binding) for binding in bindings)
        if not found:
            raise no_phone(accounts)
        return found

    async def admit(self, call: Call) -> None:
        """Take a line for the call and make it known to call control."""
        await self.control.lease(call.tenant.id, LeaseKind.LINE, call.call_id)
        self.control.calls[call.call_id] = call

    async def ring(
        self,
        call: Call,
        contacts: list[tuple[str, Binding]],
        then: Callable[[], Awaitable[None]],
    ) -> None:
        """Ring ``contacts`` as the call's A side; ``then`` runs once one answers."""
        control = self.control
        media = await control.allocate(call)
        session = LocalSession(session_id=secrets.randbelow(2**31), address=media.address)
        offer = build_offer(media.capabilities(), session)
        placing = call.cti.placing = Placing(media, session, offer, then)
        body = serialize_bytes(offer)
        caller = call.request.to
        loop = asyncio.get_running_loop()
        for account, binding in contacts:
            browser = await control.webrtc.offer(media, binding.transport)
            key = control.ua.invite(
                request_uri=binding.contact_uri,
                from_=NameAddr(caller.uri, caller.display_name),
                to=NameAddr(SipUri(call.tenant.realm, account)),
                destination=binding.destination,
                transport=binding.transport,
                now=loop.time(),
                body=body if browser is None else browser.body,
            )
            control.webrtc.sent(key, browser)
            placing.forks.add(key)
            placing.accounts[key] = account
            control.track(call, branch=key)
        placing.timer = loop.call_later(
            control.dial_timeout,
            lambda: control.enqueue(call, lambda: self._timed_out(call, placing)),
        )
        control.flush()

    async def _timed_out(self, call: Call, placing: Placing) -> None:
        if placing.done or call.ended:
            return
        placing.done = True
        call.log.failed(480)
        self.control.cancel_branches(placing.forks.cancel())
        await self.control.end(call)

    # -- the hooks ----------------------------------------------------------------------

    async def placed(
        self, call: Call, event: OutgoingProgress | OutgoingAnswered | OutgoingFailed
    ) -> bool:
        """A branch of a placed leg: the first answer becomes the call's A side."""
        placing = call.cti.placing
        if placing is None or event.call not in placing.accounts:
            return False
        control = self.control
        now = asyncio.get_running_loop().time()
        if isinstance(event, OutgoingProgress):
            return True
        if placing.done or call.ended:
            if isinstance(event, OutgoingAnswered):
                control.ua.bye(event.dialog, now)
            return True
        if isinstance(event, OutgoingFailed):
            step = placing.forks.failed(event.call, event.status)
            control.cancel_branches(step.cancel)
            if step.fail is not None:
                placing.done = True
                call.log.failed(step.fail)
                await control.end(call)
            return True
        step = placing.forks.answered(event.call)
        if step.hang_up:
            control.ua.bye(event.dialog, now)
            return True
        control.cancel_branches(step.cancel)
        placing.done = True
        if placing.timer is not None:
            placing.timer.cancel()
        try:
            remote = await control.webrtc.answered(event.response)
            if remote is None:
                negotiated = process_answer(placing.offer, parse(event.response.body))
                remote = RemoteMedia.from_negotiated(negotiated)
            await control.media.update_endpoint(placing.media.endpoint, remote)
        except (SdpError, MediaBackendError):
            control.ua.bye(event.dialog, now)
            await control.end(call)
            return True
        call.media, call.session, call.dialog = placing.media, placing.session, event.dialog
        placing.adopted = True
        call.account = placing.accounts[event.call]
        control.track(call, dialog=event.dialog)
        await placing.then()
        return True

    async def ending(self, call: Call) -> None:
        """A call ends while its first leg still rings: cancel it, free its endpoint."""
        placing = call.cti.placing
        if placing is None or placing.adopted:
            return
        placing.done = True
        if placing.timer is not None:
            placing.timer.cancel()
        self.control.cancel_branches(placing.forks.cancel())
        await self.control.release_endpoint(placing.media)

    # -- click-to-dial ------------------------------------------------------------------

    async def dial(
        self, tenant_id: int, phones: Sequence[str], destination: Destination
    ) -> LiveCall:
        """Ring the agent's ``phones``; once one answers, call ``destination`` and
        bridge the two."""
        tenant = await self.control.phones.tenant_by_id(tenant_id)
        if tenant is None:
            raise NotFound("no such tenant", error_id="tenant_not_found")
        contacts = await self.contacts(tenant_id, phones)
        call = self.new_call(tenant, caller=phones[0], called=destination.target, account=phones[0])
        routes = await self.commands.route(call, destination, allow_queue=False)
        await self.admit(call)
        internal = destination.kind is DestinationKind.EXTENSION
        direction = CallDirection.INTERNAL if internal else CallDirection.OUTBOUND
        call.log = await self.control.calllog.open(
            tenant_id, call.call_id, phones[0], destination.target, direction
        )

        async def then() -> None:
            await self.commands.connect_to(call, destination, routes)

        await self.ring(call, contacts, then)
        return self.commands.view(call)

    # -- supervisors ----------------------------------------------------------------------

    async def supervise(
        self,
        tenant_id: int,
        call_id: str,
        actor: Actor,
        phones: Sequence[str],
        mode: SupervisionMode,
    ) -> LiveCall:
        """Join the agent's call from the supervisor's phone (rung first), or switch the
        mode of a supervisor already in it."""

        async def work(call: Call) -> None:
            mine = self._watching(call, phones)
            if mine is not None:
                await self.control.supervision.set_mode(mine, mode)
                return
            await self._ring_supervisor(call, actor, phones, mode, intercept=False)

        return await self.commands.run(tenant_id, call_id, Command.SUPERVISE, work)

    async def intercept(
        self, tenant_id: int, call_id: str, actor: Actor, phones: Sequence[str]
    ) -> LiveCall:
        """The supervisor takes the customer over and the agent is dropped; a supervisor
        not yet in the call has their phone rung first."""

        async def work(call: Call) -> None:
            mine = self._watching(call, phones)
            if mine is not None:
                await self.take_over(call, mine, actor)
                return
            await self._ring_supervisor(call, actor, phones, SupervisionMode.LISTEN, intercept=True)

        return await self.commands.run(tenant_id, call_id, Command.INTERCEPT, work)

    @staticmethod
    def _watching(call: Call, phones: Sequence[str]) -> Call | None:
        return next(
            (s for s in call.supervisors if s.account in phones and s.dialog is not None), None
        )

    async def _ring_supervisor(
        self,
        call: Call,
        actor: Actor,
        phones: Sequence[str],
        mode: SupervisionMode,
        *,
        intercept: bool,
    ) -> None:
        contacts = await self.contacts(call.tenant.id, phones)
        agent = self.commands.agent(call)
        supervisor = self.new_call(
            call.tenant,
            caller=phones[0],
            called=agent or "supervised",
            account=phones[0],
            affinity=call.affinity or call.call_id,
        )
        supervisor.supervising = call
        await self.admit(supervisor)
        supervisor.log = await self.control.calllog.open(
            call.tenant.id,
            supervisor.call_id,
            phones[0],
            agent or "supervised",
            CallDirection.INTERNAL,
            parent=call.call_id,
        )
        await self.control.calllog.segment(supervisor.log, SegmentKind.RING, agent=phones[0])

        async def then() -> None:
            await self._join(call, supervisor, actor, mode, intercept=intercept)

        await self.ring(supervisor, contacts, then)

    async def _join(
        self,
        call: Call,
        supervisor: Call,
        actor: Actor,
        mode: SupervisionMode,
        *,
        intercept: bool,
    ) -> None:
        control = self.control
        if call.ended or self.commands.state(call) not in SUPERVISABLE:
            await control.hang_up(supervisor)
            return
        supervisor.spy_mode = mode
        call.supervisors.append(supervisor)
        try:
            await control.supervision.join(call, supervisor)
        except MediaBackendError:
            await control.hang_up(supervisor)
            return
        await control.supervision.joined(supervisor)
        agent = self.commands.agent(call)
        control.runtime.bus.publish(
            SupervisorJoined(
                tenant_id=call.tenant.id,
                call_id=call.call_id,
                agent=agent,
                supervisor=actor.username,
                mode=mode.value,
            )
        )
        if intercept:
            control.enqueue(call, lambda: self.take_over(call, supervisor, actor))

    async def take_over(self, call: Call, supervisor: Call, actor: Actor) -> None:
        """The supervisor's leg replaces the agent's (intercept)."""
        control = self.control
        old = call.out
        if call.ended or supervisor.ended or old is None or supervisor not in call.supervisors:
            return
        assert supervisor.media is not None and supervisor.session is not None
        assert supervisor.dialog is not None
        account = supervisor.account or ""
        agent = old.answered_by or old.callee or old.dialed
        leg = Outbound(
            supervisor.media,
            supervisor.session,
            supervisor.session.last or old.offer,
            dialog=supervisor.dialog,
            conference=old.conference,
            callee=account,
        )
        leg.forks.finished = True
        call.supervisors.remove(supervisor)
        supervisor.supervising = None
        control.track(call, dialog=supervisor.dialog, endpoint=supervisor.media.endpoint)
        supervisor.dialog = supervisor.media = supervisor.session = None
        call.out = leg
        await control.calllog.segment(
            supervisor.log, SegmentKind.TRANSFER, agent=account, target=f"intercept:{agent}"
        )
        await control.end(supervisor)
        await control.release_leg(old)
        self.commands.agent_done(call, old)
        await control.supervision.apply_masks(call)
        await control.calllog.segment(
            call.log, SegmentKind.TRANSFER, agent=agent, target=f"intercept:{account}"
        )
        await control.calllog.answered(call.log, account)
        await self.commands.publish(
            call,
            agent,
            lambda user_id: CallTransferred(
                tenant_id=call.tenant.id,
                user_id=user_id,
                call_id=call.call_id,
                agent=agent,
                actor=actor.username,
                kind="intercept",
                target_kind=DestinationKind.EXTENSION.value,
                target=account,
            ),
        )
