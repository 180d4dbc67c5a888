"""API shapes for webhook subscriptions and their delivery log.

The secret is write-only: it is shown once, in the answer that created or generated it
(``WebhookCreated``), and afterwards only ``has_secret``-style facts are visible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field

from helpline.webhooks.models import MAX_URL_LENGTH, DeliveryStatus, WebhookEvent

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Secret = Annotated[str, Field(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]


def _url(value: AnyHttpUrl) -> str:
    text = str(value)
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    return text


def _events(values: list[WebhookEvent]) -> list[WebhookEvent]:
    if not values:
        raise ValueError("name at least one event")
    return list(dict.fromkeys(values))


Url = Annotated[AnyHttpUrl, AfterValidator(_url)]
Events = Annotated[list[WebhookEvent], Field(max_length=len(WebhookEvent)), AfterValidator(_events)]


class WebhookCreate(BaseModel):
    """A new subscription; without ``secret`` one is generated and shown once."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    url: Url
    events: Events
    secret: Secret | None = None
    enabled: bool = True


class WebhookUpdate(BaseModel):
    """Changes to a subscription; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    url: Url | None = None
    events: Events | None = None
    secret: Secret | None = None
    enabled: bool | None = None


class WebhookOut(BaseModel):
    """A subscription as the API shows it (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    """A new subscription with its secret, shown this once."""

    secret: str


class DeliveryOut(BaseModel):
    """One entry of the delivery log."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int
    event: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
