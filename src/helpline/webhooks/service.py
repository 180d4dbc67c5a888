"""Webhook subscriptions of a tenant, the :func:`publish` entry point and the delivery log.

:func:`publish` is what the rest of the system calls when something a subscriber may
want happens: it writes one pending delivery per enabled subscription of the tenant
that asked for the event, in the caller's transaction, and asks the sender
(:class:`helpline.webhooks.delivery.WebhookSender`) to look once that commits.  It never
waits for the network.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import Conflict, NotFound
from helpline.core.events import Audience, Event
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned, utcnow
from helpline.runtime import queue_event
from helpline.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from helpline.webhooks.schemas import WebhookCreate, WebhookUpdate

AUDITED = ("name", "url", "events", "enabled")
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveriesQueued(Event):
    """New webhook deliveries were committed; the sender wakes up for them."""

    name: ClassVar[str] = "webhook.queued"
    audience: ClassVar[Audience] = Audience.ADMIN
    count: int


async def publish(
    session: AsyncSession,
    tenant_id: int,
    event_name: str,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """Queue ``payload`` as ``event_name`` for every enabled subscription of
    ``tenant_id`` that asked for it; the deliveries go out after ``session`` commits.

    ``event_name`` must be a :class:`~helpline.webhooks.models.WebhookEvent` value;
    ``payload`` must be JSON-ready.
    """
    event = WebhookEvent(event_name)
    hooks = (
        await session.execute(
            select(Webhook).where(Webhook.tenant_id == tenant_id, Webhook.enabled.is_(True))
        )
    ).scalars()
    due = now or utcnow()
    deliveries = [
        WebhookDelivery(
            tenant_id=tenant_id,
            webhook_id=hook.id,
            event=event.value,
            payload=payload,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=due,
        )
        for hook in hooks
        if event.value in hook.events
    ]
    if deliveries:
        session.add_all(deliveries)
        queue_event(session, DeliveriesQueued(tenant_id=tenant_id, count=len(deliveries)))
    return deliveries


async def _name_free(
    session: AsyncSession, tenant_id: int, name: str, *, own_id: int | None = None
) -> None:
    stmt = select(Webhook.id).where(Webhook.tenant_id == tenant_id, Webhook.name == name)
    if own_id is not None:
        stmt = stmt.where(Webhook.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"webhook {name!r} exists", error_id="webhook_name_taken")


async def list_webhooks(
    session: AsyncSession, *, principal: Principal, params: PageParams
) -> tuple[list[Webhook], int]:
    """The subscriptions of the principal's tenant, by name."""
    return await paginate(
        session,
        select(Webhook).where(Webhook.tenant_id == principal.tenant_id),
        params,
        sortable={"id": Webhook.id, "name": Webhook.name, "created_at": Webhook.created_at},
        default_sort=(Webhook.name,),
    )


async def get_webhook(session: AsyncSession, *, principal: Principal, webhook_id: int) -> Webhook:
    """A subscription of the principal's tenant."""
    return await get_owned(
        session, Webhook, webhook_id, tenant_id=principal.tenant_id, what="webhook"
    )


async def create_webhook(
    session: AsyncSession, *, principal: Principal, data: WebhookCreate
) -> Webhook:
    """A new subscription; its secret is generated unless given."""
    await _name_free(session, principal.tenant_id, data.name)
    hook = Webhook(
        tenant_id=principal.tenant_id,
        name=data.name,
        url=str(data.url),
        events=[e.value for e in data.events],
        secret=data.secret or secrets.token_urlsafe(SECRET_BYTES),
        enabled=data.enabled,
    )
    session.add(hook)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="webhook",
        obj=hook,
        fields=AUDITED,
    )
    return hook


async def update_webhook(
    session: AsyncSession, *, principal: Principal, webhook_id: int, data: WebhookUpdate
) -> Webhook:
    """Change a subscription; a new ``secret`` signs every later attempt."""
    hook = await get_webhook(session, principal=principal, webhook_id=webhook_id)
    before = audit.snapshot(hook, AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        await _name_free(session, hook.tenant_id, changes["name"], own_id=hook.id)
    if "url" in changes:
        changes["url"] = str(changes["url"])
    if "events" in changes:
        changes["events"] = [WebhookEvent(e).value for e in changes["events"]]
    audit.apply_changes(hook, changes)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=hook.tenant_id,
        action="update",
        entity="webhook",
        obj=hook,
        fields=AUDITED,
        before=before,
    )
    return hook


async def delete_webhook(session: AsyncSession, *, principal: Principal, webhook_id: int) -> None:
    """Remove a subscription and its delivery log."""
    hook = await get_webhook(session, principal=principal, webhook_id=webhook_id)
    before = audit.snapshot(hook, AUDITED)
    await session.delete(hook)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=hook.tenant_id,
        action="delete",
        entity="webhook",
        obj=hook,
        fields=AUDITED,
        before=before,
    )


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    webhook_id: int,
    params: PageParams,
    status: DeliveryStatus | None,
    event: WebhookEvent | None,
) -> tuple[list[WebhookDelivery], int]:
    """The delivery log of one subscription, newest first by default."""
    hook = await get_webhook(session, principal=principal, webhook_id=webhook_id)
    return await paginate(
        session,
        select(WebhookDelivery).where(
            WebhookDelivery.tenant_id == hook.tenant_id, WebhookDelivery.webhook_id == hook.id
        ),
        params,
        sortable={
            "id": WebhookDelivery.id,
            "created_at": WebhookDelivery.created_at,
            "status": WebhookDelivery.status,
        },
        filters={
            "status": (WebhookDelivery.status, status),
            "event": (WebhookDelivery.event, event.value if event else None),
        },
        default_sort=(WebhookDelivery.id.desc(),),
    )


async def retry_delivery(
    session: AsyncSession, *, principal: Principal, webhook_id: int, delivery_id: int
) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it (the attempt count goes on)."""
    hook = await get_webhook(session, principal=principal, webhook_id=webhook_id)
    delivery = await get_owned(
        session, WebhookDelivery, delivery_id, tenant_id=hook.tenant_id, what="delivery"
    )
    if delivery.webhook_id != hook.id:
        raise NotFound("no such delivery")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = utcnow()
    queue_event(session, DeliveriesQueued(tenant_id=hook.tenant_id, count=1))
    return delivery
