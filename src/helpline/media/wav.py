"""Crash-safe incremental WAV recording (RIFF/WAVE, 16-bit PCM, 8 kHz).

Theory of operation
-------------------
A canonical 44-byte header (RIFF chunk, ``fmt `` chunk with WAVE_FORMAT_PCM, ``data``
chunk) is written first with zero sizes, then audio is appended. The two sizes (RIFF
size = file size - 8, data size) are rewritten in place every ``update_every`` seconds
*of audio* (counted from the bytes written, never from a clock) or whenever the caller
calls :meth:`WavWriter.update_header`; the file is flushed at the same time. If the
process dies, the file is valid up to the last update, and :func:`repair_wav` recovers
everything that reached the disk after it: it sets both sizes from the file length and
truncates a partial trailing sample frame. Stereo files interleave two mono channels
(caller left, agent right); a side without a frame this tick is filled with silence.

This is the one media module that does file I/O; it has no timers of its own.
"""

from __future__ import annotations

import os
import struct
import sys
import wave
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Final

from helpline.media._audioop import audioop
from helpline.media.errors import MediaError

SAMPLE_WIDTH: Final = 2
WAVE_FORMAT_PCM: Final = 1
HEADER_SIZE: Final = 44

_HEADER: Final = struct.Struct("<4sI4s4sIHHIIHH4sI")
_CHUNK: Final = struct.Struct("<4sI")
_SIZE: Final = struct.Struct("<I")
_BIG_ENDIAN: Final = sys.byteorder == "big"


def interleave(left: bytes | None, right: bytes | None) -> bytes:
    """A stereo 16-bit frame from two mono frames; a missing or shorter side is silence."""
    if left is None or right is None or len(left) != len(right):
        if left is None and right is None:
            raise MediaError("interleave needs at least one channel")
        size = max(len(left or b""), len(right or b""))
        left = (left or b"").ljust(size, b"\x00")
        right = (right or b"").ljust(size, b"\x00")
    if len(left) % SAMPLE_WIDTH:
        raise MediaError("16-bit PCM needs an even byte count")
    return audioop.add(
        audioop.tostereo(left, SAMPLE_WIDTH, 1, 0),
        audioop.tostereo(right, SAMPLE_WIDTH, 0, 1),
        SAMPLE_WIDTH,
    )


def _header(channels: int, rate: int, data_size: int) -> bytes:
    align = channels * SAMPLE_WIDTH
    return _HEADER.pack(
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,
        WAVE_FORMAT_PCM,
        channels,
        rate,
        rate * align,
        align,
        8 * SAMPLE_WIDTH,
        b"data",
        data_size,
    )


class WavWriter:
    """Appends 16-bit PCM to a WAV file, keeping its header valid as it goes."""

    __slots__ = ("_file", "_since_update", "_update_bytes", "channels", "data_size", "rate")

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        channels: int = 1,
        rate: int = 8000,
        update_every: float | None = 1.0,
    ) -> None:
        if channels not in (1, 2):
            raise MediaError(f"mono or stereo only, got {channels} channels")
        self.channels = channels
        self.rate = rate
        self.data_size = 0
        self._since_update = 0
        bytes_per_second = rate * channels * SAMPLE_WIDTH
        self._update_bytes = None if update_every is None else update_every * bytes_per_second
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._file.write(_header(channels, rate, 0))

    @property
    def frames_written(self) -> int:
        """Sample frames written so far (one sample per channel each)."""
        return self.data_size // (self.channels * SAMPLE_WIDTH)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._file is None

    def write(self, pcm: bytes) -> None:
        """Append samples (interleaved when stereo, native byte order)."""
        file = self._file
        if file is None:
            raise MediaError("the WAV writer is closed")
        if len(pcm) % (self.channels * SAMPLE_WIDTH):
            raise MediaError(f"{len(pcm)} bytes is not a whole number of sample frames")
        file.write(audioop.byteswap(pcm, SAMPLE_WIDTH) if _BIG_ENDIAN else pcm)
        self.data_size += len(pcm)
        self._since_update += len(pcm)
        if self._update_bytes is not None and self._since_update >= self._update_bytes:
            self.update_header()

    def write_stereo(self, left: bytes | None, right: bytes | None) -> None:
        """Append one tick of a stereo recording from two mono frames (see
        :func:`interleave`)."""
        if self.channels != 2:
            raise MediaError("write_stereo needs a stereo writer")
        self.write(interleave(left, right))

    def update_header(self, *, fsync: bool = False) -> None:
        """Rewrite the RIFF and data sizes for what has been written, and flush."""
        file = self._file
        if file is None:
            raise MediaError("the WAV writer is closed")
        file.seek(4)
        file.write(_SIZE.pack(36 + self.data_size))
        file.seek(40)
        file.write(_SIZE.pack(self.data_size))
        file.seek(0, os.SEEK_END)
        file.flush()
        if fsync:
            os.fsync(file.fileno())
        self._since_update = 0

    def close(self) -> None:
        """Finalise the header and close the file; closing twice is harmless."""
        if self._file is None:
            return
        self.update_header()
        self._file.close()
        self._file = None

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def repair_wav(path: str | os.PathLike[str]) -> bool:
    """Fix the sizes of a WAV file left behind by a crash; True if it had to change.

    Assumes, as :class:`WavWriter` writes it, that the data chunk is the last chunk.
    Raises :class:`MediaError` when the file has no usable RIFF/fmt/data headers.
    """
    with open(path, "r+b") as file:
        size = file.seek(0, os.SEEK_END)
        file.seek(0)
        head = file.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            raise MediaError("not a RIFF/WAVE file")
        (riff_size,) = _SIZE.unpack_from(head, 4)
        align = 0
        while True:
            chunk = file.read(8)
            if len(chunk) < 8:
                raise MediaError("no data chunk in the WAV file")
            chunk_id, chunk_size = _CHUNK.unpack(chunk)
            if chunk_id == b"data":
                break
            body = file.read(chunk_size + (chunk_size & 1))
            if chunk_id == b"fmt ":
                if len(body) < 16:
                    raise MediaError("truncated fmt chunk")
                align = body[12] | body[13] << 8
        if align == 0:
            raise MediaError("no usable fmt chunk before the data chunk")
        data_offset = file.tell()
        available = size - data_offset
        if riff_size == size - 8 and chunk_size <= available and chunk_size % align == 0:
            return False
        usable = available - available % align
        file.truncate(data_offset + usable)
        file.seek(4)
        file.write(_SIZE.pack(data_offset + usable - 8))
        file.seek(data_offset - 4)
        file.write(_SIZE.pack(usable))
    return True


@dataclass(frozen=True, slots=True)
class WavInfo:
    """What the stdlib ``wave`` module reads from a valid file."""

    channels: int
    sample_width: int
    rate: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate


def check_wav(path: str | os.PathLike[str]) -> WavInfo:
    """Open the file with ``wave`` and read every frame; raise :class:`MediaError` if the
    header does not match the audio that is there."""
    try:
        with wave.open(os.fspath(path), "rb") as reader:
            info = WavInfo(
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
                reader.getnframes(),
            )
            align = info.channels * info.sample_width
            read = 0
            while chunk := reader.readframes(8000):
                read += len(chunk) // align
    except (wave.Error, EOFError) as exc:
        raise MediaError(f"invalid WAV file: {exc}") from exc
    if read != info.frames:
        raise MediaError(f"header says {info.frames} frames, file holds {read}")
    return info
