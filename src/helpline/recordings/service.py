"""Call recordings: bookkeeping for call control, crash repair on start, and the API.

Call control (no principal) follows one order so that a crash never loses a recording:
:func:`recording_path` picks the file, :func:`begin` inserts the row with status
``recording`` and the unit of work commits *before* the media engine opens the file;
when the engine's ``RecordingFinished`` arrives, :func:`finish` stores the outcome. A
process killed in between leaves the row at ``recording``; :func:`repair_unfinished`,
run once at start, rebuilds the WAV header from what reached the disk
(:func:`helpline.media.wav.repair_wav`) and fills in duration, size and end time.

The API functions take the tenant from the principal. Supervisors and tenant admins see
the tenant's recordings, an agent only those of their own calls; a deleted recording's
file goes once the deletion is committed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.calls.service import agent_names
from helpline.core.errors import Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.media.errors import MediaError
from helpline.media.wav import check_wav, repair_wav
from helpline.recordings.models import (
    MAX_PARTY_LENGTH,
    MAX_USERNAME_LENGTH,
    CallDirection,
    Recording,
    RecordingStatus,
)
from helpline.sip.registrar import MAX_CALL_ID_LENGTH
from helpline.users.models import Role

log = logging.getLogger(__name__)

RECORDINGS_DIR = "recordings"
AUDITED = (
    "call_id",
    "caller",
    "callee",
    "agent",
    "direction",
    "path",
    "status",
    "started_at",
    "duration_seconds",
    "size_bytes",
)


class RecordingPath(NamedTuple):
    """Where a new recording goes: as stored in the row, and as the engine opens it."""

    relative: str
    absolute: Path


@dataclass(frozen=True, slots=True)
class FileState:
    """What :func:`repair_file` found: the settled status, duration, size, mtime."""

    status: RecordingStatus
    duration: float
    size: int
    mtime: datetime | None


def recording_path(data_dir: Path, tenant_id: int, now: datetime) -> RecordingPath:
    """A new file name ``recordings/<tenant>/<yyyy>/<mm>/<dd>/<uuid>.wav`` (UTC date of
    ``now``); its directory is created."""
    day = now.astimezone(UTC)
    relative = Path(
        RECORDINGS_DIR,
        str(tenant_id),
        f"{day.year:04d}",
        f"{day.month:02d}",
        f"{day.day:02d}",
        f"{uuid.uuid4().hex}.wav",
    )
    absolute = data_dir / relative
    absolute.parent.mkdir(parents=True, exist_ok=True)
    return RecordingPath(relative.as_posix(), absolute)


async def begin(
    session: AsyncSession,
    *,
    tenant_id: int,
    call_id: str,
    caller: str,
    callee: str,
    path: str,
    stereo: bool,
    started_at: datetime,
    direction: CallDirection,
    agent: str | None = None,
    node: str = "",
) -> Recording:
    """Insert the row of a recording about to start (status ``recording``).

    ``path`` is :attr:`RecordingPath.relative`. Commit before the engine opens the file,
    so that a crash leaves a row to repair. Over-long texts are cut to their columns.
    """
    recording = Recording(
        tenant_id=tenant_id,
        call_id=call_id[:MAX_CALL_ID_LENGTH],
        caller=caller[:MAX_PARTY_LENGTH],
        callee=callee[:MAX_PARTY_LENGTH],
        agent=agent[:MAX_USERNAME_LENGTH] if agent is not None else None,
        direction=direction,
        path=path,
        stereo=stereo,
        status=RecordingStatus.RECORDING,
        started_at=started_at,
        node=node,
    )
    session.add(recording)
    await session.flush()
    return recording


async def finish(
    session: AsyncSession,
    *,
    recording_id: int,
    ended_at: datetime,
    duration: float,
    size: int,
    error: str | None = None,
) -> Recording | None:
    """Store how a recording ended (from the engine's ``RecordingFinished``): status
    ``complete``, or ``failed`` when the engine reported ``error``. None if the row is
    gone (its tenant was deleted meanwhile)."""
    recording = await session.get(Recording, recording_id)
    if recording is None:
        log.warning("recording %s finished but its row is gone", recording_id)
        return None
    if error is not None:
        log.warning("recording %s (call %s) failed: %s", recording.id, recording.call_id, error)
    recording.status = RecordingStatus.FAILED if error is not None else RecordingStatus.COMPLETE
    recording.ended_at = ended_at
    recording.duration_seconds = duration
    recording.size_bytes = size
    return recording


def repair_file(path: Path) -> FileState:
    """Repair a WAV file a crash cut off (blocking): ``repaired``, or ``failed`` when it
    is missing or unreadable; the modification time is read before the repair."""
    try:
        stat = path.stat()
    except OSError:
        return FileState(RecordingStatus.FAILED, 0.0, 0, None)
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
    try:
        repair_wav(path)
        info = check_wav(path)
        stat = path.stat()
    except (OSError, MediaError) as exc:
        log.warning("recording %s cannot be repaired: %s", path, exc)
        return FileState(RecordingStatus.FAILED, 0.0, stat.st_size, mtime)
    return FileState(RecordingStatus.REPAIRED, info.duration, stat.st_size, mtime)


async def repair_unfinished(session: AsyncSession, *, data_dir: Path, node: str = "") -> int:
    """Settle every recording of this ``node`` (every tenant) still marked ``recording``
    (left by a crash): repair its WAV file, store duration, size and the file's modification time
    as the end; ``failed`` if the file is missing or unreadable. How many it settled.

    Run once at start, before calls are taken: it assumes no recording is being written.
    """
    rows = (
        await session.execute(
            select(Recording)
            .where(Recording.status == RecordingStatus.RECORDING, Recording.node == node)
            .order_by(Recording.id)
        )
    ).scalars()
    count = 0
    for recording in rows:
        state = await asyncio.to_thread(repair_file, data_dir / recording.path)
        recording.status = state.status
        recording.duration_seconds = state.duration
        recording.size_bytes = state.size
        recording.ended_at = state.mtime
        log.info(
            "recording %s (tenant %s, call %s) after a crash: %s, %.1f s",
            recording.id,
            recording.tenant_id,
            recording.call_id,
            state.status.value,
            state.duration,
        )
        count += 1
    return count


async def list_recordings(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    call_id: str | None,
    caller: str | None,
    agent: str | None,
    started_from: datetime | None,
    started_to: datetime | None,
) -> tuple[list[Recording], int]:
    """Recordings of the principal's tenant (an agent's own only), newest first by
    default; ``started_from`` is inclusive, ``started_to`` exclusive."""
    stmt = select(Recording).where(Recording.tenant_id == principal.tenant_id)
    if not principal.has(Role.SUPERVISOR):
        stmt = stmt.where(Recording.agent.in_(await agent_names(session, principal)))
    if started_from is not None:
        stmt = stmt.where(Recording.started_at >= started_from)
    if started_to is not None:
        stmt = stmt.where(Recording.started_at < started_to)
    return await paginate(
        session,
        stmt,
        params,
        sortable={
            "id": Recording.id,
            "started_at": Recording.started_at,
            "duration_seconds": Recording.duration_seconds,
            "caller": Recording.caller,
            "agent": Recording.agent,
        },
        filters={
            "call_id": (Recording.call_id, call_id),
            "caller": (Recording.caller, caller),
            "agent": (Recording.agent, agent),
        },
        default_sort=(Recording.started_at.desc(), Recording.id.desc()),
    )


async def get_recording(
    session: AsyncSession, *, principal: Principal, recording_id: int
) -> Recording:
    """A recording of the principal's tenant; an agent gets only their own."""
    recording = await get_owned(
        session, Recording, recording_id, tenant_id=principal.tenant_id, what="recording"
    )
    if not principal.has(Role.SUPERVISOR) and recording.agent not in await agent_names(
        session, principal
    ):
        raise NotFound("no such recording")
    return recording


def audio_path(*, data_dir: Path, recording: Recording) -> Path:
    """The WAV file of ``recording``; :class:`NotFound` if it has gone missing."""
    path = data_dir / recording.path
    if not path.is_file():
        raise NotFound("the recording's audio file is missing", error_id="recording_file_missing")
    return path


def unlink_after_commit(session: AsyncSession, path: Path) -> None:
    """Remove ``path`` once the session's transaction commits (never on a rollback)."""

    def unlink(_session: Session) -> None:
        path.unlink(missing_ok=True)

    event.listen(session.sync_session, "after_commit", unlink, once=True)


async def delete_recording(
    session: AsyncSession, *, principal: Principal, data_dir: Path, recording_id: int
) -> None:
    """Remove a finished recording of the principal's tenant; its file goes when the
    deletion commits."""
    recording = await get_recording(session, principal=principal, recording_id=recording_id)
    if recording.status is RecordingStatus.RECORDING:
        raise Conflict(
            "the call is still being recorded; delete the recording once it has ended",
            error_id="recording_in_progress",
        )
    before = audit.snapshot(recording, AUDITED)
    await session.delete(recording)
    unlink_after_commit(session, data_dir / recording.path)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=recording.tenant_id,
        action="delete",
        entity="recording",
        obj=recording,
        fields=AUDITED,
        before=before,
    )
