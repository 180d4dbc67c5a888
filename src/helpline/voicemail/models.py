"""Voicemail boxes and the messages left in them.

A message row is committed with status ``recording`` before the caller is recorded, so a
crash leaves a row pointing at the half-written WAV file; on start every such row of
the node is repaired (:func:`helpline.voicemail.service.repair_unfinished`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum
from helpline.prompts.language import Language
from helpline.recordings.models import MAX_PARTY_LENGTH, MAX_PATH_LENGTH, MAX_USERNAME_LENGTH
from helpline.sip.registrar import MAX_CALL_ID_LENGTH

MAX_NAME_LENGTH = 100
MAX_OWNER_LENGTH = 100
MAX_PROMPT_NAME_LENGTH = 200
MAX_TIMEZONE_LENGTH = 64


class OwnerKind(StrEnum):
    """Whose box it is."""

    QUEUE = "queue"
    DEPARTMENT = "department"
    AGENT = "agent"
    """``owner_ref`` is a username; that agent reads the box's messages."""


class MessageStatus(StrEnum):
    """Where a message is in its life."""

    RECORDING = "recording"
    """The caller is being recorded (or was, when the process died)."""
    COMPLETE = "complete"
    """Recorded to the end."""
    REPAIRED = "repaired"
    """Left open by a crash; the WAV header was rebuilt from the file on start."""
    FAILED = "failed"
    """Recording failed, or the file was missing or unreadable on repair."""


class VoicemailBox(TenantOwned, Timestamped, Base):
    """A mailbox callers leave messages in."""

    __tablename__ = "voicemail_boxes"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    """What IVR flows name the box by (the voicemail transfer target)."""
    owner_kind: Mapped[OwnerKind] = mapped_column(str_enum(OwnerKind))
    owner_ref: Mapped[str] = mapped_column(String(MAX_OWNER_LENGTH))
    """The queue's or department's name, or the agent's username."""
    greeting: Mapped[str | None] = mapped_column(String(MAX_PROMPT_NAME_LENGTH), default=None)
    """A prompt name; None plays the system greeting."""
    max_seconds: Mapped[int] = mapped_column(default=120)
    silence_seconds: Mapped[float] = mapped_column(Double, default=5.0)
    notify_emails: Mapped[list[Any]] = mapped_column(JSON, default=list)
    language: Mapped[Language | None] = mapped_column(str_enum(Language), default=None)
    """Language of the notification e-mail; None: the tenant's."""
    timezone: Mapped[str | None] = mapped_column(String(MAX_TIMEZONE_LENGTH), default=None)
    """Time zone of the times in the notification e-mail; None: the tenant's."""
    enabled: Mapped[bool] = mapped_column(default=True)


class VoicemailMessage(TenantOwned, Timestamped, Base):
    """One message; the audio is an 8 kHz mono 16-bit PCM WAV file."""

    __tablename__ = "voicemail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    box_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("voicemail_boxes.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str] = mapped_column(String(MAX_CALL_ID_LENGTH))
    caller: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    """The caller's number, "" when anonymous."""
    called: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    duration_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    size_bytes: Mapped[int] = mapped_column(default=0)
    path: Mapped[str] = mapped_column(String(MAX_PATH_LENGTH))
    """Relative to the data directory: ``voicemail/<tenant>/<box>/<uuid>.wav``."""
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus), index=True)
    heard: Mapped[bool] = mapped_column(default=False)
    heard_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    heard_by: Mapped[str | None] = mapped_column(String(MAX_USERNAME_LENGTH), default=None)
    #: The node that recorded it (its data directory holds the file); repairs are per node.
    node: Mapped[str] = mapped_column(String(100), default="")
