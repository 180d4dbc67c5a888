"""HTTP routes for tenant prompts: list, upload, text-to-speech, download, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, UploadFile, status
from fastapi.responses import FileResponse

from helpline.api.deps import Db, Supervisor, TenantAdmin, get_runtime
from helpline.core.pagination import Page, PageParams
from helpline.prompts import service
from helpline.prompts.audio import AudioError
from helpline.prompts.convert import MAX_UPLOAD_BYTES
from helpline.prompts.language import NAME_PATTERN, Language
from helpline.prompts.schemas import API_PREFIX, PromptOut, TtsOut, TtsRequest
from helpline.runtime import Runtime

router = APIRouter(tags=["prompts"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
WAV = "audio/wav"
_AUDIO_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {WAV: {}}, "description": "8 kHz mono 16-bit PCM WAV"}
}


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise AudioError(
                f"the file is larger than {limit // (1024 * 1024)} MiB",
                error_id="upload_too_large",
                status_code=413,
                details={"max_bytes": limit},
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/prompts", response_model=Page[PromptOut])
async def list_prompts(
    db: Db,
    principal: Supervisor,
    params: Annotated[PageParams, Query()],
    name: str | None = None,
    language: Language | None = None,
) -> object:
    """Prompts of the tenant."""
    items, total = await service.list_prompts(
        db, principal=principal, params=params, name=name, language=language
    )
    return Page[PromptOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/prompts", response_model=PromptOut, status_code=status.HTTP_201_CREATED)
async def upload_prompt(
    db: Db,
    principal: TenantAdmin,
    runtime: RuntimeDep,
    file: UploadFile,
    name: Annotated[str, Form(pattern=NAME_PATTERN)],
    language: Annotated[Language, Form()] = Language.EN,
) -> object:
    """Upload audio (WAV, MP3, Ogg, FLAC, M4A); it is converted once to 8 kHz mono WAV."""
    data = await _read_limited(file, MAX_UPLOAD_BYTES)
    return await service.upload_prompt(
        db,
        principal=principal,
        data_dir=runtime.settings.data_dir,
        name=name,
        language=language,
        data=data,
        filename=file.filename or "",
    )


@router.post("/prompts/tts", response_model=TtsOut)
async def text_to_speech(
    data: TtsRequest, db: Db, principal: TenantAdmin, runtime: RuntimeDep
) -> object:
    """Synthesize text (cached); with ``name`` keep it as a tenant prompt."""
    result = await service.text_to_speech(
        db, principal=principal, data_dir=runtime.settings.data_dir, data=data
    )
    return TtsOut(
        key=result.speech.key,
        language=data.language,
        voice=result.voice,
        duration_ms=round(result.speech.duration * 1000),
        cached=result.speech.cached,
        preview_url=f"{API_PREFIX}/prompts/tts/{result.speech.key}",
        prompt=PromptOut.model_validate(result.prompt) if result.prompt else None,
    )


@router.get("/prompts/tts/{tts_key}", response_class=FileResponse, responses=_AUDIO_RESPONSE)
async def tts_preview(tts_key: str, principal: Supervisor, runtime: RuntimeDep) -> FileResponse:
    """Synthesized audio to listen to before keeping it."""
    path = service.preview_path(
        principal=principal, data_dir=runtime.settings.data_dir, key=tts_key
    )
    return FileResponse(path, media_type=WAV)


@router.get("/prompts/{prompt_id}", response_model=PromptOut)
async def get_prompt(prompt_id: int, db: Db, principal: Supervisor) -> object:
    """One prompt."""
    return await service.get_prompt(db, principal=principal, prompt_id=prompt_id)


@router.get("/prompts/{prompt_id}/audio", response_class=FileResponse, responses=_AUDIO_RESPONSE)
async def prompt_audio(
    prompt_id: int, db: Db, principal: Supervisor, runtime: RuntimeDep
) -> FileResponse:
    """The prompt's audio, 8 kHz mono 16-bit WAV."""
    prompt = await service.get_prompt(db, principal=principal, prompt_id=prompt_id)
    path = service.audio_path(data_dir=runtime.settings.data_dir, prompt=prompt)
    filename = f"{prompt.name.replace('/', '-')}.{prompt.language.value}.wav"
    return FileResponse(path, media_type=WAV, filename=filename)


@router.delete("/prompts/{prompt_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_prompt(
    prompt_id: int, db: Db, principal: TenantAdmin, runtime: RuntimeDep
) -> None:
    """Remove a prompt."""
    await service.delete_prompt(
        db, principal=principal, data_dir=runtime.settings.data_dir, prompt_id=prompt_id
    )
