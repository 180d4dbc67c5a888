"""Queued callers and the ACD's offers to agents.

A caller put in a queue keeps its endpoint and hears the queue's music (also when an
agent puts it on hold later, see :mod:`helpline.telephony.moh`) while the
waiting room (:mod:`helpline.telephony.waiting`) runs its announcements; the
distributor (:class:`~helpline.telephony.acd.Distributor`) offers it to agents through
:meth:`Offers.ring_agents`: every registered phone of the chosen accounts rings at once
from a second endpoint, the first to answer is bridged to the caller. An offer that
comes to nothing frees that endpoint and the caller waits on.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from helpline.calls.models import SegmentKind, SegmentResult
from helpline.media.backend import MediaBackendError
from helpline.registrations import service as registrations
from helpline.sip.registrar import Binding
from helpline.telephony.acd import Offered
from helpline.telephony.legs import Call, user_of
from helpline.telephony.waiting import Waiting

if TYPE_CHECKING:
    from helpline.telephony.calls import CallControl


class Offers:
    """Queues callers and rings agents for the ACD."""

    def __init__(self, control: CallControl) -> None:
        self.control = control

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
        control = self.control
        config = await control.acd.queue_exists(call.tenant.id, name)
        if config is None or call.media is None:
            return False
        ivr = call.script
        control.release_ivr_port(call)
        call.queued = True
        call.queue = name
        call.record = call.record or config.recording
        with contextlib.suppress(MediaBackendError):
            music = config.music_on_hold
            call.cti.moh = await control.music.resolve(call.tenant.id, call.tenant.locale, music)
            await control.media.attach_moh(call.media.endpoint, call.cti.moh)
        await control.calllog.segment(call.log, SegmentKind.QUEUE, queue=name)

        async def requeue(other: str, hop: int) -> bool:
            return await self.queue(call, other, priority, skills, data, hops=hop)

        control.waiting.start(
            Waiting(
                tenant_id=call.tenant.id,
                call_id=call.call_id,
                queue=name,
                channel=control.open_channel(call),
                log=call.log,
                requeue=requeue,
                priority=priority,
                skills=dict(skills or {}),
                data={k: str(v) for k, v in (data or {}).items()},
                caller=user_of(call.request.from_.uri),
                called=user_of(call.request.uri),
                ivr=ivr if ivr is not None and not ivr.done() else None,
                hops=hops,
            )
        )
        return True

    async def ring_agents(self, call_id: str, accounts: tuple[str, ...], seconds: float) -> Offered:
        """Ring every registered phone of ``accounts`` for the ACD; connect the first to
        answer to the waiting caller."""
        control = self.control
        call = control.calls.get(call_id)
        if call is None or call.ended or call.out is not None:
            return Offered(487)
        contacts: list[tuple[str, Binding]] = []
        async with control.runtime.unit_of_work() as db:
            for account in accounts:
                found = await registrations.contacts_for(
                    db, tenant_id=call.tenant.id, username=account, now=datetime.now(UTC)
                )
                contacts.extend((account, binding) for binding in found)
        if not contacts or call.ended:
            return Offered(480)
        future: asyncio.Future[Offered] = asyncio.get_running_loop().create_future()
        control.enqueue(call, lambda: self._send_offer(call, contacts, seconds, future))
        offered = await future
        if offered.status == 200:
            control.waiting.stop(call.call_id)
            call.channel = None  # keys go to the agent again
        return offered

    async def _send_offer(
        self,
        call: Call,
        contacts: list[tuple[str, Binding]],
        seconds: float,
        future: asyncio.Future[Offered],
    ) -> None:
        control = self.control
        if call.ended or call.out is not None:
            future.set_result(Offered(487))
            return
        out = await control.outbound(call, seconds)
        if out is None:
            future.set_result(Offered(503))
            return
        out.offered = future
        out.callee = contacts[0][0]
        await control.calllog.segment(call.log, SegmentKind.RING, agent=out.callee)
        await control.ring(call, out, contacts)

    async def failed(self, call: Call, status: int) -> None:
        """An ACD offer came to nothing: free its endpoint; the caller waits on."""
        control = self.control
        out = call.out
        assert out is not None and out.offered is not None
        call.out = None
        if out.timer is not None:
            out.timer.cancel()
        await control.release_endpoint(out.media)
        if not out.offered.done():
            out.offered.set_result(Offered(status))
        if not call.ended:
            await control.calllog.segment(
                call.log, SegmentKind.QUEUE, ended=SegmentResult.NO_ANSWER
            )
