"""HTTP routes for the SIP trunks of the caller's tenant (supervisors read, admins write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from helpline.api.deps import Db, Supervisor, TenantAdmin
from helpline.core.pagination import Page, PageParams
from helpline.trunks import service
from helpline.trunks.schemas import TrunkCreate, TrunkOut, TrunkUpdate

router = APIRouter(tags=["trunks"])


@router.get("/trunks", response_model=Page[TrunkOut])
async def list_trunks(
    db: Db,
    principal: Supervisor,
    params: Annotated[PageParams, Query()],
    name: str | None = None,
    enabled: bool | None = None,
) -> object:
    """Trunks of the tenant, by priority then name unless ``sort`` says otherwise."""
    items, total = await service.list_trunks(
        db, principal=principal, params=params, name=name, enabled=enabled
    )
    return Page[TrunkOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/trunks", response_model=TrunkOut, status_code=status.HTTP_201_CREATED)
async def create_trunk(data: TrunkCreate, db: Db, principal: TenantAdmin) -> object:
    """A new trunk of the tenant."""
    return await service.create_trunk(db, principal=principal, data=data)


@router.get("/trunks/{trunk_id}", response_model=TrunkOut)
async def get_trunk(trunk_id: int, db: Db, principal: Supervisor) -> object:
    """One trunk."""
    return await service.get_trunk(db, principal=principal, trunk_id=trunk_id)


@router.patch("/trunks/{trunk_id}", response_model=TrunkOut)
async def update_trunk(trunk_id: int, data: TrunkUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change a trunk; omitted fields stay, ``""`` as password removes it."""
    return await service.update_trunk(db, principal=principal, trunk_id=trunk_id, data=data)


@router.delete("/trunks/{trunk_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_trunk(trunk_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a trunk."""
    await service.delete_trunk(db, principal=principal, trunk_id=trunk_id)
