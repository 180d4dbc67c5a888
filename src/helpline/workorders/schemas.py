"""API shapes for departments, SLA targets, work orders, comments, attachments, timeline.

Field shapes are checked here (a 422 ``validation_error`` names the field); whether a
named department, user or call exists in the caller's tenant is checked by the service
(404 ``not_found``, indistinguishable from another tenant's object).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from helpline.workorders.models import MAX_TITLE_LENGTH, Source, TimelineKind
from helpline.workorders.sla import Priority, Status

MAX_TEXT = 100_000
MAX_MEMBERS = 500

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Title = Annotated[
    str, Field(min_length=1, max_length=MAX_TITLE_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Minutes = Annotated[int, Field(ge=1, le=525_600)]
"""At most a year."""
Party = Annotated[str, Field(min_length=1, max_length=255)]


class DepartmentCreate(BaseModel):
    """A new department; ``member_ids`` are users of the tenant."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Annotated[str, Field(max_length=500)] = ""
    email: EmailStr | None = None
    member_ids: Annotated[list[int], Field(max_length=MAX_MEMBERS)] = Field(default_factory=list)


class DepartmentUpdate(BaseModel):
    """Changes to a department; omitted fields stay, ``member_ids`` replaces the members."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    email: EmailStr | None = None
    member_ids: Annotated[list[int], Field(max_length=MAX_MEMBERS)] | None = None


class DepartmentOut(BaseModel):
    """A department as the API shows it."""

    id: int
    name: str
    description: str
    email: str | None
    member_ids: list[int]
    created_at: datetime
    updated_at: datetime


class SlaTargetIn(BaseModel):
    """The SLA targets of one priority, in minutes from creation."""

    model_config = ConfigDict(extra="forbid")

    priority: Priority
    first_response_minutes: Minutes
    resolution_minutes: Minutes


class SlaTargetsPut(BaseModel):
    """The tenant's SLA targets; priorities left out go back to the defaults."""

    model_config = ConfigDict(extra="forbid")

    targets: Annotated[list[SlaTargetIn], Field(max_length=len(Priority))]


class SlaTargetOut(BaseModel):
    """The SLA targets in force for one priority."""

    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    default: bool
    """Whether these are the built-in defaults (the tenant set none)."""


class WorkOrderCreate(BaseModel):
    """A new work order.

    With ``call_record_id`` the call is linked and its caller number, queue and agent
    fill the fields left out here; ``customer_id`` names the customer (it is not checked
    against the customer records).
    """

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Text = ""
    priority: Priority = Priority.NORMAL
    department_id: int | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    call_record_id: int | None = None
    caller_number: Party | None = None
    requester_name: Annotated[str, Field(max_length=200)] | None = None
    requester_email: EmailStr | None = None
    watcher_ids: Annotated[list[int], Field(max_length=MAX_MEMBERS)] = Field(default_factory=list)


class WorkOrderUpdate(BaseModel):
    """Changes to a work order; omitted fields stay, ``null`` clears the nullable ones."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Text | None = None
    priority: Priority | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    requester_name: Annotated[str, Field(max_length=200)] | None = None
    requester_email: EmailStr | None = None


#: Fields of :class:`WorkOrderUpdate` that ``null`` clears.
NULLABLE = (
    "department_id",
    "assignee_id",
    "customer_id",
    "requester_name",
    "requester_email",
)


class StatusChange(BaseModel):
    """Move a work order in its workflow; ``comment`` is added as a public comment."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    comment: Text | None = None


class InboundEmail(BaseModel):
    """One e-mail as received (RFC 5322 text), for a mail gateway to hand over."""

    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, Field(min_length=1, max_length=10 * 1024 * 1024)]


class WorkOrderOut(BaseModel):
    """A work order with its SLA state at the time of the answer."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    status: Status
    priority: Priority
    source: Source
    department_id: int | None
    assignee_id: int | None
    created_by_id: int | None
    customer_id: int | None
    call_record_id: int | None
    caller_number: str | None
    queue: str | None
    agent: str | None
    requester_name: str | None
    requester_email: str | None
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    breached: bool
    watcher_ids: list[int]
    created_at: datetime
    updated_at: datetime


class CommentCreate(BaseModel):
    """A comment; ``internal`` notes are for staff only and never e-mailed out."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    internal: bool = False


class CommentOut(BaseModel):
    """A comment as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    work_order_id: int
    author_id: int | None
    author: str
    body: str
    internal: bool
    created_at: datetime


class AttachmentOut(BaseModel):
    """An attachment's metadata (the file is at ``.../attachments/{id}``)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    work_order_id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class TimelineOut(BaseModel):
    """One timeline entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor: str
    kind: TimelineKind
    detail: dict[str, Any]


class SearchFilters(BaseModel):
    """Filters of the work-order list; all given ones must match."""

    status: Status | None = None
    priority: Priority | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    call_record_id: int | None = None
    q: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """Text found in the title or the description (case-insensitive)."""
    breached: bool | None = None
