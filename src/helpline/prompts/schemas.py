"""API shapes for tenant prompts and text-to-speech."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field

from helpline.prompts.language import NAME_PATTERN, Language
from helpline.prompts.models import PromptSource
from helpline.prompts.tts import DEFAULT_RATE, MAX_TEXT

API_PREFIX = "/api/v1"


class PromptOut(BaseModel):
    """A tenant prompt as the API shows it (never its path on the server)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    language: Language
    source: PromptSource
    original_filename: str
    duration_ms: int
    size_bytes: int
    text: str | None
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def audio_url(self) -> str:
        """Where to download the audio (audio/wav)."""
        return f"{API_PREFIX}/prompts/{self.id}/audio"


class TtsRequest(BaseModel):
    """Text to synthesize; with ``name`` the result is also kept as a tenant prompt."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: Language = Language.EN
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    rate: int = Field(default=DEFAULT_RATE, ge=80, le=300, description="Words per minute.")


class TtsOut(BaseModel):
    """Synthesized audio: a preview URL, and the stored prompt when a name was given."""

    key: str
    language: Language
    voice: str
    duration_ms: int
    cached: bool
    preview_url: str
    prompt: PromptOut | None = None
