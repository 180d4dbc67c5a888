"""Leaves a voicemail message that never ends, until the process is killed.

``python crash_deposit.py DATABASE_URL DATA_DIR NODE TENANT_ID BOX``: the caller speaks
2.5 s at once (440 Hz), ``ready`` is printed, then one 20 ms frame follows every 20 ms,
the file never closed, so SIGKILL lands mid-message.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from helpline.config import Settings
from helpline.ivr.port import RecordResult
from helpline.media.tones import FRAME_SAMPLES, RATE, tone
from helpline.media.wav import WavWriter
from helpline.runtime import Runtime
from helpline.voicemail import service
from helpline.voicemail.deposit import leave_message
from helpline.voicemail.notify import Notifier
from tests.voicemail.fakes import SPEECH_HZ, FakePort

FRAME = 0.02
AT_ONCE = 2.5


class EndlessCaller(FakePort):
    """A caller who never stops talking."""

    async def record(
        self, path: Path, *, max_seconds: float, silence_seconds: float, terminators: str = "#"
    ) -> RecordResult:
        writer = WavWriter(path)
        writer.write(tone([SPEECH_HZ], AT_ONCE))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sample = int(AT_ONCE * RATE)
        while True:
            writer.write(tone([SPEECH_HZ], FRAME, start_sample=sample % RATE))
            sample += FRAME_SAMPLES
            await asyncio.sleep(FRAME)


async def main(database_url: str, data_dir: str, node: str, tenant: int, box_name: str) -> None:
    """Leave the message until killed."""
    runtime = Runtime.build(
        Settings(data_dir=Path(data_dir), database_url=database_url, node_name=node)
    )
    async with runtime.unit_of_work() as session:
        box = await service.box_for_call(session, tenant_id=tenant, name=box_name)
    assert box is not None
    await leave_message(
        EndlessCaller(tenant_id=tenant), box, runtime=runtime, notifier=Notifier(None)
    )


if __name__ == "__main__":
    url, directory, node_name, tenant_id, name = sys.argv[1:6]
    asyncio.run(main(url, directory, node_name, int(tenant_id), name))
