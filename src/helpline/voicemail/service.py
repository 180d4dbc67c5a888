"""Voicemail: boxes and messages for the API, bookkeeping for call control, crash repair.

Call control (no principal) finds a box with :func:`box_for_call` and leaves a message
through :func:`helpline.voicemail.deposit.leave_message`, which uses :func:`begin_message`
(committed *before* the caller is recorded), then :func:`finish_message` or
:func:`discard_message`. A process killed in between leaves the row at ``recording``;
:func:`repair_unfinished`, run once at start, rebuilds the WAV header from what reached
the disk, as for call recordings.

The API functions take the tenant from the principal. Tenant admins manage boxes;
supervisors read every box and message of the tenant; an agent reads (and marks, and
deletes) the messages of the boxes whose owner is ``agent`` with their username. A
deleted message's file goes once the deletion is committed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned, utcnow
from helpline.prompts.language import FALLBACK, Language
from helpline.recordings.models import MAX_PARTY_LENGTH
from helpline.recordings.service import RecordingPath, repair_file, unlink_after_commit
from helpline.sip.registrar import MAX_CALL_ID_LENGTH
from helpline.tenants.models import Tenant
from helpline.users.models import Role
from helpline.voicemail.models import MessageStatus, OwnerKind, VoicemailBox, VoicemailMessage
from helpline.voicemail.schemas import NULLABLE, BoxCreate, BoxUpdate

log = logging.getLogger(__name__)

VOICEMAIL_DIR = "voicemail"
BOX_AUDITED = (
    "name",
    "owner_kind",
    "owner_ref",
    "greeting",
    "max_seconds",
    "silence_seconds",
    "notify_emails",
    "language",
    "timezone",
    "enabled",
)
MESSAGE_AUDITED = (
    "box_id",
    "call_id",
    "caller",
    "called",
    "received_at",
    "duration_seconds",
    "status",
    "heard",
)


@dataclass(frozen=True, slots=True)
class BoxConfig:
    """What call control needs of a box, with the tenant's defaults filled in."""

    id: int
    tenant_id: int
    name: str
    greeting: str | None
    max_seconds: int
    silence_seconds: float
    notify_emails: tuple[str, ...]
    language: Language
    """Language of the notification e-mail."""
    timezone: str
    """Time zone of the notification e-mail's times."""


def _language(code: str) -> Language:
    try:
        return Language(code)
    except ValueError:
        return FALLBACK


def to_config(box: VoicemailBox, tenant: Tenant) -> BoxConfig:
    """The frozen view of ``box`` (of ``tenant``) that call control works with."""
    return BoxConfig(
        id=box.id,
        tenant_id=box.tenant_id,
        name=box.name,
        greeting=box.greeting,
        max_seconds=box.max_seconds,
        silence_seconds=box.silence_seconds,
        notify_emails=tuple(str(a) for a in box.notify_emails),
        language=box.language or _language(tenant.locale),
        timezone=box.timezone or tenant.timezone,
    )


async def box_for_call(session: AsyncSession, *, tenant_id: int, name: str) -> BoxConfig | None:
    """The enabled box ``name`` of ``tenant_id`` (a voicemail transfer target), or None."""
    return await _box(session, tenant_id, VoicemailBox.name == name)


async def box_by_id(session: AsyncSession, *, tenant_id: int, box_id: int) -> BoxConfig | None:
    """The enabled box ``box_id`` of ``tenant_id`` (a service's target), or None."""
    return await _box(session, tenant_id, VoicemailBox.id == box_id)


async def _box(
    session: AsyncSession, tenant_id: int, which: ColumnElement[bool]
) -> BoxConfig | None:
    row = (
        await session.execute(
            select(VoicemailBox, Tenant)
            .join(Tenant, Tenant.id == VoicemailBox.tenant_id)
            .where(VoicemailBox.tenant_id == tenant_id, which, VoicemailBox.enabled.is_(True))
        )
    ).first()
    return None if row is None else to_config(row[0], row[1])


def message_path(data_dir: Path, *, tenant_id: int, box_id: int) -> RecordingPath:
    """A new file name ``voicemail/<tenant>/<box>/<uuid>.wav``; its directory is created."""
    relative = Path(VOICEMAIL_DIR, str(tenant_id), str(box_id), f"{uuid.uuid4().hex}.wav")
    absolute = data_dir / relative
    absolute.parent.mkdir(parents=True, exist_ok=True)
    return RecordingPath(relative.as_posix(), absolute)


async def begin_message(
    session: AsyncSession,
    *,
    box: BoxConfig,
    call_id: str,
    caller: str,
    called: str,
    path: str,
    received_at: datetime,
    node: str = "",
) -> VoicemailMessage:
    """Insert the row of a message about to be recorded (status ``recording``).

    ``path`` is :attr:`RecordingPath.relative`. Commit before recording starts, so that
    a crash leaves a row to repair. Over-long texts are cut to their columns.
    """
    message = VoicemailMessage(
        tenant_id=box.tenant_id,
        box_id=box.id,
        call_id=call_id[:MAX_CALL_ID_LENGTH],
        caller=caller[:MAX_PARTY_LENGTH],
        called=called[:MAX_PARTY_LENGTH],
        received_at=received_at,
        path=path,
        status=MessageStatus.RECORDING,
        node=node,
    )
    session.add(message)
    await session.flush()
    return message


async def finish_message(
    session: AsyncSession, *, message_id: int, duration: float, size: int
) -> VoicemailMessage | None:
    """Store a recorded message's length and size (status ``complete``); None if its row
    is gone (its box or tenant was deleted meanwhile)."""
    message = await session.get(VoicemailMessage, message_id)
    if message is None:
        log.warning("voicemail message %s recorded but its row is gone", message_id)
        return None
    message.status = MessageStatus.COMPLETE
    message.duration_seconds = duration
    message.size_bytes = size
    return message


async def discard_message(session: AsyncSession, *, message_id: int, data_dir: Path) -> None:
    """Remove a message that is not kept (too short, the caller left before the beep);
    its file goes when the deletion commits."""
    message = await session.get(VoicemailMessage, message_id)
    if message is not None:
        await session.delete(message)
        unlink_after_commit(session, data_dir / message.path)


async def fail_message(session: AsyncSession, *, message_id: int) -> None:
    """Mark a message whose recording went wrong ``failed``."""
    message = await session.get(VoicemailMessage, message_id)
    if message is not None:
        message.status = MessageStatus.FAILED


async def repair_unfinished(session: AsyncSession, *, data_dir: Path, node: str = "") -> int:
    """Settle every message of this ``node`` (every tenant) still marked ``recording``
    (left by a crash): repair its WAV file and store duration and size (``repaired``),
    or ``failed`` if the file is missing or unreadable. How many it settled.

    Run once at start, before calls are taken: it assumes no message is being recorded.
    """
    rows = (
        await session.execute(
            select(VoicemailMessage)
            .where(
                VoicemailMessage.status == MessageStatus.RECORDING, VoicemailMessage.node == node
            )
            .order_by(VoicemailMessage.id)
        )
    ).scalars()
    count = 0
    for message in rows:
        state = await asyncio.to_thread(repair_file, data_dir / message.path)
        message.status = MessageStatus(state.status.value)
        message.duration_seconds = state.duration
        message.size_bytes = state.size
        log.info(
            "voicemail message %s (tenant %s, box %s) after a crash: %s, %.1f s",
            message.id,
            message.tenant_id,
            message.box_id,
            message.status.value,
            message.duration_seconds,
        )
        count += 1
    return count


def _readable_boxes(stmt: Select[Any], principal: Principal) -> Select[Any]:
    stmt = stmt.where(VoicemailBox.tenant_id == principal.tenant_id)
    if principal.has(Role.SUPERVISOR):
        return stmt
    return stmt.where(
        VoicemailBox.owner_kind == OwnerKind.AGENT, VoicemailBox.owner_ref == principal.username
    )


def _reads(principal: Principal, box: VoicemailBox) -> bool:
    return principal.has(Role.SUPERVISOR) or (
        box.owner_kind is OwnerKind.AGENT and box.owner_ref == principal.username
    )


async def _name_free(
    session: AsyncSession, tenant_id: int, name: str, *, own_id: int | None = None
) -> None:
    stmt = select(VoicemailBox.id).where(
        VoicemailBox.tenant_id == tenant_id, VoicemailBox.name == name
    )
    if own_id is not None:
        stmt = stmt.where(VoicemailBox.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"voicemail box {name!r} exists", error_id="voicemail_box_name_taken")


async def list_boxes(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    owner_kind: OwnerKind | None,
    owner_ref: str | None,
) -> tuple[list[VoicemailBox], int]:
    """The boxes of the principal's tenant (an agent's own only), by name."""
    return await paginate(
        session,
        _readable_boxes(select(VoicemailBox), principal),
        params,
        sortable={
            "id": VoicemailBox.id,
            "name": VoicemailBox.name,
            "owner_ref": VoicemailBox.owner_ref,
            "created_at": VoicemailBox.created_at,
        },
        filters={
            "owner_kind": (VoicemailBox.owner_kind, owner_kind),
            "owner_ref": (VoicemailBox.owner_ref, owner_ref),
        },
        default_sort=(VoicemailBox.name,),
    )


async def get_box(session: AsyncSession, *, principal: Principal, box_id: int) -> VoicemailBox:
    """A box of the principal's tenant; an agent gets only their own."""
    box = await get_owned(
        session, VoicemailBox, box_id, tenant_id=principal.tenant_id, what="voicemail box"
    )
    if not _reads(principal, box):
        raise NotFound("no such voicemail box")
    return box


async def create_box(
    session: AsyncSession, *, principal: Principal, data: BoxCreate
) -> VoicemailBox:
    """A new box of the principal's tenant."""
    await _name_free(session, principal.tenant_id, data.name)
    box = VoicemailBox(tenant_id=principal.tenant_id, **data.model_dump())
    session.add(box)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="voicemail_box",
        obj=box,
        fields=BOX_AUDITED,
    )
    return box


async def update_box(
    session: AsyncSession, *, principal: Principal, box_id: int, data: BoxUpdate
) -> VoicemailBox:
    """Change a box of the principal's tenant."""
    box = await get_box(session, principal=principal, box_id=box_id)
    before = audit.snapshot(box, BOX_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        await _name_free(session, box.tenant_id, changes["name"], own_id=box.id)
    audit.apply_changes(box, changes, nullable=NULLABLE)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=box.tenant_id,
        action="update",
        entity="voicemail_box",
        obj=box,
        fields=BOX_AUDITED,
        before=before,
    )
    return box


async def delete_box(
    session: AsyncSession, *, principal: Principal, data_dir: Path, box_id: int
) -> None:
    """Remove a box with its messages; their files go when the deletion commits."""
    box = await get_box(session, principal=principal, box_id=box_id)
    paths = (
        await session.execute(
            select(VoicemailMessage.path).where(VoicemailMessage.box_id == box.id)
        )
    ).scalars()
    for path in paths:
        unlink_after_commit(session, data_dir / path)
    before = audit.snapshot(box, BOX_AUDITED)
    await session.delete(box)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=box.tenant_id,
        action="delete",
        entity="voicemail_box",
        obj=box,
        fields=BOX_AUDITED,
        before=before,
    )


async def list_messages(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    box_id: int,
    heard: bool | None,
) -> tuple[list[VoicemailMessage], int]:
    """The messages of a box the principal reads, newest first by default; ``heard``
    False lists the new ones."""
    box = await get_box(session, principal=principal, box_id=box_id)
    return await paginate(
        session,
        select(VoicemailMessage).where(
            VoicemailMessage.tenant_id == box.tenant_id, VoicemailMessage.box_id == box.id
        ),
        params,
        sortable={
            "id": VoicemailMessage.id,
            "received_at": VoicemailMessage.received_at,
            "duration_seconds": VoicemailMessage.duration_seconds,
            "caller": VoicemailMessage.caller,
        },
        filters={"heard": (VoicemailMessage.heard, heard)},
        default_sort=(VoicemailMessage.received_at.desc(), VoicemailMessage.id.desc()),
    )


async def get_message(
    session: AsyncSession, *, principal: Principal, message_id: int
) -> VoicemailMessage:
    """A message of a box the principal reads."""
    message = await get_owned(
        session,
        VoicemailMessage,
        message_id,
        tenant_id=principal.tenant_id,
        what="voicemail message",
    )
    box = await session.get(VoicemailBox, message.box_id)
    if box is None or not _reads(principal, box):
        raise NotFound("no such voicemail message")
    return message


def mark(message: VoicemailMessage, *, principal: Principal, heard: bool) -> None:
    """Mark ``message`` heard (by the principal, now) or new again; marking a heard
    message heard keeps who heard it first."""
    if heard and not message.heard:
        message.heard, message.heard_at, message.heard_by = True, utcnow(), principal.username
    elif not heard:
        message.heard, message.heard_at, message.heard_by = False, None, None


async def set_heard(
    session: AsyncSession, *, principal: Principal, message_id: int, heard: bool | None
) -> VoicemailMessage:
    """Mark a message of a box the principal reads heard or new again (:func:`mark`);
    None leaves it as it is."""
    message = await get_message(session, principal=principal, message_id=message_id)
    if heard is not None:
        mark(message, principal=principal, heard=heard)
    return message


def audio_path(*, data_dir: Path, message: VoicemailMessage) -> Path:
    """The WAV file of ``message``; :class:`NotFound` if it has gone missing."""
    path = data_dir / message.path
    if not path.is_file():
        raise NotFound(
            "the message's audio file is missing", error_id="voicemail_message_file_missing"
        )
    return path


async def delete_message(
    session: AsyncSession, *, principal: Principal, data_dir: Path, message_id: int
) -> None:
    """Remove a message of a box the principal reads; its file goes when the deletion
    commits."""
    message = await get_message(session, principal=principal, message_id=message_id)
    if message.status is MessageStatus.RECORDING:
        raise Conflict(
            "the caller is still speaking; delete the message once it is recorded",
            error_id="voicemail_message_in_progress",
        )
    before = audit.snapshot(message, MESSAGE_AUDITED)
    await session.delete(message)
    unlink_after_commit(session, data_dir / message.path)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=message.tenant_id,
        action="delete",
        entity="voicemail_message",
        obj=message,
        fields=MESSAGE_AUDITED,
        before=before,
    )
