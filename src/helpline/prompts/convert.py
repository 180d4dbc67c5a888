"""Uploaded audio in common formats, converted once to 8 kHz mono 16-bit WAV.

WAV (PCM 8/16/24/32-bit, float, µ-law, A-law; mono or stereo; any rate) is converted in
Python (:mod:`helpline.prompts.audio`). MP3, Ogg, FLAC, M4A and AIFF go through
``ffmpeg`` or, without it, ``sox`` (with ``libsox-fmt-all`` for MP3); without either, the
error names the missing tool. The format is recognised from the file's first bytes, never
from its name; anything else is refused. Size and duration are limited.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from helpline.prompts.audio import (
    TARGET_RATE,
    AudioError,
    parse_wav,
    to_mono16,
    wav_bytes,
    wav_to_prompt,
)
from helpline.prompts.tts import ToolMissing

MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
MAX_SECONDS: Final = 600.0
TOOL_TIMEOUT: Final = 120.0
FORMATS: Final = ("wav", "mp3", "ogg", "flac", "m4a", "aiff")


@dataclass(frozen=True, slots=True)
class Converted:
    """A prompt ready to store."""

    wav: bytes
    duration: float
    source_format: str
    converter: str
    """``python``, ``ffmpeg`` or ``sox``."""


def detect_format(data: bytes) -> str:
    """The container of ``data`` from its magic bytes: one of :data:`FORMATS`."""
    head = data[:12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    raise AudioError(
        "not a recognised audio file: upload WAV, MP3, Ogg, FLAC or M4A",
        error_id="unsupported_audio",
        status_code=415,
    )


def _too_long(duration: float, max_seconds: float) -> AudioError:
    return AudioError(
        f"the audio lasts {duration:.0f} s or more, beyond the {max_seconds:.0f} s allowed",
        details={"max_seconds": max_seconds},
    )


def _tool() -> tuple[str, str]:
    for name in ("ffmpeg", "sox"):
        path = shutil.which(name)
        if path:
            return name, path
    raise ToolMissing("ffmpeg", "ffmpeg (or sox with libsox-fmt-all)")


def _command(tool: str, binary: str, source: Path, target: Path, limit: float) -> list[str]:
    if tool == "ffmpeg":
        return [
            *(binary, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(source)),
            *("-t", f"{limit:.3f}", "-vn", "-ac", "1", "-ar", str(TARGET_RATE)),
            *("-c:a", "pcm_s16le", "-f", "wav", "-y", str(target)),
        ]
    return [
        *(binary, "-V1", "-D", str(source), "-t", "wav", "-e", "signed-integer", "-b", "16"),
        *("-c", "1", "-r", str(TARGET_RATE), str(target), "trim", "0", f"{limit:.3f}"),
    ]


async def convert_with_tool(
    data: bytes, *, source_format: str, max_seconds: float, time_limit: float = TOOL_TIMEOUT
) -> Converted:
    """Decode ``data`` with ffmpeg or sox into an 8 kHz mono prompt."""
    tool, binary = _tool()
    with tempfile.TemporaryDirectory(prefix="helpline-convert-") as tmp:
        source = Path(tmp) / f"upload.{source_format}"
        target = Path(tmp) / "prompt.wav"
        source.write_bytes(data)
        args = _command(tool, binary, source, target, max_seconds + 1)
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(), time_limit)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise AudioError(f"{tool} took longer than {time_limit:.0f} s") from exc
        if proc.returncode != 0 or not target.exists():
            raise AudioError(
                f"{tool} could not decode the {source_format} file",
                details={"stderr": stderr.decode(errors="replace").strip()[-500:]},
            )
        wav = parse_wav(target.read_bytes())
    if (wav.channels, wav.rate, wav.bits) != (1, TARGET_RATE, 16):
        raise AudioError(f"{tool} produced {wav.channels} ch {wav.rate} Hz {wav.bits}-bit")
    if wav.duration > max_seconds:
        raise _too_long(wav.duration, max_seconds)
    return Converted(wav_bytes(to_mono16(wav)), wav.duration, source_format, tool)


def _convert_wav(data: bytes, max_seconds: float) -> Converted:
    out = wav_to_prompt(data, max_seconds=max_seconds)
    return Converted(out, (len(out) - 44) / (2 * TARGET_RATE), "wav", "python")


async def convert_upload(
    data: bytes, *, max_seconds: float = MAX_SECONDS, max_bytes: int = MAX_UPLOAD_BYTES
) -> Converted:
    """An uploaded file as an 8 kHz mono 16-bit WAV prompt.

    Raises :class:`AudioError` (422, or 415 for an unknown format, 413 when too big) and
    :class:`ToolMissing` (503) when a non-WAV format needs ffmpeg or sox and neither is
    installed.
    """
    if len(data) > max_bytes:
        raise AudioError(
            f"the file is larger than {max_bytes // (1024 * 1024)} MiB",
            error_id="upload_too_large",
            status_code=413,
            details={"max_bytes": max_bytes},
        )
    source_format = detect_format(data)
    if source_format == "wav":
        try:
            return await asyncio.to_thread(_convert_wav, data, max_seconds)
        except AudioError as exc:
            # An encoding Python does not read (ADPCM, GSM ...) may still decode with a tool.
            if not (isinstance(exc.details, dict) and "format" in exc.details):
                raise
            if shutil.which("ffmpeg") is None:
                raise
    return await convert_with_tool(data, source_format=source_format, max_seconds=max_seconds)
