"""aiortc media tracks of the gateway: audio from the engine out, audio from the browser in.

Theory of operation
-------------------
* :class:`EngineTrack` is the track the gateway sends to the browser. aiortc's sender
  awaits :meth:`EngineTrack.recv` in a loop and encodes whatever frame it gets (Opus at
  48 kHz, or G.711), so ``recv`` sets the pace: frame ``n`` is handed out at the
  :class:`~helpline.media.rtp.FrameClock` deadline ``start + n * 20 ms`` (the loop's
  clock, no drift), filled from :class:`~helpline.webrtc.audio.EngineToBrowser`, silence
  when the engine sent nothing.
* :func:`pump` reads the browser's track (aiortc decodes it after its jitter buffer),
  resamples every frame to 8 kHz mono 16-bit with libav's resampler, and hands the PCM to
  a callback (the gateway wraps it in RTP for the engine). It ends when the track does.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, AudioResampler
from av.frame import Frame

from helpline.media.rtp import SAMPLES_PER_FRAME, FrameClock
from helpline.webrtc.audio import EngineToBrowser

RATE = 8000
TIME_BASE = fractions.Fraction(1, RATE)


class EngineTrack(MediaStreamTrack):
    """Audio for the browser: the engine's frames, paced at one per 20 ms."""

    kind = "audio"

    def __init__(self, source: EngineToBrowser) -> None:
        super().__init__()
        self.source = source
        self._clock: FrameClock | None = None
        self._sent = 0

    async def recv(self) -> Frame:
        """The next 20 ms frame, when it is due."""
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._clock is None:
            self._clock = FrameClock(loop.time())
        delay = self._clock.deadline(self._sent) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(self.source.next_frame())
        frame.sample_rate = RATE
        frame.time_base = TIME_BASE
        frame.pts = self._sent * SAMPLES_PER_FRAME
        self._sent += 1
        return frame


def to_pcm(resampler: AudioResampler, frame: AudioFrame) -> bytes:
    """``frame`` as 8 kHz mono 16-bit PCM (the resampler keeps state between frames)."""
    out = b""
    for piece in resampler.resample(frame):
        out += bytes(piece.planes[0])[: 2 * piece.samples]
    return out


async def pump(track: MediaStreamTrack, deliver: Callable[[bytes], None]) -> None:
    """Hand every frame of the browser's ``track`` to ``deliver`` as 8 kHz mono PCM,
    until the track ends."""
    resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if isinstance(frame, AudioFrame):
            deliver(to_pcm(resampler, frame))
