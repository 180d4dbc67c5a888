"""HTTP routes for SMS: gateways (tenant admins), templates (supervisors write, everyone
reads) and messages (every user sends and reads the tenant's messages).

Importing this module puts SMS on the customer timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from helpline.api.deps import AnyUser, Db, Supervisor, TenantAdmin, get_runtime
from helpline.core.pagination import Page, PageParams
from helpline.runtime import Runtime
from helpline.sms import admin, service, timeline
from helpline.sms.models import Direction, MessageStatus, SmsGateway, SmsTemplate
from helpline.sms.schemas import (
    CallbackKey,
    GatewayCreate,
    GatewayCreated,
    GatewayOut,
    GatewayUpdate,
    MessageDetail,
    MessageOut,
    ReportOut,
    SendRequest,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)

timeline.register()
router = APIRouter(tags=["sms"])
Params = Annotated[PageParams, Query()]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _gateway_out(gateway: SmsGateway) -> GatewayOut:
    return GatewayOut.model_validate(
        {
            **{k: getattr(gateway, k) for k in GatewayOut.model_fields if k != "has_password"},
            "has_password": bool(gateway.password),
        }
    )


def _template_out(template: SmsTemplate) -> TemplateOut:
    return TemplateOut.model_validate(
        {
            **{k: getattr(template, k) for k in TemplateOut.model_fields if k != "variables"},
            "variables": admin.template_variables(template),
        }
    )


async def _owned_gateway(gateway_id: int, db: Db, principal: TenantAdmin) -> int:
    """The path's gateway, checked before the body so that a foreign one is a 404."""
    await admin.get_gateway(db, principal=principal, gateway_id=gateway_id)
    return gateway_id


async def _owned_template(template_id: int, db: Db, principal: Supervisor) -> int:
    await admin.get_template(db, tenant_id=principal.tenant_id, template_id=template_id)
    return template_id


OwnedGateway = Annotated[int, Depends(_owned_gateway)]
OwnedTemplate = Annotated[int, Depends(_owned_template)]


@router.get("/sms/gateways", response_model=Page[GatewayOut])
async def list_gateways(db: Db, principal: TenantAdmin, params: Params) -> object:
    """The tenant's SMS gateways, by name (never their passwords)."""
    items, total = await admin.list_gateways(db, principal=principal, params=params)
    return Page[GatewayOut](
        items=[_gateway_out(g) for g in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.post("/sms/gateways", response_model=GatewayCreated, status_code=status.HTTP_201_CREATED)
async def create_gateway(
    data: GatewayCreate, db: Db, principal: TenantAdmin, runtime: RuntimeDep
) -> object:
    """A new gateway; a Kannel one comes with its inbound ``get-url``, shown this once."""
    gateway, callback = await admin.create_gateway(
        db, principal=principal, data=data, public_url=runtime.settings.effective_public_url
    )
    return GatewayCreated.model_validate(
        {**_gateway_out(gateway).model_dump(), "callback": callback}
    )


@router.get("/sms/gateways/{gateway_id}", response_model=GatewayOut)
async def get_gateway(gateway_id: int, db: Db, principal: TenantAdmin) -> object:
    """One gateway."""
    return _gateway_out(await admin.get_gateway(db, principal=principal, gateway_id=gateway_id))


@router.patch("/sms/gateways/{gateway_id}", response_model=GatewayOut)
async def update_gateway(
    gateway_id: OwnedGateway, data: GatewayUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change a gateway; omitted fields stay."""
    gateway = await admin.update_gateway(db, principal=principal, gateway_id=gateway_id, data=data)
    return _gateway_out(gateway)


@router.delete("/sms/gateways/{gateway_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_gateway(gateway_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a gateway; its messages stay."""
    await admin.delete_gateway(db, principal=principal, gateway_id=gateway_id)


@router.post("/sms/gateways/{gateway_id}/callback-key", response_model=CallbackKey)
async def rotate_callback_key(
    gateway_id: int, db: Db, principal: TenantAdmin, runtime: RuntimeDep
) -> object:
    """A new inbound key for a Kannel gateway, shown this once; the old one stops working."""
    return await admin.rotate_callback_key(
        db,
        principal=principal,
        gateway_id=gateway_id,
        public_url=runtime.settings.effective_public_url,
    )


@router.get("/sms/templates", response_model=Page[TemplateOut])
async def list_templates(db: Db, principal: AnyUser, params: Params) -> object:
    """The tenant's templates, by name."""
    items, total = await admin.list_templates(db, principal=principal, params=params)
    return Page[TemplateOut](
        items=[_template_out(t) for t in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.post("/sms/templates", response_model=TemplateOut, status_code=status.HTTP_201_CREATED)
async def create_template(data: TemplateCreate, db: Db, principal: Supervisor) -> object:
    """A new template."""
    return _template_out(await admin.create_template(db, principal=principal, data=data))


@router.get("/sms/templates/{template_id}", response_model=TemplateOut)
async def get_template(template_id: int, db: Db, principal: AnyUser) -> object:
    """One template."""
    template = await admin.get_template(db, tenant_id=principal.tenant_id, template_id=template_id)
    return _template_out(template)


@router.patch("/sms/templates/{template_id}", response_model=TemplateOut)
async def update_template(
    template_id: OwnedTemplate, data: TemplateUpdate, db: Db, principal: Supervisor
) -> object:
    """Change a template; ``bodies`` replaces every language."""
    template = await admin.update_template(
        db, principal=principal, template_id=template_id, data=data
    )
    return _template_out(template)


@router.delete("/sms/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: int, db: Db, principal: Supervisor) -> None:
    """Remove a template."""
    await admin.delete_template(db, principal=principal, template_id=template_id)


@router.get("/sms/messages", response_model=Page[MessageOut])
async def list_messages(
    db: Db,
    principal: AnyUser,
    params: Params,
    customer_id: int | None = None,
    direction: Direction | None = None,
    status: MessageStatus | None = None,
    number: str | None = None,
) -> object:
    """The tenant's messages, newest first; filter by customer, direction, status, number."""
    items, total = await service.list_messages(
        db,
        principal=principal,
        params=params,
        customer_id=customer_id,
        direction=direction,
        status=status,
        number=number,
    )
    return Page[MessageOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/sms/messages", response_model=MessageOut, status_code=status.HTTP_202_ACCEPTED)
async def send_message(data: SendRequest, db: Db, principal: AnyUser) -> object:
    """Send a message to a number or a customer, a text or a template; it is queued and
    goes out at once (watch ``status``)."""
    return await service.send_from_desktop(db, principal=principal, data=data)


@router.get("/sms/messages/{sms_id}", response_model=MessageDetail)
async def get_message(sms_id: int, db: Db, principal: AnyUser) -> object:
    """One message with its delivery reports."""
    message, reports = await service.get_message(db, principal=principal, message_id=sms_id)
    return MessageDetail.model_validate(
        {
            **MessageOut.model_validate(message).model_dump(),
            "reports": [ReportOut.model_validate(r) for r in reports],
        }
    )
