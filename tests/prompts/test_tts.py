"""Text-to-speech through espeak-ng (Debian package ``espeak-ng``), cached by content."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from helpline.prompts import tts
from helpline.prompts.audio import parse_wav
from helpline.prompts.language import Language
from helpline.prompts.tts import ToolMissing, TtsError, cache_key, synthesize, voice_for

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)"
)

SAMPLES = {
    Language.EN: ("Thank you for calling.", 0.8, 3.0),
    Language.ZH: ("gan3 xie4 nin2 de lai2 dian4", 0.8, 3.5),
    Language.KO: ("전화해 주셔서 감사합니다.", 0.8, 4.0),
}


@needs_espeak
@pytest.mark.parametrize("language", list(Language))
async def test_speech_is_8k_mono_of_plausible_length_and_cached(
    language: Language, tmp_path: Path
) -> None:
    text, shortest, longest = SAMPLES[language]
    first = await synthesize(text, language=language, cache_dir=tmp_path)
    wav = parse_wav(first.path.read_bytes())
    assert (wav.format, wav.channels, wav.rate, wav.bits) == (1, 1, 8000, 16)
    assert shortest < wav.duration < longest
    assert first.duration == pytest.approx(wav.duration)
    assert not first.cached and first.path.is_relative_to(tmp_path)
    before = first.path.stat()
    second = await synthesize(text, language=language, cache_dir=tmp_path)
    after = second.path.stat()
    assert second.cached and second.path == first.path
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@needs_espeak
async def test_cache_hit_does_not_run_espeak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await synthesize("Please hold.", language=Language.EN, cache_dir=tmp_path)

    async def must_not_run(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("espeak-ng ran for a cached text")

    monkeypatch.setattr(tts, "run_espeak", must_not_run)
    again = await synthesize("  Please hold.  ", language=Language.EN, cache_dir=tmp_path)
    assert again.cached


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@needs_espeak
async def test_concurrent_synthesis_of_one_text_leaves_one_whole_file(tmp_path: Path) -> None:
    results = await asyncio.gather(
        *(
            synthesize("All agents are busy.", language=Language.EN, cache_dir=tmp_path)
            for _ in range(4)
        )
    )
    assert len({r.path for r in results}) == 1
    files = _files(tmp_path)
    assert files == [results[0].path]
    assert parse_wav(files[0].read_bytes()).duration > 0.5


def test_cache_key_covers_voice_rate_and_text() -> None:
    base = cache_key("hello", voice="en-us", rate=150)
    assert len(base) == 64
    assert base != cache_key("hello", voice="ko", rate=150)
    assert base != cache_key("hello", voice="en-us", rate=160)
    assert base != cache_key("hello!", voice="en-us", rate=150)
    assert base != cache_key("hello", voice="en-us", rate=150, trim=False)


def test_chinese_pinyin_gets_the_pinyin_voice() -> None:
    assert voice_for("ni3 hao3", Language.ZH) == "cmn-latn-pinyin"
    assert voice_for("你好", Language.ZH) == "cmn"
    assert voice_for("hello", Language.EN) == "en-us"


async def test_missing_espeak_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("helpline.prompts.tts.shutil.which", lambda _name: None)
    with pytest.raises(ToolMissing) as caught:
        await synthesize("hello", language=Language.EN, cache_dir=tmp_path)
    assert caught.value.status_code == 503
    assert "espeak-ng" in caught.value.message and "apt-get install" in caught.value.message


async def test_empty_or_overlong_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TtsError) as empty:
        await synthesize("   ", language=Language.EN, cache_dir=tmp_path)
    assert empty.value.status_code == 422
    with pytest.raises(TtsError):
        await synthesize("a" * (tts.MAX_TEXT + 1), language=Language.EN, cache_dir=tmp_path)


@needs_espeak
async def test_slow_engine_times_out(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="longer than"):
        await tts.run_espeak("word " * 900, voice="en-us", rate=80, time_limit=0.001)
