"""Login with rate limiting, browser sessions and API tokens.

Secrets (session cookies, tokens) are random and stored only as SHA-256 digests.
Changing a user's password ends their other browser sessions (:func:`end_sessions`).
Failed logins are counted per account and per client address in the database, so the
limit holds across every node of a cluster.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.models import ApiToken, LoginAttempt, WebSession
from helpline.auth.principal import ALL_SCOPES, Principal, Scope, Via
from helpline.core.errors import Forbidden, NotFound, TooManyRequests
from helpline.core.events import SessionsEnded
from helpline.core.passwords import new_token, token_digest, verify_password
from helpline.runtime import queue_event
from helpline.tenants.models import Tenant
from helpline.users.models import User

SESSION_PREFIX = "hls"
TOKEN_PREFIX = "hlt"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failures are allowed per window, per account and per client."""

    max_failures: int
    window: timedelta


async def _failures(session: AsyncSession, key: str, since: datetime) -> int:
    stmt = select(func.count()).where(LoginAttempt.key == key, LoginAttempt.at >= since)
    return (await session.execute(stmt)).scalar_one()


async def check_credentials(
    session: AsyncSession,
    *,
    tenant_slug: str,
    username: str,
    password: str,
    client: str,
    limits: LoginLimits,
    now: datetime,
) -> User | None:
    """The active user these credentials name, or None after recording the failure.

    Raises ``TooManyRequests`` while the account or the client is over its limit,
    without checking the password at all.
    """
    keys = (f"acct:{tenant_slug.lower()}/{username.lower()}", f"client:{client}")
    since = now - limits.window
    for key in keys:
        if await _failures(session, key, since) >= limits.max_failures:
            raise TooManyRequests(
                "too many failed logins; try again later",
                error_id="login_rate_limited",
                details={"retry_after": int(limits.window.total_seconds())},
            )
    stmt = (
        select(User)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(Tenant.slug == tenant_slug, User.username == username)
        .where(User.active.is_(True), Tenant.active.is_(True))
    )
    user = (await session.execute(stmt)).scalar_one_or_none()
    if user is not None and verify_password(user.password_hash, password):
        await session.execute(delete(LoginAttempt).where(LoginAttempt.key == keys[0]))
        return user
    session.add_all([LoginAttempt(key=key, at=now) for key in keys])
    return None


async def open_session(
    session: AsyncSession, *, user: User, now: datetime, lifetime: timedelta, client: str
) -> tuple[str, WebSession]:
    """A new browser session for ``user``: the cookie secret and the stored row."""
    secret = new_token(SESSION_PREFIX)
    row = WebSession(
        tenant_id=user.tenant_id,
        user_id=user.id,
        token_digest=token_digest(secret),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
        client=client[:100],
    )
    session.add(row)
    await session.flush()
    return secret, row


async def close_session(session: AsyncSession, *, secret: str) -> None:
    """End the browser session whose cookie holds ``secret`` (its event streams close)."""
    stmt = select(WebSession).where(WebSession.token_digest == token_digest(secret))
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return
    user = await session.get(User, row.user_id)
    await session.delete(row)
    if user is not None:
        queue_event(session, SessionsEnded(tenant_id=user.tenant_id, user_id=user.id, only=row.id))


async def end_sessions(session: AsyncSession, *, user_id: int, keep: int | None = None) -> int:
    """End every browser session of ``user_id`` but ``keep`` (the one asking, when a
    user changes their own password); how many ended. API tokens are left alone: they
    are separate credentials, listed and revoked at ``/auth/tokens``."""
    stmt = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    result = await session.execute(stmt)
    user = await session.get(User, user_id)
    if user is not None:
        queue_event(session, SessionsEnded(tenant_id=user.tenant_id, user_id=user_id, keep=keep))
    return int(getattr(result, "rowcount", 0) or 0)


async def _principal(
    session: AsyncSession,
    user_id: int,
    scopes: frozenset[Scope],
    via: Via,
    session_id: int | None = None,
) -> Principal | None:
    stmt = (
        select(User, Tenant.slug)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(User.id == user_id, User.active.is_(True), Tenant.active.is_(True))
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    user, slug = row
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        tenant_slug=slug,
        username=user.username,
        role=user.role,
        scopes=scopes,
        via=via,
        session_id=session_id,
    )


async def principal_from_session(
    session: AsyncSession, *, secret: str, now: datetime
) -> tuple[Principal, WebSession] | None:
    """The principal and session behind a cookie secret, if it is valid and unexpired."""
    stmt = select(WebSession).where(WebSession.token_digest == token_digest(secret))
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None or row.expires_at <= now:
        return None
    principal = await _principal(session, row.user_id, ALL_SCOPES, Via.SESSION, row.id)
    return (principal, row) if principal else None


async def principal_from_token(
    session: AsyncSession, *, secret: str, now: datetime
) -> Principal | None:
    """The principal behind an API token, if it is valid, unrevoked and unexpired."""
    stmt = select(ApiToken).where(ApiToken.token_digest == token_digest(secret))
    token = (await session.execute(stmt)).scalar_one_or_none()
    if token is None or token.revoked or (token.expires_at and token.expires_at <= now):
        return None
    token.last_used_at = now
    scopes = frozenset(Scope(s) for s in token.scopes)
    return await _principal(session, token.user_id, scopes, Via.TOKEN)


async def create_token(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    scopes: frozenset[Scope],
    expires_at: datetime | None,
) -> tuple[str, ApiToken]:
    """A new API token owned by ``principal``; the secret is returned only here."""
    if not scopes <= principal.scopes:
        raise Forbidden("a token cannot hold scopes its creator lacks", error_id="scope_denied")
    secret = new_token(TOKEN_PREFIX)
    token = ApiToken(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        name=name,
        token_digest=token_digest(secret),
        prefix=secret[:8],
        scopes=sorted(scopes),
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return secret, token


async def list_tokens(session: AsyncSession, *, principal: Principal) -> list[ApiToken]:
    """The principal's own tokens (every token of the tenant for a tenant admin)."""
    stmt = select(ApiToken).where(ApiToken.tenant_id == principal.tenant_id)
    if not principal.role.at_least(principal.role.TENANT_ADMIN):
        stmt = stmt.where(ApiToken.user_id == principal.user_id)
    return list((await session.execute(stmt.order_by(ApiToken.id))).scalars())


async def revoke_token(session: AsyncSession, *, principal: Principal, token_id: int) -> ApiToken:
    """Revoke one of the principal's tokens (a tenant admin may revoke any of the tenant's)."""
    for token in await list_tokens(session, principal=principal):
        if token.id == token_id:
            token.revoked = True
            return token
    raise NotFound("no such token")
