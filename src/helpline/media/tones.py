"""Tone and silence generation, and tone detection, for 8 kHz 16-bit linear PCM.

Theory of operation
-------------------
* Samples are signed 16-bit in native byte order (what ``audioop`` and the G.711
  module use). A tone is a sum of sines; ``amplitude`` is the peak of the sum as a
  fraction of full scale, shared equally between the frequencies.
* Call-progress tones follow ITU-T E.180 / ETSI ES 201 970 for Europe: 425 Hz,
  ringback 1 s on / 4 s off, busy 0.5 s on / 0.5 s off. :class:`ToneGenerator` produces
  them as 20 ms frames. One full cadence cycle is computed once and cached (a cycle of
  an integral frequency repeats exactly each second at 8 kHz), so per-frame cost is a
  slice. DTMF pairs follow ITU-T Q.23.
* :func:`dominant_frequency` applies a Hann window to at most 100 ms of audio and runs
  the Goertzel algorithm over candidates 20 Hz apart (inside the window's main lobe),
  then refines around the best one in 1 Hz steps. :func:`tone_level` estimates the
  amplitude of one frequency, so a test can check which parties it hears.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from helpline.media.errors import MediaError

RATE: Final = 8000
FRAME_SAMPLES: Final = 160
FULL_SCALE: Final = 32767

DTMF_FREQUENCIES: Final[dict[str, tuple[int, int]]] = {
    key: (low, high)
    for row, low in zip(("123A", "456B", "789C", "*0#D"), (697, 770, 852, 941), strict=True)
    for key, high in zip(row, (1209, 1336, 1477, 1633), strict=True)
}


@dataclass(frozen=True, slots=True)
class Cadence:
    """A tone switched on and off: ``on`` then ``off`` seconds, repeated."""

    frequencies: tuple[int, ...]
    on: float
    off: float = 0.0


RINGBACK: Final = Cadence((425,), 1.0, 4.0)
BUSY: Final = Cadence((425,), 0.5, 0.5)
CONGESTION: Final = Cadence((425,), 0.2, 0.2)
DIAL: Final = Cadence((425,), 1.0)
TEST_TONE: Final = Cadence((1000,), 1.0)


def silence(samples: int = FRAME_SAMPLES) -> bytes:
    """``samples`` samples of 16-bit silence (a 20 ms frame by default)."""
    return bytes(2 * samples)


def tone(
    frequencies: Sequence[float],
    duration: float,
    *,
    amplitude: float = 0.25,
    rate: int = RATE,
    start_sample: int = 0,
) -> bytes:
    """``duration`` seconds of the sum of sines at ``frequencies`` (phase continues from
    ``start_sample``, so consecutive calls join without a click)."""
    if not 0.0 <= amplitude <= 1.0:
        raise MediaError(f"amplitude {amplitude} outside 0.0-1.0")
    if not frequencies:
        raise MediaError("a tone needs at least one frequency")
    samples = round(duration * rate)
    peak = amplitude * FULL_SCALE / len(frequencies)
    steps = [2 * math.pi * f / rate for f in frequencies]
    out = array("h", bytes(2 * samples))
    for i in range(samples):
        n = start_sample + i
        out[i] = round(peak * sum(math.sin(step * n) for step in steps))
    return out.tobytes()


def dtmf(key: str, duration: float = 0.1, *, amplitude: float = 0.5) -> bytes:
    """The dual tone of a DTMF key (Q.23) lasting ``duration`` seconds."""
    try:
        pair = DTMF_FREQUENCIES[key.upper()]
    except KeyError:
        raise MediaError(f"not a DTMF key: {key!r}") from None
    return tone(pair, duration, amplitude=amplitude)


@lru_cache(maxsize=64)
def _cycle(cadence: Cadence, amplitude: float) -> bytes:
    if any(f != int(f) for f in cadence.frequencies):
        raise MediaError("cadenced tones need whole-hertz frequencies")
    on = tone(cadence.frequencies, cadence.on, amplitude=amplitude)
    return on + silence(round(cadence.off * RATE))


class ToneGenerator:
    """Endless 20 ms frames of a (cadenced) tone, e.g. ringback while a call is queued."""

    __slots__ = ("_cycle", "_position", "frame_bytes")

    def __init__(
        self, cadence: Cadence, *, amplitude: float = 0.25, frame_samples: int = FRAME_SAMPLES
    ) -> None:
        self._cycle = _cycle(cadence, amplitude)
        if cadence.off == 0 and len(self._cycle) % (2 * RATE):
            raise MediaError("a continuous tone's cycle must be whole seconds")
        self._position = 0
        self.frame_bytes = 2 * frame_samples

    def next_frame(self) -> bytes:
        """The next frame of the tone."""
        cycle = self._cycle
        start = self._position
        end = start + self.frame_bytes
        if end <= len(cycle):
            frame = cycle[start:end]
        else:
            frame = cycle[start:] + cycle[: end - len(cycle)]
            while len(frame) < self.frame_bytes:
                frame += cycle[: self.frame_bytes - len(frame)]
        self._position = end % len(cycle)
        return frame


def _windowed(pcm: bytes, rate: int) -> tuple[list[float], float]:
    if len(pcm) % 2:
        raise MediaError("16-bit PCM needs an even byte count")
    samples = array("h", pcm[: 2 * (rate // 10)])
    n = len(samples)
    if n < 16:
        raise MediaError("need at least 16 samples to measure a frequency")
    window = [0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1)) for i in range(n)]
    return [s * w for s, w in zip(samples, window, strict=True)], sum(window)


def _goertzel(samples: list[float], frequency: float, rate: int) -> float:
    coeff = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def tone_level(pcm: bytes, frequency: float, rate: int = RATE) -> float:
    """Estimated amplitude of ``frequency`` in the audio, as a fraction of full scale."""
    samples, gain = _windowed(pcm, rate)
    power = max(0.0, _goertzel(samples, frequency, rate))
    return 2 * math.sqrt(power) / gain / FULL_SCALE


def dominant_frequency(pcm: bytes, rate: int = RATE) -> float:
    """The strongest frequency in the first 100 ms of ``pcm`` (Hz, 1 Hz resolution);
    0.0 for silence."""
    samples, _ = _windowed(pcm, rate)
    if not any(samples):
        return 0.0
    nyquist = rate // 2
    best = max(range(20, nyquist - 19, 20), key=lambda f: _goertzel(samples, f, rate))
    fine = range(max(1, best - 19), min(nyquist - 1, best + 19) + 1)
    return float(max(fine, key=lambda f: _goertzel(samples, f, rate)))
