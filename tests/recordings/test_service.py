"""Call-control bookkeeping of recordings on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from helpline.db.base import utcnow
from helpline.db.models import Base
from helpline.recordings import service
from helpline.recordings.models import CallDirection, Recording, RecordingStatus
from helpline.runtime import Runtime
from tests.recordings.factory import recorded_call, tenant_id


async def test_migration_creates_the_recordings_table_as_the_model_describes(
    runtime: Runtime,
) -> None:
    assert Recording.metadata is Base.metadata

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, Base.metadata) if "recordings" in str(d)]

    async with runtime.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_files_go_under_the_tenant_and_the_utc_day(tmp_path: Path) -> None:
    seoul = timezone(timedelta(hours=9))
    where = service.recording_path(tmp_path, 7, datetime(2026, 3, 1, 2, 30, tzinfo=seoul))
    parts = where.relative.split("/")
    assert parts[:5] == ["recordings", "7", "2026", "02", "28"]
    assert parts[5].endswith(".wav") and len(parts[5]) == 32 + 4
    assert where.absolute == tmp_path / where.relative and where.absolute.parent.is_dir()
    again = service.recording_path(tmp_path, 7, datetime(2026, 2, 28, 20, 0, tzinfo=UTC))
    assert again.absolute.parent == where.absolute.parent and again != where


async def test_row_exists_while_recording_and_completes_on_finish(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    started = utcnow()
    where = service.recording_path(runtime.settings.data_dir, demo, started)
    async with runtime.unit_of_work() as session:
        row = await service.begin(
            session,
            tenant_id=demo,
            call_id="x" * 300,
            caller="sip:" + "9" * 400 + "@trunk",
            callee="2001",
            path=where.relative,
            stereo=True,
            started_at=started,
            direction=CallDirection.OUTBOUND,
        )
    async with runtime.unit_of_work() as session:
        stored = await session.get(Recording, row.id)
        assert stored is not None and stored.status is RecordingStatus.RECORDING
        assert (stored.call_id, stored.agent, stored.ended_at) == ("x" * 255, None, None)
        assert len(stored.caller) == 255 and stored.path == where.relative
    async with runtime.unit_of_work() as session:
        done = await service.finish(
            session,
            recording_id=row.id,
            ended_at=started + timedelta(seconds=61.5),
            duration=61.5,
            size=44 + 1_968_000,
        )
        assert done is not None
    async with runtime.unit_of_work() as session:
        stored = await session.get(Recording, row.id)
        assert stored is not None and stored.status is RecordingStatus.COMPLETE
        assert stored.duration_seconds == 61.5 and stored.size_bytes == 44 + 1_968_000
        assert stored.ended_at == started + timedelta(seconds=61.5)


async def test_engine_error_marks_the_recording_failed(runtime: Runtime) -> None:
    made = await recorded_call(runtime, tenant=await tenant_id(runtime, "demo"))
    async with runtime.unit_of_work() as session:
        failed = await service.finish(
            session,
            recording_id=made.id,
            ended_at=utcnow(),
            duration=0.2,
            size=3244,
            error="No space left on device",
        )
        assert failed is not None and failed.status is RecordingStatus.FAILED


async def test_finishing_a_recording_whose_row_is_gone_is_harmless(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as session:
        gone = await service.finish(
            session, recording_id=4242, ended_at=utcnow(), duration=1.0, size=16044
        )
    assert gone is None
