"""Attended transfer and three-way conference: the agent consults a third party while
the customer waits on hold, then hands the customer over, goes back, or merges all three.

Theory of operation
-------------------
A consultation is a call of its own (:class:`~helpline.telephony.calls.Call`) whose A
side is the agent's leg, *lent* by the customer's call, and whose B side is placed by
ordinary call control (an extension's phones, a number through the trunks, or a queue):
the agent hears ringback, then the consulted party; consulting a queue, the agent waits
in it like a caller (the queue's music and announcements) until one of its agents
answers. Meanwhile the customer's call keeps
only the customer, on hold with music (re-INVITE ``a=sendonly``); its CTI state is
``consult_ringing``, then ``consulting`` once the third party answers. Both calls'
endpoints are on the same media worker (the consultation's affinity is the
customer's call).

* complete: the third party's leg moves to the customer's call and is bridged to the
  customer (re-INVITE ``a=sendrecv``); the consultation, now holding only the agent's
  leg, ends (BYE to the agent; the ACD agent goes to wrap-up). A queue's agent who
  took the consultation stays on the customer's call for the ACD (wrap-up when it
  ends), by the consultation's call id (:attr:`~helpline.telephony.legs.Outbound.acd_call`).
* cancel: the consultation is hung up; ending, it gives the agent's leg back to the
  customer's call, which resumes the customer and bridges them again.
* the third party does not answer, refuses or hangs up: the same as cancel.
* the agent hangs up while consulting: the customer is handed to the third party if
  it answered (a transfer, as most PBXs do), else the customer's call ends.
* the customer hangs up: the consultation goes on as a call of its own.
* records: the consultation has a call record of its own (its ``parent_call_id`` is
  the customer's call): the consulting agent calls the destination, internal or
  outbound through a trunk; it rings (or waits in the queue), is answered, busy,
  unanswered or cancelled, and its talk ends when the consultation does (complete,
  conference, cancel).
* conference: both legs move back to the customer's call, and customer, agent and
  third party go into one conference (:func:`helpline.telephony.supervision.masks`:
  everyone hears everyone, supervisors as usual). When the third party hangs up the
  other two stay; when the agent hangs up, customer and third party stay.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from helpline.callcontrol.events import (
    CallTransferred,
    ConferenceStarted,
    ConsultationEnded,
    ConsultationStarted,
)
from helpline.calls.models import HangupSide, SegmentKind
from helpline.core.errors import Conflict
from helpline.media.backend import MediaBackendError, ParticipantMask
from helpline.recordings.models import CallDirection
from helpline.sip.dialog import DialogId
from helpline.telephony.cti import (
    Actor,
    CallState,
    Command,
    Consultation,
    Destination,
    DestinationKind,
    Happening,
    IllegalCommand,
    LiveCall,
    advance,
)
from helpline.telephony.legs import Call, Outbound

if TYPE_CHECKING:
    from helpline.telephony.commands import CallCommands

log = logging.getLogger(__name__)


class Consultations:
    """Attended transfers and conferences, for
    :class:`~helpline.telephony.commands.CallCommands`."""

    def __init__(self, commands: CallCommands) -> None:
        self.commands = commands
        self.control = commands.control

    # -- commands -----------------------------------------------------------------------

    async def start(
        self, tenant_id: int, call_id: str, actor: Actor, destination: Destination
    ) -> LiveCall:
        """Hold the customer and call ``destination`` from the agent's leg."""
        commands, control = self.commands, self.control

        async def work(call: Call) -> None:
            routes = await commands.route(call, destination, allow_queue=True)
            if call.supervisors:
                raise Conflict(
                    "supervisors are in the call; they must leave before a consultation",
                    error_id="call_supervised",
                )
            commands.normalize(call, actor)
            agent_leg = call.out
            assert agent_leg is not None
            agent = commands.agent(call)
            consultation = commands.originate.new_call(
                call.tenant,
                caller=agent,
                called=destination.target,
                account=agent or None,
                affinity=call.affinity or call.call_id,
            )
            await commands.originate.admit(consultation)
            consultation.log = await control.calllog.open(
                call.tenant.id,
                consultation.call_id,
                agent,
                destination.target,
                _direction(destination),
                parent=call.call_id,
            )
            if destination.kind is DestinationKind.NUMBER:
                await control.calllog.segment(
                    consultation.log, SegmentKind.RING, number=destination.target
                )
            if call.cti.overlay is not CallState.HELD:
                await commands.hold_customer(call)
                await control.calllog.segment(call.log, SegmentKind.HOLD, agent=agent)
            call.out = None
            consultation.dialog = agent_leg.dialog
            consultation.media, consultation.session = agent_leg.media, agent_leg.session
            consultation.cti.parent = call
            call.cti.consult = Consultation(consultation, agent_leg, destination, actor.username)
            call.cti.overlay = CallState.CONSULT_RINGING
            control.track(consultation, dialog=agent_leg.dialog, endpoint=agent_leg.media.endpoint)
            await commands.publish(
                call,
                agent,
                lambda user_id: ConsultationStarted(
                    tenant_id=call.tenant.id,
                    user_id=user_id,
                    call_id=call.call_id,
                    agent=agent,
                    actor=actor.username,
                    target_kind=destination.kind.value,
                    target=destination.target,
                ),
            )
            control.enqueue(
                consultation,
                lambda: commands.connect_to(consultation, destination, routes),
            )

        return await commands.run(tenant_id, call_id, Command.CONSULT, work)

    async def complete(self, tenant_id: int, call_id: str, actor: Actor) -> LiveCall:
        """Hand the customer to the consulted party; the agent's leg is released."""

        async def work(call: Call) -> None:
            cons = call.cti.consult
            assert cons is not None
            target = self._take_target(call, cons)
            await self.control.end(cons.call)
            await self._handed_over(call, cons, target, actor.username)

        return await self.commands.run(tenant_id, call_id, Command.COMPLETE, work)

    async def cancel(self, tenant_id: int, call_id: str, actor: Actor) -> LiveCall:
        """End the consultation; the agent is back with the customer."""

        async def work(call: Call) -> None:
            cons = call.cti.consult
            assert cons is not None
            cons.cancelled = True
            cons.call.log.side = HangupSide.CALLER
            await self.control.hang_up(cons.call)
            await self._back(call, cons, "cancelled")

        return await self.commands.run(tenant_id, call_id, Command.CANCEL, work)

    async def conference(self, tenant_id: int, call_id: str, actor: Actor) -> LiveCall:
        """Customer, agent and consulted party in one conference."""
        commands, control = self.commands, self.control

        async def work(call: Call) -> None:
            cons = call.cti.consult
            assert cons is not None and call.media is not None
            target = self._take_target(call, cons)
            consultation, agent_leg = cons.call, cons.agent
            call.out = agent_leg
            control.track(call, dialog=agent_leg.dialog, endpoint=agent_leg.media.endpoint)
            consultation.dialog = consultation.media = consultation.session = None
            call.cti.third = target
            await control.end(consultation)
            if agent_leg.conference is None:
                agent_leg.conference = await control.media.create_conference(
                    affinity=call.affinity or call.call_id
                )
            for endpoint in (call.media.endpoint, agent_leg.media.endpoint, target.media.endpoint):
                await control.media.add_participant(
                    agent_leg.conference, endpoint, ParticipantMask()
                )
            target.bridge = agent_leg.bridge = None
            call.cti.overlay = CallState.CONFERENCE
            await commands.unhold_media(call)
            await control.supervision.apply_masks(call)
            agent = commands.agent(call)
            await control.calllog.segment(call.log, SegmentKind.TALK, agent=agent)
            await commands.publish(
                call,
                agent,
                lambda user_id: ConferenceStarted(
                    tenant_id=call.tenant.id,
                    user_id=user_id,
                    call_id=call.call_id,
                    agent=agent,
                    actor=actor.username,
                    third=_number(target),
                ),
            )

        return await commands.run(tenant_id, call_id, Command.CONFERENCE, work)

    def _take_target(self, call: Call, cons: Consultation) -> Outbound:
        """Move the consulted party's leg from the consultation to the customer's call."""
        consultation = cons.call
        target = consultation.out
        assert target is not None and target.dialog is not None
        consultation.out = None
        consultation.cti.parent = None
        call.cti.consult = None
        call.cti.overlay = None
        self.control.track(call, dialog=target.dialog, endpoint=target.media.endpoint)
        return target

    async def _handed_over(
        self, call: Call, cons: Consultation, target: Outbound, actor: str
    ) -> None:
        """The customer now talks to ``target``: resume, bridge, record, tell."""
        commands, control = self.commands, self.control
        if target.bridge is not None:
            with contextlib.suppress(MediaBackendError):
                await control.media.unbridge(target.bridge)
            target.bridge = None
        call.out = target
        agent = cons.agent.answered_by or cons.agent.callee
        commands.agent_done(call, cons.agent)
        if call.ended:
            return
        await commands.resume_customer(call)
        await control.calllog.segment(
            call.log, SegmentKind.TRANSFER, agent=agent, target=_number(target)
        )
        await control.calllog.answered(call.log, target.callee or target.dialed)
        destination = cons.target
        await commands.publish(
            call,
            agent,
            lambda user_id: CallTransferred(
                tenant_id=call.tenant.id,
                user_id=user_id,
                call_id=call.call_id,
                agent=agent,
                actor=actor,
                kind="attended",
                target_kind=destination.kind.value,
                target=destination.target,
            ),
        )

    # -- hooks --------------------------------------------------------------------------

    async def answered(self, call: Call) -> None:
        """A consultation's third party answered: the customer's call is consulting."""
        parent = call.cti.parent
        if parent is None or parent.cti.consult is None:
            return
        with contextlib.suppress(IllegalCommand):
            advance(self.commands.state(parent), Happening.CONSULT_ANSWERED)
            parent.cti.overlay = CallState.CONSULTING

    async def ending(self, call: Call) -> None:
        """Before a call releases its legs: a consultation gives the agent's leg back
        (or hands the customer over), a customer's call lets its consultation go on
        alone, a conference releases its third party."""
        if call.cti.parent is not None:
            self._consultation_ends(call)
        elif call.cti.consult is not None:
            cons = call.cti.consult
            call.cti.consult = None
            cons.call.cti.parent = None
            self.commands.agent_done(call, cons.agent)
        third = call.cti.third
        if third is not None:
            call.cti.third = None
            await self.control.release_leg(third)

    def _consultation_ends(self, consultation: Call) -> None:
        parent = consultation.cti.parent
        assert parent is not None
        cons = parent.cti.consult
        consultation.cti.parent = None
        parent.cti.consult = None
        if cons is None or parent.ended:
            return
        control = self.control
        agent_dialog = consultation.dialog
        agent_up = agent_dialog is not None and control.ua.dialog(agent_dialog) is not None
        target = consultation.out
        if agent_up and consultation.media is not None:
            parent.out = cons.agent
            control.track(parent, dialog=agent_dialog, endpoint=consultation.media.endpoint)
            consultation.dialog = consultation.media = consultation.session = None
            parent.cti.overlay = CallState.HELD
            reason = "cancelled" if cons.cancelled else "failed"
            control.enqueue(parent, lambda: self._back(parent, cons, reason))
        elif target is not None and target.dialog is not None:
            consultation.out = None
            parent.cti.overlay = None
            control.track(parent, dialog=target.dialog, endpoint=target.media.endpoint)
            parent.out = target
            control.enqueue(parent, lambda: self._handed_over(parent, cons, target, cons.actor))
        else:
            self.commands.agent_done(parent, cons.agent)
            control.enqueue(parent, lambda: control.hang_up(parent))

    async def _back(self, call: Call, cons: Consultation, reason: str) -> None:
        """The consultation is over: the agent talks to the customer again."""
        if call.ended or call.cti.overlay is not CallState.HELD:
            return
        call.cti.overlay = None
        commands = self.commands
        if cons.target.kind is DestinationKind.QUEUE:
            with contextlib.suppress(MediaBackendError):
                await self.control.media.detach_moh(cons.agent.media.endpoint)
        await commands.resume_customer(call)
        agent = commands.agent(call)
        await self.control.calllog.segment(call.log, SegmentKind.TALK, agent=agent)
        await commands.publish(
            call,
            agent,
            lambda user_id: ConsultationEnded(
                tenant_id=call.tenant.id,
                user_id=user_id,
                call_id=call.call_id,
                agent=agent,
                reason=reason,
            ),
        )

    async def leg_ended(self, call: Call, dialog: DialogId) -> bool:
        """In a conference, the third party or the agent hung up: the others stay."""
        third, out = call.cti.third, call.out
        if third is None or out is None or call.ended:
            return False
        control = self.control
        if dialog == third.dialog:
            call.cti.third = None
            await control.release_leg(third)
        elif dialog == out.dialog:
            call.cti.third = None
            third.conference, out.conference = out.conference, None
            call.out = third
            await control.release_leg(out)
            self.commands.agent_done(call, out)
            await control.calllog.answered(call.log, third.callee or third.dialed)
        else:
            return False
        call.cti.overlay = None
        await control.supervision.apply_masks(call)
        return True


def _direction(destination: Destination) -> CallDirection:
    """A consultation leaves through a trunk when it calls a number."""
    if destination.kind is DestinationKind.NUMBER:
        return CallDirection.OUTBOUND
    return CallDirection.INTERNAL


def _number(leg: Outbound) -> str:
    return leg.dialed or leg.answered_by or leg.callee
