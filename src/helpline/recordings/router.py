"""HTTP routes for call recordings: list, metadata, download, delete.

Supervisors and tenant admins see the tenant's recordings, an agent only the recordings
of their own calls; only a tenant admin deletes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime

from helpline.api.deps import AnyUser, Db, TenantAdmin, get_runtime
from helpline.core.pagination import Page, PageParams
from helpline.recordings import service
from helpline.recordings.schemas import RecordingOut
from helpline.runtime import Runtime

router = APIRouter(tags=["recordings"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
WAV = "audio/wav"
_AUDIO_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {WAV: {}}, "description": "8 kHz 16-bit PCM WAV (stereo: caller left)"}
}


@router.get("/recordings", response_model=Page[RecordingOut])
async def list_recordings(
    db: Db,
    principal: AnyUser,
    params: Annotated[PageParams, Query()],
    call_id: str | None = None,
    caller: str | None = None,
    agent: str | None = None,
    started_from: AwareDatetime | None = None,
    started_to: AwareDatetime | None = None,
) -> object:
    """Recordings, newest first; ``started_from`` (inclusive) and ``started_to``
    (exclusive) bound the start time and need a UTC offset."""
    items, total = await service.list_recordings(
        db,
        principal=principal,
        params=params,
        call_id=call_id,
        caller=caller,
        agent=agent,
        started_from=started_from,
        started_to=started_to,
    )
    return Page[RecordingOut](
        items=[RecordingOut.model_validate(i) for i in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.get("/recordings/{recording_id}", response_model=RecordingOut)
async def get_recording(recording_id: int, db: Db, principal: AnyUser) -> object:
    """One recording's metadata."""
    return await service.get_recording(db, principal=principal, recording_id=recording_id)


@router.get(
    "/recordings/{recording_id}/audio", response_class=FileResponse, responses=_AUDIO_RESPONSE
)
async def recording_audio(
    recording_id: int, db: Db, principal: AnyUser, runtime: RuntimeDep
) -> FileResponse:
    """The recording's audio as WAV."""
    recording = await service.get_recording(db, principal=principal, recording_id=recording_id)
    path = service.audio_path(data_dir=runtime.settings.data_dir, recording=recording)
    return FileResponse(path, media_type=WAV, filename=f"recording-{recording.id}.wav")


@router.delete("/recordings/{recording_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_recording(
    recording_id: int, db: Db, principal: TenantAdmin, runtime: RuntimeDep
) -> None:
    """Remove a finished recording and its file."""
    await service.delete_recording(
        db, principal=principal, data_dir=runtime.settings.data_dir, recording_id=recording_id
    )
