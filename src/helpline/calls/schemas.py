"""API shapes for call records, dispositions and the queue event log.

Records and queue events are written by call control; through the API only a record's
disposition and notes change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from helpline.calls.models import (
    MAX_CODE_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_NOTES_LENGTH,
    CallDirection,
    CallOutcome,
    HangupSide,
    QueueEventKind,
    SegmentKind,
    SegmentResult,
)

Code = Annotated[
    str, Field(pattern=rf"^[a-z0-9][a-z0-9_-]{{0,{MAX_CODE_LENGTH - 1}}}$", examples=["billing"])
]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_LENGTH)]
Notes = Annotated[str, Field(max_length=MAX_NOTES_LENGTH)]


class SegmentOut(BaseModel):
    """One stretch of a call."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: SegmentKind
    started_at: datetime
    ended_at: datetime | None
    agent: str | None
    queue: str | None
    detail: dict[str, Any]
    result: SegmentResult | None


class CallRecordOut(BaseModel):
    """A call record; durations are in seconds and final once ``open`` is false."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: str
    direction: CallDirection
    caller: str
    called: str
    service_id: int | None
    queue: str | None
    agent: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: CallOutcome
    ivr_seconds: float
    wait_seconds: float
    talk_seconds: float
    hold_seconds: float
    wrap_up_seconds: float
    hangup_side: HangupSide | None
    recording_id: int | None
    disposition: str | None
    notes: str | None
    open: bool
    recovered: bool
    parent_call_id: str | None
    """For a leg Helpline placed inside a call (a consultation, a supervisor's leg):
    the ``call_id`` of that call."""
    created_at: datetime
    updated_at: datetime


class CallLegOut(CallRecordOut):
    """A leg placed inside a call, with its segments in the order they started."""

    segments: list[SegmentOut]


class CallRecordDetail(CallRecordOut):
    """A call record with its segments in the order they started, and the legs
    Helpline placed inside it (consultations, supervisors' legs) in the order they
    started."""

    segments: list[SegmentOut]
    legs: list[CallLegOut] = Field(default_factory=list)


class CallRecordUpdate(BaseModel):
    """The agent's classification of a call; omitted fields stay, ``null`` clears."""

    model_config = ConfigDict(extra="forbid")

    disposition: Code | None = None
    notes: Notes | None = None


class DispositionCreate(BaseModel):
    """A new custom disposition code."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    label: Label
    active: bool = True


class DispositionUpdate(BaseModel):
    """Changes to a custom disposition; the code itself never changes."""

    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    active: bool | None = None


class DispositionOut(BaseModel):
    """A disposition code; built-in ones have no id and cannot be changed."""

    model_config = ConfigDict(from_attributes=True)

    id: int | None = None
    code: str
    label: str
    builtin: bool = False
    active: bool


class QueueEventOut(BaseModel):
    """One entry of the queue event log."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    queue: str
    call_id: str
    event: QueueEventKind
    agent: str | None
    wait_seconds: float | None
    position: int | None
