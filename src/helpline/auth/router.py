"""HTTP routes for login, logout, the current principal and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response, status

from helpline.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AnyUser,
    Db,
    client_address,
    get_runtime,
)
from helpline.auth import service
from helpline.auth.principal import Principal
from helpline.auth.schemas import (
    LoginRequest,
    LoginResponse,
    Me,
    TokenCreate,
    TokenCreated,
    TokenOut,
)
from helpline.core.errors import Unauthorized
from helpline.core.events import UserLoggedIn
from helpline.runtime import queue_event
from helpline.tenants.models import SYSTEM_TENANT

router = APIRouter(prefix="/auth", tags=["auth"])


def _me(principal: Principal) -> Me:
    return Me(
        user_id=principal.user_id,
        username=principal.username,
        tenant_id=principal.tenant_id,
        tenant=principal.tenant_slug,
        role=principal.role,
        scopes=sorted(principal.scopes),
        via=principal.via.value,
    )


@router.post("/login", response_model=LoginResponse)
async def login(data: LoginRequest, request: Request, response: Response, db: Db) -> object:
    """Open a browser session: sets the HttpOnly session cookie and the CSRF cookie."""
    settings = get_runtime(request).settings
    tenant = data.tenant or settings.default_tenant or SYSTEM_TENANT
    now = datetime.now(UTC)
    user = await service.check_credentials(
        db,
        tenant_slug=tenant,
        username=data.username,
        password=data.password,
        client=client_address(request),
        limits=service.LoginLimits(
            settings.login_max_failures, timedelta(seconds=settings.login_window_seconds)
        ),
        now=now,
    )
    if user is None:
        await db.commit()
        raise Unauthorized("wrong tenant, user name or password", error_id="login_failed")
    lifetime = timedelta(hours=settings.session_hours)
    secret, web = await service.open_session(
        db, user=user, now=now, lifetime=lifetime, client=client_address(request)
    )
    principal = await service.principal_from_session(db, secret=secret, now=now)
    assert principal is not None
    queue_event(db, UserLoggedIn(tenant_id=user.tenant_id, user_id=user.id, username=user.username))
    common = {
        "secure": settings.cookie_secure,
        "samesite": "lax",
        "path": "/",
        "max_age": int(lifetime.total_seconds()),
    }
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, web.csrf_token, httponly=False, **common)  # type: ignore[arg-type]
    return LoginResponse(
        **_me(principal[0]).model_dump(), csrf_token=web.csrf_token, expires_at=web.expires_at
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, db: Db, principal: AnyUser) -> None:
    """End the browser session."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        await service.close_session(db, secret=secret)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/me", response_model=Me)
async def me(principal: AnyUser) -> object:
    """Who the caller is."""
    return _me(principal)


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(db: Db, principal: AnyUser) -> object:
    """The caller's API tokens (all of the tenant's for a tenant admin)."""
    return await service.list_tokens(db, principal=principal)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(data: TokenCreate, db: Db, principal: AnyUser) -> object:
    """A new API token; its secret is in this answer only."""
    secret, token = await service.create_token(
        db,
        principal=principal,
        name=data.name,
        scopes=frozenset(data.scopes),
        expires_at=data.expires_at,
    )
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: int, db: Db, principal: AnyUser) -> None:
    """Revoke an API token."""
    await service.revoke_token(db, principal=principal, token_id=token_id)
