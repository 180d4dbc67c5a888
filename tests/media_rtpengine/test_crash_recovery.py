"""A recording through the rtpengine backend survives a SIGKILL of Helpline: on the next
start the node's recovery turns rtpengine's pcap into the WAV (caller left, agent right)
and the row is settled with its duration, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest

from helpline.db.base import utcnow
from helpline.media.rtpengine import NgClient, NgError
from helpline.media.rtpengine.recovery import SIDECAR_DIR, Sidecar, recover_recordings
from helpline.recordings import service
from helpline.recordings.models import CallDirection, Recording, RecordingStatus
from helpline.runtime import Runtime
from helpline.server import recover_node
from tests.interop.audio import frequency_of
from tests.media_engine.peer import Peer, tone_frames
from tests.media_rtpengine.daemon import Rtpengine
from tests.recordings.factory import tenant_id

RECORDER = Path(__file__).with_name("crash_recorder.py")
NODE = "node-a"


async def _begin(runtime: Runtime) -> tuple[int, Path]:
    where = service.recording_path(
        runtime.settings.data_dir, await tenant_id(runtime, "demo"), utcnow()
    )
    async with runtime.unit_of_work() as session:
        row = await service.begin(
            session,
            tenant_id=await tenant_id(runtime, "demo"),
            call_id="rtpengine-crash@test",
            caller="sip:+4930123456@trunk.example",
            callee="sip:2001@demo",
            path=where.relative,
            stereo=True,
            started_at=utcnow(),
            direction=CallDirection.INBOUND,
            agent="agent2001",
            node=NODE,
        )
    return row.id, where.absolute


async def _killed_while_recording(daemon: Rtpengine, wav: Path, caller: Peer, agent: Peer) -> str:
    """Run the recorder, let both peers talk 2 s through rtpengine, SIGKILL it; the
    rtpengine call id it left."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(RECORDER),
        *(daemon.ng, str(daemon.spool), str(wav), NODE, str(caller.port), str(agent.port)),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        ports = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=30))
        caller.stream(ports["caller"], tone_frames(1000))
        agent.stream(ports["agent"], tone_frames(2000))
        await agent.more(100)
        await caller.more(10)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    caller.stop()
    agent.stop()
    (sidecar,) = (daemon.spool / SIDECAR_DIR).glob("*.json")
    left = Sidecar.parse(sidecar.read_text())
    assert left.path == str(wav) and len(left.right_ports) == 2  # inner and the agent's
    assert not await asyncio.to_thread(wav.exists)
    return left.call_id


async def test_a_recording_killed_mid_call_is_rebuilt_from_the_pcap_on_start(
    runtime: Runtime, daemon: Rtpengine, peers: Callable[..., Awaitable[Peer]]
) -> None:
    recording, wav = await _begin(runtime)
    call = await _killed_while_recording(daemon, wav, await peers(), await peers())
    assert list((daemon.spool / "pcaps").glob(f"{call}-*.pcap"))

    node = dataclasses.replace(
        runtime,
        settings=runtime.settings.model_copy(
            update={
                "media_backend": "rtpengine",
                "rtpengine_ng": daemon.ng,
                "rtpengine_recording_dir": daemon.spool,
                "node_name": NODE,
            }
        ),
    )
    reports: list[str] = []
    await recover_node(node, report=reports.append)
    assert any("settled 1 recording" in line for line in reports), reports

    async with runtime.unit_of_work() as session:
        row = await session.get(Recording, recording)
        assert row is not None
        assert row.status is RecordingStatus.REPAIRED
        assert 1.5 <= row.duration_seconds <= 10.0, row.duration_seconds
        assert row.size_bytes == wav.stat().st_size and row.ended_at is not None
    with wave.open(str(wav)) as out:
        assert out.getnchannels() == 2 and out.getframerate() == 8000
        assert out.getnframes() / 8000 == row.duration_seconds
        stereo = np.frombuffer(out.readframes(out.getnframes()), dtype=np.int16).reshape(-1, 2)
    left, right = (stereo[:, i].copy().tobytes() for i in (0, 1))
    assert abs(frequency_of(left, skip=0.5) - 1000) < 15
    assert abs(frequency_of(right, skip=0.5) - 2000) < 15
    # The orphaned rtpengine call is gone, and so are its pcaps and the sidecar.
    ng = NgClient("127.0.0.1", daemon.ng_port)
    await ng.open()
    try:
        with pytest.raises(NgError, match=r"(?i)unknown call-id"):
            await ng.command("query", call_id=call)
    finally:
        ng.close()
    assert not list((daemon.spool / "pcaps").glob("*.pcap"))
    assert not list((daemon.spool / SIDECAR_DIR).glob("*"))
    # A second start finds nothing left to do.
    assert await recover_recordings(daemon.spool, node=NODE, ng_address=daemon.ng) == 0


async def test_sidecars_of_other_nodes_and_unreadable_ones_are_left_alone(
    daemon: Rtpengine, tmp_path: Path
) -> None:
    sidecars = daemon.spool / SIDECAR_DIR
    sidecars.mkdir(parents=True)
    other = Sidecar("rtpe-rec-1", "hl-x-1", str(tmp_path / "b.wav"), (1,), (2,), True, 0.0, "b")
    (sidecars / "hl-x-1-rtpe-rec-1.json").write_text(json.dumps(dataclasses.asdict(other)))
    (sidecars / "garbled.json").write_text("{not json")
    assert await recover_recordings(daemon.spool, node=NODE, ng_address=daemon.ng) == 0
    assert len(list(sidecars.glob("*.json"))) == 2
    assert not (tmp_path / "b.wav").exists()
