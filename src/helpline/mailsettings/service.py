"""A tenant's SMTP settings, and the server a tenant's e-mail goes through: its own when
set and enabled, else the node-wide one (``smtp_*`` settings)."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError
from helpline.mailsettings.models import TenantMailSettings
from helpline.mailsettings.schemas import MailSettingsPut
from helpline.voicemail.notify import SmtpConfig, send_email

if TYPE_CHECKING:
    from helpline.runtime import Runtime

AUDITED = ("host", "port", "username", "sender", "starttls", "enabled")
ENTITY = "mail_settings"


async def get_settings(session: AsyncSession, *, tenant_id: int) -> TenantMailSettings | None:
    """The tenant's SMTP settings, None when none were ever set."""
    return await session.get(TenantMailSettings, tenant_id)


async def put_settings(
    session: AsyncSession, *, principal: Principal, data: MailSettingsPut
) -> TenantMailSettings:
    """Set the principal's tenant's SMTP settings (the password stays when omitted)."""
    tenant_id = principal.tenant_id
    row = await session.get(TenantMailSettings, tenant_id)
    before = audit.snapshot(row, AUDITED) if row is not None else None
    changes: dict[str, Any] = data.model_dump(exclude={"password"})
    changes["sender"] = str(data.sender)
    if row is None:
        row = TenantMailSettings(tenant_id=tenant_id, password=data.password or "", **changes)
        session.add(row)
    else:
        for key, value in changes.items():
            setattr(row, key, value)
        if data.password is not None:
            row.password = data.password
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        tenant_id=tenant_id,
        action="update" if before else "create",
        entity=ENTITY,
        entity_id=tenant_id,
        before=before,
        after=audit.snapshot(row, AUDITED),
    )
    return row


def config_of(row: TenantMailSettings) -> SmtpConfig:
    """The SMTP client settings of ``row``."""
    return SmtpConfig(
        host=row.host,
        port=row.port,
        sender=row.sender,
        username=row.username,
        password=row.password,
        starttls=row.starttls,
    )


async def smtp_for(
    session: AsyncSession, *, tenant_id: int | None, fallback: SmtpConfig | None
) -> SmtpConfig | None:
    """The server for ``tenant_id``'s e-mail: its own enabled settings, else ``fallback``
    (the node-wide server, None for no e-mail)."""
    if tenant_id is None:
        return fallback
    row = await session.get(TenantMailSettings, tenant_id)
    if row is None or not row.enabled:
        return fallback
    return config_of(row)


def resolver(
    runtime: Runtime, fallback: SmtpConfig | None
) -> Callable[[int | None], Awaitable[SmtpConfig | None]]:
    """:func:`smtp_for` in its own unit of work, for the background notifiers."""

    async def resolve(tenant_id: int | None) -> SmtpConfig | None:
        async with runtime.unit_of_work() as session:
            return await smtp_for(session, tenant_id=tenant_id, fallback=fallback)

    return resolve


def build_test_email(config: SmtpConfig, *, to: str, tenant: str) -> EmailMessage:
    """The test e-mail the admin console sends."""
    email = EmailMessage()
    email["Subject"] = f"Helpline test e-mail ({tenant})"
    email["From"] = config.sender
    email["To"] = to
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    email.set_content(
        f"This test e-mail was sent by Helpline for the tenant {tenant} through "
        f"{config.host}:{config.port}.\n"
    )
    return email


async def send_test(config: SmtpConfig | None, *, to: str, tenant: str) -> SmtpConfig:
    """Send the test e-mail now through ``config`` (returned); 409
    ``smtp_not_configured`` without a server, 502 ``smtp_failed`` with the reason."""
    if config is None:
        raise ApiError(
            "no SMTP server is configured", error_id="smtp_not_configured", status_code=409
        )
    try:
        await asyncio.to_thread(send_email, config, build_test_email(config, to=to, tenant=tenant))
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        raise ApiError(
            f"the SMTP server {config.host}:{config.port} did not take the e-mail",
            error_id="smtp_failed",
            status_code=502,
            details={"reason": str(exc) or type(exc).__name__},
        ) from exc
    return config
