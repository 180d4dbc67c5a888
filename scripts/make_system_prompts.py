#!/usr/bin/env python3
"""Generate the system prompt set in src/helpline/prompts/system/ (run from the repository).

Every prompt of helpline.prompts.catalog is synthesized with espeak-ng (Debian package
``espeak-ng``) into ``system/<language>/<name>.wav`` (8 kHz mono 16-bit, silence trimmed),
with a ``manifest.json`` per language listing names, texts and durations. ``system/common``
gets ``beep.wav`` (1 kHz, 250 ms) and ``moh/default.wav``, an original 20-second loop of
soft chords and arpeggios synthesized here. Files of names no longer in the catalog are
removed. The output depends only on the catalog and the espeak-ng version, so running the
script twice gives the same bytes.

    .venv/bin/python scripts/make_system_prompts.py [--jobs N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path

from helpline.prompts.audio import TARGET_RATE, wav_bytes
from helpline.prompts.catalog import COMMON, SYSTEM_PROMPTS, SYSTEM_RATE, SYSTEM_VOICES, Entry
from helpline.prompts.language import Language
from helpline.prompts.library import COMMON_DIR, SYSTEM_DIR
from helpline.prompts.tts import espeak_binary, synthesize, write_atomically

log = logging.getLogger("make_system_prompts")

BEEP_HZ = 1000.0
BEEP_SECONDS = 0.25
MOH_CHORD_SECONDS = 5.0
# C major - A minor - F major - G major (I vi IV V), voiced around middle C.
MOH_CHORDS = (
    (261.63, 329.63, 392.00),
    (220.00, 261.63, 329.63),
    (174.61, 220.00, 261.63),
    (196.00, 246.94, 293.66),
)


def _pcm(samples: list[float], peak: float) -> bytes:
    top = max(abs(s) for s in samples) or 1.0
    scale = peak / top
    return array("h", (round(s * scale) for s in samples)).tobytes()


def beep() -> bytes:
    """A 1 kHz sine of 250 ms with 5 ms raised-cosine edges, at -6 dBFS."""
    count = round(BEEP_SECONDS * TARGET_RATE)
    edge = round(0.005 * TARGET_RATE)
    out = []
    for i in range(count):
        ramp = min(1.0, i / edge, (count - 1 - i) / edge)
        gain = 0.5 - 0.5 * math.cos(math.pi * ramp)
        out.append(gain * math.sin(2 * math.pi * BEEP_HZ * i / TARGET_RATE))
    return wav_bytes(_pcm(out, 16384))


def music_on_hold() -> bytes:
    """An original 20-second loop: soft pad chords with a gentle arpeggio above them.

    Pads fade in and out over each chord so the loop point sounds like any other chord
    change; arpeggio notes are plucked (fast attack, exponential decay) one octave up.
    """
    chord_len = round(MOH_CHORD_SECONDS * TARGET_RATE)
    total = chord_len * len(MOH_CHORDS)
    out = [0.0] * total
    fade = round(0.6 * TARGET_RATE)
    for index, chord in enumerate(MOH_CHORDS):
        start = index * chord_len
        for i in range(chord_len):
            edge = min(1.0, i / fade, (chord_len - 1 - i) / fade)
            gain = 0.5 - 0.5 * math.cos(math.pi * edge)
            t = (start + i) / TARGET_RATE
            value = 0.0
            for freq in chord:
                value += math.sin(2 * math.pi * freq * t) + 0.2 * math.sin(4 * math.pi * freq * t)
            out[start + i] += 0.22 * gain * value
        notes = [2 * f for f in chord] + [4 * chord[0], 2 * chord[2]]
        step = chord_len // 8
        for n in range(8):
            freq = notes[(0, 1, 2, 3, 4, 2, 1, 0)[n] % len(notes)]
            begin = start + n * step
            for i in range(min(step * 2, total - begin)):
                t = i / TARGET_RATE
                env = min(1.0, t / 0.01) * math.exp(-t * 3.0)
                out[begin + i] += 0.35 * env * math.sin(2 * math.pi * freq * t)
    return wav_bytes(_pcm(out, 9000))


def _espeak_version() -> str:
    result = subprocess.run(
        [espeak_binary(), "--version"], capture_output=True, text=True, check=True
    )
    words = result.stdout.split()
    marker = "text-to-speech:"
    version = words[words.index(marker) + 1] if marker in words else "unknown"
    return f"espeak-ng {version}"


def _duration_ms(wav: bytes) -> int:
    return round((len(wav) - 44) * 1000 / (2 * TARGET_RATE))


async def _language(
    language: Language, entries: dict[str, Entry], root: Path, cache: Path, jobs: int
) -> dict[str, object]:
    voice = SYSTEM_VOICES[language]
    target = root / language.value
    limit = asyncio.Semaphore(jobs)
    prompts: dict[str, object] = {}

    async def one(name: str, entry: Entry) -> None:
        async with limit:
            speech = await synthesize(
                entry.speak, language=language, voice=voice, cache_dir=cache, rate=SYSTEM_RATE
            )
        wav = speech.path.read_bytes()
        path = target / f"{name}.wav"
        if not path.exists() or path.read_bytes() != wav:
            write_atomically(path, wav)
        prompts[name] = {
            "file": f"{name}.wav",
            "duration_ms": _duration_ms(wav),
            "text": entry.text,
        }

    await asyncio.gather(*(one(name, entry) for name, entry in entries.items()))
    for stale in target.rglob("*.wav"):
        if stale.relative_to(target).with_suffix("").as_posix() not in entries:
            log.info("removing %s", stale)
            stale.unlink()
    return {"voice": voice, "prompts": dict(sorted(prompts.items()))}


def _write_manifest(directory: Path, manifest: dict[str, object]) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    write_atomically(directory / "manifest.json", text.encode())


async def main(root: Path, jobs: int) -> None:
    """Write the whole system prompt set under ``root``."""
    engine = _espeak_version()
    with tempfile.TemporaryDirectory(prefix="helpline-prompts-") as tmp:
        for language, entries in SYSTEM_PROMPTS.items():
            body = await _language(language, entries, root, Path(tmp), jobs)
            manifest = {"language": language.value, "engine": engine, "rate": SYSTEM_RATE}
            _write_manifest(root / language.value, manifest | body)
            log.info("%s: %d prompts", language.value, len(entries))
    common = root / COMMON_DIR
    made = {"beep": beep(), "moh/default": music_on_hold()}
    assert set(made) == set(COMMON)
    prompts: dict[str, object] = {}
    for name, wav in made.items():
        write_atomically(common / f"{name}.wav", wav)
        prompts[name] = {"file": f"{name}.wav", "duration_ms": _duration_ms(wav), "text": ""}
    _write_manifest(common, {"language": COMMON_DIR, "engine": "python", "prompts": prompts})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--output", type=Path, default=SYSTEM_DIR)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    asyncio.run(main(args.output, args.jobs))
