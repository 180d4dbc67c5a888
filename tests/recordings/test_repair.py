"""A recording cut short by SIGKILL is repaired on start, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import sys
import wave
from datetime import UTC, datetime
from pathlib import Path

from helpline.db.base import utcnow
from helpline.media._audioop import audioop
from helpline.media.tones import dominant_frequency
from helpline.media.wav import HEADER_SIZE
from helpline.recordings import service
from helpline.recordings.models import CallDirection, Recording, RecordingStatus
from helpline.runtime import Runtime
from tests.recordings.crash_writer import AGENT_HZ, CALLER_HZ
from tests.recordings.factory import recorded_call, tenant_id

WRITER = Path(__file__).with_name("crash_writer.py")


async def _begin(runtime: Runtime, tenant: int, call_id: str) -> tuple[Recording, Path]:
    where = service.recording_path(runtime.settings.data_dir, tenant, utcnow())
    async with runtime.unit_of_work() as session:
        row = await service.begin(
            session,
            tenant_id=tenant,
            call_id=call_id,
            caller="sip:+4930123456@trunk.example",
            callee="sip:2001@demo",
            path=where.relative,
            stereo=True,
            started_at=utcnow(),
            direction=CallDirection.INBOUND,
            agent="agent2001",
        )
    return row, where.absolute


async def _killed_mid_recording(path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(WRITER), str(path), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), timeout=30) == b"ready\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL


async def test_recording_killed_mid_write_is_playable_after_repair(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    row, path = await _begin(runtime, demo, "crash-1@test")
    await _killed_mid_recording(path)
    last_written = datetime.fromtimestamp(path.stat().st_mtime, UTC)

    async with runtime.unit_of_work() as session:
        assert await service.repair_unfinished(session, data_dir=runtime.settings.data_dir) == 1

    with wave.open(str(path), "rb") as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        frames = wav.getnframes()
        pcm = wav.readframes(frames)
    assert (channels, width, rate) == (2, 2, 8000)
    size = path.stat().st_size
    assert frames * channels * width == size - HEADER_SIZE == len(pcm)
    assert frames / rate >= 2.0
    head = pcm[: 8000 * channels * width]
    assert dominant_frequency(audioop.tomono(head, 2, 1, 0)) == CALLER_HZ
    assert dominant_frequency(audioop.tomono(head, 2, 0, 1)) == AGENT_HZ

    async with runtime.unit_of_work() as session:
        repaired = await session.get(Recording, row.id)
        assert repaired is not None
        assert repaired.status is RecordingStatus.REPAIRED
        assert repaired.duration_seconds == frames / rate
        assert repaired.size_bytes == size
        assert repaired.ended_at == last_written
    async with runtime.unit_of_work() as session:
        assert await service.repair_unfinished(session, data_dir=runtime.settings.data_dir) == 0


async def test_repair_settles_every_tenant_and_fails_missing_or_garbled_files(
    runtime: Runtime,
) -> None:
    demo, system = await tenant_id(runtime, "demo"), await tenant_id(runtime, "system")
    finished = await recorded_call(runtime, tenant=demo, call_id="done@test")
    missing, _ = await _begin(runtime, demo, "never-opened@test")
    garbled, garbled_path = await _begin(runtime, system, "garbled@test")
    garbled_path.write_bytes(b"RIFF\0\0\0\0WAVEjunk")
    crashed, crashed_path = await _begin(runtime, system, "crashed@test")
    await _killed_mid_recording(crashed_path)

    async with runtime.unit_of_work() as session:
        assert await service.repair_unfinished(session, data_dir=runtime.settings.data_dir) == 3

    async with runtime.unit_of_work() as session:
        rows = {
            r.call_id: r
            for r in [
                await session.get(Recording, x.id) for x in (finished, missing, garbled, crashed)
            ]
            if r is not None
        }
    assert rows["done@test"].status is RecordingStatus.COMPLETE
    assert rows["never-opened@test"].status is RecordingStatus.FAILED
    assert rows["never-opened@test"].ended_at is None
    assert rows["garbled@test"].status is RecordingStatus.FAILED
    assert rows["garbled@test"].size_bytes == garbled_path.stat().st_size
    assert rows["garbled@test"].ended_at is not None
    assert rows["crashed@test"].status is RecordingStatus.REPAIRED
    assert rows["crashed@test"].tenant_id == system
    assert rows["crashed@test"].duration_seconds >= 2.0
