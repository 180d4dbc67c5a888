"""WAV files built in memory for prompt tests."""

from __future__ import annotations

import math
import struct
from array import array

from helpline.media._audioop import audioop


def sine(freq: float, rate: int, seconds: float, amplitude: int = 12000) -> bytes:
    """Native 16-bit mono samples of a sine."""
    count = int(rate * seconds)
    return array(
        "h", (int(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(count))
    ).tobytes()


def riff(
    fmt_tag: int, channels: int, rate: int, bits: int, data: bytes, *, extra: bytes = b""
) -> bytes:
    """A RIFF/WAVE file with one fmt chunk (plus ``extra`` chunks before data)."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def stereo_44k(seconds: float = 1.0, freq: float = 1000.0) -> bytes:
    """44.1 kHz stereo 16-bit PCM: the tone on the left, silence on the right."""
    mono = sine(freq, 44100, seconds)
    return riff(1, 2, 44100, 16, audioop.tostereo(mono, 2, 1, 0))


def ulaw_8k(seconds: float = 1.0, freq: float = 440.0) -> bytes:
    """A µ-law (WAVE_FORMAT_MULAW) mono file at 8 kHz."""
    return riff(7, 1, 8000, 8, audioop.lin2ulaw(sine(freq, 8000, seconds), 2))


def pcm16_8k(seconds: float = 0.5, freq: float = 440.0) -> bytes:
    """The prompt format itself: 8 kHz mono 16-bit PCM."""
    return riff(1, 1, 8000, 16, sine(freq, 8000, seconds))
