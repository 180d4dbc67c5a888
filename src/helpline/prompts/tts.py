"""Text-to-speech through the ``espeak-ng`` command, cached by content.

espeak-ng (Debian package ``espeak-ng``) writes 22050 Hz mono WAV; the audio is resampled
to 8 kHz mono 16-bit in Python (:mod:`helpline.prompts.audio`), so no other tool is needed
and the result is the same on every machine with the same espeak-ng. A result is stored
under ``cache_dir/<key[:2]>/<key>.wav`` where the key hashes the engine, voice, speed,
format and text; the file is written to a temporary name in the same directory and
renamed into place, so concurrent synthesis of the same text is harmless and a reader
never sees half a file.

Chinese text in hanzi is read with the ``cmn`` voice, text in Latin letters (tone-numbered
pinyin: ``ni3 hao3``) with ``cmn-latn-pinyin``; espeak-ng 1.51 reads many common hanzi
badly, so pinyin is the dependable input.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from helpline.core.errors import ApiError
from helpline.prompts.audio import TARGET_RATE, parse_wav, resample_to_8k, to_mono16, trim_silence
from helpline.prompts.audio import wav_bytes as make_wav
from helpline.prompts.language import Language

log = logging.getLogger(__name__)

ENGINE: Final = "espeak-ng"
FORMAT: Final = "wav-8000-mono-s16-v1"
"""Part of the cache key: changes whenever the produced audio would change."""
DEFAULT_RATE: Final = 150
"""Words per minute; espeak-ng's own default is 175, a little fast on the phone."""
MAX_TEXT: Final = 1000
VOICES: Final = {Language.EN: "en-us", Language.ZH: "cmn", Language.KO: "ko"}
PINYIN_VOICE: Final = "cmn-latn-pinyin"


class TtsError(ApiError):
    """Synthesis failed (the engine crashed, timed out or wrote nothing usable)."""

    status_code = 502
    error_id = "tts_failed"


class ToolMissing(ApiError):
    """A command-line tool the operation needs is not installed."""

    status_code = 503
    error_id = "tool_missing"

    def __init__(self, tool: str, package: str) -> None:
        super().__init__(
            f"{tool} is not installed (Debian/Ubuntu: apt-get install {package})",
            details={"tool": tool, "package": package},
        )


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesized audio in the cache."""

    key: str
    path: Path
    duration: float
    cached: bool
    """Whether the audio was already in the cache (espeak-ng did not run)."""


def voice_for(text: str, language: Language) -> str:
    """The espeak-ng voice for ``text``: pinyin input in Chinese gets the pinyin voice."""
    if language is Language.ZH and text.isascii():
        return PINYIN_VOICE
    return VOICES[language]


def cache_key(text: str, *, voice: str, rate: int, trim: bool = True) -> str:
    """The content address of a synthesis: SHA-256 over engine, format, voice, rate, text."""
    fmt = FORMAT if trim else f"{FORMAT}-untrimmed"
    material = json.dumps([ENGINE, fmt, voice, rate, text], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def cache_path(cache_dir: Path, key: str) -> Path:
    """Where the audio for ``key`` lives in ``cache_dir``."""
    return cache_dir / key[:2] / f"{key}.wav"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a
    rename, so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def espeak_binary() -> str:
    """The path of espeak-ng, or :class:`ToolMissing`."""
    found = shutil.which(ENGINE)
    if found is None:
        raise ToolMissing(ENGINE, "espeak-ng")
    return found


async def run_espeak(text: str, *, voice: str, rate: int, time_limit: float) -> bytes:
    """The WAV file espeak-ng writes for ``text`` (its own 22050 Hz format)."""
    binary = espeak_binary()
    with tempfile.TemporaryDirectory(prefix="helpline-tts-") as tmp:
        out = Path(tmp) / "speech.wav"
        args = [binary, "-v", voice, "-s", str(rate), "-b", "1", "-w", str(out), "--stdin"]
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise ToolMissing(ENGINE, "espeak-ng") from exc
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(text.encode()), time_limit)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise TtsError(f"{ENGINE} took longer than {time_limit:.0f} s") from exc
        if proc.returncode != 0 or not out.exists():
            message = stderr.decode(errors="replace").strip()[:500]
            raise TtsError(f"{ENGINE} failed (exit {proc.returncode})", details={"stderr": message})
        return out.read_bytes()


def espeak_to_prompt(raw: bytes, *, trim: bool) -> bytes:
    """espeak-ng's WAV as an 8 kHz mono 16-bit WAV file."""
    wav = parse_wav(raw)
    pcm = resample_to_8k(to_mono16(wav), wav.rate)
    return make_wav(trim_silence(pcm) if trim else pcm)


async def synthesize(
    text: str,
    *,
    language: Language,
    cache_dir: Path,
    rate: int = DEFAULT_RATE,
    voice: str | None = None,
    time_limit: float = 30.0,
    trim: bool = True,
) -> Speech:
    """``text`` spoken in ``language`` as an 8 kHz mono WAV in the cache.

    A second call with the same text, voice and rate returns the cached file without
    running espeak-ng. ``voice`` overrides the language's voice (see :func:`voice_for`).
    Raises :class:`ToolMissing` without espeak-ng, :class:`TtsError` when it fails.
    """
    text = text.strip()
    if not text:
        raise TtsError("nothing to say", error_id="tts_empty", status_code=422)
    if len(text) > MAX_TEXT:
        raise TtsError(
            f"text longer than {MAX_TEXT} characters", error_id="tts_too_long", status_code=422
        )
    voice = voice or voice_for(text, language)
    key = cache_key(text, voice=voice, rate=rate, trim=trim)
    path = cache_path(cache_dir, key)
    if path.is_file():
        return Speech(key, path, _duration(path.stat().st_size), cached=True)
    raw = await run_espeak(text, voice=voice, rate=rate, time_limit=time_limit)
    audio = await asyncio.to_thread(espeak_to_prompt, raw, trim=trim)
    await asyncio.to_thread(write_atomically, path, audio)
    log.debug("synthesized %d characters with %s into %s", len(text), voice, path)
    return Speech(key, path, _duration(len(audio)), cached=False)


def _duration(file_size: int) -> float:
    return max(0, file_size - 44) / (2 * TARGET_RATE)
