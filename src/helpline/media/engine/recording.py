"""Recordings of the embedded engine: one WAV file fed one frame per tick.

Theory of operation
-------------------
A recording is written through :class:`~helpline.media.wav.WavWriter` with the header
rewritten every second of audio, so a process killed with SIGKILL leaves a file that
plays up to the last second (and :func:`~helpline.media.wav.repair_wav` recovers the
rest). Every tick writes exactly one 20 ms frame, silence standing in for a side that
had none, so both channels stay aligned with the call's timeline. Stereo puts the
first side (the caller) left and the second (the agent) right; mono mixes them
(``audioop.add`` saturates instead of wrapping).
"""

from __future__ import annotations

from helpline.media._audioop import audioop
from helpline.media.wav import WavWriter

SILENCE = bytes(320)


class Recording:
    """One open recording of an endpoint or a bridge."""

    __slots__ = ("id", "path", "stereo", "target", "writer")

    def __init__(self, ident: str, target: str, path: str, *, stereo: bool) -> None:
        self.id = ident
        self.target = target
        self.path = path
        self.stereo = stereo
        self.writer = WavWriter(path, channels=2 if stereo else 1, update_every=1.0)

    def write(self, left: bytes | None, right: bytes | None) -> None:
        """Append one tick: ``left`` and ``right`` are 20 ms PCM frames or None."""
        if self.stereo:
            if left is None and right is None:
                self.writer.write(SILENCE + SILENCE)
            else:
                self.writer.write_stereo(left, right)
        elif left is not None and right is not None:
            self.writer.write(audioop.add(left, right, 2))
        else:
            self.writer.write(left or right or SILENCE)

    @property
    def duration(self) -> float:
        """Seconds written so far."""
        return self.writer.frames_written / self.writer.rate

    def close(self) -> None:
        """Finalise the header and close the file."""
        self.writer.close()
