"""SMS reminders of customer events (orders, appointments, repairs, visits).

A customer event with a ``reminder_at`` in the past and no ``reminded_at`` is due (as
:func:`helpline.customers.service.due_reminders` says) once its tenant has an enabled
default SMS gateway; tenants without one keep their reminders for when they get one.
The reminder goes to the customer's
first number in the customer's language, from the tenant's ``reminder`` template when
it has one (variables ``customer.name``, ``event.title``, ``event.reference``,
``event.when`` in the tenant's time zone), else from :data:`DEFAULT_TEXTS`. An event
that cannot be reminded by SMS (no number, an invalid one) is marked as handled all the
same, so it does not hold up the others; the log says why.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.core.errors import ApiError
from helpline.customers import service as customers
from helpline.customers.models import Customer, CustomerEvent, EventStatus
from helpline.ivr.templating import render
from helpline.sms import admin
from helpline.sms.models import SmsGateway
from helpline.sms.service import send_sms
from helpline.tenants.models import Tenant

log = logging.getLogger(__name__)

TEMPLATE_NAME: Final = "reminder"
DEFAULT_TEXTS: Final[dict[str, str]] = {
    "en": "Reminder: {event.title} on {event.when}.",
    "zh": "提醒：{event.when} {event.title}。",
    "ko": "알림: {event.when} {event.title}",
}


def _when(event: CustomerEvent, timezone: str) -> str:
    at = event.scheduled_at
    if at is None:
        return ""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def remind(session: AsyncSession, *, event: CustomerEvent, now: datetime) -> bool:
    """Queue the reminder of ``event`` and mark it reminded; whether an SMS was queued."""
    customer = await session.get(Customer, event.customer_id)
    tenant = await session.get(Tenant, event.tenant_id)
    queued = False
    if customer is not None and tenant is not None and customer.phones:
        language = customer.language or tenant.locale.split("-")[0]
        variables = {
            "customer.name": customer.name,
            "event.title": event.title,
            "event.reference": event.reference or "",
            "event.when": _when(event, tenant.timezone),
        }
        template = await admin.template_by_name(session, tenant_id=tenant.id, name=TEMPLATE_NAME)
        if template is not None:
            text, _lang = admin.render_template(template, language=language, variables=variables)
        else:
            text = render(DEFAULT_TEXTS.get(language, DEFAULT_TEXTS["en"]), variables)
        try:
            await send_sms(
                session,
                tenant_id=tenant.id,
                to=customer.phones[0].e164,
                text=text,
                purpose="reminder",
                customer_id=customer.id,
                template_id=template.id if template else None,
                now=now,
            )
            queued = True
        except ApiError as exc:
            log.info("reminder of customer event %d not sent: %s", event.id, exc.message)
    else:
        log.info("reminder of customer event %d not sent: no phone number", event.id)
    await customers.mark_reminded(session, event=event, at=now)
    return queued


async def due(session: AsyncSession, *, now: datetime, limit: int) -> list[CustomerEvent]:
    """Due reminders of tenants that can send SMS, oldest first."""
    can_send = select(SmsGateway.tenant_id).where(
        SmsGateway.is_default.is_(True), SmsGateway.enabled.is_(True)
    )
    stmt = (
        select(CustomerEvent)
        .where(
            CustomerEvent.reminder_at.is_not(None),
            CustomerEvent.reminder_at <= now,
            CustomerEvent.reminded_at.is_(None),
            CustomerEvent.status.in_((EventStatus.PLANNED, EventStatus.CONFIRMED)),
            CustomerEvent.tenant_id.in_(can_send),
        )
        .order_by(CustomerEvent.reminder_at, CustomerEvent.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def send_due_reminders(session: AsyncSession, *, now: datetime, limit: int = 100) -> int:
    """Queue the reminders due at ``now``; how many SMS were queued."""
    sent = 0
    for event in await due(session, now=now, limit=limit):
        sent += await remind(session, event=event, now=now)
    return sent
