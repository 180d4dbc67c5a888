"""Recording configuration changes in the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit.models import AuditEntry
from helpline.auth.principal import Principal
from helpline.core.events import ConfigChanged
from helpline.core.pagination import PageParams, paginate
from helpline.runtime import queue_event

SECRET_FIELDS = frozenset({"password", "password_hash", "ha1_md5", "ha1_sha256", "token_digest"})


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audited view of ``obj``: the named fields, JSON-ready, secrets left out."""
    out: dict[str, Any] = {}
    for name in fields:
        if name in SECRET_FIELDS:
            continue
        value = getattr(obj, name)
        out[name] = value if isinstance(value, str | int | float | bool | None) else str(value)
    return out


async def record(
    session: AsyncSession,
    *,
    actor: Principal | None,
    tenant_id: int,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry and announce the change on the event bus after commit."""
    entry = AuditEntry(
        tenant_id=tenant_id,
        actor_id=actor.user_id if actor else None,
        actor=actor.display if actor else "system",
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    session.add(entry)
    queue_event(
        session,
        ConfigChanged(tenant_id=tenant_id, entity=entity, entity_id=str(entity_id), action=action),
    )
    return entry


async def log_change(
    session: AsyncSession,
    *,
    actor: Principal | None,
    tenant_id: int,
    action: str,
    entity: str,
    obj: Any,
    fields: tuple[str, ...],
    before: dict[str, Any] | None = None,
) -> None:
    """Record ``obj``'s creation, update or deletion, snapshotting ``fields`` after it."""
    deleted = action == "delete"
    if not deleted:
        await session.flush()
    await record(
        session,
        actor=actor,
        tenant_id=tenant_id,
        action=action,
        entity=entity,
        entity_id=obj.id,
        before=before,
        after=None if deleted else snapshot(obj, fields),
    )


async def delete_logged(
    session: AsyncSession,
    *,
    actor: Principal | None,
    entity: str,
    obj: Any,
    fields: tuple[str, ...],
) -> None:
    """Delete ``obj`` and record the deletion with its ``fields`` as they were."""
    before = snapshot(obj, fields)
    await session.delete(obj)
    await log_change(
        session,
        actor=actor,
        tenant_id=obj.tenant_id,
        action="delete",
        entity=entity,
        obj=obj,
        fields=fields,
        before=before,
    )


def apply_changes(obj: Any, changes: dict[str, Any], *, nullable: tuple[str, ...] = ()) -> None:
    """Set the changed fields; None clears only the ``nullable`` ones, else means "keep"."""
    for key, value in changes.items():
        if value is not None or key in nullable:
            setattr(obj, key, value)


async def list_entries(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    entity: str | None,
    action: str | None,
) -> tuple[list[AuditEntry], int]:
    """The principal's tenant's audit entries, newest first by default."""
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == principal.tenant_id)
    return await paginate(
        session,
        stmt,
        params,
        sortable={"at": AuditEntry.at, "entity": AuditEntry.entity, "id": AuditEntry.id},
        filters={"entity": (AuditEntry.entity, entity), "action": (AuditEntry.action, action)},
        default_sort=(AuditEntry.id.desc(),),
    )
