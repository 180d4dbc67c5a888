"""Prompts a tenant uploaded or synthesized, replacing or adding to the system set."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, UtcDateTime, str_enum, utcnow
from helpline.prompts.language import Language


class PromptSource(StrEnum):
    """How a tenant prompt was made."""

    UPLOAD = "upload"
    TTS = "tts"


class Prompt(TenantOwned, Base):
    """One tenant prompt: a name in a language, stored as 8 kHz mono 16-bit WAV."""

    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(170))
    language: Mapped[Language] = mapped_column(str_enum(Language))
    source: Mapped[PromptSource] = mapped_column(str_enum(PromptSource))
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    stored_path: Mapped[str] = mapped_column(String(300))
    """Relative to the tenant's prompt directory: ``<language>/<name>.wav``."""
    duration_ms: Mapped[int]
    size_bytes: Mapped[int]
    text: Mapped[str | None] = mapped_column(String(1000), default=None)
    """What a synthesized prompt says."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
