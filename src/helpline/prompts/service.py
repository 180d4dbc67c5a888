"""Tenant prompts: upload (converted once), text-to-speech, listing and removal.

Every function takes the tenant from the principal. Audio files live under
``<data_dir>/prompts/<tenant_id>/`` at the place :mod:`helpline.prompts.library` looks,
and follow the unit of work: a new file is removed again if the transaction rolls back,
and a deleted prompt's file goes only once the deletion is committed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.prompts.audio import TARGET_RATE
from helpline.prompts.convert import convert_upload
from helpline.prompts.language import Language, valid_name
from helpline.prompts.library import tenant_prompt_path, tenant_prompts_dir
from helpline.prompts.models import Prompt, PromptSource
from helpline.prompts.schemas import TtsRequest
from helpline.prompts.tts import Speech, cache_path, synthesize, voice_for, write_atomically

AUDITED = ("name", "language", "source", "original_filename", "duration_ms", "size_bytes", "text")
TTS_CACHE = "tts-cache"
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class TtsResult:
    """Synthesized speech, and the prompt made from it when a name was given."""

    speech: Speech
    voice: str
    prompt: Prompt | None


def _remove_on(session: AsyncSession, moment: str, path: Path) -> None:
    def remove(_session: Session) -> None:
        path.unlink(missing_ok=True)

    event.listen(session.sync_session, moment, remove, once=True)


async def list_prompts(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    name: str | None,
    language: Language | None,
) -> tuple[list[Prompt], int]:
    """The prompts of the principal's tenant."""
    return await paginate(
        session,
        select(Prompt).where(Prompt.tenant_id == principal.tenant_id),
        params,
        sortable={
            "id": Prompt.id,
            "name": Prompt.name,
            "language": Prompt.language,
            "created_at": Prompt.created_at,
        },
        filters={"name": (Prompt.name, name), "language": (Prompt.language, language)},
        default_sort=(Prompt.name, Prompt.language),
    )


async def get_prompt(session: AsyncSession, *, principal: Principal, prompt_id: int) -> Prompt:
    """A prompt of the principal's tenant."""
    return await get_owned(session, Prompt, prompt_id, tenant_id=principal.tenant_id, what="prompt")


def audio_path(*, data_dir: Path, prompt: Prompt) -> Path:
    """The audio file of ``prompt``; :class:`NotFound` if it has gone missing."""
    path = tenant_prompt_path(data_dir, prompt.tenant_id, prompt.language, prompt.name)
    if not path.is_file():
        raise NotFound("the prompt's audio file is missing", error_id="prompt_audio_missing")
    return path


async def create_prompt(
    session: AsyncSession,
    *,
    principal: Principal,
    data_dir: Path,
    name: str,
    language: Language,
    wav: bytes,
    source: PromptSource,
    original_filename: str = "",
    text: str | None = None,
) -> Prompt:
    """Store ``wav`` (already 8 kHz mono 16-bit) as the tenant's prompt ``name``."""
    if not valid_name(name):
        raise Conflict(f"invalid prompt name {name!r}", error_id="invalid_prompt_name")
    exists = await session.execute(
        select(Prompt.id).where(
            Prompt.tenant_id == principal.tenant_id,
            Prompt.name == name,
            Prompt.language == language,
        )
    )
    if exists.first() is not None:
        raise Conflict(
            f"prompt {name!r} exists in {language.value}; delete it first",
            error_id="prompt_exists",
        )
    path = tenant_prompt_path(data_dir, principal.tenant_id, language, name)
    prompt = Prompt(
        tenant_id=principal.tenant_id,
        name=name,
        language=language,
        source=source,
        original_filename=original_filename[:255],
        stored_path=str(path.relative_to(tenant_prompts_dir(data_dir, principal.tenant_id))),
        duration_ms=round((len(wav) - 44) * 1000 / (2 * TARGET_RATE)),
        size_bytes=len(wav),
        text=text,
    )
    session.add(prompt)
    await session.flush()
    await asyncio.to_thread(write_atomically, path, wav)
    _remove_on(session, "after_rollback", path)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="prompt",
        obj=prompt,
        fields=AUDITED,
    )
    return prompt


async def upload_prompt(
    session: AsyncSession,
    *,
    principal: Principal,
    data_dir: Path,
    name: str,
    language: Language,
    data: bytes,
    filename: str,
) -> Prompt:
    """Convert an uploaded audio file once and store it as the tenant's prompt ``name``."""
    converted = await convert_upload(data)
    return await create_prompt(
        session,
        principal=principal,
        data_dir=data_dir,
        name=name,
        language=language,
        wav=converted.wav,
        source=PromptSource.UPLOAD,
        original_filename=filename,
    )


async def delete_prompt(
    session: AsyncSession, *, principal: Principal, data_dir: Path, prompt_id: int
) -> None:
    """Remove a prompt of the principal's tenant; its file goes when the deletion commits."""
    prompt = await get_prompt(session, principal=principal, prompt_id=prompt_id)
    before = audit.snapshot(prompt, AUDITED)
    path = tenant_prompt_path(data_dir, prompt.tenant_id, prompt.language, prompt.name)
    await session.delete(prompt)
    _remove_on(session, "after_commit", path)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=prompt.tenant_id,
        action="delete",
        entity="prompt",
        obj=prompt,
        fields=AUDITED,
        before=before,
    )


def tts_cache_dir(data_dir: Path, tenant_id: int) -> Path:
    """The tenant's text-to-speech cache (per tenant, so previews never cross tenants)."""
    return tenant_prompts_dir(data_dir, tenant_id) / TTS_CACHE


async def text_to_speech(
    session: AsyncSession, *, principal: Principal, data_dir: Path, data: TtsRequest
) -> TtsResult:
    """Synthesize ``data.text`` (cached); with ``data.name`` also store it as a prompt."""
    if data.name is not None:
        exists = await session.execute(
            select(Prompt.id).where(
                Prompt.tenant_id == principal.tenant_id,
                Prompt.name == data.name,
                Prompt.language == data.language,
            )
        )
        if exists.first() is not None:
            raise Conflict(
                f"prompt {data.name!r} exists in {data.language.value}; delete it first",
                error_id="prompt_exists",
            )
    speech = await synthesize(
        data.text,
        language=data.language,
        cache_dir=tts_cache_dir(data_dir, principal.tenant_id),
        rate=data.rate,
    )
    voice = voice_for(data.text.strip(), data.language)
    prompt = None
    if data.name is not None:
        wav = await asyncio.to_thread(speech.path.read_bytes)
        prompt = await create_prompt(
            session,
            principal=principal,
            data_dir=data_dir,
            name=data.name,
            language=data.language,
            wav=wav,
            source=PromptSource.TTS,
            text=data.text.strip(),
        )
    return TtsResult(speech=speech, voice=voice, prompt=prompt)


def preview_path(*, principal: Principal, data_dir: Path, key: str) -> Path:
    """The cached synthesis ``key`` of the principal's tenant."""
    if _KEY.fullmatch(key):
        path = cache_path(tts_cache_dir(data_dir, principal.tenant_id), key)
        if path.is_file():
            return path
    raise NotFound("no such speech preview")
