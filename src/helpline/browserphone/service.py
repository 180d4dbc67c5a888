"""Issue browser-phone credentials and find the unexpired ones for the registrar.

SIP passwords are stored only as digest HA1s, so the desktop cannot learn the agent's
password. Instead the signed-in user gets a random secret for their own SIP account,
valid for ``browser_phone_seconds``; its HA1s are rows, so the registrar of every node
sharing the database accepts it until it expires (:func:`alternate_ha1s`). The desktop
asks for a new one before the old one runs out. Expired rows are deleted whenever a
credential is issued. Functions never commit.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.browserphone.models import BrowserCredential
from helpline.browserphone.schemas import BrowserPhoneOut, IceServer
from helpline.config import Settings
from helpline.core.errors import ApiError, Forbidden
from helpline.sip.digest import DigestAlgorithm, compute_ha1
from helpline.users.models import SipAccount

__all__ = ["MAX_LIVE_PER_ACCOUNT", "alternate_ha1s", "issue", "purge_expired"]

#: Unexpired credentials kept per SIP account (several browser tabs); older ones go.
MAX_LIVE_PER_ACCOUNT = 4


async def _own_account(session: AsyncSession, principal: Principal) -> SipAccount:
    account = (
        await session.execute(
            select(SipAccount)
            .where(
                SipAccount.tenant_id == principal.tenant_id,
                SipAccount.user_id == principal.user_id,
                SipAccount.active.is_(True),
            )
            .order_by(SipAccount.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if account is None:
        raise Forbidden(
            "no active SIP account belongs to you; ask an administrator to link one",
            error_id="no_sip_account",
        )
    return account


def _ws_url(settings: Settings, host: str) -> str:
    if not settings.sip_ws_port or not settings.webrtc_enabled:
        raise ApiError(
            "SIP over WebSocket or WebRTC is disabled on this server",
            error_id="browser_phone_disabled",
            status_code=409,
        )
    name = f"[{host}]" if ":" in host else host
    # The WebSocket listener always uses TLS (configured or self-signed certificate).
    return f"wss://{name}:{settings.sip_ws_port}"


async def purge_expired(session: AsyncSession, *, now: datetime) -> None:
    """Delete every expired browser credential."""
    await session.execute(delete(BrowserCredential).where(BrowserCredential.expires_at <= now))


async def _keep_newest(session: AsyncSession, account_id: int, keep: int) -> None:
    stale = (
        (
            await session.execute(
                select(BrowserCredential.id)
                .where(BrowserCredential.sip_account_id == account_id)
                .order_by(BrowserCredential.expires_at.desc(), BrowserCredential.id.desc())
                .offset(keep)
            )
        )
        .scalars()
        .all()
    )
    if stale:
        await session.execute(delete(BrowserCredential).where(BrowserCredential.id.in_(stale)))


async def issue(
    session: AsyncSession, *, principal: Principal, settings: Settings, host: str, now: datetime
) -> BrowserPhoneOut:
    """A fresh SIP secret for the caller's own SIP account; 403 ``no_sip_account``
    without one, 409 ``browser_phone_disabled`` without a WebSocket listener."""
    account = await _own_account(session, principal)
    ws_url = _ws_url(settings, host)
    await purge_expired(session, now=now)
    await _keep_newest(session, account.id, MAX_LIVE_PER_ACCOUNT - 1)
    password = secrets.token_urlsafe(24)
    lifetime = settings.browser_phone_seconds
    row = BrowserCredential(
        tenant_id=account.tenant_id,
        sip_account_id=account.id,
        user_id=principal.user_id,
        ha1_md5=compute_ha1(account.username, account.realm, password, DigestAlgorithm.MD5),
        ha1_sha256=compute_ha1(account.username, account.realm, password, DigestAlgorithm.SHA256),
        expires_at=now + timedelta(seconds=lifetime),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        tenant_id=account.tenant_id,
        action="issue",
        entity="browser_credential",
        entity_id=row.id,
        after={"sip_account": account.username, "expires_at": row.expires_at.isoformat()},
    )
    stun = settings.webrtc_stun_server.strip()
    return BrowserPhoneOut(
        ws_url=ws_url,
        uri=f"sip:{account.username}@{account.realm}",
        username=account.username,
        password=password,
        display_name=account.display_name,
        expires_at=row.expires_at,
        expires_in=lifetime,
        ice_servers=[IceServer(urls=[f"stun:{stun}"])] if stun else [],
    )


async def alternate_ha1s(
    session: AsyncSession, *, sip_account_id: int, now: datetime
) -> tuple[tuple[str, str], ...]:
    """(MD5, SHA-256) HA1s of the account's unexpired browser credentials."""
    rows = await session.execute(
        select(BrowserCredential.ha1_md5, BrowserCredential.ha1_sha256)
        .where(
            BrowserCredential.sip_account_id == sip_account_id,
            BrowserCredential.expires_at > now,
        )
        .order_by(BrowserCredential.id)
    )
    return tuple((md5, sha256) for md5, sha256 in rows.all())
