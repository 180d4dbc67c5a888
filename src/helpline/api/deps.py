"""FastAPI dependencies: the runtime, a unit-of-work session, the authenticated principal.

A browser authenticates with the HttpOnly session cookie; every unsafe request it makes
must echo the session's CSRF token in ``X-CSRF-Token`` (the token is handed out at login
and readable in the ``helpline_csrf`` cookie). Integrations send ``Authorization: Bearer``
with an API token; its scopes decide which methods it may use.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from helpline.auth import service as auth
from helpline.auth.principal import Principal, Scope
from helpline.core.errors import Forbidden, Unauthorized
from helpline.runtime import Runtime
from helpline.users.models import Role

SESSION_COOKIE = "helpline_session"
CSRF_COOKIE = "helpline_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(conn: HTTPConnection) -> Runtime:
    """The runtime the app was built with."""
    runtime: Runtime = conn.app.state.runtime
    return runtime


async def db_session(conn: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """One unit of work per request, committed when the handler returns."""
    async with get_runtime(conn).unit_of_work() as session:
        yield session


Db = Annotated[AsyncSession, Depends(db_session, scope="function")]
"""The request's session; committed before the response is sent (scope "function"), so
a client that acts on the response (a login, then a request with its cookie) finds the
change."""


def client_address(conn: HTTPConnection) -> str:
    """The peer address of the request."""
    return conn.client.host if conn.client else "unknown"


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def authenticate(
    conn: HTTPConnection, session: AsyncSession, *, method: str, scope: Scope
) -> Principal:
    """The principal of a request or WebSocket, checking CSRF and token scopes."""
    now = datetime.now(UTC)
    token = _bearer(conn)
    if token is not None:
        principal = await auth.principal_from_token(session, secret=token, now=now)
        if principal is None:
            raise Unauthorized("invalid or expired API token", error_id="invalid_token")
        if scope not in principal.scopes:
            raise Forbidden(
                f"this token lacks the {scope.value!r} scope",
                error_id="scope_denied",
                details={"required": scope.value},
            )
        return principal
    cookie = conn.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("log in first", error_id="not_authenticated")
    found = await auth.principal_from_session(session, secret=cookie, now=now)
    if found is None:
        raise Unauthorized("session expired; log in again", error_id="session_expired")
    principal, web_session = found
    if method not in SAFE_METHODS:
        sent = conn.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), web_session.csrf_token.encode()):
            raise Forbidden("missing or wrong CSRF token", error_id="csrf_failed")
    return principal


async def current_principal(request: Request, session: Db) -> Principal:
    """The authenticated principal; GET needs the read scope, other methods write."""
    scope = Scope.READ if request.method in SAFE_METHODS else Scope.WRITE
    return await authenticate(request, session, method=request.method, scope=scope)


def require(role: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting principals whose role includes ``role``."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(role):
            raise Forbidden(f"requires the {role.value} role", error_id="role_required")
        return principal

    return dependency


AnyUser = Annotated[Principal, Depends(current_principal)]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
TenantAdmin = Annotated[Principal, Depends(require(Role.TENANT_ADMIN))]
PlatformAdmin = Annotated[Principal, Depends(require(Role.PLATFORM_ADMIN))]
