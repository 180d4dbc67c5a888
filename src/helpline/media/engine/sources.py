"""Audio sources for playback and music on hold: 20 ms frames of 8 kHz 16-bit PCM.

Theory of operation
-------------------
* A :class:`~helpline.media.backend.Source` is a description (a file path, a tone, a
  pause). :class:`ClipCache` turns it into a :class:`Clip`, loading and decoding files
  once (WAV must be 8 kHz mono 16-bit; ``.ulaw``/``.alaw`` raw G.711 is decoded) and
  keeping them while the file's size and mtime stay the same, so a prompt played to a
  thousand callers is read once. Loading happens when ``play`` is called, so a missing
  or malformed file is an error for the caller, not a silent gap later.
* :func:`playlist` chains clips into one iterator of frames, looping if asked. The last
  frame of a file is padded with silence.
* :class:`SharedSource` is music on hold: one looped playlist advanced at most once per
  tick however many endpoints listen, with the frame encoded at most once per payload
  type; it does not advance while nobody listens.
"""

from __future__ import annotations

import os
import wave
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from helpline.media import g711
from helpline.media.backend import (
    MediaBackendError,
    RawSource,
    SilenceSource,
    Source,
    ToneSource,
)
from helpline.media.errors import MediaError
from helpline.media.tones import ToneGenerator

FRAME_BYTES = 320
FRAME_SECONDS = 0.02
SILENCE = bytes(FRAME_BYTES)


@dataclass(frozen=True, slots=True)
class PcmClip:
    """Decoded audio held in memory."""

    pcm: bytes

    def frames(self) -> Iterator[bytes]:
        """The audio in 20 ms frames, the last one padded with silence."""
        pcm = self.pcm
        for start in range(0, len(pcm), FRAME_BYTES):
            frame = pcm[start : start + FRAME_BYTES]
            yield frame if len(frame) == FRAME_BYTES else frame.ljust(FRAME_BYTES, b"\x00")

    @property
    def endless(self) -> bool:
        """Whether the clip never ends by itself."""
        return False

    @property
    def empty(self) -> bool:
        """Whether the clip yields no frame at all."""
        return not self.pcm


@dataclass(frozen=True, slots=True)
class ToneClip:
    """A generated tone."""

    source: ToneSource

    def frames(self) -> Iterator[bytes]:
        """Frames of the tone, for its duration or forever."""
        generator = ToneGenerator(self.source.cadence, amplitude=self.source.amplitude)
        if self.source.duration is None:
            while True:
                yield generator.next_frame()
        for _ in range(round(self.source.duration / FRAME_SECONDS)):
            yield generator.next_frame()

    @property
    def endless(self) -> bool:
        """Whether the clip never ends by itself."""
        return self.source.duration is None

    @property
    def empty(self) -> bool:
        """Whether the clip yields no frame at all."""
        return self.source.duration is not None and self.source.duration < FRAME_SECONDS / 2


@dataclass(frozen=True, slots=True)
class SilenceClip:
    """A pause."""

    count: int

    def frames(self) -> Iterator[bytes]:
        """``count`` frames of silence."""
        for _ in range(self.count):
            yield SILENCE

    @property
    def endless(self) -> bool:
        """Whether the clip never ends by itself."""
        return False

    @property
    def empty(self) -> bool:
        """Whether the clip yields no frame at all."""
        return self.count == 0


Clip = PcmClip | ToneClip | SilenceClip


def read_wav(path: str) -> bytes:
    """The samples of an 8 kHz mono 16-bit WAV file; raise :class:`MediaBackendError`
    for anything else."""
    try:
        with wave.open(path, "rb") as reader:
            shape = (reader.getnchannels(), reader.getsampwidth(), reader.getframerate())
            if shape != (1, 2, 8000):
                raise MediaBackendError(
                    f"{path}: need 8 kHz mono 16-bit WAV, got {shape[2]} Hz, "
                    f"{shape[0]} channel(s), {8 * shape[1]}-bit"
                )
            return reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise MediaBackendError(f"cannot read WAV file {path}: {exc}") from exc


def read_raw(path: str, payload_type: int) -> bytes:
    """Decode a headerless G.711 file to 16-bit PCM."""
    try:
        with open(path, "rb") as file:
            data = file.read()
        return g711.decode(data, payload_type)
    except (OSError, MediaError) as exc:
        raise MediaBackendError(f"cannot read G.711 file {path}: {exc}") from exc


class ClipCache:
    """Loaded files, keyed by path and invalidated when size or mtime change."""

    __slots__ = ("_clips", "max_entries")

    def __init__(self, max_entries: int = 128) -> None:
        self.max_entries = max_entries
        self._clips: OrderedDict[tuple[str, int, int, int], PcmClip] = OrderedDict()

    def load(self, source: Source) -> Clip:
        """The clip of a source; files are read (or found in the cache) now."""
        if isinstance(source, ToneSource):
            return ToneClip(source)
        if isinstance(source, SilenceSource):
            if source.duration < 0:
                raise MediaBackendError("silence needs a duration >= 0")
            return SilenceClip(round(source.duration / FRAME_SECONDS))
        pt = source.payload_type if isinstance(source, RawSource) else -1
        try:
            status = os.stat(source.path)
        except OSError as exc:
            raise MediaBackendError(f"cannot read {source.path}: {exc}") from exc
        key = (source.path, pt, status.st_size, status.st_mtime_ns)
        clip = self._clips.get(key)
        if clip is None:
            pcm = read_wav(source.path) if pt < 0 else read_raw(source.path, pt)
            clip = self._clips[key] = PcmClip(pcm)
            while len(self._clips) > self.max_entries:
                self._clips.popitem(last=False)
        else:
            self._clips.move_to_end(key)
        return clip


def playlist(clips: Sequence[Clip], *, loop: bool) -> Iterator[bytes]:
    """Frames of ``clips`` one after the other, repeated forever if ``loop``."""
    if loop and all(clip.empty for clip in clips):
        raise MediaBackendError("a looped playback needs some audio")
    while True:
        for clip in clips:
            yield from clip.frames()
        if not loop:
            return


class SharedSource:
    """One looped playlist heard by many endpoints (music on hold)."""

    __slots__ = ("_encoded", "_frame", "_frames", "_tick", "frames_decoded", "listeners")

    def __init__(self, clips: Sequence[Clip]) -> None:
        self._frames = playlist(clips, loop=True)
        self._tick = -1
        self._frame = SILENCE
        self._encoded: dict[int, bytes] = {}
        self.listeners = 0
        self.frames_decoded = 0

    def payload(self, tick: int, payload_type: int) -> bytes:
        """The frame of ``tick`` encoded for ``payload_type``; computed once per tick."""
        if tick != self._tick:
            self._tick = tick
            self._frame = next(self._frames)
            self.frames_decoded += 1
            self._encoded.clear()
        payload = self._encoded.get(payload_type)
        if payload is None:
            payload = self._encoded[payload_type] = g711.encode(self._frame, payload_type)
        return payload
