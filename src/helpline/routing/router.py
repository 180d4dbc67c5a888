"""HTTP routes for the access numbers, services and blacklist of the caller's tenant
(supervisors read, tenant admins write)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from helpline.api.deps import Db, Supervisor, TenantAdmin
from helpline.core.pagination import Page, PageParams
from helpline.routing import service
from helpline.routing.blacklist import BlockAction, BlockKind, normalize_number
from helpline.routing.schemas import (
    BlacklistCreate,
    BlacklistOut,
    BlacklistUpdate,
    NumberCreate,
    NumberOut,
    NumberUpdate,
    RouteOut,
    ServiceCreate,
    ServiceOut,
    ServiceUpdate,
)

router = APIRouter(tags=["routing"])
Params = Annotated[PageParams, Query()]


@router.get("/numbers", response_model=Page[NumberOut])
async def list_numbers(
    db: Db,
    principal: Supervisor,
    params: Params,
    number: str | None = None,
    service_id: int | None = None,
    enabled: bool | None = None,
) -> object:
    """Access numbers of the tenant."""
    items, total = await service.list_numbers(
        db,
        principal=principal,
        params=params,
        number=normalize_number(number) if number else None,
        service_id=service_id,
        enabled=enabled,
    )
    return Page[NumberOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/numbers", response_model=NumberOut, status_code=status.HTTP_201_CREATED)
async def create_number(data: NumberCreate, db: Db, principal: TenantAdmin) -> object:
    """A new access number; 409 ``number_taken`` when any tenant has it."""
    return await service.create_number(db, principal=principal, data=data)


@router.get("/numbers/{number_id}", response_model=NumberOut)
async def get_number(number_id: int, db: Db, principal: Supervisor) -> object:
    """One access number."""
    return await service.get_number(db, principal=principal, number_id=number_id)


@router.patch("/numbers/{number_id}", response_model=NumberOut)
async def update_number(
    number_id: int, data: NumberUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change an access number."""
    return await service.update_number(db, principal=principal, number_id=number_id, data=data)


@router.delete("/numbers/{number_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_number(number_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove an access number."""
    await service.delete_number(db, principal=principal, number_id=number_id)


@router.get("/services", response_model=Page[ServiceOut])
async def list_services(
    db: Db, principal: Supervisor, params: Params, name: str | None = None
) -> object:
    """Services of the tenant."""
    items, total = await service.list_services(db, principal=principal, params=params, name=name)
    return Page[ServiceOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/services", response_model=ServiceOut, status_code=status.HTTP_201_CREATED)
async def create_service(data: ServiceCreate, db: Db, principal: TenantAdmin) -> object:
    """A new service."""
    return await service.create_service(db, principal=principal, data=data)


@router.get("/services/{service_id}", response_model=ServiceOut)
async def get_service(service_id: int, db: Db, principal: Supervisor) -> object:
    """One service."""
    return await service.get_service(db, principal=principal, service_id=service_id)


@router.patch("/services/{service_id}", response_model=ServiceOut)
async def update_service(
    service_id: int, data: ServiceUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change a service; omitted fields stay."""
    return await service.update_service(db, principal=principal, service_id=service_id, data=data)


@router.delete("/services/{service_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_service(service_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a service; 409 ``service_in_use`` while numbers lead to it."""
    await service.delete_service(db, principal=principal, service_id=service_id)


@router.get("/services/{service_id}/route", response_model=RouteOut)
async def route_service(
    service_id: int, db: Db, principal: Supervisor, at: datetime | None = None
) -> object:
    """The target the schedule chooses at ``at`` (ISO 8601; with an offset an instant,
    without one a local time of the service; omitted: now)."""
    return await service.route_at(db, principal=principal, service_id=service_id, at=at)


@router.get("/blacklist", response_model=Page[BlacklistOut])
async def list_blacklist(
    db: Db,
    principal: Supervisor,
    params: Params,
    kind: BlockKind | None = None,
    action: BlockAction | None = None,
    number: str | None = None,
) -> object:
    """Blacklist entries of the tenant with their hit counts."""
    items, total = await service.list_blacklist(
        db,
        principal=principal,
        params=params,
        kind=kind,
        action=action,
        number=normalize_number(number) if number else None,
    )
    return Page[BlacklistOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/blacklist", response_model=BlacklistOut, status_code=status.HTTP_201_CREATED)
async def create_blacklist_entry(data: BlacklistCreate, db: Db, principal: TenantAdmin) -> object:
    """A new blacklist entry."""
    return await service.create_blacklist_entry(db, principal=principal, data=data)


@router.get("/blacklist/{blacklist_entry_id}", response_model=BlacklistOut)
async def get_blacklist_entry(blacklist_entry_id: int, db: Db, principal: Supervisor) -> object:
    """One blacklist entry."""
    return await service.get_blacklist_entry(db, principal=principal, entry_id=blacklist_entry_id)


@router.patch("/blacklist/{blacklist_entry_id}", response_model=BlacklistOut)
async def update_blacklist_entry(
    blacklist_entry_id: int, data: BlacklistUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change a blacklist entry; its hit count stays."""
    return await service.update_blacklist_entry(
        db, principal=principal, entry_id=blacklist_entry_id, data=data
    )


@router.delete("/blacklist/{blacklist_entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_blacklist_entry(blacklist_entry_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a blacklist entry."""
    await service.delete_blacklist_entry(db, principal=principal, entry_id=blacklist_entry_id)
