"""Pure audio helpers for prompts: read RIFF/WAVE, mix to mono, resample to 8 kHz, write WAV.

Theory of operation
-------------------
Prompts are stored as 8 kHz mono 16-bit PCM WAV, what G.711 calls carry. :func:`parse_wav`
walks the RIFF chunks itself (the stdlib ``wave`` module of Python 3.11 reads neither
µ-law/A-law nor float nor WAVE_FORMAT_EXTENSIBLE files) and accepts PCM of 8, 16, 24 and 32
bits, IEEE float of 32 and 64 bits, G.711 µ-law and A-law, mono or stereo; a data chunk
that claims more bytes than the file holds (streamed WAVs) is cut to what is there.

:func:`resample_to_8k` decimates without aliasing, in C speed through ``audioop``: a
windowed-sinc low-pass FIR is applied as one ``audioop.mul``/``audioop.add`` pass per tap
pair over 32-bit samples with 8 bits of headroom, then ``audioop.ratecv`` interpolates.
Above 16 kHz a short filter first brings the signal to 16 kHz, protecting only the band
that can fold into 0-4 kHz; at 16 kHz (or below) a longer filter passes 0-3.4 kHz (the
telephone band) and stops from 4.6 kHz, so whatever folds lands above 3.4 kHz. Work goes
in blocks so memory stays bounded whatever the length.

No file or process I/O here; :mod:`helpline.prompts.convert` and :mod:`.tts` do that.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from helpline.core.errors import ApiError
from helpline.media._audioop import audioop

TARGET_RATE: Final = 8000
SAMPLE_WIDTH: Final = 2
WAVE_FORMAT_PCM: Final = 1
WAVE_FORMAT_IEEE_FLOAT: Final = 3
WAVE_FORMAT_ALAW: Final = 6
WAVE_FORMAT_MULAW: Final = 7
WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE

_BIG_ENDIAN: Final = sys.byteorder == "big"
_BLOCK_FRAMES: Final = 1 << 16
_CHUNK: Final = struct.Struct("<4sI")
_FMT: Final = struct.Struct("<HHIIHH")
_HEADER: Final = struct.Struct("<4sI4s4sIHHIIHH4sI")


class AudioError(ApiError):
    """The audio is not something a prompt can be made from."""

    status_code = 422
    error_id = "invalid_audio"


@dataclass(frozen=True, slots=True)
class WavData:
    """The format and sample bytes of a WAV file, as stored (little-endian)."""

    format: int
    channels: int
    rate: int
    bits: int
    data: bytes

    @property
    def frame_size(self) -> int:
        """Bytes per sample frame."""
        return self.channels * self.bits // 8

    @property
    def frames(self) -> int:
        """Sample frames in the data."""
        return len(self.data) // self.frame_size

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate


def _fmt(body: bytes) -> tuple[int, int, int, int]:
    if len(body) < _FMT.size:
        raise AudioError("truncated WAV fmt chunk")
    tag, channels, rate, _byte_rate, _align, bits = _FMT.unpack_from(body)
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 26:
            raise AudioError("truncated WAVE_FORMAT_EXTENSIBLE fmt chunk")
        (tag,) = struct.unpack_from("<H", body, 24)
    return tag, channels, rate, bits


def _check_format(tag: int, channels: int, rate: int, bits: int) -> None:
    supported = {
        WAVE_FORMAT_PCM: (8, 16, 24, 32),
        WAVE_FORMAT_IEEE_FLOAT: (32, 64),
        WAVE_FORMAT_ALAW: (8,),
        WAVE_FORMAT_MULAW: (8,),
    }
    if tag not in supported:
        raise AudioError(
            f"WAV encoding {tag:#06x} is not supported (PCM, float, µ-law or A-law)",
            details={"format": tag},
        )
    if bits not in supported[tag]:
        raise AudioError(f"{bits}-bit samples are not supported for WAV encoding {tag}")
    if channels not in (1, 2):
        raise AudioError(f"{channels} channels: mono or stereo only")
    if not 4000 <= rate <= 192000:
        raise AudioError(f"sample rate {rate} Hz is out of range (4000-192000)")


def parse_wav(data: bytes) -> WavData:
    """The format and samples of a RIFF/WAVE file; :class:`AudioError` if it is not one
    this module can read."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a RIFF/WAVE file")
    offset = 12
    fmt: tuple[int, int, int, int] | None = None
    while offset + _CHUNK.size <= len(data):
        chunk_id, size = _CHUNK.unpack_from(data, offset)
        offset += _CHUNK.size
        if chunk_id == b"fmt ":
            fmt = _fmt(data[offset : offset + size])
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError("the WAV data chunk comes before its fmt chunk")
            tag, channels, rate, bits = fmt
            _check_format(tag, channels, rate, bits)
            align = channels * bits // 8
            body = data[offset : offset + size]
            body = body[: len(body) - len(body) % align]
            if not body:
                raise AudioError("the WAV file holds no audio")
            return WavData(tag, channels, rate, bits, body)
        offset += size + (size & 1)
    raise AudioError("no data chunk in the WAV file" if fmt else "no fmt chunk in the WAV file")


def _floats_to_16(data: bytes, code: str) -> bytes:
    samples = array(code, data)
    if _BIG_ENDIAN:
        samples.byteswap()
    out = array("h", (max(-32768, min(32767, round(x * 32767.0))) for x in samples))
    return out.tobytes()


def _linear16(wav: WavData) -> bytes:
    """Samples as native-order 16-bit linear PCM, channels still interleaved."""
    if wav.format == WAVE_FORMAT_MULAW:
        return audioop.ulaw2lin(wav.data, SAMPLE_WIDTH)
    if wav.format == WAVE_FORMAT_ALAW:
        return audioop.alaw2lin(wav.data, SAMPLE_WIDTH)
    if wav.format == WAVE_FORMAT_IEEE_FLOAT:
        return _floats_to_16(wav.data, "f" if wav.bits == 32 else "d")
    width = wav.bits // 8
    if width == 1:
        return audioop.lin2lin(audioop.bias(wav.data, 1, -128), 1, SAMPLE_WIDTH)
    samples = audioop.byteswap(wav.data, width) if _BIG_ENDIAN else wav.data
    return samples if width == SAMPLE_WIDTH else audioop.lin2lin(samples, width, SAMPLE_WIDTH)


def to_mono16(wav: WavData) -> bytes:
    """The audio as native-order 16-bit mono PCM at its own rate (stereo is averaged)."""
    pcm = _linear16(wav)
    return audioop.tomono(pcm, SAMPLE_WIDTH, 0.5, 0.5) if wav.channels == 2 else pcm


def lowpass_taps(rate: int, pass_edge: float, stop_edge: float) -> list[float]:
    """A Hamming-windowed sinc low-pass for ``rate`` with its -6 dB point halfway between
    the edges (odd length, unity DC gain)."""
    cutoff = (pass_edge + stop_edge) / 2 / rate
    length = math.ceil(3.3 * rate / (stop_edge - pass_edge)) | 1
    middle = length // 2
    taps = []
    for i in range(length):
        k = i - middle
        sinc = 2 * cutoff if k == 0 else math.sin(2 * math.pi * cutoff * k) / (math.pi * k)
        taps.append(sinc * (0.54 - 0.46 * math.cos(2 * math.pi * i / (length - 1))))
    total = sum(taps)
    return [t / total for t in taps]


class _Fir:
    """A streaming FIR filter over native 16-bit PCM, computed with ``audioop``."""

    __slots__ = ("_history", "_taps")

    def __init__(self, taps: list[float]) -> None:
        self._taps = taps
        self._history = b"\x00" * 4 * (len(taps) - 1)

    def process(self, pcm: bytes) -> bytes:
        count = len(pcm) // SAMPLE_WIDTH
        if count == 0:
            return b""
        # 16 -> 32 bits shifts left by 16; dividing by 256 leaves 8 bits of headroom.
        wide = audioop.mul(audioop.lin2lin(pcm, SAMPLE_WIDTH, 4), 4, 1 / 256)
        padded = self._history + wide
        length = len(self._taps)
        self._history = padded[len(padded) - 4 * (length - 1) :] if length > 1 else b""
        size = 4 * count

        def window(j: int) -> bytes:
            start = 4 * (length - 1 - j)
            return padded[start : start + size]

        middle = length // 2
        acc = audioop.mul(window(middle), 4, self._taps[middle])
        for j in range(middle):
            pair = audioop.add(window(j), window(length - 1 - j), 4)
            acc = audioop.add(acc, audioop.mul(pair, 4, self._taps[j]), 4)
        return audioop.lin2lin(audioop.mul(acc, 4, 256.0), 4, SAMPLE_WIDTH)

    def flush(self) -> bytes:
        """The tail still inside the filter (pushes half a filter of silence)."""
        return self.process(b"\x00" * SAMPLE_WIDTH * (len(self._taps) // 2))


def _blocks(pcm: bytes) -> Iterator[bytes]:
    step = _BLOCK_FRAMES * SAMPLE_WIDTH
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]


def _stage(pcm: bytes, rate: int, target: int, taps: list[float] | None) -> bytes:
    fir = _Fir(taps) if taps else None
    state = None
    out: list[bytes] = []
    delay = len(taps) // 2 * SAMPLE_WIDTH if taps else 0
    for block in [*_blocks(pcm), b""]:
        filtered = (fir.process(block) if block else fir.flush()) if fir else block
        if filtered:
            converted, state = audioop.ratecv(filtered, SAMPLE_WIDTH, 1, rate, target, state)
            out.append(converted)
    joined = b"".join(out)
    # The filter delays by half its length; drop that much (converted to the new rate).
    skip = round(delay // SAMPLE_WIDTH * target / rate) * SAMPLE_WIDTH
    return joined[skip:]


def resample_to_8k(pcm: bytes, rate: int) -> bytes:
    """Native 16-bit mono PCM at ``rate`` resampled to 8 kHz, low-passed against aliasing."""
    if rate == TARGET_RATE:
        return pcm
    size = round(len(pcm) // SAMPLE_WIDTH * TARGET_RATE / rate) * SAMPLE_WIDTH
    if rate < TARGET_RATE:
        out = _stage(pcm, rate, TARGET_RATE, None)
    else:
        if rate > 16000:
            pcm = _stage(pcm, rate, 16000, lowpass_taps(rate, 3600.0, 6400.0))
            rate = 16000
        out = _stage(pcm, rate, TARGET_RATE, lowpass_taps(rate, 3400.0, 4600.0))
    # Interpolation may end a sample early or late: keep the length the input implies.
    return out[:size].ljust(size, b"\x00")


def trim_silence(pcm: bytes, *, threshold: int = 300, keep: float = 0.025) -> bytes:
    """8 kHz mono PCM without the leading and trailing silence, keeping ``keep`` seconds of it
    on each side (windows of 10 ms whose RMS stays under ``threshold`` are silence)."""
    window = TARGET_RATE // 100 * SAMPLE_WIDTH
    loud = [
        i
        for i in range(0, len(pcm), window)
        if audioop.rms(pcm[i : i + window], SAMPLE_WIDTH) >= threshold
    ]
    if not loud:
        return pcm
    margin = int(keep * TARGET_RATE) * SAMPLE_WIDTH
    return pcm[max(0, loud[0] - margin) : loud[-1] + window + margin]


def wav_bytes(pcm: bytes, rate: int = TARGET_RATE) -> bytes:
    """A canonical 44-byte-header WAV file of native 16-bit mono PCM."""
    if _BIG_ENDIAN:
        pcm = audioop.byteswap(pcm, SAMPLE_WIDTH)
    header = _HEADER.pack(
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        WAVE_FORMAT_PCM,
        1,
        rate,
        rate * SAMPLE_WIDTH,
        SAMPLE_WIDTH,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm


def is_prompt_wav(data: bytes) -> bool:
    """Whether ``data`` is already 8 kHz mono 16-bit PCM WAV."""
    try:
        wav = parse_wav(data)
    except AudioError:
        return False
    return (wav.format, wav.channels, wav.rate, wav.bits) == (1, 1, TARGET_RATE, 16)


def wav_to_prompt(data: bytes, *, max_seconds: float) -> bytes:
    """Any WAV this module reads, as an 8 kHz mono 16-bit WAV file (the pure-Python path)."""
    wav = parse_wav(data)
    if wav.duration > max_seconds:
        raise AudioError(
            f"the audio lasts {wav.duration:.0f} s, more than the {max_seconds:.0f} s allowed",
            details={"duration": round(wav.duration, 3), "max_seconds": max_seconds},
        )
    return wav_bytes(resample_to_8k(to_mono16(wav), wav.rate))


def pcm_of(prompt_wav: bytes) -> bytes:
    """The native 16-bit samples of an 8 kHz mono prompt WAV."""
    wav = parse_wav(prompt_wav)
    return to_mono16(wav)
