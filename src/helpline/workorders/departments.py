"""Departments of a tenant (with their members) and its SLA targets per priority.

Both are configuration: every change goes to the audit log (work orders keep their own
timeline instead, in :mod:`helpline.workorders.service`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.users.models import User
from helpline.workorders import sla
from helpline.workorders.models import (
    Department,
    DepartmentMember,
    SlaPolicy,
)
from helpline.workorders.schemas import (
    DepartmentCreate,
    DepartmentUpdate,
    SlaTargetsPut,
)
from helpline.workorders.sla import Priority

DEPARTMENT_AUDITED = ("name", "description", "email")


async def check_users(session: AsyncSession, tenant_id: int, user_ids: Iterable[int]) -> None:
    """Raise NotFound naming the ids that are not users of the tenant."""
    wanted = set(user_ids)
    if not wanted:
        return
    found = set(
        (
            await session.execute(
                select(User.id).where(User.tenant_id == tenant_id, User.id.in_(wanted))
            )
        ).scalars()
    )
    if missing := sorted(wanted - found):
        raise NotFound("no such user", details={"user_ids": missing})


async def member_ids(session: AsyncSession, department_ids: Sequence[int]) -> dict[int, list[int]]:
    """The user ids of each department's members, in id order."""
    out: dict[int, list[int]] = {d: [] for d in department_ids}
    if department_ids:
        rows = await session.execute(
            select(DepartmentMember.department_id, DepartmentMember.user_id)
            .where(DepartmentMember.department_id.in_(department_ids))
            .order_by(DepartmentMember.user_id)
        )
        for department_id, user_id in rows:
            out[department_id].append(user_id)
    return out


async def department_views(
    session: AsyncSession, departments: Sequence[Department]
) -> list[dict[str, Any]]:
    """The API view of ``departments`` with their members' user ids."""
    members = await member_ids(session, [d.id for d in departments])
    return [
        {
            "id": d.id,
            "name": d.name,
            "description": d.description,
            "email": d.email,
            "member_ids": members[d.id],
            "created_at": d.created_at,
            "updated_at": d.updated_at,
        }
        for d in departments
    ]


async def _department_name_free(
    session: AsyncSession, tenant_id: int, name: str, *, own_id: int | None = None
) -> None:
    stmt = select(Department.id).where(Department.tenant_id == tenant_id, Department.name == name)
    if own_id is not None:
        stmt = stmt.where(Department.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"department {name!r} exists", error_id="department_name_taken")


async def _set_members(
    session: AsyncSession, department: Department, user_ids: Sequence[int]
) -> None:
    await check_users(session, department.tenant_id, user_ids)
    await session.execute(
        delete(DepartmentMember).where(DepartmentMember.department_id == department.id)
    )
    session.add_all(
        DepartmentMember(tenant_id=department.tenant_id, department_id=department.id, user_id=u)
        for u in dict.fromkeys(user_ids)
    )


async def list_departments(
    session: AsyncSession, *, principal: Principal, params: PageParams
) -> tuple[list[Department], int]:
    """The departments of the principal's tenant, by name."""
    return await paginate(
        session,
        select(Department).where(Department.tenant_id == principal.tenant_id),
        params,
        sortable={"id": Department.id, "name": Department.name},
        default_sort=(Department.name,),
    )


async def get_department(
    session: AsyncSession, *, principal: Principal, department_id: int
) -> Department:
    """A department of the principal's tenant."""
    return await get_owned(
        session, Department, department_id, tenant_id=principal.tenant_id, what="department"
    )


async def create_department(
    session: AsyncSession, *, principal: Principal, data: DepartmentCreate
) -> Department:
    """A new department with its members."""
    await _department_name_free(session, principal.tenant_id, data.name)
    department = Department(
        tenant_id=principal.tenant_id,
        name=data.name,
        description=data.description,
        email=data.email,
    )
    session.add(department)
    await session.flush()
    await _set_members(session, department, data.member_ids)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="department",
        obj=department,
        fields=DEPARTMENT_AUDITED,
    )
    return department


async def update_department(
    session: AsyncSession, *, principal: Principal, department_id: int, data: DepartmentUpdate
) -> Department:
    """Change a department; ``member_ids`` replaces its members, ``email: null`` clears."""
    department = await get_department(session, principal=principal, department_id=department_id)
    before = audit.snapshot(department, DEPARTMENT_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    member_ids = changes.pop("member_ids", None)
    if changes.get("name") is not None:
        await _department_name_free(
            session, department.tenant_id, changes["name"], own_id=department.id
        )
    audit.apply_changes(department, changes, nullable=("email",))
    if member_ids is not None:
        await _set_members(session, department, member_ids)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=department.tenant_id,
        action="update",
        entity="department",
        obj=department,
        fields=DEPARTMENT_AUDITED,
        before=before,
    )
    return department


async def delete_department(
    session: AsyncSession, *, principal: Principal, department_id: int
) -> None:
    """Remove a department; its work orders stay, unassigned from it."""
    department = await get_department(session, principal=principal, department_id=department_id)
    before = audit.snapshot(department, DEPARTMENT_AUDITED)
    await session.delete(department)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=department.tenant_id,
        action="delete",
        entity="department",
        obj=department,
        fields=DEPARTMENT_AUDITED,
        before=before,
    )


# SLA targets -----------------------------------------------------------------------


async def sla_targets(session: AsyncSession, tenant_id: int) -> dict[Priority, sla.SlaTarget]:
    """The SLA targets in force for ``tenant_id``: its own, else the defaults."""
    targets = dict(sla.DEFAULT_TARGETS)
    rows = (
        await session.execute(select(SlaPolicy).where(SlaPolicy.tenant_id == tenant_id))
    ).scalars()
    for row in rows:
        targets[row.priority] = sla.SlaTarget(
            timedelta(minutes=row.first_response_minutes), timedelta(minutes=row.resolution_minutes)
        )
    return targets


async def list_sla_targets(session: AsyncSession, *, principal: Principal) -> list[dict[str, Any]]:
    """The targets in force for each priority of the principal's tenant."""
    own = {
        row.priority
        for row in (
            await session.execute(
                select(SlaPolicy).where(SlaPolicy.tenant_id == principal.tenant_id)
            )
        ).scalars()
    }
    targets = await sla_targets(session, principal.tenant_id)
    return [
        {
            "priority": p,
            "first_response_minutes": int(targets[p].first_response.total_seconds() // 60),
            "resolution_minutes": int(targets[p].resolution.total_seconds() // 60),
            "default": p not in own,
        }
        for p in Priority
    ]


async def put_sla_targets(
    session: AsyncSession, *, principal: Principal, data: SlaTargetsPut
) -> list[dict[str, Any]]:
    """Replace the tenant's targets (left-out priorities use the defaults); open work
    orders keep the due times they were given."""
    if len({t.priority for t in data.targets}) != len(data.targets):
        raise ApiError(
            "a priority is listed twice", error_id="sla_priority_repeated", status_code=422
        )
    await session.execute(delete(SlaPolicy).where(SlaPolicy.tenant_id == principal.tenant_id))
    session.add_all(
        SlaPolicy(
            tenant_id=principal.tenant_id,
            priority=t.priority,
            first_response_minutes=t.first_response_minutes,
            resolution_minutes=t.resolution_minutes,
        )
        for t in data.targets
    )
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="update",
        entity="sla_targets",
        entity_id=principal.tenant_id,
        after={
            t.priority.value: f"{t.first_response_minutes}/{t.resolution_minutes}"
            for t in data.targets
        },
    )
    return await list_sla_targets(session, principal=principal)


# Views -----------------------------------------------------------------------------
