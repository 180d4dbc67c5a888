"""HTTP routes for the webhook subscriptions of the caller's tenant and their delivery log
(tenant admins only: a subscription sends the tenant's data elsewhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from helpline.api.deps import Db, TenantAdmin
from helpline.core.pagination import Page, PageParams
from helpline.webhooks import service
from helpline.webhooks.models import DeliveryStatus, WebhookEvent
from helpline.webhooks.schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(tags=["webhooks"])


async def _owned(webhook_id: int, db: Db, principal: TenantAdmin) -> int:
    """The path's webhook, checked before the body so that a foreign one is a 404."""
    await service.get_webhook(db, principal=principal, webhook_id=webhook_id)
    return webhook_id


OwnedWebhook = Annotated[int, Depends(_owned)]


@router.get("/webhooks", response_model=Page[WebhookOut])
async def list_webhooks(
    db: Db, principal: TenantAdmin, params: Annotated[PageParams, Query()]
) -> object:
    """The tenant's subscriptions, by name."""
    items, total = await service.list_webhooks(db, principal=principal, params=params)
    return Page[WebhookOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/webhooks", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
async def create_webhook(data: WebhookCreate, db: Db, principal: TenantAdmin) -> object:
    """A new subscription; the answer shows its secret this once."""
    hook = await service.create_webhook(db, principal=principal, data=data)
    return WebhookCreated.model_validate(
        {**WebhookOut.model_validate(hook).model_dump(), "secret": hook.secret}
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: int, db: Db, principal: TenantAdmin) -> object:
    """One subscription."""
    return await service.get_webhook(db, principal=principal, webhook_id=webhook_id)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut)
async def update_webhook(
    webhook_id: OwnedWebhook, data: WebhookUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change a subscription; omitted fields stay."""
    return await service.update_webhook(db, principal=principal, webhook_id=webhook_id, data=data)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a subscription and its delivery log."""
    await service.delete_webhook(db, principal=principal, webhook_id=webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    webhook_id: int,
    db: Db,
    principal: TenantAdmin,
    params: Annotated[PageParams, Query()],
    status: DeliveryStatus | None = None,
    event: WebhookEvent | None = None,
) -> object:
    """The subscription's delivery log, newest first: status, attempts, last error."""
    items, total = await service.list_deliveries(
        db, principal=principal, webhook_id=webhook_id, params=params, status=status, event=event
    )
    return Page[DeliveryOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry_delivery(
    webhook_id: int, delivery_id: int, db: Db, principal: TenantAdmin
) -> object:
    """Send a delivery again now (after a failure, or to replay it)."""
    return await service.retry_delivery(
        db, principal=principal, webhook_id=webhook_id, delivery_id=delivery_id
    )
