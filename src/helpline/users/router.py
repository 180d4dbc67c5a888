"""HTTP routes for users and SIP accounts of the caller's tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from helpline.api.deps import AnyUser, Db, Supervisor, TenantAdmin
from helpline.auth.principal import Principal
from helpline.core.pagination import Page, PageParams
from helpline.users import service
from helpline.users.models import Role, User
from helpline.users.schemas import (
    MeOut,
    MeUpdate,
    SipAccountCreate,
    SipAccountOut,
    SipAccountUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(tags=["users"])


@router.get("/users", response_model=Page[UserOut])
async def list_users(
    db: Db,
    principal: Supervisor,
    params: Annotated[PageParams, Query()],
    role: Role | None = None,
    active: bool | None = None,
) -> object:
    """Users of the tenant."""
    items, total = await service.list_users(
        db, principal=principal, params=params, role=role, active=active
    )
    return Page[UserOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(data: UserCreate, db: Db, principal: TenantAdmin) -> object:
    """A new user of the tenant."""
    return await service.create_user(db, tenant_id=principal.tenant_id, data=data, actor=principal)


def _me(user: User, principal: Principal) -> MeOut:
    return MeOut(**UserOut.model_validate(user).model_dump(), tenant=principal.tenant_slug)


@router.get("/users/me", response_model=MeOut)
async def get_me(db: Db, principal: AnyUser) -> object:
    """The signed-in user."""
    return _me(
        await service.get_user(db, principal=principal, user_id=principal.user_id), principal
    )


@router.patch("/users/me", response_model=MeOut)
async def update_me(data: MeUpdate, db: Db, principal: AnyUser) -> object:
    """Change one's display name or language, or one's password (with the current one:
    400 ``current_password_required``, 403 ``wrong_password``)."""
    return _me(await service.update_me(db, principal=principal, data=data), principal)


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: int, db: Db, principal: Supervisor) -> object:
    """One user."""
    return await service.get_user(db, principal=principal, user_id=user_id)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: int, data: UserUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change a user."""
    return await service.update_user(db, principal=principal, user_id=user_id, data=data)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(user_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a user."""
    await service.delete_user(db, principal=principal, user_id=user_id)


@router.get("/sip-accounts", response_model=Page[SipAccountOut])
async def list_sip_accounts(
    db: Db,
    principal: Supervisor,
    params: Annotated[PageParams, Query()],
    user_id: int | None = None,
) -> object:
    """SIP accounts of the tenant."""
    items, total = await service.list_sip_accounts(
        db, principal=principal, params=params, user_id=user_id
    )
    return Page[SipAccountOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/sip-accounts", response_model=SipAccountOut, status_code=status.HTTP_201_CREATED)
async def create_sip_account(data: SipAccountCreate, db: Db, principal: TenantAdmin) -> object:
    """A new SIP account."""
    return await service.create_sip_account(
        db, tenant_id=principal.tenant_id, data=data, actor=principal
    )


@router.get("/sip-accounts/{account_id}", response_model=SipAccountOut)
async def get_sip_account(account_id: int, db: Db, principal: Supervisor) -> object:
    """One SIP account."""
    return await service.get_sip_account(db, principal=principal, account_id=account_id)


@router.patch("/sip-accounts/{account_id}", response_model=SipAccountOut)
async def update_sip_account(
    account_id: int, data: SipAccountUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change a SIP account."""
    return await service.update_sip_account(
        db, principal=principal, account_id=account_id, data=data
    )


@router.delete("/sip-accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_sip_account(account_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a SIP account."""
    await service.delete_sip_account(db, principal=principal, account_id=account_id)
