"""Users and SIP accounts of a tenant.

Every function takes the tenant from the principal. A user may only grant roles up to
their own, and agents are admitted only within the tenant's agent limit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.auth.service import end_sessions
from helpline.core.errors import ApiError, CapacityExceeded, Conflict, Forbidden, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.core.passwords import hash_password, verify_password
from helpline.db.base import get_owned
from helpline.sip.digest import DigestAlgorithm, compute_ha1
from helpline.tenants.models import Tenant
from helpline.users.models import Role, SipAccount, User
from helpline.users.schemas import (
    MeUpdate,
    SipAccountCreate,
    SipAccountUpdate,
    UserCreate,
    UserUpdate,
)

USER_AUDITED = ("username", "display_name", "email", "role", "locale", "active")
SIP_AUDITED = ("username", "realm", "user_id", "display_name", "active")


def _grantable(actor: Principal | None, role: Role) -> None:
    if actor is not None and not actor.has(role):
        raise Forbidden(f"cannot grant the {role.value} role", error_id="role_not_grantable")
    if role is Role.PLATFORM_ADMIN and actor is not None and actor.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("cannot grant the platform-admin role", error_id="role_not_grantable")


async def _check_agent_capacity(session: AsyncSession, tenant_id: int) -> None:
    tenant = (
        await session.execute(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    ).scalar_one()
    agents = (
        await session.execute(
            select(func.count()).where(
                User.tenant_id == tenant_id, User.role == Role.AGENT, User.active.is_(True)
            )
        )
    ).scalar_one()
    if agents >= tenant.max_agents:
        raise CapacityExceeded(
            f"tenant {tenant.slug} has all {tenant.max_agents} agent seats taken",
            details={"kind": "agent", "limit": tenant.max_agents},
        )


async def create_user(
    session: AsyncSession,
    *,
    tenant_id: int,
    data: UserCreate,
    actor: Principal | None,
    password_hash: str | None = None,
) -> User:
    """A new user in ``tenant_id`` (the actor's tenant, or a new tenant's first admin).

    ``password_hash``, when given, is the argon2 hash of ``data.password`` computed once
    for several users sharing it (the demo).
    """
    _grantable(actor, data.role)
    exists = await session.execute(
        select(User.id).where(User.tenant_id == tenant_id, User.username == data.username)
    )
    if exists.first() is not None:
        raise Conflict(f"user {data.username!r} exists", error_id="user_exists")
    if data.role is Role.AGENT:
        await _check_agent_capacity(session, tenant_id)
    user = User(
        tenant_id=tenant_id,
        username=data.username,
        password_hash=password_hash or hash_password(data.password),
        role=data.role,
        display_name=data.display_name,
        email=data.email,
        locale=data.locale,
    )
    session.add(user)
    await audit.log_change(
        session,
        actor=actor,
        tenant_id=tenant_id,
        action="create",
        entity="user",
        obj=user,
        fields=USER_AUDITED,
    )
    return user


async def get_user(session: AsyncSession, *, principal: Principal, user_id: int) -> User:
    """A user of the principal's tenant."""
    return await get_owned(session, User, user_id, tenant_id=principal.tenant_id, what="user")


async def list_users(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    role: Role | None,
    active: bool | None,
) -> tuple[list[User], int]:
    """The users of the principal's tenant."""
    return await paginate(
        session,
        select(User).where(User.tenant_id == principal.tenant_id),
        params,
        sortable={"id": User.id, "username": User.username, "role": User.role},
        filters={"role": (User.role, role), "active": (User.active, active)},
        default_sort=(User.id,),
    )


async def update_user(
    session: AsyncSession, *, principal: Principal, user_id: int, data: UserUpdate
) -> User:
    """Change a user of the principal's tenant."""
    user = await get_user(session, principal=principal, user_id=user_id)
    _grantable(principal, user.role)
    before = audit.snapshot(user, USER_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if (role := changes.get("role")) is not None:
        _grantable(principal, role)
        if role is Role.AGENT and user.role is not Role.AGENT:
            await _check_agent_capacity(session, user.tenant_id)
    if changes.get("active") and not user.active and user.role is Role.AGENT:
        await _check_agent_capacity(session, user.tenant_id)
    if user.id == principal.user_id and (changes.get("active") is False or role):
        raise Forbidden("you cannot demote or deactivate yourself", error_id="self_lockout")
    if (password := changes.pop("password", None)) is not None:
        user.password_hash = hash_password(password)
        await end_sessions(session, user_id=user.id, keep=_own_session(principal, user))
    audit.apply_changes(user, changes, nullable=("email",))
    await _log_update(session, principal, user, before)
    return user


def _own_session(principal: Principal, user: User) -> int | None:
    """The session to keep when ``user``'s password changes: the principal's own, if
    they changed their own password from a browser."""
    return principal.session_id if principal.user_id == user.id else None


async def _log_update(
    session: AsyncSession, principal: Principal, user: User, before: dict[str, Any]
) -> None:
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=user.tenant_id,
        action="update",
        entity="user",
        obj=user,
        fields=USER_AUDITED,
        before=before,
    )


async def update_me(session: AsyncSession, *, principal: Principal, data: MeUpdate) -> User:
    """Change the principal's own name, language or password (the latter only with the
    current password: 400 ``current_password_required``, 403 ``wrong_password``)."""
    user = await get_user(session, principal=principal, user_id=principal.user_id)
    before = audit.snapshot(user, USER_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude_none=True)
    current = changes.pop("current_password", None)
    if (password := changes.pop("new_password", None)) is not None:
        if not current:
            raise ApiError(
                "changing the password needs the current one",
                error_id="current_password_required",
                details={"field": "current_password"},
            )
        if not verify_password(user.password_hash, current):
            raise Forbidden(
                "the current password is wrong",
                error_id="wrong_password",
                details={"field": "current_password"},
            )
        user.password_hash = hash_password(password)
        await end_sessions(session, user_id=user.id, keep=_own_session(principal, user))
    audit.apply_changes(user, changes, nullable=())
    await _log_update(session, principal, user, before)
    return user


async def delete_user(session: AsyncSession, *, principal: Principal, user_id: int) -> None:
    """Remove a user of the principal's tenant (not oneself)."""
    user = await get_user(session, principal=principal, user_id=user_id)
    _grantable(principal, user.role)
    if user.id == principal.user_id:
        raise Forbidden("you cannot delete yourself", error_id="self_lockout")
    before = audit.snapshot(user, USER_AUDITED)
    await session.delete(user)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=user.tenant_id,
        action="delete",
        entity="user",
        obj=user,
        fields=USER_AUDITED,
        before=before,
    )


def _ha1s(username: str, realm: str, password: str) -> tuple[str, str]:
    return (
        compute_ha1(username, realm, password, DigestAlgorithm.MD5),
        compute_ha1(username, realm, password, DigestAlgorithm.SHA256),
    )


async def _realm(session: AsyncSession, tenant_id: int) -> str:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    return tenant.sip_realm


async def _own_user(session: AsyncSession, tenant_id: int, user_id: int | None) -> None:
    if user_id is None:
        return
    await get_owned(session, User, user_id, tenant_id=tenant_id, what="user")


async def create_sip_account(
    session: AsyncSession, *, tenant_id: int, data: SipAccountCreate, actor: Principal | None
) -> SipAccount:
    """A new SIP account of ``tenant_id``."""
    exists = await session.execute(
        select(SipAccount.id).where(
            SipAccount.tenant_id == tenant_id, SipAccount.username == data.username
        )
    )
    if exists.first() is not None:
        raise Conflict(f"SIP account {data.username!r} exists", error_id="sip_account_exists")
    await _own_user(session, tenant_id, data.user_id)
    realm = await _realm(session, tenant_id)
    md5, sha256 = _ha1s(data.username, realm, data.password)
    account = SipAccount(
        tenant_id=tenant_id,
        username=data.username,
        realm=realm,
        ha1_md5=md5,
        ha1_sha256=sha256,
        user_id=data.user_id,
        display_name=data.display_name,
    )
    session.add(account)
    await audit.log_change(
        session,
        actor=actor,
        tenant_id=tenant_id,
        action="create",
        entity="sip_account",
        obj=account,
        fields=SIP_AUDITED,
    )
    return account


async def get_sip_account(
    session: AsyncSession, *, principal: Principal, account_id: int
) -> SipAccount:
    """A SIP account of the principal's tenant."""
    return await get_owned(
        session, SipAccount, account_id, tenant_id=principal.tenant_id, what="SIP account"
    )


async def list_sip_accounts(
    session: AsyncSession, *, principal: Principal, params: PageParams, user_id: int | None
) -> tuple[list[SipAccount], int]:
    """The SIP accounts of the principal's tenant."""
    return await paginate(
        session,
        select(SipAccount).where(SipAccount.tenant_id == principal.tenant_id),
        params,
        sortable={"id": SipAccount.id, "username": SipAccount.username},
        filters={"user_id": (SipAccount.user_id, user_id)},
        default_sort=(SipAccount.username,),
    )


async def update_sip_account(
    session: AsyncSession, *, principal: Principal, account_id: int, data: SipAccountUpdate
) -> SipAccount:
    """Change a SIP account; a new password replaces both HA1s."""
    account = await get_sip_account(session, principal=principal, account_id=account_id)
    before = audit.snapshot(account, SIP_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "user_id" in changes:
        await _own_user(session, account.tenant_id, changes["user_id"])
    if (password := changes.pop("password", None)) is not None:
        account.ha1_md5, account.ha1_sha256 = _ha1s(account.username, account.realm, password)
    audit.apply_changes(account, changes, nullable=("user_id",))
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=account.tenant_id,
        action="update",
        entity="sip_account",
        obj=account,
        fields=SIP_AUDITED,
        before=before,
    )
    return account


async def delete_sip_account(
    session: AsyncSession, *, principal: Principal, account_id: int
) -> None:
    """Remove a SIP account of the principal's tenant."""
    account = await get_sip_account(session, principal=principal, account_id=account_id)
    before = audit.snapshot(account, SIP_AUDITED)
    await session.delete(account)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=account.tenant_id,
        action="delete",
        entity="sip_account",
        obj=account,
        fields=SIP_AUDITED,
        before=before,
    )


async def sip_account_role(session: AsyncSession, *, tenant_id: int, username: str) -> Role | None:
    """The role of the user a SIP account belongs to (None: no such account or user)."""
    stmt = (
        select(User.role)
        .join(SipAccount, SipAccount.user_id == User.id)
        .where(
            SipAccount.tenant_id == tenant_id,
            SipAccount.username == username,
            SipAccount.active.is_(True),
            User.active.is_(True),
        )
    )
    return (await session.execute(stmt)).scalar_one_or_none()
