"""Callback requests in the database: what the ACD runtime saves and reloads, and what
the API lists and cancels.

Theory of operation: the runtime owns live callbacks (:mod:`helpline.acd.callback`
decides their states).  It writes a row when a caller asks for one
(:func:`create_callback`) and saves every change of state (:func:`save_callback`), so
that a node started again reloads the requests not finished (:func:`open_callbacks`)
with their original place in the queue.  Every saved change queues a
:class:`~helpline.acd.events.CallbackChanged` event, published when the unit of work
commits; the runtime listens for the ones a supervisor makes (cancelling a pending
request through the API).  Services never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.callback import CallbackPolicy, CallbackState
from helpline.acd.events import CallbackChanged
from helpline.acd.models import Callback
from helpline.auth.principal import Principal
from helpline.core.errors import Conflict
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.runtime import queue_event

__all__ = [
    "OPEN_STATES",
    "cancel_callback",
    "create_callback",
    "get_callback",
    "list_callbacks",
    "open_callbacks",
    "save_callback",
    "tenants_with_open_callbacks",
]

#: States of requests a restarted node takes up again.
OPEN_STATES = (CallbackState.PENDING, CallbackState.DIALING, CallbackState.CONNECTED)


def _announce(session: AsyncSession, row: Callback) -> None:
    queue_event(
        session,
        CallbackChanged(
            tenant_id=row.tenant_id,
            callback_id=row.id,
            queue_id=row.queue_id,
            number=row.number,
            state=row.state.value,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status=row.last_status,
            agent=row.agent,
        ),
    )


async def create_callback(
    session: AsyncSession,
    *,
    tenant_id: int,
    queue_id: int,
    call_id: str,
    number: str,
    called: str,
    joined_at: datetime,
    priority: float,
    customer_type: str | None,
    skills: dict[str, int],
    data: dict[str, Any],
    policy: CallbackPolicy,
    node: str,
) -> Callback:
    """A new pending request (its id is assigned by a flush)."""
    row = Callback(
        tenant_id=tenant_id,
        queue_id=queue_id,
        call_id=call_id[:255],
        number=number[:64],
        called=called[:64],
        state=CallbackState.PENDING,
        joined_at=joined_at,
        priority=priority,
        customer_type=customer_type,
        skills=dict(skills),
        data=data,
        attempts=0,
        max_attempts=policy.max_attempts,
        retry_seconds=int(policy.retry_seconds),
        node=node,
    )
    session.add(row)
    await session.flush()
    _announce(session, row)
    return row


async def save_callback(
    session: AsyncSession,
    *,
    tenant_id: int,
    callback_id: int,
    state: CallbackState,
    attempts: int,
    next_attempt_at: datetime | None,
    last_call_id: str | None,
    last_status: int | None,
    agent: str | None,
    node: str,
) -> bool:
    """Save the runtime's view of a request; False when the row is gone or was made
    final elsewhere (a supervisor cancelled it), which the runtime then respects."""
    row = await session.get(Callback, callback_id)
    if row is None or row.tenant_id != tenant_id:
        return False
    if row.state is CallbackState.CANCELLED and state is not CallbackState.CANCELLED:
        return False
    changed = (row.state, row.attempts, row.next_attempt_at) != (state, attempts, next_attempt_at)
    row.state = state
    row.attempts = attempts
    row.next_attempt_at = next_attempt_at
    row.last_call_id = last_call_id
    row.last_status = last_status
    row.agent = agent
    row.node = node
    if changed:
        _announce(session, row)
    return True


async def open_callbacks(session: AsyncSession, *, tenant_id: int) -> list[Callback]:
    """The tenant's requests not finished yet, oldest place first."""
    rows = await session.execute(
        select(Callback)
        .where(Callback.tenant_id == tenant_id, Callback.state.in_(OPEN_STATES))
        .order_by(Callback.joined_at, Callback.id)
    )
    return list(rows.scalars())


async def tenants_with_open_callbacks(session: AsyncSession) -> list[int]:
    """Tenants with requests a starting node must take up."""
    rows = await session.execute(
        select(Callback.tenant_id).where(Callback.state.in_(OPEN_STATES)).distinct()
    )
    return sorted(rows.scalars())


async def list_callbacks(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    state: CallbackState | None = None,
    queue_id: int | None = None,
) -> tuple[list[Callback], int]:
    """The principal's tenant's requests, newest first unless ``sort`` says otherwise."""
    stmt = select(Callback).where(Callback.tenant_id == principal.tenant_id)
    return await paginate(
        session,
        stmt,
        params,
        sortable={"id": Callback.id, "joined_at": Callback.joined_at, "state": Callback.state},
        default_sort=(Callback.id.desc(),),
        filters={"state": (Callback.state, state), "queue_id": (Callback.queue_id, queue_id)},
    )


async def get_callback(
    session: AsyncSession, *, principal: Principal, callback_id: int
) -> Callback:
    """A request of the principal's tenant (404 otherwise)."""
    return await get_owned(
        session, Callback, callback_id, tenant_id=principal.tenant_id, what="callback"
    )


async def cancel_callback(
    session: AsyncSession, *, principal: Principal, callback_id: int
) -> Callback:
    """Cancel a pending request; 409 ``callback_in_progress`` once its call is placed,
    409 ``callback_finished`` when it is over."""
    row = await get_callback(session, principal=principal, callback_id=callback_id)
    if row.state in (CallbackState.DIALING, CallbackState.CONNECTED):
        raise Conflict(
            "the caller is being called back", error_id="callback_in_progress", details={}
        )
    if row.state is not CallbackState.PENDING:
        raise Conflict(
            f"the callback is {row.state.value}",
            error_id="callback_finished",
            details={"state": row.state.value},
        )
    row.state = CallbackState.CANCELLED
    row.next_attempt_at = None
    _announce(session, row)
    return row
