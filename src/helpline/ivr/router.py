"""HTTP routes for the IVR flows of the caller's tenant (supervisors read, admins write)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.api.deps import Db, Supervisor, TenantAdmin
from helpline.auth.principal import Principal
from helpline.core.pagination import Page, PageParams
from helpline.ivr import service
from helpline.ivr.schemas import (
    CheckOut,
    FlowCreate,
    FlowOut,
    FlowSummary,
    FlowUpdate,
    PathStats,
    VersionOut,
    VersionSummary,
)
from helpline.sms.flows import template_names

router = APIRouter(tags=["ivr"])


async def _templates(db: AsyncSession, principal: Principal) -> set[str]:
    """The tenant's SMS template names, which flows' ``sms`` nodes may use."""
    return await template_names(db, tenant_id=principal.tenant_id)


@router.get("/flows", response_model=Page[FlowSummary])
async def list_flows(
    db: Db, principal: Supervisor, params: Annotated[PageParams, Query()], name: str | None = None
) -> object:
    """Flows of the tenant, by name unless ``sort`` says otherwise."""
    items, total = await service.list_flows(db, principal=principal, params=params, name=name)
    return Page[FlowSummary](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/flows", response_model=FlowOut, status_code=status.HTTP_201_CREATED)
async def create_flow(data: FlowCreate, db: Db, principal: TenantAdmin) -> object:
    """A new flow; its draft is ``document`` (checked on publication, not here)."""
    flow = await service.create_flow(db, principal=principal, data=data)
    return service.flow_out(flow, sms_templates=await _templates(db, principal))


@router.post("/flows/validate", response_model=CheckOut)
async def validate_flow(
    document: Annotated[dict[str, Any], Body()], db: Db, principal: Supervisor
) -> object:
    """Check a document without storing it: errors prevent publishing, warnings do not."""
    return service.validate_document(document, sms_templates=await _templates(db, principal))


@router.get("/flows/{flow_id}", response_model=FlowOut)
async def get_flow(flow_id: int, db: Db, principal: Supervisor) -> object:
    """One flow with its draft and the draft's check."""
    flow = await service.get_flow(db, principal=principal, flow_id=flow_id)
    return service.flow_out(flow, sms_templates=await _templates(db, principal))


@router.patch("/flows/{flow_id}", response_model=FlowOut)
async def update_flow(flow_id: int, data: FlowUpdate, db: Db, principal: TenantAdmin) -> object:
    """Rename a flow, change its description or replace its draft."""
    flow = await service.update_flow(db, principal=principal, flow_id=flow_id, data=data)
    return service.flow_out(flow, sms_templates=await _templates(db, principal))


@router.delete("/flows/{flow_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_flow(flow_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a flow that was never published (409 ``flow_published`` otherwise)."""
    await service.delete_flow(db, principal=principal, flow_id=flow_id)


@router.post(
    "/flows/{flow_id}/publish", response_model=VersionOut, status_code=status.HTTP_201_CREATED
)
async def publish_flow(flow_id: int, db: Db, principal: TenantAdmin) -> object:
    """Check the draft and store it as the next version (422 ``invalid_flow`` if not
    valid, listing node, field and message of each problem)."""
    return await service.publish_flow(db, principal=principal, flow_id=flow_id)


@router.get("/flows/{flow_id}/versions", response_model=Page[VersionSummary])
async def list_versions(
    flow_id: int, db: Db, principal: Supervisor, params: Annotated[PageParams, Query()]
) -> object:
    """Published versions of a flow, newest first."""
    items, total = await service.list_versions(
        db, principal=principal, flow_id=flow_id, params=params
    )
    return Page[VersionSummary](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/flows/{flow_id}/versions/{version}", response_model=VersionOut)
async def get_version(flow_id: int, version: int, db: Db, principal: Supervisor) -> object:
    """One published version with its document."""
    return await service.get_version(db, principal=principal, flow_id=flow_id, version=version)


@router.get("/flows/{flow_id}/paths", response_model=PathStats)
async def path_stats(
    flow_id: int,
    db: Db,
    principal: Supervisor,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    version: int | None = None,
) -> object:
    """What callers did in a flow between ``from`` and ``to`` (ISO 8601, with a time
    zone): visits per node, by result, by digits pressed and by hour of day (UTC)."""
    return await service.path_stats(
        db, principal=principal, flow_id=flow_id, since=since, until=until, version=version
    )
