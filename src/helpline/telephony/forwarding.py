"""Callers sent on to the node that leads their tenant's ACD (issue 7, multi-node).

Theory of operation
-------------------
One node per tenant runs the distributor (:mod:`helpline.acd.leader`); a caller whose
call reaches another node ("B") and is sent to a queue cannot wait there. Instead of
the queue's fallback, B connects the caller to the leader ("A") as a back-to-back
user agent would to a phone:

* **On B** (:meth:`Forwarding.forward`): the leader is the holder of the tenant's
  ``acd_leases`` row, reached at the SIP address it keeps in the node registry
  (:mod:`helpline.cluster.registry`) and only if its heartbeat is recent. B places an
  outbound leg there exactly as it rings an agent for an ACD offer (an endpoint of
  its own, our offer, the leg's answer bridged to the caller) with the original
  caller's From, the number they dialled and headers naming the tenant, the queue,
  the origin call and node, and the caller's priority, skills and IVR data
  (:data:`TENANT` ...). Because the leg is an *offer* (``Outbound.offered``), a
  failure or timeout frees its endpoint and leaves the caller up: the queue's
  fallback follows, as it did before forwarding existed. Once A answers, B's record
  gets a ``transfer`` segment (target ``node:A``) and closes ``transferred_out``; B
  keeps relaying media and BYEs until one side hangs up.
* **On A** (:meth:`Forwarding.accept`): an INVITE carrying :data:`QUEUE` is honoured
  only when it comes from the SIP address (host and port) of a registered, living
  node other than A itself; from anyone else (a phone, a trunk, a scanner) the
  headers are ignored and the INVITE is routed like any other, so a spoofed header
  can neither skip the number's routing, blacklist and service limits nor pick a
  tenant. A forwarded call takes no line of the tenant (B holds the call's line), is
  answered and goes straight into the queue (music on hold, offered by A's
  distributor); its record's caller is the original number (the From B copied), and
  its first segment names the origin
  node and call (``from_node``, ``from_call``). A does not lead the tenant (the lease
  moved meanwhile): 503, and B's caller gets the fallback. A forwarded call is never
  forwarded again.

The headers are Helpline's own (``X-Helpline-*``); the one with the caller's context
is compact JSON. The trust check is only as good as the registry's addresses: nodes
must register the address they send from (``HELPLINE_SIP_HOST`` an address, not
``0.0.0.0``), and the internal network must not let others spoof it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd import leader
from helpline.calls.models import CallOutcome, SegmentKind
from helpline.cluster import registry
from helpline.cluster.models import ClusterNode
from helpline.ivr.port import CallGone
from helpline.recordings.models import CallDirection
from helpline.sdp import serialize_bytes
from helpline.sip.headers import Header, NameAddr
from helpline.sip.message import Request
from helpline.sip.routing import Address
from helpline.sip.ua import IncomingCall
from helpline.sip.uri import SipUri
from helpline.telephony.acd import Offered
from helpline.telephony.legs import Call, user_of

if TYPE_CHECKING:
    from helpline.telephony.calls import CallControl

__all__ = [
    "CONTEXT",
    "ORIGIN_CALL",
    "ORIGIN_NODE",
    "QUEUE",
    "TENANT",
    "Forwarded",
    "Forwarding",
    "headers",
    "leader_node",
    "parse",
    "sender_node",
]

log = logging.getLogger(__name__)

#: Seconds beyond the leg's ring time to wait for the leg's outcome.
SETTLE_SECONDS = 2.0

TENANT = "X-Helpline-Tenant"
"""The tenant's id."""
QUEUE = "X-Helpline-Queue"
"""The queue the caller goes to on the leader (its presence marks a forwarded call)."""
ORIGIN_CALL = "X-Helpline-Origin-Call"
"""The Call-ID of the caller's call on the node that forwarded it."""
ORIGIN_NODE = "X-Helpline-Origin-Node"
"""The name of the node that forwarded the call."""
CONTEXT = "X-Helpline-Context"
"""JSON: the caller's priority, skills and IVR data (``{"p":0,"s":{},"d":{}}``)."""


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What a forwarded INVITE asks of the leader."""

    tenant_id: int
    queue: str
    origin_call: str
    origin_node: str
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)


def headers(forwarded: Forwarded) -> tuple[Header, ...]:
    """The headers of the INVITE that forwards a caller."""
    context = {"p": forwarded.priority, "s": forwarded.skills, "d": forwarded.data}
    return (
        Header(TENANT, str(forwarded.tenant_id)),
        Header(QUEUE, forwarded.queue),
        Header(ORIGIN_CALL, forwarded.origin_call),
        Header(ORIGIN_NODE, forwarded.origin_node),
        Header(CONTEXT, json.dumps(context, separators=(",", ":"), ensure_ascii=True)),
    )


def parse(request: Request) -> Forwarded | None:
    """What ``request`` asks as a forwarded call; None when it does not carry the
    headers (or carries them malformed)."""
    queue = request.header(QUEUE)
    tenant = request.header(TENANT)
    if not queue or tenant is None or not tenant.strip().isdigit():
        return None
    context = _context(request.header(CONTEXT))
    priority = context.get("p", 0)
    skills = context.get("s", {})
    data = context.get("d", {})
    return Forwarded(
        tenant_id=int(tenant),
        queue=queue.strip(),
        origin_call=(request.header(ORIGIN_CALL) or "").strip(),
        origin_node=(request.header(ORIGIN_NODE) or "").strip(),
        priority=priority if isinstance(priority, int) else 0,
        skills={
            str(k): v
            for k, v in (skills if isinstance(skills, dict) else {}).items()
            if isinstance(v, int)
        },
        data={str(k): str(v) for k, v in (data if isinstance(data, dict) else {}).items()},
    )


def _context(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _alive_since(now: datetime, node_timeout: float) -> datetime:
    return now - timedelta(seconds=node_timeout)


async def leader_node(
    session: AsyncSession, *, tenant_id: int, this_node: str, now: datetime, node_timeout: float
) -> ClusterNode | None:
    """The living node, other than ``this_node``, that leads ``tenant_id``'s ACD."""
    name = await leader.holder(session, tenant_id=tenant_id, now=now)
    if name is None or name == this_node:
        return None
    node = await registry.find(session, name=name)
    if node is None or not registry.alive(node, now=now, timeout=node_timeout):
        return None
    return node


async def sender_node(
    session: AsyncSession,
    *,
    source: Address,
    this_node: str,
    now: datetime,
    node_timeout: float,
) -> ClusterNode | None:
    """The living node, other than ``this_node``, whose registered SIP address is
    ``source`` (host and port); None for anyone else."""
    stmt = select(ClusterNode).where(
        ClusterNode.sip_host == source.host,
        ClusterNode.sip_port == source.port,
        ClusterNode.name != this_node,
        ClusterNode.heartbeat_at > _alive_since(now, node_timeout),
    )
    return (await session.execute(stmt)).scalars().first()


class Forwarding:
    """Sends callers on to their tenant's leader, and takes those sent to this node."""

    def __init__(self, control: CallControl) -> None:
        self.control = control

    @property
    def _node(self) -> str:
        return self.control.runtime.settings.node_name

    @property
    def _timeout(self) -> float:
        return self.control.runtime.settings.cluster_node_timeout

    # -- on the node the caller reached ---------------------------------------------------

    async def queue(
        self,
        call: Call,
        queue: str,
        *,
        priority: int = 0,
        skills: dict[str, int] | None = None,
        data: dict[str, str] | None = None,
    ) -> bool:
        """Put the answered ``call`` in ``queue`` here, or on the node leading its
        tenant when this node does not run the queue; False when neither can."""
        offers = self.control.offers
        return await offers.queue(call, queue, priority, skills, data) or await self.forward(
            call, queue, priority=priority, skills=skills, data=data
        )

    async def forward(
        self,
        call: Call,
        queue: str,
        *,
        priority: int = 0,
        skills: dict[str, int] | None = None,
        data: dict[str, str] | None = None,
    ) -> bool:
        """Connect the answered ``call`` to the node leading its tenant, for ``queue``;
        False (the caller as before) when no other living node leads it or that node
        refuses. Raises CallGone when the caller hangs up meanwhile. Runs outside the
        call's queue (a script or the waiting room)."""
        control = self.control
        if call.ended or call.out is not None:
            return False
        async with control.runtime.unit_of_work() as session:
            node = await leader_node(
                session,
                tenant_id=call.tenant.id,
                this_node=self._node,
                now=datetime.now(UTC),
                node_timeout=self._timeout,
            )
        if node is None:
            return False
        request = Forwarded(
            tenant_id=call.tenant.id,
            queue=queue,
            origin_call=call.call_id,
            origin_node=self._node,
            priority=priority,
            skills=dict(skills or {}),
            data=dict(data or {}),
        )
        future: asyncio.Future[Offered] = asyncio.get_running_loop().create_future()
        control.enqueue(call, lambda: self._place(call, node, request, future))
        watched: set[asyncio.Future[Any]] = {future}
        if call.channel is not None:
            watched.add(asyncio.ensure_future(call.channel.gone.wait()))
        limit = control.runtime.settings.cluster_forward_timeout + SETTLE_SECONDS
        try:
            await asyncio.wait(watched, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in watched - {future}:
                waiting.cancel()
        if call.ended:
            raise CallGone
        offered = future.result() if future.done() else Offered(408)
        if offered.status != 200:
            log.info(
                "call %s: node %s did not take it for queue %s (%d)",
                call.call_id,
                node.name,
                queue,
                offered.status,
            )
            return False
        log.info("call %s: sent on to node %s for queue %s", call.call_id, node.name, queue)
        call.channel = None  # keys go to the leader's side
        control.release_ivr_port(call)
        control.enqueue(call, lambda: self._forwarded(call, queue, node.name))
        return True

    async def _forwarded(self, call: Call, queue: str, node: str) -> None:
        """B's record: the caller went on to ``node`` (after the answer's bookkeeping)."""
        call.log.outcome = CallOutcome.TRANSFERRED_OUT
        await self.control.calllog.segment(
            call.log, SegmentKind.TRANSFER, queue=queue, target=f"node:{node}"
        )

    async def _place(
        self, call: Call, node: ClusterNode, request: Forwarded, future: asyncio.Future[Offered]
    ) -> None:
        control = self.control
        if call.ended or call.out is not None:
            future.set_result(Offered(487))
            return
        out = await control.outbound(call, control.runtime.settings.cluster_forward_timeout)
        if out is None:
            future.set_result(Offered(503))
            return
        out.offered = future
        called = user_of(call.request.uri) or request.queue
        target = SipUri(node.sip_host, called, port=node.sip_port)
        caller = call.request.from_
        key = control.ua.invite(
            request_uri=target,
            from_=NameAddr(caller.uri, caller.display_name),
            to=NameAddr(target),
            destination=Address(node.sip_host, node.sip_port),
            transport="UDP",
            now=asyncio.get_running_loop().time(),
            body=serialize_bytes(out.offer),
            extra=headers(request),
        )
        out.forks.add(key)
        control.track(call, branch=key)
        control.flush()

    # -- on the leader --------------------------------------------------------------------

    async def accept(self, event: IncomingCall) -> bool:
        """Take ``event`` as a call forwarded by another node, if it is one: False
        (route it as usual) when it carries no forwarding headers or does not come
        from a living node's SIP address."""
        control = self.control
        forwarded = parse(event.request)
        if forwarded is None:
            return False
        async with control.runtime.unit_of_work() as session:
            sender = await sender_node(
                session,
                source=event.source,
                this_node=self._node,
                now=datetime.now(UTC),
                node_timeout=self._timeout,
            )
        if sender is None:
            log.warning(
                "call %s: forwarding headers from %s:%d, not a node: ignored",
                event.request.call_id,
                event.source.host,
                event.source.port,
            )
            return False
        tenant = await control.phones.tenant_by_id(forwarded.tenant_id)
        if tenant is None:
            control.respond(event.call, 404)
            return True
        if await control.acd.queue_exists(tenant.id, forwarded.queue) is None:
            log.info(
                "call %s from node %s: queue %s not led here",
                event.request.call_id,
                sender.name,
                forwarded.queue,
            )
            control.respond(event.call, 503)
            return True
        # No line of the tenant is taken: the node the caller reached holds it.
        call = Call(event.call, event.request, tenant)
        control.calls[call.call_id] = call
        call.log = await control.calllog.open(
            tenant.id,
            call.call_id,
            user_of(event.request.from_.uri),
            user_of(event.request.uri),
            CallDirection.INBOUND,
        )
        if not await control.answer_offer(call):
            return True
        control.connect(call)
        await control.calllog.segment(
            call.log,
            SegmentKind.QUEUE,
            queue=forwarded.queue,
            from_node=forwarded.origin_node or sender.name,
            from_call=forwarded.origin_call,
        )
        if not await control.offers.queue(
            call,
            forwarded.queue,
            forwarded.priority,
            forwarded.skills,
            forwarded.data,
        ):
            await control.hang_up(call)
        return True
