"""Records a call through the rtpengine backend until it is killed.

``python crash_recorder.py NG SPOOL WAV NODE CALLER_PORT AGENT_PORT``: starts the hybrid
backend (an in-process embedded engine behind the rtpengine at ``NG``), bridges a caller
and an agent (RTP peers on 127.0.0.1 at the given ports) in rtpengine, starts recording
the caller's endpoint into ``WAV``, prints the two rtpengine ports as one JSON line and
waits, so that SIGKILL lands mid-recording (as a crash of Helpline would).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

from helpline.media.backend import RemoteMedia
from helpline.media.engine import EngineConfig, MediaEngine
from helpline.media.rtpengine import create_hybrid


async def main(ng: str, spool: str, wav: str, node: str, caller: int, agent: int) -> None:
    """Record until killed."""
    base = random.randrange(45000, 59000, 2)
    engine = MediaEngine(EngineConfig(port_min=base, port_max=base + 199))
    backend = create_hybrid(engine, ng, recording_dir=Path(spool), node=node)
    await backend.start()
    a = await backend.allocate_endpoint(affinity="call")
    b = await backend.allocate_endpoint(affinity="call")
    await backend.update_endpoint(a.endpoint, RemoteMedia(address="127.0.0.1", port=caller))
    await backend.update_endpoint(b.endpoint, RemoteMedia(address="127.0.0.1", port=agent))
    await backend.start_recording(a.endpoint, wav)
    await backend.bridge(a.endpoint, b.endpoint)
    sys.stdout.write(json.dumps({"caller": a.port, "agent": b.port}) + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    ng, spool, wav, node, caller, agent = sys.argv[1:7]
    asyncio.run(main(ng, spool, wav, node, int(caller), int(agent)))
