"""HTTP routes for voicemail boxes and their messages.

Tenant admins manage boxes; supervisors read every box and message; an agent reads,
marks and deletes the messages of the boxes whose owner is ``agent`` with their
username. Downloading a message's audio marks it heard.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import FileResponse

from helpline.api.deps import AnyUser, Db, TenantAdmin, get_runtime
from helpline.core.pagination import Page, PageParams
from helpline.runtime import Runtime
from helpline.voicemail import service
from helpline.voicemail.models import OwnerKind
from helpline.voicemail.schemas import BoxCreate, BoxOut, BoxUpdate, MessageOut, MessageUpdate

router = APIRouter(tags=["voicemail"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
WAV = "audio/wav"
_AUDIO_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {WAV: {}}, "description": "8 kHz 16-bit PCM mono WAV"}
}


@router.get("/voicemail-boxes", response_model=Page[BoxOut])
async def list_boxes(
    db: Db,
    principal: AnyUser,
    params: Annotated[PageParams, Query()],
    owner_kind: OwnerKind | None = None,
    owner_ref: str | None = None,
) -> object:
    """Voicemail boxes by name (an agent sees their own)."""
    items, total = await service.list_boxes(
        db, principal=principal, params=params, owner_kind=owner_kind, owner_ref=owner_ref
    )
    return Page[BoxOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/voicemail-boxes", response_model=BoxOut, status_code=status.HTTP_201_CREATED)
async def create_box(data: BoxCreate, db: Db, principal: TenantAdmin) -> object:
    """A new voicemail box."""
    return await service.create_box(db, principal=principal, data=data)


@router.get("/voicemail-boxes/{box_id}", response_model=BoxOut)
async def get_box(box_id: int, db: Db, principal: AnyUser) -> object:
    """One voicemail box."""
    return await service.get_box(db, principal=principal, box_id=box_id)


@router.patch("/voicemail-boxes/{box_id}", response_model=BoxOut)
async def update_box(box_id: int, data: BoxUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change a box; omitted fields stay, ``null`` clears greeting, language, time zone."""
    return await service.update_box(db, principal=principal, box_id=box_id, data=data)


@router.delete("/voicemail-boxes/{box_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_box(box_id: int, db: Db, principal: TenantAdmin, runtime: RuntimeDep) -> None:
    """Remove a box with its messages and their files."""
    await service.delete_box(
        db, principal=principal, data_dir=runtime.settings.data_dir, box_id=box_id
    )


@router.get("/voicemail-boxes/{box_id}/messages", response_model=Page[MessageOut])
async def list_messages(
    box_id: int,
    db: Db,
    principal: AnyUser,
    params: Annotated[PageParams, Query()],
    heard: bool | None = None,
) -> object:
    """The box's messages, newest first; ``heard=false`` lists the new ones."""
    items, total = await service.list_messages(
        db, principal=principal, params=params, box_id=box_id, heard=heard
    )
    return Page[MessageOut](
        items=[MessageOut.model_validate(i) for i in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.get("/voicemail-messages/{message_id}", response_model=MessageOut)
async def get_message(message_id: int, db: Db, principal: AnyUser) -> object:
    """One message's metadata."""
    return await service.get_message(db, principal=principal, message_id=message_id)


@router.patch("/voicemail-messages/{message_id}", response_model=MessageOut)
async def update_message(
    message_id: int, data: MessageUpdate, db: Db, principal: AnyUser
) -> object:
    """Mark a message heard or new."""
    return await service.set_heard(db, principal=principal, message_id=message_id, heard=data.heard)


@router.get(
    "/voicemail-messages/{message_id}/audio",
    response_class=FileResponse,
    responses=_AUDIO_RESPONSE,
)
async def message_audio(
    message_id: int, db: Db, principal: AnyUser, runtime: RuntimeDep
) -> FileResponse:
    """The message's audio as WAV; marks it heard."""
    message = await service.get_message(db, principal=principal, message_id=message_id)
    path = service.audio_path(data_dir=runtime.settings.data_dir, message=message)
    service.mark(message, principal=principal, heard=True)
    return FileResponse(path, media_type=WAV, filename=f"voicemail-{message.id}.wav")


@router.delete("/voicemail-messages/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_message(message_id: int, db: Db, principal: AnyUser, runtime: RuntimeDep) -> None:
    """Remove a message and its file."""
    await service.delete_message(
        db, principal=principal, data_dir=runtime.settings.data_dir, message_id=message_id
    )
