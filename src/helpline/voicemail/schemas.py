"""API shapes for voicemail boxes and messages (messages are written by call control)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, computed_field

from helpline.prompts.language import NAME_PATTERN, Language
from helpline.tenants.schemas import check_timezone
from helpline.voicemail.models import MAX_OWNER_LENGTH, MessageStatus, OwnerKind

API_PREFIX = "/api/v1"
MAX_RECIPIENTS = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value) or value != value.strip():
        raise ValueError("control characters and surrounding spaces are not allowed")
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.lower() for v in values))


BoxName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
OwnerRef = Annotated[
    str, Field(min_length=1, max_length=MAX_OWNER_LENGTH), AfterValidator(_printable)
]
Greeting = Annotated[str, Field(pattern=NAME_PATTERN)]
MaxSeconds = Annotated[int, Field(ge=5, le=600)]
SilenceSeconds = Annotated[float, Field(ge=0, le=60, description="0: no end on silence.")]
Recipients = Annotated[list[EmailStr], Field(max_length=MAX_RECIPIENTS), AfterValidator(_unique)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]


class BoxCreate(BaseModel):
    """A new voicemail box of the principal's tenant."""

    model_config = ConfigDict(extra="forbid")

    name: BoxName
    owner_kind: OwnerKind
    owner_ref: OwnerRef
    greeting: Greeting | None = Field(
        default=None, description="A prompt name; null plays the system greeting."
    )
    max_seconds: MaxSeconds = 120
    silence_seconds: SilenceSeconds = 5.0
    notify_emails: Recipients = Field(default_factory=list)
    language: Language | None = Field(
        default=None, description="Language of the notification e-mail; null: the tenant's."
    )
    timezone: TimeZone | None = Field(
        default=None, description="Time zone of the e-mail's times; null: the tenant's."
    )
    enabled: bool = True


class BoxUpdate(BaseModel):
    """Changes to a box; omitted fields stay, ``null`` clears greeting, language and
    time zone."""

    model_config = ConfigDict(extra="forbid")

    name: BoxName | None = None
    owner_kind: OwnerKind | None = None
    owner_ref: OwnerRef | None = None
    greeting: Greeting | None = None
    max_seconds: MaxSeconds | None = None
    silence_seconds: SilenceSeconds | None = None
    notify_emails: Recipients | None = None
    language: Language | None = None
    timezone: TimeZone | None = None
    enabled: bool | None = None


#: Fields of :class:`BoxUpdate` that an explicit ``null`` clears.
NULLABLE = ("greeting", "language", "timezone")


class BoxOut(BaseModel):
    """A voicemail box as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    owner_kind: OwnerKind
    owner_ref: str
    greeting: str | None
    max_seconds: int
    silence_seconds: float
    notify_emails: list[str]
    language: Language | None
    timezone: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


class MessageUpdate(BaseModel):
    """Mark a message heard or new again (omitted: unchanged)."""

    model_config = ConfigDict(extra="forbid")

    heard: bool | None = None


class MessageOut(BaseModel):
    """A message as the API shows it (never its path on the server)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    box_id: int
    call_id: str
    caller: str
    called: str
    received_at: datetime
    duration_seconds: float
    size_bytes: int
    status: MessageStatus
    heard: bool
    heard_at: datetime | None
    heard_by: str | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def audio_url(self) -> str:
        """Where to download the audio (audio/wav, 8 kHz mono 16-bit); fetching it marks
        the message heard."""
        return f"{API_PREFIX}/voicemail-messages/{self.id}/audio"
