"""The shipped system prompt set, and name resolution with tenant and English fallback."""

from __future__ import annotations

import json
from array import array
from itertools import pairwise
from pathlib import Path

import pytest

from helpline.prompts.audio import parse_wav
from helpline.prompts.catalog import COMMON, SYSTEM_PROMPTS
from helpline.prompts.language import Language
from helpline.prompts.library import (
    SYSTEM_DIR,
    PromptLibrary,
    PromptNotFound,
    tenant_prompt_path,
)
from helpline.prompts.say import queue_position_sentence
from tests.prompts.audio_fixtures import pcm16_8k


@pytest.mark.parametrize("language", list(Language))
def test_every_catalog_prompt_ships_as_8k_mono_wav_with_a_manifest(language: Language) -> None:
    manifest = json.loads((SYSTEM_DIR / language.value / "manifest.json").read_text())
    assert set(manifest["prompts"]) == set(SYSTEM_PROMPTS[language])
    for name, entry in manifest["prompts"].items():
        wav = parse_wav((SYSTEM_DIR / language.value / entry["file"]).read_bytes())
        assert (wav.format, wav.channels, wav.rate, wav.bits) == (1, 1, 8000, 16), name
        assert 0.15 < wav.duration < 5.0, name
        assert entry["duration_ms"] == round(wav.duration * 1000), name
    on_disk = {
        p.relative_to(SYSTEM_DIR / language.value).with_suffix("").as_posix()
        for p in (SYSTEM_DIR / language.value).rglob("*.wav")
    }
    assert on_disk == set(SYSTEM_PROMPTS[language])


def test_common_prompts_are_a_1khz_beep_and_a_20s_music_loop() -> None:
    library = PromptLibrary()
    beep = parse_wav(library.resolve("beep", Language.KO).read_bytes())
    assert beep.duration == pytest.approx(0.25)
    samples = array("h", beep.data)
    rises = sum(1 for a, b in pairwise(samples) if a < 0 <= b)
    assert rises == pytest.approx(250, abs=2)
    moh = parse_wav(library.resolve("moh/default", Language.ZH).read_bytes())
    assert (moh.rate, moh.channels) == (8000, 1) and 15 <= moh.duration <= 25
    assert set(COMMON) == {"beep", "moh/default"}


def test_system_set_stays_small() -> None:
    size = sum(p.stat().st_size for p in SYSTEM_DIR.rglob("*") if p.is_file())
    assert size < 3.6 * 1024 * 1024  # 272 prompts in three languages and the music loop


def _library(tmp_path: Path) -> PromptLibrary:
    system = tmp_path / "system"
    for rel in ("en/queue/please-hold", "zh/queue/please-hold", "en/ivr/goodbye", "common/beep"):
        path = system / f"{rel}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pcm16_8k())
    return PromptLibrary(data_dir=tmp_path / "data", system_dir=system)


def _custom(tmp_path: Path, tenant_id: int, language: Language, name: str) -> Path:
    path = tenant_prompt_path(tmp_path / "data", tenant_id, language, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pcm16_8k())
    return path


def test_tenant_prompt_wins_over_system_prompt(tmp_path: Path) -> None:
    library = _library(tmp_path)
    custom = _custom(tmp_path, 7, Language.ZH, "queue/please-hold")
    assert library.resolve("queue/please-hold", Language.ZH, tenant_id=7) == custom
    system = tmp_path / "system" / "zh" / "queue" / "please-hold.wav"
    assert library.resolve("queue/please-hold", Language.ZH, tenant_id=8) == system
    assert library.resolve("queue/please-hold", Language.ZH) == system


def test_missing_language_falls_back_to_english_then_common(tmp_path: Path) -> None:
    library = _library(tmp_path)
    en_goodbye = tmp_path / "system" / "en" / "ivr" / "goodbye.wav"
    assert library.resolve("ivr/goodbye", Language.KO) == en_goodbye
    custom_en = _custom(tmp_path, 7, Language.EN, "ivr/goodbye")
    assert library.resolve("ivr/goodbye", Language.KO, tenant_id=7) == custom_en
    assert library.resolve("beep", Language.ZH) == tmp_path / "system" / "common" / "beep.wav"
    with pytest.raises(PromptNotFound):
        library.resolve("ivr/nothing-here", Language.ZH)
    assert library.find("ivr/nothing-here", Language.EN) is None


def test_bad_names_never_reach_the_file_system(tmp_path: Path) -> None:
    library = _library(tmp_path)
    for name in ("../etc/passwd", "/abs", "a//b", "UPPER", "", "a/../b"):
        with pytest.raises(ValueError):
            library.find(name, Language.EN)


@pytest.mark.parametrize("language", list(Language))
def test_queue_sentence_resolves_to_shipped_files(language: Language) -> None:
    paths = PromptLibrary().resolve_all(queue_position_sentence(2345, language), language)
    assert all(p.is_relative_to(SYSTEM_DIR / language.value) for p in paths)
