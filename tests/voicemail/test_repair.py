"""A message cut off by a crash is repaired on start, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import wave
from pathlib import Path

from sqlalchemy import select

from helpline.db.base import utcnow
from helpline.media.tones import dominant_frequency
from helpline.media.wav import HEADER_SIZE
from helpline.runtime import Runtime
from helpline.voicemail import service
from helpline.voicemail.models import MessageStatus, VoicemailMessage
from tests.recordings.factory import tenant_id
from tests.voicemail.factory import make_box
from tests.voicemail.fakes import SPEECH_HZ

WRITER = Path(__file__).with_name("crash_deposit.py")
ROOT = Path(__file__).resolve().parents[2]


async def _killed_mid_message(runtime: Runtime, tenant: int, box: str) -> None:
    settings = runtime.settings
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WRITER),
        settings.effective_database_url,
        str(settings.data_dir),
        settings.node_name,
        str(tenant),
        box,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), timeout=60) == b"ready\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL


async def _messages(runtime: Runtime) -> list[VoicemailMessage]:
    async with runtime.unit_of_work() as session:
        return list(
            (
                await session.execute(select(VoicemailMessage).order_by(VoicemailMessage.id))
            ).scalars()
        )


async def test_message_cut_off_by_a_crash_is_playable_after_repair(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    await make_box(runtime, tenant=demo)
    await _killed_mid_message(runtime, demo, "sales")
    (left,) = await _messages(runtime)
    assert left.status is MessageStatus.RECORDING

    async with runtime.unit_of_work() as session:
        settled = await service.repair_unfinished(
            session, data_dir=runtime.settings.data_dir, node=runtime.settings.node_name
        )
    assert settled == 1

    (repaired,) = await _messages(runtime)
    path = runtime.settings.data_dir / repaired.path
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        frames = wav.getnframes()
        pcm = wav.readframes(frames)
    assert repaired.status is MessageStatus.REPAIRED
    assert (
        repaired.size_bytes
        == path.stat().st_size
        == HEADER_SIZE + len(pcm)
        == HEADER_SIZE + 2 * frames
    )
    assert repaired.duration_seconds == frames / 8000 >= 2.5
    assert dominant_frequency(pcm[:16000]) == SPEECH_HZ


async def test_repair_fails_missing_files_and_leaves_other_nodes_alone(runtime: Runtime) -> None:
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo)
    async with runtime.unit_of_work() as session:
        for node in ("here", "elsewhere"):
            await service.begin_message(
                session,
                box=box,
                call_id=f"{node}@test",
                caller="+491111",
                called="1000",
                path=f"voicemail/{demo}/{box.id}/{node}.wav",
                received_at=utcnow(),
                node=node,
            )
    async with runtime.unit_of_work() as session:
        assert (
            await service.repair_unfinished(
                session, data_dir=runtime.settings.data_dir, node="here"
            )
            == 1
        )
    here, elsewhere = await _messages(runtime)
    assert (here.status, here.duration_seconds) == (MessageStatus.FAILED, 0.0)
    assert elsewhere.status is MessageStatus.RECORDING
