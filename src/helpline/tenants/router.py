"""HTTP routes for tenants: platform administration and a tenant's own settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from helpline.api.deps import Db, PlatformAdmin, TenantAdmin
from helpline.core.pagination import Page, PageParams
from helpline.tenants import service
from helpline.tenants.schemas import TenantAdminUpdate, TenantCreate, TenantOut, TenantUpdate
from helpline.users import service as users
from helpline.users.models import Role
from helpline.users.schemas import UserCreate

router = APIRouter(prefix="/tenants", tags=["tenants"])


@router.get("/current", response_model=TenantOut)
async def get_current(db: Db, principal: TenantAdmin) -> object:
    """The caller's own tenant."""
    return await service.get_tenant(db, principal.tenant_id)


@router.patch("/current", response_model=TenantOut)
async def update_current(data: TenantUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change the caller's own tenant (name, time zone, language)."""
    tenant = await service.get_tenant(db, principal.tenant_id)
    return await service.update_tenant(db, tenant=tenant, data=data, actor=principal)


@router.get("", response_model=Page[TenantOut])
async def list_tenants(
    db: Db,
    principal: PlatformAdmin,
    params: Annotated[PageParams, Query()],
    active: bool | None = None,
) -> object:
    """Every tenant."""
    items, total = await service.list_tenants(db, params=params, active=active)
    return Page[TenantOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("", response_model=TenantOut, status_code=status.HTTP_201_CREATED)
async def create_tenant(data: TenantCreate, db: Db, principal: PlatformAdmin) -> object:
    """A new tenant, with its first administrator if one is named."""
    tenant = await service.create_tenant(db, data=data, actor=principal)
    if data.admin_username and data.admin_password:
        await users.create_user(
            db,
            tenant_id=tenant.id,
            data=UserCreate(
                username=data.admin_username,
                password=data.admin_password,
                role=Role.TENANT_ADMIN,
            ),
            actor=principal,
        )
    return tenant


@router.get("/{tenant_id}", response_model=TenantOut)
async def get_tenant(tenant_id: int, db: Db, principal: PlatformAdmin) -> object:
    """One tenant."""
    return await service.get_tenant(db, tenant_id)


@router.patch("/{tenant_id}", response_model=TenantOut)
async def update_tenant(
    tenant_id: int, data: TenantAdminUpdate, db: Db, principal: PlatformAdmin
) -> object:
    """Change a tenant, its limits included."""
    tenant = await service.get_tenant(db, tenant_id)
    return await service.update_tenant(db, tenant=tenant, data=data, actor=principal)


@router.delete("/{tenant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tenant(tenant_id: int, db: Db, principal: PlatformAdmin) -> None:
    """Remove a tenant and everything it owns."""
    tenant = await service.get_tenant(db, tenant_id)
    await service.delete_tenant(db, tenant=tenant, actor=principal)
