"""CTI commands on this node's live calls: hang up, hold, resume, DTMF, transfers.

Theory of operation
-------------------
:class:`CallCommands` is what the REST API (:mod:`helpline.callcontrol`) drives; it
extends :class:`~helpline.telephony.calls.CallControl` through its hooks
(:class:`~helpline.telephony.hooks.Extensions`) and never reaches into its state.

* Every command runs on the call's own queue, after the SIP and media events that came
  before it, so a command never races the call's signalling. Its legality comes from
  the state table of :mod:`helpline.telephony.cti` (409 ``call_wrong_state``);
  unknown calls, and calls of other tenants or other nodes, are 404
  ``call_not_found``.
* A call has two sides: A, the leg that created it (an inbound caller, or the phone
  rung first for click-to-dial), and B, the leg call control placed (``call.out``).
  Commands act for the agent on one side towards the other, the customer. Before a
  command that needs it the sides are *normalized* so that the acting agent is B: a
  call an agent's phone placed (agent on A) has its legs swapped, a pure change of
  bookkeeping without signalling.
* Hold (RFC 3264 §8.4, RFC 6337 §5.3): the customer's leg is re-INVITEd with our last
  SDP turned ``a=sendonly`` (a browser's leg: the WebRTC gateway's SDP, ICE and DTLS
  unchanged, :meth:`~helpline.telephony.webrtc_legs.WebRtcLegs.hold_offer`) and
  attached to music on hold; the bridge to the agent is
  undone (in a conference, masks make the customer heard by no one). Resume re-INVITEs
  ``a=sendrecv``, detaches the music and bridges again. The answers update the media
  endpoint; a 491 (glare, RFC 3261 §14.1) is retried after a random delay, a 481 or
  408 ends the call. One re-INVITE at a time per call; the latest wish is sent next.
* Blind transfer releases the agent's leg (BYE; the ACD puts the agent in wrap-up)
  and connects the customer to an extension (all its phones ring, the customer hears
  ringback), a queue (music on hold, offered by the ACD) or a number through the
  tenant's trunks. Whether the destination can be reached is checked first, so a
  refused transfer leaves the call as it was.
* Attended transfer and conference are in :mod:`helpline.telephony.consult`; legs
  rung first (click-to-dial, supervisors joining from the API) in
  :mod:`helpline.telephony.originate`.

CTI events (:mod:`helpline.callcontrol.events`) are published for the agent's user, so
the agent's event stream shows what happened to its call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from helpline.callcontrol import service as accounts
from helpline.callcontrol.events import CallHeld, CallResumed, CallTransferred
from helpline.calls.models import CallOutcome, HangupSide, SegmentKind
from helpline.core.errors import ApiError, Conflict, NotFound
from helpline.core.events import Event
from helpline.media.backend import MediaBackendError, RemoteMedia
from helpline.registrations import service as registrations
from helpline.sdp import SdpError, parse, serialize_bytes
from helpline.sdp.model import SessionDescription
from helpline.sdp.negotiate import hold_offer, process_answer, resume_offer
from helpline.sip.dialog import DialogId
from helpline.sip.transaction import TransactionKey
from helpline.sip.ua import OutgoingAnswered, OutgoingFailed, OutgoingProgress, RequestAnswered
from helpline.sip.uri import SipUri
from helpline.telephony.aftercall import AfterCallSurvey
from helpline.telephony.calls import CallControl
from helpline.telephony.consult import Consultations
from helpline.telephony.cti import (
    Actor,
    CallState,
    Command,
    Destination,
    DestinationKind,
    LiveCall,
    Party,
    Side,
    Watcher,
    advance,
    effective,
    overlay_of,
)
from helpline.telephony.legs import SDP_TYPE, Call, Outbound
from helpline.telephony.originate import Originator
from helpline.trunks.rules import TrunkConfig
from helpline.webrtc import WebRtcError

log = logging.getLogger(__name__)

#: How long a REST command may wait for its turn on the call's queue.
COMMAND_TIMEOUT = 30.0
#: Re-INVITEs answered 491 are sent again at most this many times.
GLARE_RETRIES = 2


class CommandFailed(ApiError):
    """The command broke off on an unexpected error (see the server log)."""

    status_code = 500
    error_id = "command_failed"


def call_not_found(call_id: str) -> NotFound:
    """404 for a call this node does not hold (or another tenant's)."""
    return NotFound(
        "no live call with this id", error_id="call_not_found", details={"call_id": call_id}
    )


def unreachable(destination: Destination, reason: str) -> Conflict:
    """409: the destination cannot be reached now."""
    return Conflict(
        f"{destination.kind.value} {destination.target} cannot be reached",
        error_id="destination_unavailable",
        details={"kind": destination.kind.value, "target": destination.target, "reason": reason},
    )


@dataclass(slots=True)
class _Reinvite:
    call: Call
    endpoint: str
    offer: SessionDescription | None
    """None: a browser's leg, whose offer the WebRTC gateway made."""
    hold: bool
    attempt: int = 0
    then: bool | None = None
    """The direction wished for while this one was under way (hold True, resume False)."""


class CallCommands:
    """CTI commands on the live calls of one node's call control."""

    def __init__(self, control: CallControl) -> None:
        self.control = control
        self.consult = Consultations(self)
        self.originate = Originator(self)
        self.survey = AfterCallSurvey(self)
        self._reinvites: dict[TransactionKey, _Reinvite] = {}
        self._in_flight: dict[str, _Reinvite] = {}
        self._rng = random.Random()

    # -- views --------------------------------------------------------------------------

    def calls(self, tenant_id: int) -> list[LiveCall]:
        """The tenant's live calls on this node (consultations and supervisors' legs are
        shown within the calls they belong to)."""
        return [
            self.view(call)
            for call in list(self.control.calls.values())
            if call.tenant.id == tenant_id and _listed(call)
        ]

    def get(self, tenant_id: int, call_id: str) -> LiveCall | None:
        """One live call of the tenant, if this node holds it."""
        call = self._find(tenant_id, call_id)
        return None if call is None else self.view(call)

    def _find(self, tenant_id: int, call_id: str) -> Call | None:
        call = self.control.calls.get(call_id)
        if call is None or call.tenant.id != tenant_id or not _listed(call):
            return None
        return call

    def state(self, call: Call) -> CallState:
        """The call's CTI state."""
        if call.ended:
            return CallState.ENDED
        connected = call.dialog is not None and (
            call.cti.consult is not None or (call.out is not None and call.out.dialog is not None)
        )
        return effective(call.cti.overlay, connected=connected)

    def view(self, call: Call) -> LiveCall:
        """What the API shows of ``call``."""
        agent_on_a = call.account is not None
        parties = [
            Party(
                Side.AGENT if agent_on_a else Side.CUSTOMER,
                call.account,
                _user(call.request.from_.uri),
            )
        ]
        cons = call.cti.consult
        agent_leg = call.out if cons is None else cons.agent
        if agent_leg is not None:
            side = Side.CUSTOMER if agent_on_a else Side.AGENT
            parties.append(Party(side, leg_account(agent_leg), leg_number(agent_leg)))
        third = call.cti.third
        if third is not None:
            parties.append(Party(Side.THIRD, leg_account(third), leg_number(third)))
        consulted = None
        if cons is not None and cons.call.out is not None:
            target = cons.call.out
            consulted = Party(Side.THIRD, leg_account(target), leg_number(target))
        return LiveCall(
            call_id=call.call_id,
            tenant_id=call.tenant.id,
            state=self.state(call),
            parties=tuple(parties),
            supervisors=tuple(Watcher(s.account, s.spy_mode) for s in call.supervisors),
            consultation=consulted,
            queue=call.queue,
        )

    # -- running a command --------------------------------------------------------------

    async def run(
        self,
        tenant_id: int,
        call_id: str,
        command: Command,
        work: Callable[[Call], Awaitable[None]],
    ) -> LiveCall:
        """Run ``work`` on the call's queue if the state table allows ``command``, then
        keep the state the table leads to; the call as it is afterwards. ``work``
        checks what it needs before changing anything; its ApiErrors reach the caller."""
        call = self._find(tenant_id, call_id)
        if call is None:
            raise call_not_found(call_id)
        future: asyncio.Future[LiveCall] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            done = False
            try:
                if call.ended:
                    raise call_not_found(call_id)
                following = advance(self.state(call), command)
                await work(call)
                if not call.ended:
                    call.cti.overlay = overlay_of(following)
                done = True
            except ApiError as exc:
                future.set_exception(exc)
            finally:
                if not future.done():
                    if done:
                        future.set_result(self.view(call))
                    else:
                        future.set_exception(CommandFailed(f"{command.value} failed"))

        self.control.enqueue(call, job)
        try:
            return await asyncio.wait_for(future, COMMAND_TIMEOUT)
        except TimeoutError:
            raise ApiError(
                "the call did not take the command in time",
                error_id="command_timeout",
                status_code=504,
            ) from None

    def normalize(self, call: Call, actor: Actor) -> None:
        """Make the acting agent's side (else the call's agent) the B side: a call whose
        A side is the agent's phone has its legs swapped."""
        out = call.out
        if call.account is None or out is None or out.dialog is None:
            return
        if actor.account is not None and actor.account == leg_account(out):
            return
        assert call.media is not None and call.session is not None and call.dialog is not None
        agent = Outbound(
            call.media,
            call.session,
            call.session.last or out.offer,
            dialog=call.dialog,
            bridge=out.bridge,
            conference=out.conference,
            callee=call.account,
        )
        agent.forks.finished = True
        customer = leg_number(out)
        call.media, call.session, call.dialog = out.media, out.session, out.dialog
        call.request = self.originate.request(
            call.tenant, call.call_id, caller=customer, called=call.account
        )
        call.account = None
        call.out = agent

    # -- the commands ---------------------------------------------------------------------

    async def hang_up(self, tenant_id: int, call_id: str, actor: Actor) -> LiveCall:
        """End the call: BYE to every leg (a force hang-up when a supervisor asks)."""

        async def work(call: Call) -> None:
            call.log.side = HangupSide.AGENT if actor.account is not None else HangupSide.SYSTEM
            cons = call.cti.consult
            if cons is not None:
                consultation = cons.call
                self.control.enqueue(consultation, lambda: self.control.hang_up(consultation))
            await self.control.hang_up(call)

        return await self.run(tenant_id, call_id, Command.HANG_UP, work)

    async def hold(self, tenant_id: int, call_id: str, actor: Actor) -> LiveCall:
        """Put the customer on hold with music."""

        async def work(call: Call) -> None:
            self.normalize(call, actor)
            call.cti.overlay = CallState.HELD
            await self.hold_customer(call)
            await self.control.calllog.segment(call.log, SegmentKind.HOLD, agent=self.agent(call))
            await self.publish_held(call, actor, held=True)

        return await self.run(tenant_id, call_id, Command.HOLD, work)

    async def resume(self, tenant_id: int, call_id: str, actor: Actor) -> LiveCall:
        """Take the customer off hold."""

        async def work(call: Call) -> None:
            self.normalize(call, actor)
            call.cti.overlay = None
            await self.resume_customer(call)
            await self.control.calllog.segment(call.log, SegmentKind.TALK, agent=self.agent(call))
            await self.publish_held(call, actor, held=False)

        return await self.run(tenant_id, call_id, Command.RESUME, work)

    async def send_dtmf(self, tenant_id: int, call_id: str, actor: Actor, digits: str) -> LiveCall:
        """Send ``digits`` to the customer as RFC 4733 telephone-events."""

        async def work(call: Call) -> None:
            self.normalize(call, actor)
            assert call.media is not None
            try:
                await self.control.media.send_dtmf(call.media.endpoint, digits)
            except MediaBackendError as exc:
                raise Conflict(str(exc), error_id="dtmf_refused") from exc

        return await self.run(tenant_id, call_id, Command.DTMF, work)

    async def transfer(
        self, tenant_id: int, call_id: str, actor: Actor, destination: Destination
    ) -> LiveCall:
        """Blind transfer: the agent's leg is released and the customer connected to
        ``destination``."""

        async def work(call: Call) -> None:
            routes = await self.route(call, destination, allow_queue=True)
            self.normalize(call, actor)
            agent = self.agent(call)
            if call.cti.overlay is CallState.HELD:
                call.cti.overlay = None
                await self.unhold_media(call)
            await self.release_agent(call)
            await self.control.calllog.segment(
                call.log, SegmentKind.TRANSFER, agent=agent, target=_target(destination)
            )
            if destination.kind is DestinationKind.NUMBER:
                call.log.outcome = CallOutcome.TRANSFERRED_OUT
            await self.publish(
                call,
                agent,
                lambda user_id: _transferred(call, agent, actor, "blind", destination, user_id),
            )
            await self.connect_to(call, destination, routes)

        return await self.run(tenant_id, call_id, Command.TRANSFER, work)

    # -- pieces shared with consultations and supervisors --------------------------------

    def agent(self, call: Call) -> str:
        """The agent's SIP account on a normalized call ("" if there is none)."""
        out = call.out
        return "" if out is None else leg_account(out) or ""

    async def route(
        self, call: Call, destination: Destination, *, allow_queue: bool
    ) -> list[TrunkConfig]:
        """Check that ``destination`` can be reached now; the trunks for a number."""
        tenant = call.tenant
        if destination.kind is DestinationKind.QUEUE:
            if not allow_queue:
                raise unreachable(destination, "not_allowed")
            if await self.control.acd.queue_exists(tenant.id, destination.target) is None:
                raise unreachable(destination, "no_such_queue")
            return []
        if destination.kind is DestinationKind.EXTENSION:
            if not await self.contacts(tenant.id, destination.target):
                raise unreachable(destination, "not_registered")
            return []
        routes = await self.control.trunks.outbound(tenant.id, destination.target)
        if not routes:
            raise unreachable(destination, "no_route")
        return routes

    async def contacts(self, tenant_id: int, account: str) -> bool:
        """Whether ``account`` has a registered phone now."""
        async with self.control.runtime.unit_of_work() as db:
            found = await registrations.contacts_for(
                db, tenant_id=tenant_id, username=account, now=_utcnow()
            )
        return bool(found)

    async def connect_to(
        self, call: Call, destination: Destination, routes: list[TrunkConfig]
    ) -> None:
        """Make ``destination`` the call's other side (it rings; a queue offers it)."""
        if destination.kind is DestinationKind.EXTENSION:
            await self.control.dial(call, destination.target)
        elif destination.kind is DestinationKind.NUMBER:
            await self.control.dial_out(call, destination.target, routes)
        elif not await self.control.offers.queue(call, destination.target):
            await self.control.hang_up(call)

    async def release_agent(self, call: Call) -> None:
        """BYE the agent's leg (supervisors leave too); the ACD's agent goes to wrap-up."""
        out = call.out
        if out is None:
            return
        for supervisor in list(call.supervisors):
            self.control.enqueue(supervisor, functools.partial(self.control.hang_up, supervisor))
        call.supervisors.clear()
        call.out = None
        if out.conference is not None:
            with contextlib.suppress(MediaBackendError):
                await self.control.media.destroy_conference(out.conference)
        await self.control.release_leg(out)
        self.agent_done(call, out)

    def agent_done(self, call: Call, leg: Outbound) -> None:
        """The ACD agent who answered ``leg`` is off the call: wrap-up, then available."""
        if leg.answered_by is not None:
            acd_call = leg.acd_call or call.call_id
            self.control.acd.call_ended(call.tenant.id, acd_call, leg.answered_by)
            leg.answered_by = None
        call.queued = False

    async def hold_customer(self, call: Call) -> None:
        """Music on hold and ``a=sendonly`` to the customer; the agent stops hearing
        them (the bridge is undone, or the conference's masks change)."""
        out = call.out
        media = self.control.media
        assert call.media is not None
        if out is not None and out.bridge is not None:
            with contextlib.suppress(MediaBackendError):
                await media.unbridge(out.bridge)
            out.bridge = None
        try:
            await media.attach_moh(call.media.endpoint, call.cti.moh)
        except MediaBackendError as exc:
            log.warning("call %s: no music on hold: %s", call.call_id, exc)
        await self.control.supervision.apply_masks(call)
        self.reinvite(call, hold=True)

    async def resume_customer(self, call: Call) -> None:
        """Back from hold: the music stops, ``a=sendrecv``, the agent hears them again."""
        await self.unhold_media(call)
        out = call.out
        assert call.media is not None
        if out is not None and out.conference is None and out.bridge is None:
            out.bridge = await self.control.media.bridge(call.media.endpoint, out.media.endpoint)
        await self.control.supervision.apply_masks(call)

    async def unhold_media(self, call: Call) -> None:
        """Stop the customer's music on hold and offer ``a=sendrecv`` again."""
        assert call.media is not None
        with contextlib.suppress(MediaBackendError):
            await self.control.media.detach_moh(call.media.endpoint)
        self.reinvite(call, hold=False)

    # -- re-INVITEs ---------------------------------------------------------------------

    def reinvite(self, call: Call, *, hold: bool, attempt: int = 0) -> None:
        """Offer the customer ``a=sendonly`` (hold) or ``a=sendrecv``; if one is under
        way this one follows its answer."""
        if call.dialog is None or call.session is None or call.media is None or call.ended:
            return
        busy = self._in_flight.get(call.call_id)
        if busy is not None:
            busy.then = hold
            return
        offer: SessionDescription | None = None
        try:
            body = self.control.webrtc.hold_offer(call.media.endpoint, hold=hold)
            if body is None:
                offer = hold_offer(call.session) if hold else resume_offer(call.session)
                body = serialize_bytes(offer)
        except (ValueError, WebRtcError) as exc:
            log.warning("call %s: no re-INVITE: %s", call.call_id, exc)
            return
        key = self.control.ua.request(
            call.dialog,
            "INVITE",
            asyncio.get_running_loop().time(),
            body=body,
            content_type=SDP_TYPE,
        )
        if key is not None:
            pending = _Reinvite(call, call.media.endpoint, offer, hold, attempt)
            self._reinvites[key] = self._in_flight[call.call_id] = pending
        self.control.flush()

    async def _reinvite_answered(self, pending: _Reinvite, event: RequestAnswered) -> None:
        call = pending.call
        if self._in_flight.get(call.call_id) is pending:
            del self._in_flight[call.call_id]
        if call.ended:
            return
        status, response = event.status, event.response
        if 200 <= status < 300 and response is not None and response.body:
            try:
                if pending.offer is None:
                    await self.control.webrtc.hold_answered(pending.endpoint, response.body)
                else:
                    negotiated = process_answer(pending.offer, parse(response.body))
                    await self.control.media.update_endpoint(
                        pending.endpoint, RemoteMedia.from_negotiated(negotiated)
                    )
            except (SdpError, MediaBackendError, WebRtcError) as exc:
                log.warning("call %s: re-INVITE answer refused: %s", call.call_id, exc)
        elif status == 491 and pending.attempt < GLARE_RETRIES:
            delay = self._rng.uniform(0.5, 2.0)
            asyncio.get_running_loop().call_later(
                delay,
                lambda: self.control.enqueue(call, lambda: self._retry(pending)),
            )
            return
        elif status in (408, 481):
            log.info("call %s: re-INVITE got %d, the customer is gone", call.call_id, status)
            await self.control.hang_up(call)
            return
        elif status >= 300:
            log.warning("call %s: re-INVITE refused with %d", call.call_id, status)
        if pending.then is not None and pending.then != pending.hold:
            self.reinvite(call, hold=pending.then)

    async def _retry(self, pending: _Reinvite) -> None:
        wanted = pending.hold if pending.then is None else pending.then
        self.reinvite(pending.call, hold=wanted, attempt=pending.attempt + 1)

    # -- events -------------------------------------------------------------------------

    async def publish(self, call: Call, agent: str, make: Callable[[int], Event]) -> None:
        """Publish the event ``make`` builds for the agent's user id (0 when the agent's
        account belongs to no user: then only supervisors and admins see it)."""
        user_id = None
        if agent:
            async with self.control.runtime.unit_of_work() as db:
                user_id = await accounts.account_user(db, tenant_id=call.tenant.id, account=agent)
        self.control.runtime.bus.publish(make(user_id or 0))

    async def publish_held(self, call: Call, actor: Actor, *, held: bool) -> None:
        """``call.held`` or ``call.resumed``."""
        kind = CallHeld if held else CallResumed
        agent = self.agent(call)
        await self.publish(
            call,
            agent,
            lambda user_id: kind(
                tenant_id=call.tenant.id,
                user_id=user_id,
                call_id=call.call_id,
                agent=agent,
                actor=actor.username,
            ),
        )

    # -- hooks from call control ----------------------------------------------------------

    def answered(self, event: RequestAnswered) -> bool:
        """The answer to one of our re-INVITEs (handled on the call's queue)."""
        pending = self._reinvites.pop(event.key, None)
        if pending is None:
            return False
        self.control.enqueue(pending.call, lambda: self._reinvite_answered(pending, event))
        return True

    async def placed(
        self, call: Call, event: OutgoingProgress | OutgoingAnswered | OutgoingFailed
    ) -> bool:
        """A branch of a leg rung first (see :mod:`helpline.telephony.originate`)."""
        return await self.originate.placed(call, event)

    async def connected(self, call: Call) -> None:
        """The other side answered: a consultation's target picked up."""
        await self.consult.answered(call)

    async def leg_ended(self, call: Call, dialog: DialogId) -> bool:
        """A conference's party hung up: the others stay; an agent hung up on a caller
        who is asked the queue's keypad survey: the caller stays."""
        return await self.consult.leg_ended(call, dialog) or await self.survey.agent_left(
            call, dialog
        )

    async def ending(self, call: Call) -> None:
        """Untangle what CTI added to a call before it releases its legs."""
        self._in_flight.pop(call.call_id, None)
        await self.originate.ending(call)
        await self.consult.ending(call)


def leg_account(out: Outbound) -> str | None:
    """The tenant's SIP account a leg reached (None for numbers)."""
    return out.answered_by or out.callee or None


def leg_number(out: Outbound) -> str:
    """What a leg dialed: the number, else the account."""
    return out.dialed or out.answered_by or out.callee


def _listed(call: Call) -> bool:
    return call.cti.parent is None and call.supervising is None


def _user(uri: object) -> str:
    return (uri.user or "") if isinstance(uri, SipUri) else ""


def _target(destination: Destination) -> str:
    return f"{destination.kind.value}:{destination.target}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _transferred(
    call: Call, agent: str, actor: Actor, kind: str, destination: Destination, user_id: int
) -> Event:
    return CallTransferred(
        tenant_id=call.tenant.id,
        user_id=user_id,
        call_id=call.call_id,
        agent=agent,
        actor=actor.username,
        kind=kind,
        target_kind=destination.kind.value,
        target=destination.target,
    )
