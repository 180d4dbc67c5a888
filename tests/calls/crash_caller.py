"""Records two live calls through the recorder until it is killed.

``python crash_caller.py DATABASE_URL DATA_DIR NODE TENANT_ID START``: from ``START``
(ISO 8601) on, writes an answered call up to the start of its second talk segment
(after a hold), a call still in the IVR and a call leaving a voicemail, prints
``ready``, then sleeps, so SIGKILL lands mid-call.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path

from helpline.calls.models import CallDirection, CallOutcome, SegmentKind, SegmentResult
from helpline.calls.recorder import CallRecorder
from helpline.config import Settings
from helpline.db import models  # noqa: F401  (every table, so foreign keys resolve)
from helpline.runtime import Runtime


def seconds(n: float) -> timedelta:
    """``n`` seconds."""
    return timedelta(seconds=n)


async def main(url: str, data_dir: str, node: str, tenant: int, start: datetime) -> None:
    """Write both calls, say ``ready``, wait to be killed."""
    runtime = Runtime.build(Settings(database_url=url, data_dir=Path(data_dir), node_name=node))
    r = CallRecorder(runtime.unit_of_work, node)
    talking = await r.open(tenant, "talking@test", CallDirection.INBOUND, "+491", "1000", start)
    wait = await r.segment_start(talking, SegmentKind.QUEUE, start, queue="sales")
    await r.segment_end(wait, start + seconds(20), SegmentResult.ANSWERED)
    await r.answered(talking, start + seconds(20), "agent2001")
    talk = await r.segment_start(talking, SegmentKind.TALK, start + seconds(20), agent="agent2001")
    await r.segment_end(talk, start + seconds(50))
    hold = await r.segment_start(talking, SegmentKind.HOLD, start + seconds(50), agent="agent2001")
    await r.segment_end(hold, start + seconds(60))
    await r.segment_start(talking, SegmentKind.TALK, start + seconds(60), agent="agent2001")

    waiting = await r.open(tenant, "waiting@test", CallDirection.INBOUND, "+492", "1000", start)
    await r.segment_start(waiting, SegmentKind.IVR, start)
    await r.set(waiting, queue="support")

    voicemail = await r.open(tenant, "message@test", CallDirection.INBOUND, "+493", "1000", start)
    await r.set(voicemail, outcome=CallOutcome.VOICEMAIL)
    await r.segment_start(voicemail, SegmentKind.VOICEMAIL, start + seconds(3))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    url, data_dir, node, tenant, start = sys.argv[1:]
    asyncio.run(main(url, data_dir, node, int(tenant), datetime.fromisoformat(start)))
