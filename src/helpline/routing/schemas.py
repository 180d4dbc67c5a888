"""API shapes for access numbers, services and the blacklist.

Field shapes are checked here (a 422 ``validation_error`` names the field); numbers are
normalized first (spaces, dashes, dots and parentheses dropped).  What needs more than
one field or outside knowledge (the time zone exists, a holiday calendar exists for the
country, an announcement has a prompt ...) is checked by the service with a stable
``error_id``, also after a partial update.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from helpline.routing.blacklist import BlockAction, BlockKind, normalize_number
from helpline.routing.models import OverLimitAction
from helpline.routing.schedule import MAX_RULES, PromptName, Rule, Target


def _normalized(value: object) -> object:
    return normalize_number(value) if isinstance(value, str) else value


DialNumber = Annotated[str, BeforeValidator(_normalized), Field(pattern=r"^\+?[0-9]{1,20}$")]
"""Digits with an optional leading ``+``: E.164 numbers or short internal numbers."""
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
TimeZone = Annotated[str, Field(min_length=1, max_length=64)]
MaxCalls = Annotated[int, Field(ge=0, le=100_000)]
Rules = Annotated[list[Rule], Field(max_length=MAX_RULES)]
Note = Annotated[str, Field(max_length=500)]


class NumberCreate(BaseModel):
    """A new access number of the principal's tenant."""

    model_config = ConfigDict(extra="forbid")

    number: DialNumber
    service_id: int
    enabled: bool = True


class NumberUpdate(BaseModel):
    """Changes to an access number; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    number: DialNumber | None = None
    service_id: int | None = None
    enabled: bool | None = None


class NumberOut(BaseModel):
    """An access number as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    service_id: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class ServiceCreate(BaseModel):
    """A new service: rules tried in order, then ``default_target`` (closed/night)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    timezone: TimeZone | None = Field(default=None, description="None: the tenant's.")
    max_calls: MaxCalls | None = None
    over_limit_action: OverLimitAction = OverLimitAction.BUSY
    over_limit_prompt: PromptName | None = None
    rules: Rules = Field(default_factory=list)
    default_target: Target


class ServiceUpdate(BaseModel):
    """Changes to a service; omitted fields stay, ``null`` clears the optional ones."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    timezone: TimeZone | None = None
    max_calls: MaxCalls | None = None
    over_limit_action: OverLimitAction | None = None
    over_limit_prompt: PromptName | None = None
    rules: Rules | None = None
    default_target: Target | None = None


#: Fields of :class:`ServiceUpdate` that an explicit ``null`` clears.
SERVICE_NULLABLE = ("timezone", "max_calls", "over_limit_prompt")


class ServiceOut(BaseModel):
    """A service as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    timezone: str | None
    max_calls: int | None
    over_limit_action: OverLimitAction
    over_limit_prompt: str | None
    rules: list[Rule]
    default_target: Target
    created_at: datetime
    updated_at: datetime


class RouteOut(BaseModel):
    """What a service's schedule chooses at one moment."""

    service_id: int
    at: datetime
    timezone: str
    local_time: datetime
    rule_index: int | None = Field(description="None: no rule matched; the default target.")
    rule_name: str | None
    target: Target


class BlacklistCreate(BaseModel):
    """A new blacklist entry; ``number`` is the number or prefix (none for anonymous)."""

    model_config = ConfigDict(extra="forbid")

    kind: BlockKind = BlockKind.EXACT
    number: DialNumber | None = None
    action: BlockAction = BlockAction.REJECT_BUSY
    prompt: PromptName | None = None
    expires_at: AwareDatetime | None = None
    note: Note = ""


class BlacklistUpdate(BaseModel):
    """Changes to a blacklist entry; ``null`` clears the prompt and the expiry."""

    model_config = ConfigDict(extra="forbid")

    kind: BlockKind | None = None
    number: DialNumber | None = None
    action: BlockAction | None = None
    prompt: PromptName | None = None
    expires_at: AwareDatetime | None = None
    note: Note | None = None


#: Fields of :class:`BlacklistUpdate` that an explicit ``null`` clears.
BLACKLIST_NULLABLE = ("prompt", "expires_at")


class BlacklistOut(BaseModel):
    """A blacklist entry with its hit count."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: BlockKind
    number: str | None
    action: BlockAction
    prompt: str | None
    expires_at: datetime | None
    note: str
    hit_count: int
    last_hit_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @field_validator("number", mode="before")
    @classmethod
    def _no_number(cls, value: object) -> object:
        return value or None
