"""What a peer heard: RTP captured by ``rtp_sniff.py``, decoded and measured."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpline.media import g711
from helpline.media.tones import dominant_frequency, tone_level
from tests.interop.harness import Namespace

SNIFFER = Path(__file__).with_name("rtp_sniff.py")
TELEPHONE_EVENT_PTS = frozenset(range(96, 128))


@dataclass
class Capture:
    """Packets captured, by destination port."""

    packets: list[tuple[int, int, int, int, bytes, float]]

    def pcm(self, port: int, *, start: float = 0.0, end: float = float("inf")) -> bytes:
        """The G.711 audio sent to ``port`` (arriving between the ``time.monotonic()``
        instants ``start`` and ``end``), decoded to 16-bit PCM in arrival order."""
        return b"".join(
            g711.decode(payload, pt)
            for dst, pt, _ssrc, _seq, payload, at in self.packets
            if dst == port and pt in (0, 8) and start <= at <= end
        )

    def payload_types(self, port: int) -> set[int]:
        """Payload types seen on ``port``."""
        return {pt for dst, pt, *_ in self.packets if dst == port}

    def events(self, port: int) -> str:
        """RFC 4733 keys sent to ``port`` (one per event, end packets de-duplicated)."""
        keys = []
        seen: set[tuple[int, int]] = set()
        for dst, pt, ssrc, _seq, payload, _at in self.packets:
            if dst != port or pt not in TELEPHONE_EVENT_PTS or len(payload) < 4:
                continue
            code, flags = payload[0], payload[1]
            timestamp_key = (ssrc, code)
            if flags & 0x80 and timestamp_key not in seen:
                seen.add(timestamp_key)
                keys.append("0123456789*#ABCD"[code] if code < 16 else "?")
            elif not flags & 0x80:
                seen.discard(timestamp_key)
        return "".join(keys)


@contextlib.contextmanager
def sniff(ns: Namespace, workdir: Path, seconds: float, *ports: int) -> Iterator[list[Capture]]:
    """Capture RTP to ``ports`` while the block runs (at most ``seconds``)."""
    out = workdir / f"capture-{'-'.join(map(str, ports))}.json"
    proc = ns.popen(
        [sys.executable, str(SNIFFER), str(out), str(seconds), *map(str, ports)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    result: list[Capture] = []
    try:
        yield result
    finally:
        proc.terminate()
        proc.wait(timeout=seconds + 10)
        proc.stdout.close()
    rows = json.loads(out.read_text())
    result.append(Capture([(d, pt, s, q, bytes.fromhex(p), t) for d, pt, s, q, p, t in rows]))


def frequency_of(pcm: bytes, *, skip: float = 0.5) -> float:
    """Dominant frequency of a 100 ms window ``skip`` seconds into the audio."""
    start = int(skip * 8000) * 2
    return dominant_frequency(pcm[start : start + 1600])


def level_of(pcm: bytes, frequency: float, *, skip: float = 0.5) -> float:
    """Level of ``frequency`` (fraction of full scale) ``skip`` seconds in."""
    start = int(skip * 8000) * 2
    return tone_level(pcm[start : start + 1600], frequency)


def read_wav(path: Path) -> tuple[int, bytes]:
    """Channels and frames of a 16-bit WAV."""
    with wave.open(str(path)) as w:
        return w.getnchannels(), w.readframes(w.getnframes())


def correlation(heard: bytes, reference: bytes) -> float:
    """Best normalized cross-correlation of the reference inside what was heard."""
    a = np.frombuffer(heard, dtype=np.int16).astype(np.float64)
    r = np.frombuffer(reference, dtype=np.int16).astype(np.float64)
    if len(a) < len(r) or not r.any():
        return 0.0
    n = 1 << int(np.ceil(np.log2(len(a) + len(r))))
    corr = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(r, n)), n)[: len(a) - len(r) + 1]
    energy = np.convolve(a * a, np.ones(len(r)), mode="valid")
    norm = np.sqrt(np.maximum(energy, 1e-9) * float(np.dot(r, r)))
    return float(np.max(corr / norm))
