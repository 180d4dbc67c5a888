"""Webhook subscriptions and their delivery log.

A delivery row is written in the same transaction as the change it reports (an outbox),
so a change that commits is announced and one that rolls back is not; the sender
(:mod:`helpline.webhooks.delivery`) picks due rows up, posts them and records each
attempt.  The secret is kept in clear because every delivery is signed with it; the API
shows it once, when it is generated.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum

MAX_URL_LENGTH = 2000
MAX_ERROR_LENGTH = 500


class WebhookEvent(StrEnum):
    """What a subscription can be told about."""

    CALL_OFFERED = "call.offered"
    CALL_ANSWERED = "call.answered"
    CALL_ENDED = "call.ended"
    WORKORDER_CHANGED = "workorder.changed"


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    """Waiting for its first or next attempt (``next_attempt_at``)."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up after the last attempt."""


class Webhook(TenantOwned, Timestamped, Base):
    """A tenant's subscription: where to post which events, and the signing secret."""

    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(MAX_URL_LENGTH))
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Event names (:class:`WebhookEvent` values)."""
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)


class WebhookDelivery(TenantOwned, Timestamped, Base):
    """One event for one subscription, with the outcome of its attempts."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    """When the sender tries next; None once delivered or given up."""
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
