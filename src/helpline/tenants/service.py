"""Tenants: creation with tier limits, changes, and capacity admission.

Capacity (lines, IVR ports) is admitted through leases in the database: acquiring one
locks the tenant row (PostgreSQL ``FOR UPDATE``; SQLite serialises writers), counts the
leases held, and refuses beyond the limit, so every node of a cluster sees one count.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, delete, func, insert, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import CapacityExceeded, Conflict, Forbidden, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import utcnow
from helpline.tenants.models import SYSTEM_TENANT, TIER_LIMITS, CapacityLease, LeaseKind, Tenant
from helpline.tenants.schemas import TenantAdminUpdate, TenantCreate, TenantLimits, TenantUpdate

AUDITED = (
    "slug",
    "name",
    "timezone",
    "locale",
    "tier",
    "max_lines",
    "max_agents",
    "max_ivr_ports",
    "active",
)


def resolve_limits(limits: TenantLimits) -> tuple[int, int, int]:
    """Lines, agents and IVR ports: explicit values over the tier's."""
    base = TIER_LIMITS.get(limits.tier, TIER_LIMITS[type(limits.tier).SMALL])
    return (
        limits.max_lines if limits.max_lines is not None else base[0],
        limits.max_agents if limits.max_agents is not None else base[1],
        limits.max_ivr_ports if limits.max_ivr_ports is not None else base[2],
    )


async def by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    """The tenant named ``slug``."""
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()


async def create_tenant(
    session: AsyncSession, *, data: TenantCreate, actor: Principal | None
) -> Tenant:
    """A new tenant with its limits; the first admin is created by the caller."""
    if await by_slug(session, data.slug) is not None:
        raise Conflict(f"tenant {data.slug!r} exists", error_id="tenant_exists")
    lines, agents, ivr = resolve_limits(data)
    tenant = Tenant(
        slug=data.slug,
        name=data.name,
        timezone=data.timezone,
        locale=data.locale,
        sip_realm=data.slug,
        tier=data.tier,
        max_lines=lines,
        max_agents=agents,
        max_ivr_ports=ivr,
    )
    session.add(tenant)
    await audit.log_change(
        session,
        actor=actor,
        tenant_id=actor.tenant_id if actor else tenant.id,
        action="create",
        entity="tenant",
        obj=tenant,
        fields=AUDITED,
    )
    return tenant


async def list_tenants(
    session: AsyncSession, *, params: PageParams, active: bool | None
) -> tuple[list[Tenant], int]:
    """Every tenant (platform administration)."""
    return await paginate(
        session,
        select(Tenant),
        params,
        sortable={"id": Tenant.id, "slug": Tenant.slug, "name": Tenant.name},
        filters={"active": (Tenant.active, active)},
        default_sort=(Tenant.id,),
    )


async def get_tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    """The tenant with ``tenant_id``."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    return tenant


async def update_tenant(
    session: AsyncSession,
    *,
    tenant: Tenant,
    data: TenantUpdate | TenantAdminUpdate,
    actor: Principal,
) -> Tenant:
    """Apply the fields ``data`` sets, and audit the change."""
    before = audit.snapshot(tenant, AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if tenant.slug == SYSTEM_TENANT and changes.get("active") is False:
        raise Forbidden("the system tenant cannot be deactivated", error_id="system_tenant")
    if "tier" in changes and changes["tier"] is not None:
        limits = TenantLimits(tier=changes["tier"])
        defaults = dict(
            zip(("max_lines", "max_agents", "max_ivr_ports"), resolve_limits(limits), strict=True)
        )
        for key, value in defaults.items():
            changes.setdefault(key, value)
    audit.apply_changes(tenant, changes)
    await audit.log_change(
        session,
        actor=actor,
        tenant_id=actor.tenant_id,
        action="update",
        entity="tenant",
        obj=tenant,
        fields=AUDITED,
        before=before,
    )
    return tenant


async def delete_tenant(session: AsyncSession, *, tenant: Tenant, actor: Principal) -> None:
    """Remove a tenant and everything it owns."""
    if tenant.slug == SYSTEM_TENANT or tenant.id == actor.tenant_id:
        raise Forbidden("this tenant cannot be deleted", error_id="system_tenant")
    before = audit.snapshot(tenant, AUDITED)
    await session.delete(tenant)
    await audit.log_change(
        session,
        actor=actor,
        tenant_id=actor.tenant_id,
        action="delete",
        entity="tenant",
        obj=tenant,
        fields=AUDITED,
        before=before,
    )


_LOCK_TENANT = select(Tenant.id).where(Tenant.id == bindparam("tenant_id")).with_for_update()


@functools.cache
def _lease_insert(kind: LeaseKind) -> Insert:
    """The conditional INSERT taking one lease of ``kind``, built once (a call's
    admission runs it: building it per call cost more than running it)."""
    columns = CapacityLease.__table__.c
    tenant = bindparam("tenant_id", type_=columns.tenant_id.type)
    limit_column = Tenant.max_lines if kind is LeaseKind.LINE else Tenant.max_ivr_ports
    held = (
        select(func.count())
        .where(CapacityLease.tenant_id == tenant, CapacityLease.kind == kind)
        .scalar_subquery()
    )
    limit = select(limit_column).where(Tenant.id == tenant).scalar_subquery()
    row = select(
        tenant,
        literal(kind, columns.kind.type),
        bindparam("ref", type_=columns.ref.type),
        bindparam("node", type_=columns.node.type),
        bindparam("acquired_at", type_=columns.acquired_at.type),
    ).where(held < limit)
    # the table, not the mapped class: an ORM insert would take the bind values for a
    # bulk insert of rows
    table = cast(Table, CapacityLease.__table__)
    return insert(table).from_select(["tenant_id", "kind", "ref", "node", "acquired_at"], row)


async def acquire_lease(
    session: AsyncSession | AsyncConnection,
    *,
    tenant_id: int,
    kind: LeaseKind,
    ref: str,
    node: str = "",
) -> None:
    """Admit one line or IVR port for ``ref`` (a call id), or raise ``CapacityExceeded``.

    One conditional INSERT counts and takes the lease; on PostgreSQL the tenant row is
    locked first so that two nodes cannot both take the last line.
    """
    bind = session.get_bind() if isinstance(session, AsyncSession) else session
    if bind.dialect.name == "postgresql":
        await session.execute(_LOCK_TENANT, {"tenant_id": tenant_id})
    result = await session.execute(
        _lease_insert(kind),
        {"tenant_id": tenant_id, "ref": ref, "node": node, "acquired_at": utcnow()},
    )
    if not getattr(result, "rowcount", 0):
        raise CapacityExceeded(
            f"all {kind.value}s of the tenant are in use",
            details={"kind": kind.value, "tenant_id": tenant_id},
        )


async def release_lease(
    session: AsyncSession | AsyncConnection, *, tenant_id: int, kind: LeaseKind, ref: str
) -> bool:
    """Free the lease ``ref`` holds; whether there was one."""
    result = await session.execute(
        delete(CapacityLease).where(
            CapacityLease.tenant_id == tenant_id,
            CapacityLease.kind == kind,
            CapacityLease.ref == ref,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def release_leases(
    session: AsyncSession | AsyncConnection, leases: Iterable[tuple[int, LeaseKind, str]]
) -> int:
    """Free many leases (tenant, kind, ref) in one statement; how many there were."""
    wanted = list(leases)
    if not wanted:
        return 0
    result = await session.execute(
        delete(CapacityLease).where(
            tuple_(CapacityLease.tenant_id, CapacityLease.kind, CapacityLease.ref).in_(wanted)
        )
    )
    return int(getattr(result, "rowcount", 0))


async def release_node_leases(session: AsyncSession, *, node: str) -> int:
    """Free every lease a node held (on its start after a crash); how many."""
    result = await session.execute(delete(CapacityLease).where(CapacityLease.node == node))
    return int(getattr(result, "rowcount", 0))
