"""Work orders of a tenant: the workflow, comments, watchers, search, and creation from a
call (departments and SLA targets are in :mod:`helpline.workorders.departments`,
attachments in :mod:`helpline.workorders.attachments`, work orders made from e-mails in
:mod:`helpline.workorders.email_intake`).

Every change writes a timeline entry, queues a ``workorder.changed`` webhook delivery
(:func:`helpline.webhooks.service.publish`, in the same transaction) and a
:class:`~helpline.workorders.notify.WorkOrderChanged` bus event naming the staff to
e-mail.  Functions take ``now`` so that SLA times can be tested with a fixed clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.calls.models import CallRecord
from helpline.core.errors import Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned, utcnow
from helpline.runtime import queue_event
from helpline.users.models import User
from helpline.webhooks import service as webhooks
from helpline.webhooks.models import WebhookEvent
from helpline.workorders import sla
from helpline.workorders.departments import check_users, member_ids, sla_targets
from helpline.workorders.models import (
    Department,
    Source,
    TimelineEntry,
    TimelineKind,
    WorkOrder,
    WorkOrderComment,
    WorkOrderWatcher,
)
from helpline.workorders.notify import WorkOrderChanged
from helpline.workorders.schemas import (
    NULLABLE,
    CommentCreate,
    SearchFilters,
    StatusChange,
    WorkOrderCreate,
    WorkOrderUpdate,
)
from helpline.workorders.sla import Priority, Status

CustomerLookup = Callable[[AsyncSession, int, str], Awaitable[int | None]]
"""``(session, tenant_id, phone number) -> customer id``: how a call finds its customer
(the customer records provide it; without one only an explicit ``customer_id`` is set)."""


# Departments -----------------------------------------------------------------------


async def _watcher_ids(
    session: AsyncSession, work_order_ids: Sequence[int]
) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {w: [] for w in work_order_ids}
    if work_order_ids:
        rows = await session.execute(
            select(WorkOrderWatcher.work_order_id, WorkOrderWatcher.user_id)
            .where(WorkOrderWatcher.work_order_id.in_(work_order_ids))
            .order_by(WorkOrderWatcher.user_id)
        )
        for work_order_id, user_id in rows:
            out[work_order_id].append(user_id)
    return out


def sla_state(work_order: WorkOrder, now: datetime) -> sla.SlaState:
    """The SLA state of ``work_order`` at ``now`` (from its stored due times)."""
    return sla.SlaState(
        first_response_due_at=work_order.first_response_due_at,
        resolution_due_at=work_order.resolution_due_at,
        first_response_breached=(work_order.first_responded_at or now)
        > work_order.first_response_due_at,
        resolution_breached=(work_order.resolved_at or now) > work_order.resolution_due_at,
    )


async def views(
    session: AsyncSession, work_orders: Sequence[WorkOrder], *, now: datetime
) -> list[dict[str, Any]]:
    """The API view of ``work_orders``: their fields, SLA state at ``now`` and watchers."""
    watchers = await _watcher_ids(session, [w.id for w in work_orders])
    out = []
    for w in work_orders:
        state = sla_state(w, now)
        view = {c.key: getattr(w, c.key) for c in WorkOrder.__table__.columns}
        view.update(
            first_response_breached=state.first_response_breached,
            resolution_breached=state.resolution_breached,
            breached=state.breached,
            watcher_ids=watchers[w.id],
        )
        out.append(view)
    return out


def _summary(work_order: WorkOrder) -> dict[str, Any]:
    return {
        "id": work_order.id,
        "title": work_order.title,
        "status": work_order.status.value,
        "priority": work_order.priority.value,
        "source": work_order.source.value,
        "department_id": work_order.department_id,
        "assignee_id": work_order.assignee_id,
        "customer_id": work_order.customer_id,
        "call_record_id": work_order.call_record_id,
        "caller_number": work_order.caller_number,
        "first_response_due_at": work_order.first_response_due_at.isoformat(),
        "resolution_due_at": work_order.resolution_due_at.isoformat(),
        "resolved_at": work_order.resolved_at.isoformat() if work_order.resolved_at else None,
        "closed_at": work_order.closed_at.isoformat() if work_order.closed_at else None,
    }


# Change recording ------------------------------------------------------------------


async def _recipients(
    session: AsyncSession, work_order: WorkOrder, *, exclude_user: int | None
) -> tuple[str, ...]:
    user_ids = set((await _watcher_ids(session, [work_order.id]))[work_order.id])
    if work_order.assignee_id is not None:
        user_ids.add(work_order.assignee_id)
    addresses: list[str] = []
    if work_order.department_id is not None:
        department = await session.get(Department, work_order.department_id)
        if department is not None and department.email:
            addresses.append(department.email)
        user_ids.update(
            (await member_ids(session, [work_order.department_id]))[work_order.department_id]
        )
    user_ids.discard(exclude_user if exclude_user is not None else -1)
    if user_ids:
        rows = await session.execute(
            select(User.email).where(
                User.tenant_id == work_order.tenant_id,
                User.id.in_(user_ids),
                User.active.is_(True),
                User.email.is_not(None),
            )
        )
        addresses.extend(e for e in rows.scalars() if e)
    return tuple(sorted(set(addresses)))


async def record_change(
    session: AsyncSession,
    work_order: WorkOrder,
    *,
    principal: Principal | None,
    actor: str,
    kind: TimelineKind,
    detail: dict[str, Any],
    summary: str,
    now: datetime,
) -> None:
    """Record one change: timeline, webhook deliveries, the e-mail event."""
    await session.flush()
    session.add(
        TimelineEntry(
            tenant_id=work_order.tenant_id,
            work_order_id=work_order.id,
            at=now,
            actor_id=principal.user_id if principal else None,
            actor=actor,
            kind=kind,
            detail=detail,
        )
    )
    await webhooks.publish(
        session,
        work_order.tenant_id,
        WebhookEvent.WORKORDER_CHANGED.value,
        {
            "action": kind.value,
            "actor": actor,
            "changes": detail,
            "work_order": _summary(work_order),
        },
        now=now,
    )
    queue_event(
        session,
        WorkOrderChanged(
            tenant_id=work_order.tenant_id,
            at=now,
            user_id=principal.user_id if principal else None,
            work_order_id=work_order.id,
            title=work_order.title,
            status=work_order.status.value,
            priority=work_order.priority.value,
            action=kind.value,
            actor=actor,
            summary=summary,
            recipients=await _recipients(
                session, work_order, exclude_user=principal.user_id if principal else None
            ),
        ),
    )


# Work orders -----------------------------------------------------------------------


async def get_work_order(
    session: AsyncSession, *, principal: Principal, work_order_id: int
) -> WorkOrder:
    """A work order of the principal's tenant."""
    return await get_owned(
        session, WorkOrder, work_order_id, tenant_id=principal.tenant_id, what="work order"
    )


async def _check_refs(
    session: AsyncSession, tenant_id: int, *, department_id: int | None, user_ids: Iterable[int]
) -> None:
    if department_id is not None:
        await get_owned(session, Department, department_id, tenant_id=tenant_id, what="department")
    await check_users(session, tenant_id, [u for u in user_ids if u is not None])


async def new_work_order(
    session: AsyncSession,
    *,
    tenant_id: int,
    principal: Principal | None,
    actor: str,
    source: Source,
    fields: dict[str, Any],
    watcher_ids: Sequence[int],
    now: datetime,
) -> WorkOrder:
    targets = await sla_targets(session, tenant_id)
    priority = Priority(fields.get("priority", Priority.NORMAL))
    response_due, resolution_due = sla.due_times(now, targets[priority])
    work_order = WorkOrder(
        tenant_id=tenant_id,
        source=source,
        status=Status.NEW,
        created_by_id=principal.user_id if principal else None,
        first_response_due_at=response_due,
        resolution_due_at=resolution_due,
        created_at=now,
        updated_at=now,
        **{**fields, "priority": priority},
    )
    session.add(work_order)
    await session.flush()
    session.add_all(
        WorkOrderWatcher(tenant_id=tenant_id, work_order_id=work_order.id, user_id=u)
        for u in dict.fromkeys(watcher_ids)
    )
    await record_change(
        session,
        work_order,
        principal=principal,
        actor=actor,
        kind=TimelineKind.CREATED,
        detail={"source": source.value, "priority": priority.value},
        summary=f"created ({source.value})",
        now=now,
    )
    return work_order


async def create_work_order(
    session: AsyncSession,
    *,
    principal: Principal,
    data: WorkOrderCreate,
    now: datetime | None = None,
    customer_lookup: CustomerLookup | None = None,
) -> WorkOrder:
    """A new work order of the principal's tenant; with ``call_record_id`` it is linked to
    the call and pre-filled from it (see :func:`create_from_call`)."""
    now = now or utcnow()
    await _check_refs(
        session,
        principal.tenant_id,
        department_id=data.department_id,
        user_ids=[*data.watcher_ids, *([data.assignee_id] if data.assignee_id else [])],
    )
    fields = data.model_dump(exclude={"watcher_ids"})
    source = Source.API
    if data.call_record_id is not None:
        call = await get_owned(
            session, CallRecord, data.call_record_id, tenant_id=principal.tenant_id, what="call"
        )
        source = Source.CALL
        fields["caller_number"] = data.caller_number or call.caller or None
        fields["queue"] = call.queue
        fields["agent"] = call.agent
        if data.customer_id is None and customer_lookup is not None and call.caller:
            fields["customer_id"] = await customer_lookup(session, principal.tenant_id, call.caller)
    return await new_work_order(
        session,
        tenant_id=principal.tenant_id,
        principal=principal,
        actor=principal.display,
        source=source,
        fields=fields,
        watcher_ids=data.watcher_ids,
        now=now,
    )


async def create_from_call(
    session: AsyncSession,
    *,
    principal: Principal,
    call_record_id: int,
    title: str,
    description: str = "",
    priority: Priority = Priority.NORMAL,
    department_id: int | None = None,
    assignee_id: int | None = None,
    customer_id: int | None = None,
    now: datetime | None = None,
    customer_lookup: CustomerLookup | None = None,
) -> WorkOrder:
    """A work order linked to the call record ``call_record_id`` of the principal's
    tenant, pre-filled with the call's caller number, queue and agent; the customer is
    ``customer_id`` or, without one, what ``customer_lookup`` finds for the caller."""
    data = WorkOrderCreate(
        title=title,
        description=description,
        priority=priority,
        department_id=department_id,
        assignee_id=assignee_id,
        customer_id=customer_id,
        call_record_id=call_record_id,
    )
    return await create_work_order(
        session, principal=principal, data=data, now=now, customer_lookup=customer_lookup
    )


async def update_work_order(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: int,
    data: WorkOrderUpdate,
    now: datetime | None = None,
) -> WorkOrder:
    """Change a work order's fields; a new priority moves its SLA due times."""
    now = now or utcnow()
    work_order = await get_work_order(session, principal=principal, work_order_id=work_order_id)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    await _check_refs(
        session,
        work_order.tenant_id,
        department_id=changes.get("department_id"),
        user_ids=[changes["assignee_id"]] if changes.get("assignee_id") else [],
    )
    before = {k: getattr(work_order, k) for k in changes}
    audit.apply_changes(work_order, changes, nullable=NULLABLE)
    diff = {
        k: [_plain(before[k]), _plain(getattr(work_order, k))]
        for k in changes
        if before[k] != getattr(work_order, k)
    }
    if not diff:
        return work_order
    if "priority" in diff:
        targets = await sla_targets(session, work_order.tenant_id)
        work_order.first_response_due_at, work_order.resolution_due_at = sla.due_times(
            work_order.created_at, targets[work_order.priority]
        )
    work_order.updated_at = now
    assigned = {"department_id", "assignee_id"} & diff.keys()
    await record_change(
        session,
        work_order,
        principal=principal,
        actor=principal.display,
        kind=TimelineKind.ASSIGNED if assigned == diff.keys() else TimelineKind.UPDATED,
        detail=diff,
        summary=", ".join(f"{k}: {v[0]} -> {v[1]}" for k, v in diff.items() if k != "description"),
        now=now,
    )
    return work_order


def _plain(value: object) -> object:
    return value.value if isinstance(value, Status | Priority) else value


async def set_status(
    session: AsyncSession,
    work_order: WorkOrder,
    target: Status,
    *,
    principal: Principal | None,
    actor: str,
    now: datetime,
) -> None:
    current = work_order.status
    try:
        sla.check_transition(current, target)
    except sla.IllegalTransition as exc:
        raise Conflict(
            str(exc),
            error_id="illegal_transition",
            details={"from": current.value, "to": target.value, "allowed": exc.allowed},
        ) from None
    reopened = sla.is_reopen(current, target)
    work_order.status = target
    work_order.updated_at = now
    if principal is not None and work_order.first_responded_at is None:
        work_order.first_responded_at = now
    if target is Status.RESOLVED:
        work_order.resolved_at = now
    elif target is Status.CLOSED:
        work_order.closed_at = now
        work_order.resolved_at = work_order.resolved_at or now
    elif reopened:
        work_order.resolved_at = None
        work_order.closed_at = None
    await record_change(
        session,
        work_order,
        principal=principal,
        actor=actor,
        kind=TimelineKind.STATUS,
        detail={"status": [current.value, target.value], "reopened": reopened},
        summary=f"{'reopened' if reopened else 'status'}: {current.value} -> {target.value}",
        now=now,
    )


async def change_status(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: int,
    data: StatusChange,
    now: datetime | None = None,
) -> WorkOrder:
    """Move a work order in its workflow; 409 ``illegal_transition`` for a move the
    workflow does not allow.  A staff status change counts as the first response."""
    now = now or utcnow()
    work_order = await get_work_order(session, principal=principal, work_order_id=work_order_id)
    await set_status(
        session, work_order, data.status, principal=principal, actor=principal.display, now=now
    )
    if data.comment:
        await add_comment(
            session,
            principal=principal,
            work_order_id=work_order.id,
            data=CommentCreate(body=data.comment),
            now=now,
        )
    return work_order


async def add_comment(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: int,
    data: CommentCreate,
    now: datetime | None = None,
) -> WorkOrderComment:
    """A comment or internal note; the first public comment is the first response."""
    now = now or utcnow()
    work_order = await get_work_order(session, principal=principal, work_order_id=work_order_id)
    comment = WorkOrderComment(
        tenant_id=work_order.tenant_id,
        work_order_id=work_order.id,
        author_id=principal.user_id,
        author=principal.display,
        body=data.body,
        internal=data.internal,
        created_at=now,
        updated_at=now,
    )
    session.add(comment)
    await session.flush()
    if not data.internal and work_order.first_responded_at is None:
        work_order.first_responded_at = now
    work_order.updated_at = now
    await record_change(
        session,
        work_order,
        principal=principal,
        actor=principal.display,
        kind=TimelineKind.NOTE if data.internal else TimelineKind.COMMENT,
        detail={"comment_id": comment.id},
        summary=("internal note: " if data.internal else "comment: ") + data.body[:200],
        now=now,
    )
    return comment


async def list_comments(
    session: AsyncSession, *, principal: Principal, work_order_id: int
) -> list[WorkOrderComment]:
    """The comments and notes of a work order, oldest first."""
    work_order = await get_work_order(session, principal=principal, work_order_id=work_order_id)
    rows = await session.execute(
        select(WorkOrderComment)
        .where(WorkOrderComment.work_order_id == work_order.id)
        .order_by(WorkOrderComment.created_at, WorkOrderComment.id)
    )
    return list(rows.scalars())


async def timeline(
    session: AsyncSession, *, principal: Principal, work_order_id: int
) -> list[TimelineEntry]:
    """Every change of a work order, oldest first."""
    work_order = await get_work_order(session, principal=principal, work_order_id=work_order_id)
    rows = await session.execute(
        select(TimelineEntry)
        .where(TimelineEntry.work_order_id == work_order.id)
        .order_by(TimelineEntry.at, TimelineEntry.id)
    )
    return list(rows.scalars())


# Watchers --------------------------------------------------------------------------


async def add_watcher(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: int,
    user_id: int,
    now: datetime | None = None,
) -> WorkOrder:
    """Make a user of the tenant watch a work order (no change if they already do)."""
    work_order = await get_work_order(session, principal=principal, work_order_id=work_order_id)
    await check_users(session, work_order.tenant_id, [user_id])
    if user_id in (await _watcher_ids(session, [work_order.id]))[work_order.id]:
        return work_order
    session.add(
        WorkOrderWatcher(
            tenant_id=work_order.tenant_id, work_order_id=work_order.id, user_id=user_id
        )
    )
    await record_change(
        session,
        work_order,
        principal=principal,
        actor=principal.display,
        kind=TimelineKind.WATCHER_ADDED,
        detail={"user_id": user_id},
        summary=f"watcher {user_id} added",
        now=now or utcnow(),
    )
    return work_order


async def remove_watcher(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: int,
    user_id: int,
    now: datetime | None = None,
) -> WorkOrder:
    """Stop a user watching a work order; 404 if they did not."""
    work_order = await get_work_order(session, principal=principal, work_order_id=work_order_id)
    result = await session.execute(
        select(WorkOrderWatcher).where(
            WorkOrderWatcher.work_order_id == work_order.id, WorkOrderWatcher.user_id == user_id
        )
    )
    watcher = result.scalar_one_or_none()
    if watcher is None:
        raise NotFound("no such watcher")
    await session.delete(watcher)
    await record_change(
        session,
        work_order,
        principal=principal,
        actor=principal.display,
        kind=TimelineKind.WATCHER_REMOVED,
        detail={"user_id": user_id},
        summary=f"watcher {user_id} removed",
        now=now or utcnow(),
    )
    return work_order


# Search ----------------------------------------------------------------------------


def breached_clause(now: datetime) -> ColumnElement[bool]:
    """SQL true for work orders with a breached SLA target at ``now``
    (as :func:`helpline.workorders.sla.evaluate` judges it)."""
    return or_(
        func.coalesce(WorkOrder.first_responded_at, now) > WorkOrder.first_response_due_at,
        func.coalesce(WorkOrder.resolved_at, now) > WorkOrder.resolution_due_at,
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_work_orders(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    filters: SearchFilters,
    now: datetime | None = None,
) -> tuple[list[WorkOrder], int]:
    """The principal's tenant's work orders matching every given filter, newest first by
    default; ``q`` is found in the title or description, ignoring case."""
    now = now or utcnow()
    stmt = select(WorkOrder).where(WorkOrder.tenant_id == principal.tenant_id)
    if filters.q:
        pattern = _like(filters.q)
        stmt = stmt.where(
            or_(
                WorkOrder.title.ilike(pattern, escape="\\"),
                WorkOrder.description.ilike(pattern, escape="\\"),
            )
        )
    if filters.breached is not None:
        clause = breached_clause(now)
        stmt = stmt.where(clause if filters.breached else ~clause)
    return await paginate(
        session,
        stmt,
        params,
        sortable={
            "id": WorkOrder.id,
            "created_at": WorkOrder.created_at,
            "updated_at": WorkOrder.updated_at,
            "priority": WorkOrder.priority,
            "status": WorkOrder.status,
            "resolution_due_at": WorkOrder.resolution_due_at,
            "first_response_due_at": WorkOrder.first_response_due_at,
        },
        filters={
            "status": (WorkOrder.status, filters.status),
            "priority": (WorkOrder.priority, filters.priority),
            "department_id": (WorkOrder.department_id, filters.department_id),
            "assignee_id": (WorkOrder.assignee_id, filters.assignee_id),
            "customer_id": (WorkOrder.customer_id, filters.customer_id),
            "call_record_id": (WorkOrder.call_record_id, filters.call_record_id),
        },
        default_sort=(WorkOrder.id.desc(),),
    )
