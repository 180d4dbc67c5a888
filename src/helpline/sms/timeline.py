"""SMS on the customer timeline: every message to or from the customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.customers.models import Customer
from helpline.customers.timeline import TimelineEntry, register_source
from helpline.sms.models import Direction, SmsMessage


class SmsSource:
    """Messages attached to the customer, both ways."""

    name = "sms"

    async def entries(
        self,
        session: AsyncSession,
        *,
        customer: Customer,
        before: datetime | None,
        limit: int,
    ) -> list[TimelineEntry]:
        """The customer's messages, newest first."""
        stmt = (
            select(SmsMessage)
            .where(
                SmsMessage.tenant_id == customer.tenant_id,
                SmsMessage.customer_id == customer.id,
            )
            .order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(SmsMessage.created_at < before)
        return [
            TimelineEntry(
                kind="sms",
                at=message.created_at,
                ref_id=message.id,
                title=f"{'SMS from' if message.direction is Direction.INBOUND else 'SMS to'} "
                f"{message.number}: {message.body[:60]}",
                detail={
                    "direction": message.direction.value,
                    "status": message.status.value,
                    "number": message.number,
                    "body": message.body,
                    "purpose": message.purpose,
                    "created_by": message.created_by,
                },
            )
            for message in (await session.execute(stmt)).scalars()
        ]


def register() -> None:
    """Put SMS on every customer's timeline."""
    register_source(SmsSource())
