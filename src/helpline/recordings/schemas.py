"""API shapes for call recordings (read-only; rows are written by call control)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field

from helpline.recordings.models import CallDirection, RecordingStatus

API_PREFIX = "/api/v1"


class RecordingOut(BaseModel):
    """A recording as the API shows it (never its path on the server)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: str
    caller: str
    callee: str
    agent: str | None
    direction: CallDirection
    stereo: bool
    status: RecordingStatus
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float
    size_bytes: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def audio_url(self) -> str:
        """Where to download the audio (audio/wav, 8 kHz 16-bit; stereo: caller left,
        agent right)."""
        return f"{API_PREFIX}/recordings/{self.id}/audio"
