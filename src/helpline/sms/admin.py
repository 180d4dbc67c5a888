"""A tenant's SMS gateways and message templates: the configuration side of SMS.

A tenant has at most one default gateway (the one that sends when none is named); the
first gateway made becomes it, and making another the default takes the flag from the
old one. A Kannel gateway gets a random inbound key, shown once and stored as a
SHA-256 digest: Kannel's ``get-url`` carries it and :func:`gateway_by_callback_key`
finds the gateway (and so the tenant) from it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.ivr.templating import placeholders, render
from helpline.prompts.language import FALLBACK, Language
from helpline.sms import kannel
from helpline.sms.models import GatewayKind, SmsGateway, SmsTemplate
from helpline.sms.schemas import (
    SMPP_PASSWORD_LENGTH,
    CallbackKey,
    GatewayCreate,
    GatewayUpdate,
    TemplateCreate,
    TemplateUpdate,
    parse_settings,
)

GATEWAY_AUDITED = ("name", "kind", "sender", "is_default", "enabled")
TEMPLATE_AUDITED = ("name", "description")
KEY_BYTES = 32


def key_digest(key: str) -> str:
    """The stored form of an inbound key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key(public_url: str) -> tuple[str, CallbackKey]:
    key = secrets.token_urlsafe(KEY_BYTES)
    return key_digest(key), CallbackKey(
        callback_key=key, kannel_get_url=kannel.inbound_url(public_url, key)
    )


async def _gateway_name_free(
    session: AsyncSession, tenant_id: int, name: str, own_id: int | None = None
) -> None:
    stmt = select(SmsGateway.id).where(SmsGateway.tenant_id == tenant_id, SmsGateway.name == name)
    if own_id is not None:
        stmt = stmt.where(SmsGateway.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"SMS gateway {name!r} exists", error_id="sms_gateway_name_taken")


async def _clear_default(session: AsyncSession, tenant_id: int) -> None:
    await session.execute(
        update(SmsGateway)
        .where(SmsGateway.tenant_id == tenant_id, SmsGateway.is_default.is_(True))
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )


async def list_gateways(
    session: AsyncSession, *, principal: Principal, params: PageParams
) -> tuple[list[SmsGateway], int]:
    """The tenant's gateways, by name."""
    return await paginate(
        session,
        select(SmsGateway).where(SmsGateway.tenant_id == principal.tenant_id),
        params,
        sortable={"id": SmsGateway.id, "name": SmsGateway.name},
        default_sort=(SmsGateway.name,),
    )


async def get_gateway(
    session: AsyncSession, *, principal: Principal, gateway_id: int
) -> SmsGateway:
    """A gateway of the principal's tenant."""
    return await get_owned(
        session, SmsGateway, gateway_id, tenant_id=principal.tenant_id, what="SMS gateway"
    )


async def create_gateway(
    session: AsyncSession, *, principal: Principal, data: GatewayCreate, public_url: str
) -> tuple[SmsGateway, CallbackKey | None]:
    """A new gateway, and for Kannel its inbound key (shown this once)."""
    tenant_id = principal.tenant_id
    await _gateway_name_free(session, tenant_id, data.name)
    existing = (
        await session.execute(select(SmsGateway.id).where(SmsGateway.tenant_id == tenant_id))
    ).first()
    is_default = data.is_default or existing is None
    if is_default:
        await _clear_default(session, tenant_id)
    digest, callback = _new_key(public_url) if data.kind is GatewayKind.KANNEL else (None, None)
    gateway = SmsGateway(
        tenant_id=tenant_id,
        name=data.name,
        kind=data.kind,
        settings=data.settings,
        password=data.password,
        sender=data.sender,
        callback_key_digest=digest,
        is_default=is_default,
        enabled=data.enabled,
    )
    session.add(gateway)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=tenant_id,
        action="create",
        entity="sms_gateway",
        obj=gateway,
        fields=GATEWAY_AUDITED,
    )
    return gateway, callback


async def update_gateway(
    session: AsyncSession, *, principal: Principal, gateway_id: int, data: GatewayUpdate
) -> SmsGateway:
    """Change a gateway; ``settings`` are validated for its kind and replaced whole."""
    gateway = await get_gateway(session, principal=principal, gateway_id=gateway_id)
    before = audit.snapshot(gateway, GATEWAY_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        await _gateway_name_free(session, gateway.tenant_id, changes["name"], gateway.id)
    if "settings" in changes:
        try:
            parsed = parse_settings(gateway.kind, changes["settings"])
        except ValueError as exc:
            raise ApiError(
                f"invalid settings for a {gateway.kind.value} gateway",
                error_id="sms_gateway_settings",
                status_code=422,
                details={"errors": str(exc)},
            ) from None
        changes["settings"] = parsed.model_dump(mode="json")
    if gateway.kind is GatewayKind.SMPP and len(changes.get("password", "")) > SMPP_PASSWORD_LENGTH:
        raise ApiError(
            f"an SMPP password has at most {SMPP_PASSWORD_LENGTH} characters",
            error_id="sms_gateway_settings",
            status_code=422,
        )
    if changes.get("is_default"):
        await _clear_default(session, gateway.tenant_id)
    audit.apply_changes(gateway, changes)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=gateway.tenant_id,
        action="update",
        entity="sms_gateway",
        obj=gateway,
        fields=GATEWAY_AUDITED,
        before=before,
    )
    return gateway


async def delete_gateway(session: AsyncSession, *, principal: Principal, gateway_id: int) -> None:
    """Remove a gateway; its messages stay, without a gateway."""
    gateway = await get_gateway(session, principal=principal, gateway_id=gateway_id)
    await audit.delete_logged(
        session, actor=principal, entity="sms_gateway", obj=gateway, fields=GATEWAY_AUDITED
    )


async def rotate_callback_key(
    session: AsyncSession, *, principal: Principal, gateway_id: int, public_url: str
) -> CallbackKey:
    """A new inbound key for a Kannel gateway (the old one stops working)."""
    gateway = await get_gateway(session, principal=principal, gateway_id=gateway_id)
    if gateway.kind is not GatewayKind.KANNEL:
        raise Conflict(
            "only Kannel gateways have an inbound key", error_id="sms_gateway_not_kannel"
        )
    gateway.callback_key_digest, callback = _new_key(public_url)
    await audit.record(
        session,
        actor=principal,
        tenant_id=gateway.tenant_id,
        action="rotate_key",
        entity="sms_gateway",
        entity_id=gateway.id,
    )
    return callback


async def gateway_by_callback_key(session: AsyncSession, key: str) -> SmsGateway | None:
    """The enabled Kannel gateway whose inbound key is ``key``."""
    found = (
        await session.execute(
            select(SmsGateway).where(SmsGateway.callback_key_digest == key_digest(key))
        )
    ).scalar_one_or_none()
    return found if found is not None and found.enabled else None


async def pick_gateway(
    session: AsyncSession, *, tenant_id: int, gateway_id: int | None
) -> SmsGateway:
    """The named gateway of ``tenant_id``, else its default; 409 if there is none."""
    gateway: SmsGateway | None
    if gateway_id is not None:
        gateway = await get_owned(
            session, SmsGateway, gateway_id, tenant_id=tenant_id, what="SMS gateway"
        )
    else:
        gateway = (
            await session.execute(
                select(SmsGateway).where(
                    SmsGateway.tenant_id == tenant_id, SmsGateway.is_default.is_(True)
                )
            )
        ).scalar_one_or_none()
    if gateway is None:
        raise Conflict("no SMS gateway is configured", error_id="sms_no_gateway")
    if not gateway.enabled:
        raise Conflict(f"SMS gateway {gateway.name!r} is disabled", error_id="sms_gateway_disabled")
    return gateway


# Templates -------------------------------------------------------------------------


def template_variables(template: SmsTemplate) -> list[str]:
    """The variables a template's texts use, each once, in order."""
    seen: dict[str, None] = {}
    for text in template.bodies.values():
        seen.update(dict.fromkeys(placeholders(text)))
    return list(seen)


def render_template(
    template: SmsTemplate, *, language: str | None, variables: dict[str, str]
) -> tuple[str, str]:
    """The text of ``template`` in ``language`` (else English, else any) with
    ``variables`` filled in, and the language used."""
    bodies: dict[str, str] = template.bodies
    for lang in (language, FALLBACK.value):
        if lang and lang in bodies:
            return render(bodies[lang], variables), lang
    lang, text = next(iter(bodies.items()))
    return render(text, variables), lang


async def _template_name_free(
    session: AsyncSession, tenant_id: int, name: str, own_id: int | None = None
) -> None:
    stmt = select(SmsTemplate.id).where(
        SmsTemplate.tenant_id == tenant_id, SmsTemplate.name == name
    )
    if own_id is not None:
        stmt = stmt.where(SmsTemplate.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"SMS template {name!r} exists", error_id="sms_template_name_taken")


async def list_templates(
    session: AsyncSession, *, principal: Principal, params: PageParams
) -> tuple[list[SmsTemplate], int]:
    """The tenant's templates, by name."""
    return await paginate(
        session,
        select(SmsTemplate).where(SmsTemplate.tenant_id == principal.tenant_id),
        params,
        sortable={"id": SmsTemplate.id, "name": SmsTemplate.name},
        default_sort=(SmsTemplate.name,),
    )


async def get_template(session: AsyncSession, *, tenant_id: int, template_id: int) -> SmsTemplate:
    """A template of ``tenant_id``."""
    return await get_owned(
        session, SmsTemplate, template_id, tenant_id=tenant_id, what="SMS template"
    )


async def template_by_name(
    session: AsyncSession, *, tenant_id: int, name: str
) -> SmsTemplate | None:
    """The template of ``tenant_id`` called ``name``, if any."""
    return (
        await session.execute(
            select(SmsTemplate).where(SmsTemplate.tenant_id == tenant_id, SmsTemplate.name == name)
        )
    ).scalar_one_or_none()


def _bodies(bodies: dict[Language, str]) -> dict[str, str]:
    return {lang.value: text for lang, text in bodies.items()}


async def create_template(
    session: AsyncSession, *, principal: Principal, data: TemplateCreate
) -> SmsTemplate:
    """A new template."""
    await _template_name_free(session, principal.tenant_id, data.name)
    template = SmsTemplate(
        tenant_id=principal.tenant_id,
        name=data.name,
        bodies=_bodies(data.bodies),
        description=data.description,
    )
    session.add(template)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="sms_template",
        obj=template,
        fields=TEMPLATE_AUDITED,
    )
    return template


async def update_template(
    session: AsyncSession, *, principal: Principal, template_id: int, data: TemplateUpdate
) -> SmsTemplate:
    """Change a template; ``bodies`` replaces every language."""
    template = await get_template(session, tenant_id=principal.tenant_id, template_id=template_id)
    before = audit.snapshot(template, TEMPLATE_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        await _template_name_free(session, template.tenant_id, changes["name"], template.id)
    if data.bodies is not None:
        changes["bodies"] = _bodies(data.bodies)
    audit.apply_changes(template, changes)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=template.tenant_id,
        action="update",
        entity="sms_template",
        obj=template,
        fields=TEMPLATE_AUDITED,
        before=before,
    )
    return template


async def delete_template(session: AsyncSession, *, principal: Principal, template_id: int) -> None:
    """Remove a template; messages sent from it keep their text."""
    template = await get_template(session, tenant_id=principal.tenant_id, template_id=template_id)
    await audit.delete_logged(
        session, actor=principal, entity="sms_template", obj=template, fields=TEMPLATE_AUDITED
    )
