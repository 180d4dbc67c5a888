"""HTTP routes for a tenant's own SMTP server and its test e-mail (tenant admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from helpline.api.deps import Db, TenantAdmin, get_runtime
from helpline.mailsettings import service
from helpline.mailsettings.models import TenantMailSettings
from helpline.mailsettings.schemas import (
    MailSettingsOut,
    MailSettingsPut,
    MailSettingsView,
    MailTest,
    MailTestResult,
)
from helpline.voicemail.notify import SmtpConfig

router = APIRouter(prefix="/mail-settings", tags=["mail-settings"])


def _out(row: TenantMailSettings) -> MailSettingsOut:
    return MailSettingsOut(
        host=row.host,
        port=row.port,
        username=row.username,
        has_password=bool(row.password),
        sender=row.sender,
        starttls=row.starttls,
        enabled=row.enabled,
        updated_at=row.updated_at,
    )


def _server(config: SmtpConfig | None) -> str | None:
    return f"{config.host}:{config.port}" if config is not None else None


@router.get("", response_model=MailSettingsView)
async def get_settings(request: Request, db: Db, principal: TenantAdmin) -> object:
    """The tenant's own SMTP server (never its password) and the node-wide one."""
    row = await service.get_settings(db, tenant_id=principal.tenant_id)
    node = SmtpConfig.from_settings(get_runtime(request).settings)
    return MailSettingsView(settings=_out(row) if row else None, node_server=_server(node))


@router.put("", response_model=MailSettingsOut)
async def put_settings(data: MailSettingsPut, db: Db, principal: TenantAdmin) -> object:
    """Set the tenant's SMTP server (omit ``password`` to keep the stored one; ``enabled``
    false goes back to the node-wide server)."""
    return _out(await service.put_settings(db, principal=principal, data=data))


@router.post("/test", response_model=MailTestResult)
async def send_test(data: MailTest, request: Request, db: Db, principal: TenantAdmin) -> object:
    """Send a test e-mail now through the server the tenant's e-mail uses; 409
    ``smtp_not_configured``, 502 ``smtp_failed`` with the reason."""
    node = SmtpConfig.from_settings(get_runtime(request).settings)
    config = await service.smtp_for(db, tenant_id=principal.tenant_id, fallback=node)
    used = await service.send_test(config, to=str(data.to), tenant=principal.tenant_slug)
    return MailTestResult(
        sent=True, server=f"{used.host}:{used.port}", source="node" if used is node else "tenant"
    )
