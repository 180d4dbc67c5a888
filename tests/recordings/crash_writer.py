"""Records a call through the engine's recording class until it is killed.

``python crash_writer.py PATH``: writes 2.5 s of stereo frames at once (caller 440 Hz
left, agent 1000 Hz right), prints ``ready``, then goes on writing one frame per 20 ms
like the engine's tick, never closing the file, so SIGKILL lands mid-recording.
"""

from __future__ import annotations

import sys
import time

from helpline.media.engine.recording import Recording
from helpline.media.tones import FRAME_SAMPLES, RATE, tone

FRAME = 0.02
CALLER_HZ = 440
AGENT_HZ = 1000
AT_ONCE = 125


def main(path: str) -> None:
    """Write until killed."""
    recording = Recording("rec-crash", "bridge-crash", path, stereo=True)
    frame = 0
    while True:
        start = frame * FRAME_SAMPLES
        recording.write(
            tone([CALLER_HZ], FRAME, start_sample=start % RATE),
            tone([AGENT_HZ], FRAME, start_sample=start % RATE),
        )
        frame += 1
        if frame == AT_ONCE:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
        if frame >= AT_ONCE:
            time.sleep(FRAME)


if __name__ == "__main__":
    main(sys.argv[1])
