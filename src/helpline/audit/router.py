"""HTTP route for reading the tenant's audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from helpline.api.deps import Db, TenantAdmin
from helpline.audit import service
from helpline.audit.schemas import AuditOut
from helpline.core.pagination import Page, PageParams

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditOut])
async def list_audit(
    db: Db,
    principal: TenantAdmin,
    params: Annotated[PageParams, Query()],
    entity: str | None = None,
    action: str | None = None,
) -> object:
    """Configuration changes of the tenant, newest first."""
    items, total = await service.list_entries(
        db, principal=principal, params=params, entity=entity, action=action
    )
    return Page[AuditOut](items=items, total=total, limit=params.limit, offset=params.offset)
