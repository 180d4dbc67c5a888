"""Call recordings: one row per WAV file the media engine writes.

A row is inserted with status ``recording`` before the engine opens the file, so a crash
leaves a row behind that points at the half-written file; on start every such row is
repaired (:func:`helpline.recordings.service.repair_unfinished`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Double, String
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum
from helpline.sip.registrar import MAX_CALL_ID_LENGTH

MAX_PARTY_LENGTH = 255
MAX_USERNAME_LENGTH = 100
MAX_PATH_LENGTH = 300


class RecordingStatus(StrEnum):
    """Where a recording is in its life."""

    RECORDING = "recording"
    """The engine is writing it (or was, when the process died)."""
    COMPLETE = "complete"
    """Closed normally; the header was finalised by the writer."""
    REPAIRED = "repaired"
    """Left open by a crash; the header was rebuilt from the file on start."""
    FAILED = "failed"
    """The engine reported an error, or the file was missing or unreadable on repair."""


class CallDirection(StrEnum):
    """Which way the recorded call went."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Recording(TenantOwned, Timestamped, Base):
    """The metadata of one call recording; the audio is a 16-bit PCM WAV file."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(MAX_CALL_ID_LENGTH), index=True)
    """The SIP Call-ID (or call reference) of the recorded call."""
    caller: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    callee: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    agent: Mapped[str | None] = mapped_column(String(MAX_USERNAME_LENGTH), default=None)
    """The username of the agent on the call, if any."""
    direction: Mapped[CallDirection] = mapped_column(str_enum(CallDirection))
    path: Mapped[str] = mapped_column(String(MAX_PATH_LENGTH))
    """Relative to the data directory: ``recordings/<tenant>/<yyyy>/<mm>/<dd>/<uuid>.wav``."""
    stereo: Mapped[bool] = mapped_column(default=True)
    status: Mapped[RecordingStatus] = mapped_column(str_enum(RecordingStatus), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    duration_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    size_bytes: Mapped[int] = mapped_column(default=0)
    #: The node writing the file (its data directory holds it); repairs are per node.
    node: Mapped[str] = mapped_column(String(100), default="")
