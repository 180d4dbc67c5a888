"""API shapes for customers, their notes and events, settings, lookups and imports.

Field shapes are checked here (a 422 ``validation_error`` names the field). Phone numbers
are only checked for length: they are read in the tenant's default region, so the
service normalizes them to E.164 and answers 422 ``customer_phone_invalid`` naming the
entry. Custom fields are a flat map: names like identifiers, values strings, numbers,
booleans or null (no nested objects or lists).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import phonenumbers
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    computed_field,
    model_validator,
)

from helpline.customers.models import (
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_REGION_LENGTH,
    MAX_SHORT_LENGTH,
    CustomerTier,
    EventKind,
    EventStatus,
    PhoneLabel,
)

MAX_PHONES = 10
MAX_EMAILS = 10
MAX_ADDRESSES = 10
MAX_TAGS = 50
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_VALUE_LENGTH = 1000


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _known_region(value: str) -> str:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a region phone numbers are known for")
    return value


def _flat(values: dict[str, CustomValue]) -> dict[str, CustomValue]:
    for value in values.values():
        if isinstance(value, str) and len(value) > MAX_CUSTOM_VALUE_LENGTH:
            raise ValueError(f"custom field values are at most {MAX_CUSTOM_VALUE_LENGTH} long")
    return values


Text = Annotated[str, Field(min_length=1, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
Name = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Short = Annotated[
    str, Field(min_length=1, max_length=MAX_SHORT_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Region = Annotated[str, Field(pattern=r"^[A-Z]{2}$"), AfterValidator(_known_region)]
Area = Annotated[
    str, Field(min_length=1, max_length=MAX_REGION_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Za-z0-9]{1,4})?$")]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f,;]+$")]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
Emails = Annotated[list[EmailStr], Field(max_length=MAX_EMAILS), AfterValidator(_unique)]
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
CustomValue = StrictStr | StrictInt | StrictFloat | StrictBool | None
CustomFields = Annotated[
    dict[FieldName, CustomValue], Field(max_length=MAX_CUSTOM_FIELDS), AfterValidator(_flat)
]
NoteText = Annotated[str, Field(min_length=1, max_length=MAX_NOTE_LENGTH)]


class PhoneIn(BaseModel):
    """A phone number as written (national numbers are read in the tenant's region)."""

    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, Field(min_length=1, max_length=40)]
    label: PhoneLabel = PhoneLabel.MOBILE


class PhoneOut(BaseModel):
    """A stored phone number."""

    model_config = ConfigDict(from_attributes=True)

    e164: str
    label: PhoneLabel


class Address(BaseModel):
    """A postal address; ``default`` marks the usual one (offered for confirmation)."""

    model_config = ConfigDict(extra="forbid")

    label: Short | None = None
    line1: Name
    line2: Name | None = None
    city: Short | None = None
    state: Short | None = None
    postal_code: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    default: bool = False


def _one_default(addresses: list[Address]) -> list[Address]:
    if sum(a.default for a in addresses) > 1:
        raise ValueError("at most one address is the default")
    return addresses


Addresses = Annotated[list[Address], Field(max_length=MAX_ADDRESSES), AfterValidator(_one_default)]
Phones = Annotated[list[PhoneIn], Field(max_length=MAX_PHONES)]


class CustomerCreate(BaseModel):
    """A new customer of the principal's tenant."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    external_id: Short | None = None
    title: Short | None = None
    company: Name | None = None
    tier: CustomerTier = CustomerTier.REGULAR
    region: Area | None = None
    language: Language | None = None
    phones: Phones = Field(default_factory=list)
    emails: Emails = Field(default_factory=list)
    addresses: Addresses = Field(default_factory=list)
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFields = Field(default_factory=dict)
    notes: Annotated[str, Field(max_length=MAX_NOTE_LENGTH)] | None = None


class CustomerUpdate(BaseModel):
    """Changes to a customer; omitted fields stay, lists given replace the old ones,
    ``null`` clears the optional texts."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    external_id: Short | None = None
    title: Short | None = None
    company: Name | None = None
    tier: CustomerTier | None = None
    region: Area | None = None
    language: Language | None = None
    phones: Phones | None = None
    emails: Emails | None = None
    addresses: Addresses | None = None
    tags: Tags | None = None
    custom_fields: CustomFields | None = None
    notes: Annotated[str, Field(max_length=MAX_NOTE_LENGTH)] | None = None


#: Fields of :class:`CustomerUpdate` that an explicit ``null`` clears.
NULLABLE = ("external_id", "title", "company", "region", "language", "notes")


class CustomerOut(BaseModel):
    """A customer as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    name: str
    title: str | None
    company: str | None
    tier: CustomerTier
    region: str | None
    language: str | None
    phones: list[PhoneOut]
    emails: list[str]
    addresses: list[Address]
    tags: list[str]
    custom_fields: dict[str, CustomValue]
    notes: str | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usual_address(self) -> Address | None:
        """The default address, else the first one: what to offer for confirmation."""
        for address in self.addresses:
            if address.default:
                return address
        return self.addresses[0] if self.addresses else None


class CustomerBriefOut(BaseModel):
    """The caller's customer for a screen pop."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    title: str | None
    company: str | None
    tier: CustomerTier
    region: str | None
    language: str | None
    e164: str
    ambiguous: bool


class LookupOut(BaseModel):
    """The answer to a caller-number lookup; ``customer`` is null for unknown callers."""

    number: str
    e164: str | None
    customer: CustomerBriefOut | None


class SettingsUpdate(BaseModel):
    """The tenant's CRM settings; a ``null`` region derives it from the tenant again."""

    model_config = ConfigDict(extra="forbid")

    default_region: Region | None = None


class SettingsOut(BaseModel):
    """The tenant's CRM settings and the region numbers are read in now."""

    default_region: str | None
    effective_region: str | None


class NoteCreate(BaseModel):
    """A note about a customer."""

    model_config = ConfigDict(extra="forbid")

    body: NoteText


class NoteOut(BaseModel):
    """A note as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    author: str
    body: str
    created_at: datetime


class EventCreate(BaseModel):
    """A new order, appointment, repair booking or follow-up visit."""

    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    title: Name
    reference: Short | None = None
    details: Annotated[str, Field(max_length=MAX_NOTE_LENGTH)] | None = None
    scheduled_at: AwareDatetime | None = None
    status: EventStatus = EventStatus.PLANNED
    reminder_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _reminder_first(self) -> EventCreate:
        if self.reminder_at and self.scheduled_at and self.reminder_at > self.scheduled_at:
            raise ValueError("reminder_at must not be after scheduled_at")
        return self


class EventUpdate(BaseModel):
    """Changes to an event; omitted fields stay, ``null`` clears the optional ones.
    Status changes follow :data:`~helpline.customers.models.EVENT_TRANSITIONS`."""

    model_config = ConfigDict(extra="forbid")

    title: Name | None = None
    reference: Short | None = None
    details: Annotated[str, Field(max_length=MAX_NOTE_LENGTH)] | None = None
    scheduled_at: AwareDatetime | None = None
    status: EventStatus | None = None
    reminder_at: AwareDatetime | None = None


#: Fields of :class:`EventUpdate` that an explicit ``null`` clears.
EVENT_NULLABLE = ("reference", "details", "scheduled_at", "reminder_at")


class EventOut(BaseModel):
    """An event as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    kind: EventKind
    title: str
    reference: str | None
    details: str | None
    scheduled_at: datetime | None
    status: EventStatus
    reminder_at: datetime | None
    reminded_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


Scalar = str | int | float | bool | None


class TimelineEntryOut(BaseModel):
    """One thing that happened with a customer."""

    kind: str
    """``call``, ``note``, ``order``, ``appointment``, ``repair``, ``visit`` ..."""
    at: datetime
    ref_id: int
    """The id of the call record, note or event."""
    title: str
    detail: dict[str, Scalar]


class TimelineOut(BaseModel):
    """A page of the timeline, newest first; pass ``next_before`` as ``before`` for more."""

    items: list[TimelineEntryOut]
    next_before: datetime | None


class ImportMode(StrEnum):
    """What an import does with bad rows."""

    ALL_OR_NOTHING = "all_or_nothing"
    """Any bad row: nothing is written."""
    SKIP_BAD_ROWS = "skip_bad_rows"
    """Good rows are written, bad ones reported."""


class ImportIssue(BaseModel):
    """One problem in an imported file: the line (header = 1), the column, what is wrong."""

    row: int
    field: str
    error: str


class ImportReport(BaseModel):
    """What an import did (or, for a dry run or a refused file, would have done)."""

    mode: ImportMode
    dry_run: bool
    rows: int
    created: int
    updated: int
    skipped: int
    committed: bool
    errors: list[ImportIssue]
