"""Call records (CDR): one row per call, its segments, dispositions, the queue event log.

Call control writes a record while the call is live (:mod:`helpline.calls.recorder`):
the row is committed ``open`` when the call arrives and every segment as it starts and
ends, so a process killed mid-call leaves an open record whose segments tell how far
the call got; on start every open record of the node is closed from them
(:func:`helpline.calls.service.close_unfinished`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum
from helpline.recordings.models import MAX_PARTY_LENGTH, MAX_USERNAME_LENGTH
from helpline.recordings.models import CallDirection as CallDirection
from helpline.sip.registrar import MAX_CALL_ID_LENGTH

MAX_QUEUE_LENGTH = 100
MAX_CODE_LENGTH = 50
MAX_LABEL_LENGTH = 200
MAX_NOTES_LENGTH = 4000
MAX_NODE_LENGTH = 100


class CallOutcome(StrEnum):
    """How a call ended; ``in_progress`` while it is open."""

    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    ABANDONED_IVR = "abandoned_ivr"
    """The caller hung up in self-service, before asking for a person."""
    ABANDONED_QUEUE = "abandoned_queue"
    """The caller hung up while waiting; ``wait_seconds`` says how long they waited."""
    CALLBACK = "callback"
    """The caller left the queue asking to be called back."""
    VOICEMAIL = "voicemail"
    REJECTED = "rejected"
    """Refused before any resource was spent (no service, over capacity, closed)."""
    BLACKLISTED = "blacklisted"
    FAILED = "failed"
    """A technical failure, or a crash left no better information."""
    TRANSFERRED_OUT = "transferred_out"
    """Handed to a number outside the platform."""
    NO_ANSWER = "no_answer"
    """A leg Helpline placed (a consultation, a supervisor's phone) was not answered."""
    BUSY = "busy"
    """A leg Helpline placed was refused busy (486, 600)."""
    CANCELLED = "cancelled"
    """A leg Helpline placed was given up before anyone answered."""


class HangupSide(StrEnum):
    """Who ended the call."""

    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


class SegmentKind(StrEnum):
    """What a stretch of the call was."""

    IVR = "ivr"
    QUEUE = "queue"
    """Waiting in a queue, from joining until answered or leaving."""
    OFFER = "offer"
    """One offer to one agent (overlaps the queue wait); ``result`` tells its fate."""
    RING = "ring"
    """Ringing a number or phone outside an offer (outbound calls, transfers)."""
    TALK = "talk"
    """Connected to a person, excluding holds (a hold ends the talk segment)."""
    HOLD = "hold"
    TRANSFER = "transfer"
    WRAP_UP = "wrap_up"
    """The agent's after-call work; it starts when the caller's connection ends."""
    VOICEMAIL = "voicemail"


class SegmentResult(StrEnum):
    """How a segment ended, where it matters (offers, queue waits, IVR)."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    BUSY = "busy"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    OVERFLOW = "overflow"
    TIMEOUT = "timeout"
    CALLBACK = "callback"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """Cut off by a crash; closed on start at the call's last known activity."""


class QueueEventKind(StrEnum):
    """One step of a caller through a queue, for statistics."""

    JOIN = "join"
    OFFER = "offer"
    ANSWER = "answer"
    ABANDON = "abandon"
    OVERFLOW = "overflow"
    TIMEOUT = "timeout"
    CALLBACK_REQUESTED = "callback_requested"
    LEAVE = "leave"


class CallRecord(TenantOwned, Timestamped, Base):
    """One call as the tenant's statistics and agents see it."""

    __tablename__ = "call_records"
    __table_args__ = (UniqueConstraint("tenant_id", "call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(MAX_CALL_ID_LENGTH))
    """The SIP Call-ID of the caller's leg (unique per tenant)."""
    direction: Mapped[CallDirection] = mapped_column(str_enum(CallDirection))
    caller: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    called: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    """The dialed number."""
    service_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """The routing service the call reached (no foreign key: records outlive services)."""
    queue: Mapped[str | None] = mapped_column(String(MAX_QUEUE_LENGTH), index=True, default=None)
    agent: Mapped[str | None] = mapped_column(String(MAX_USERNAME_LENGTH), index=True, default=None)
    """The username of the agent who took the call (the last one, after transfers)."""
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """When the caller's connection ended (the agent's wrap-up may go on after it)."""
    outcome: Mapped[CallOutcome] = mapped_column(str_enum(CallOutcome), index=True)
    ivr_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    wait_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    """Time spent waiting in queues."""
    talk_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    hold_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    wrap_up_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    hangup_side: Mapped[HangupSide | None] = mapped_column(str_enum(HangupSide), default=None)
    recording_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """The call's recording, if any (no foreign key: a deleted recording leaves the record)."""
    disposition: Mapped[str | None] = mapped_column(String(MAX_CODE_LENGTH), default=None)
    """The agent's classification: a built-in or custom disposition code."""
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    parent_call_id: Mapped[str | None] = mapped_column(
        String(MAX_CALL_ID_LENGTH), index=True, default=None
    )
    """For a leg Helpline placed inside another call's life (a consultation, a
    supervisor's leg): the ``call_id`` of that call (same tenant); None for calls."""
    node: Mapped[str] = mapped_column(String(MAX_NODE_LENGTH), default="")
    """The node handling the call; crash recovery is per node."""
    open: Mapped[bool] = mapped_column(default=True, index=True)
    recovered: Mapped[bool] = mapped_column(default=False)
    """Closed on start after a crash, from what had reached the database."""
    segments: Mapped[list[CallSegment]] = relationship(
        order_by="CallSegment.seq", viewonly=True, lazy="raise"
    )
    """Loaded on request only (:func:`helpline.calls.service.with_segments`)."""


class CallSegment(Base):
    """One stretch of a call (segments may overlap: offers ring during the queue wait)."""

    __tablename__ = "call_segments"
    __table_args__ = (UniqueConstraint("record_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("call_records.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    """Order of the segment's start within the call, from 0."""
    kind: Mapped[SegmentKind] = mapped_column(str_enum(SegmentKind))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    agent: Mapped[str | None] = mapped_column(String(MAX_USERNAME_LENGTH), default=None)
    queue: Mapped[str | None] = mapped_column(String(MAX_QUEUE_LENGTH), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Kind-specific facts: the IVR node, digits, the phone rung, the transfer target."""
    result: Mapped[SegmentResult | None] = mapped_column(str_enum(SegmentResult), default=None)


class Disposition(TenantOwned, Timestamped, Base):
    """A custom disposition code of a tenant (the built-in ones are not stored)."""

    __tablename__ = "dispositions"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(MAX_CODE_LENGTH))
    label: Mapped[str] = mapped_column(String(MAX_LABEL_LENGTH))
    active: Mapped[bool] = mapped_column(default=True)
    """Inactive codes stay on old records but cannot be given to calls any more."""


class QueueEvent(TenantOwned, Base):
    """One entry of the queue event log."""

    __tablename__ = "queue_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    queue: Mapped[str] = mapped_column(String(MAX_QUEUE_LENGTH), index=True)
    call_id: Mapped[str] = mapped_column(String(MAX_CALL_ID_LENGTH))
    event: Mapped[QueueEventKind] = mapped_column(str_enum(QueueEventKind))
    agent: Mapped[str | None] = mapped_column(String(MAX_USERNAME_LENGTH), default=None)
    wait_seconds: Mapped[float | None] = mapped_column(Double, default=None)
    """How long the caller had waited when the event happened."""
    position: Mapped[int | None] = mapped_column(Integer, default=None)
    """The caller's position in the queue (1 = next), where known."""
