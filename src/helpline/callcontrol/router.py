"""HTTP routes for live calls: list them, dial, and command them from the desktop.

The agent on a call commands it; supervisors of the agent's team and tenant admins
may too, and may join it (listen, whisper, barge: their own phone rings first), take
it over (intercept) or end it (force hang-up). Errors: ``call_not_found`` (404: no such
live call in the cluster, or another tenant's), ``not_your_call`` / ``not_your_team``
(403), ``call_wrong_state`` (409, with the call's state and the command),
``destination_unavailable`` and ``phone_not_registered`` (409), ``node_unreachable``
(504: the node holding the call did not answer).

A call held by another node of the cluster is commanded there: the request is relayed
to that node and its answer returned (:mod:`helpline.cluster.forward`); the listing
joins every living node's calls.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.routing import APIRoute

from helpline.api.deps import AnyUser, Db, Supervisor, get_runtime
from helpline.callcontrol import service
from helpline.callcontrol.schemas import CallOut, DestinationIn, DialIn, DtmfIn, SuperviseIn
from helpline.cluster import forward
from helpline.cluster.node import cluster_of
from helpline.core.errors import ApiError
from helpline.media.mixer import SupervisionMode
from helpline.telephony.commands import CallCommands, call_not_found
from helpline.telephony.cti import LiveCall


class ForwardingRoute(APIRoute):
    """A route whose call may live on another node: answered there (``CallElsewhere``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except forward.CallElsewhere as elsewhere:
                cluster = cluster_of(get_runtime(request))
                if cluster is None:
                    raise call_not_found(request.path_params.get("call_id", "")) from None
                return await forward.relay(cluster, request, elsewhere.holder)

        return handle


router = APIRouter(prefix="/calls", tags=["live calls"], route_class=ForwardingRoute)


def _commands(request: Request) -> CallCommands:
    commands = service.live_calls(get_runtime(request))
    if commands is None:
        raise ApiError(
            "call control is not running on this node",
            error_id="call_control_unavailable",
            status_code=503,
        )
    return commands


async def owned_call(call_id: str, request: Request, db: Db, principal: AnyUser) -> LiveCall:
    """The principal's tenant's live call ``call_id`` on this node; ``CallElsewhere``
    when another living node holds it, else 404."""
    runtime = get_runtime(request)
    commands = service.live_calls(runtime)
    found = None if commands is None else commands.get(principal.tenant_id, call_id)
    if found is not None:
        return found
    cluster = cluster_of(runtime)
    if cluster is not None and not forward.forwarded(request):
        holder = await forward.locate_call(
            cluster, db, tenant_id=principal.tenant_id, call_id=call_id
        )
        if holder is not None:
            raise forward.CallElsewhere(holder)
    raise call_not_found(call_id)


OwnedCall = Annotated[LiveCall, Depends(owned_call)]


@router.get("", response_model=list[CallOut])
async def list_calls(request: Request, db: Db, principal: AnyUser) -> object:
    """Live calls of every node: an agent's own, a supervisor's team's, all for admins
    (each node filters its own; a node that does not answer is left out)."""
    runtime = get_runtime(request)
    commands = service.live_calls(runtime)
    calls = [] if commands is None else commands.calls(principal.tenant_id)
    visible = await service.visible_calls(db, principal=principal, calls=calls)
    listed = [CallOut.of(call) for call in visible]
    cluster = cluster_of(runtime)
    if cluster is not None and not forward.forwarded(request):
        listed += [CallOut.model_validate(item) for item in await forward.gather(cluster, request)]
    return listed


@router.post("", response_model=CallOut, status_code=status.HTTP_201_CREATED)
async def dial(data: DialIn, request: Request, db: Db, principal: AnyUser) -> object:
    """Click-to-dial: ring my phone(s); once I answer, call ``target`` (a number through
    the tenant's trunks, or an extension) and connect us."""
    phones = await service.phones_to_ring(db, principal=principal, account=data.account)
    commands = _commands(request)
    made = await commands.originate.dial(principal.tenant_id, phones, data.destination())
    return CallOut.of(made)


@router.get("/{call_id}", response_model=CallOut)
async def get_call(call: OwnedCall, db: Db, principal: AnyUser) -> object:
    """One live call."""
    await service.actor_for(db, principal=principal, call=call)
    return CallOut.of(call)


@router.post("/{call_id}/hangup", response_model=CallOut)
async def hang_up(call: OwnedCall, request: Request, db: Db, principal: AnyUser) -> object:
    """End the call (for a supervisor: force hang-up)."""
    actor = await service.actor_for(db, principal=principal, call=call)
    return CallOut.of(await _commands(request).hang_up(principal.tenant_id, call.call_id, actor))


@router.post("/{call_id}/hold", response_model=CallOut)
async def hold(call: OwnedCall, request: Request, db: Db, principal: AnyUser) -> object:
    """Put the customer on hold (re-INVITE ``a=sendonly``, music on hold)."""
    actor = await service.actor_for(db, principal=principal, call=call)
    return CallOut.of(await _commands(request).hold(principal.tenant_id, call.call_id, actor))


@router.post("/{call_id}/resume", response_model=CallOut)
async def resume(call: OwnedCall, request: Request, db: Db, principal: AnyUser) -> object:
    """Take the customer off hold."""
    actor = await service.actor_for(db, principal=principal, call=call)
    return CallOut.of(await _commands(request).resume(principal.tenant_id, call.call_id, actor))


@router.post("/{call_id}/dtmf", response_model=CallOut)
async def send_dtmf(
    call: OwnedCall, data: DtmfIn, request: Request, db: Db, principal: AnyUser
) -> object:
    """Send keys to the customer as RFC 4733 telephone-events."""
    actor = await service.actor_for(db, principal=principal, call=call)
    commands = _commands(request)
    return CallOut.of(
        await commands.send_dtmf(principal.tenant_id, call.call_id, actor, data.digits)
    )


@router.post("/{call_id}/transfer", response_model=CallOut)
async def transfer(
    call: OwnedCall, data: DestinationIn, request: Request, db: Db, principal: AnyUser
) -> object:
    """Blind transfer: the customer goes to ``target``, the agent's leg is released."""
    actor = await service.actor_for(db, principal=principal, call=call)
    commands = _commands(request)
    return CallOut.of(
        await commands.transfer(principal.tenant_id, call.call_id, actor, data.destination())
    )


@router.post("/{call_id}/consult", response_model=CallOut)
async def consult(
    call: OwnedCall, data: DestinationIn, request: Request, db: Db, principal: AnyUser
) -> object:
    """Attended transfer, first step: the customer is held, the agent calls ``target``."""
    actor = await service.actor_for(db, principal=principal, call=call)
    commands = _commands(request)
    return CallOut.of(
        await commands.consult.start(principal.tenant_id, call.call_id, actor, data.destination())
    )


@router.post("/{call_id}/consult/complete", response_model=CallOut)
async def complete_consultation(
    call: OwnedCall, request: Request, db: Db, principal: AnyUser
) -> object:
    """Hand the customer to the consulted party; the agent leaves the call."""
    actor = await service.actor_for(db, principal=principal, call=call)
    commands = _commands(request)
    return CallOut.of(await commands.consult.complete(principal.tenant_id, call.call_id, actor))


@router.post("/{call_id}/consult/cancel", response_model=CallOut)
async def cancel_consultation(
    call: OwnedCall, request: Request, db: Db, principal: AnyUser
) -> object:
    """End the consultation and go back to the customer."""
    actor = await service.actor_for(db, principal=principal, call=call)
    commands = _commands(request)
    return CallOut.of(await commands.consult.cancel(principal.tenant_id, call.call_id, actor))


@router.post("/{call_id}/conference", response_model=CallOut)
async def conference(call: OwnedCall, request: Request, db: Db, principal: AnyUser) -> object:
    """Customer, agent and the consulted party in one three-way conference."""
    actor = await service.actor_for(db, principal=principal, call=call)
    commands = _commands(request)
    return CallOut.of(await commands.consult.conference(principal.tenant_id, call.call_id, actor))


@router.post("/{call_id}/supervise", response_model=CallOut)
async def supervise(
    call: OwnedCall, data: SuperviseIn, request: Request, db: Db, principal: Supervisor
) -> object:
    """Ring my phone and join the agent's call in ``mode`` (or switch mode when I am
    already in it)."""
    actor = await service.actor_for(db, principal=principal, call=call, supervision=True)
    phones = await service.phones_to_ring(db, principal=principal)
    commands = _commands(request)
    mode: SupervisionMode = data.mode
    return CallOut.of(
        await commands.originate.supervise(principal.tenant_id, call.call_id, actor, phones, mode)
    )


@router.post("/{call_id}/intercept", response_model=CallOut)
async def intercept(call: OwnedCall, request: Request, db: Db, principal: Supervisor) -> object:
    """Take the customer over from the agent, who is dropped (my phone rings first
    unless I am already in the call)."""
    actor = await service.actor_for(db, principal=principal, call=call, supervision=True)
    phones = await service.phones_to_ring(db, principal=principal)
    commands = _commands(request)
    return CallOut.of(
        await commands.originate.intercept(principal.tenant_id, call.call_id, actor, phones)
    )
