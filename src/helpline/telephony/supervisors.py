"""Supervisors joining agents' calls from a phone (feature codes, see
:mod:`helpline.telephony.supervision`) or from the API (legs placed by
:mod:`helpline.telephony.originate`): the agent's call moves from a bridge into a
conference, and the masks say who hears whom. Each supervisor's leg has a call record
of its own linked to the agent's call (``parent_call_id``), a talk segment per mode."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from helpline.calls.models import SegmentKind, SegmentResult
from helpline.media.backend import MediaBackendError, ParticipantMask
from helpline.media.mixer import SupervisionMode
from helpline.recordings.models import CallDirection
from helpline.sip.ua import IncomingCall
from helpline.sip.uri import SipUri
from helpline.telephony.cti import CallState
from helpline.telephony.legs import Call
from helpline.telephony.supervision import KEYS, masks
from helpline.users import service as users
from helpline.users.models import Role

if TYPE_CHECKING:
    from helpline.telephony.calls import CallControl

log = logging.getLogger(__name__)


class Supervision:
    """Supervisors' legs in agents' calls."""

    def __init__(self, control: CallControl) -> None:
        self.control = control

    async def supervise(self, event: IncomingCall, mode: SupervisionMode, extension: str) -> None:
        """A supervisor joins the call of the agent at ``extension``."""
        control = self.control
        target = event.request.uri
        tenant = await control.phones.tenant(target.host if isinstance(target, SipUri) else "")
        if tenant is None:
            control.respond(event.call, 404)
            return
        caller = await control.phones.authenticate(event, tenant, control.trunks)
        if caller is None:
            return
        async with control.runtime.unit_of_work() as db:
            role = await users.sip_account_role(db, tenant_id=tenant.id, username=caller.username)
        if caller.trunk is not None or role is None or not role.at_least(Role.SUPERVISOR):
            control.respond(event.call, 403)
            return
        agent_call = self.agent_call(tenant.id, extension)
        if agent_call is None:
            control.respond(event.call, 480, reason="No call to supervise")
            return
        call = await control.admit(event, tenant, direction=None)
        if call is None:
            return
        call.log = await control.calllog.open(
            tenant.id,
            call.call_id,
            caller.username,
            extension,
            CallDirection.INTERNAL,
            parent=agent_call.call_id,
        )
        if not await control.answer_offer(call, affinity=agent_call.call_id):
            return
        call.supervising, call.spy_mode = agent_call, mode
        call.account = caller.username
        agent_call.supervisors.append(call)
        control.connect(call)
        try:
            await self.join(agent_call, call)
        except MediaBackendError as exc:
            log.warning("call %s: supervisor could not join: %s", agent_call.call_id, exc)
            await control.hang_up(call)
            return
        await self.joined(call)

    def agent_call(self, tenant_id: int, extension: str) -> Call | None:
        """This node's answered call to the phones of ``extension``."""
        control = self.control
        for call in control.calls.values():
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

    async def join(self, agent_call: Call, supervisor: Call) -> None:
        """Move the agent's call into a conference (once) and add the supervisor."""
        control = self.control
        out = agent_call.out
        assert out is not None and agent_call.media is not None and supervisor.media is not None
        if out.conference is None:
            if out.bridge is not None:
                await control.media.unbridge(out.bridge)
                out.bridge = None
            out.conference = await control.media.create_conference(affinity=agent_call.call_id)
            for endpoint in (agent_call.media.endpoint, out.media.endpoint):
                await control.media.add_participant(out.conference, endpoint, ParticipantMask())
        silent = ParticipantMask(sends=False, hears=frozenset())
        await control.media.add_participant(out.conference, supervisor.media.endpoint, silent)
        await self.apply_masks(agent_call)

    async def apply_masks(self, agent_call: Call) -> None:
        """Set who hears whom in the call's conference (if it is in one)."""
        control = self.control
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
                await control.media.update_participant(out.conference, endpoint, mask)

    async def key(self, supervisor: Call, key: str) -> None:
        """A key the supervisor pressed: 4, 5, 6 switch the supervision mode."""
        mode = KEYS.get(key)
        if mode is not None:
            await self.set_mode(supervisor, mode)

    async def set_mode(self, supervisor: Call, mode: SupervisionMode) -> None:
        """Switch a supervisor in a call to ``mode``: new masks, and a new talk segment
        of the supervisor's record naming the mode and the one before."""
        previous = supervisor.spy_mode
        if supervisor.supervising is None or mode is previous:
            return
        supervisor.spy_mode = mode
        await self.apply_masks(supervisor.supervising)
        await self.control.calllog.segment(
            supervisor.log,
            SegmentKind.TALK,
            ended=SegmentResult.COMPLETED,
            agent=supervisor.account,
            mode=mode.value,
            previous=previous.value,
        )

    async def joined(self, supervisor: Call) -> None:
        """The supervisor's leg is in the call: its record is answered and a talk
        segment naming the mode starts."""
        await self.control.calllog.answered(
            supervisor.log, supervisor.account or "", mode=supervisor.spy_mode.value
        )
