"""Uploads in common formats become 8 kHz mono 16-bit WAV once; garbage is refused."""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
from array import array
from itertools import pairwise
from pathlib import Path

import pytest

from helpline.media._audioop import audioop
from helpline.prompts.audio import AudioError, parse_wav, resample_to_8k, to_mono16
from helpline.prompts.convert import convert_upload, detect_format
from helpline.prompts.tts import ToolMissing
from tests.prompts.audio_fixtures import pcm16_8k, riff, sine, stereo_44k, ulaw_8k


def _prompt_pcm(wav: bytes) -> bytes:
    info = parse_wav(wav)
    assert (info.format, info.channels, info.rate, info.bits) == (1, 1, 8000, 16)
    assert wav[:4] == b"RIFF" and len(wav) == 44 + len(info.data)
    return to_mono16(info)


def _dominant_period(pcm: bytes) -> float:
    samples = array("h", pcm)
    crossings = sum(1 for a, b in pairwise(samples) if a < 0 <= b)
    return len(samples) / crossings


async def test_stereo_44k_wav_becomes_8k_mono_keeping_tone_and_length() -> None:
    converted = await convert_upload(stereo_44k(seconds=2.0, freq=1000.0))
    pcm = _prompt_pcm(converted.wav)
    assert converted.converter == "python" and converted.source_format == "wav"
    assert abs(converted.duration - 2.0) < 0.01
    assert _dominant_period(pcm[1600:-1600]) == pytest.approx(8.0, rel=0.02)  # 1 kHz at 8 kHz
    # Left-only tone averaged with a silent right channel: half the amplitude.
    assert audioop.rms(pcm[1600:-1600], 2) == pytest.approx(12000 / 2 / 2**0.5, rel=0.05)


async def test_mulaw_wav_is_decoded() -> None:
    converted = await convert_upload(ulaw_8k(seconds=1.0, freq=440.0))
    pcm = _prompt_pcm(converted.wav)
    assert len(pcm) == 16000
    assert audioop.rms(pcm, 2) == pytest.approx(12000 / 2**0.5, rel=0.05)


@pytest.mark.parametrize(
    ("tag", "bits", "encode"),
    [
        (1, 8, lambda pcm: audioop.bias(audioop.lin2lin(pcm, 2, 1), 1, 128)),
        (1, 24, lambda pcm: audioop.lin2lin(pcm, 2, 3)),
        (1, 32, lambda pcm: audioop.lin2lin(pcm, 2, 4)),
        (6, 8, lambda pcm: audioop.lin2alaw(pcm, 2)),
        (3, 32, lambda pcm: array("f", (s / 32768 for s in array("h", pcm))).tobytes()),
    ],
)
async def test_other_wav_encodings_are_read(tag: int, bits: int, encode: object) -> None:
    pcm = sine(440.0, 16000, 0.5)
    converted = await convert_upload(riff(tag, 1, 16000, bits, encode(pcm)))  # type: ignore[operator]
    out = _prompt_pcm(converted.wav)
    assert len(out) == 8000
    assert audioop.rms(out[400:-400], 2) == pytest.approx(12000 / 2**0.5, rel=0.06)


async def test_wave_format_extensible_and_extra_chunks_are_handled() -> None:
    pcm = sine(440.0, 8000, 0.25)
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 16000, 2, 16, 22, 16, 4)
    fmt += struct.pack("<H14s", 1, b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x008\x9bq")
    body = b"WAVE" + b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    body += b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm))
    converted = await convert_upload(b"RIFF" + struct.pack("<I", len(body) + len(pcm)) + body + pcm)
    assert _prompt_pcm(converted.wav) == pcm


async def test_prompt_format_passes_through_unchanged() -> None:
    source = pcm16_8k()
    converted = await convert_upload(source)
    assert converted.wav == source


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"hello, this is not audio",
        b"<html><body>nope</body></html>",
        bytes(range(256)) * 10,
        b"RIFF\x10\x00\x00\x00WAVEjunk",
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\x00" * 16 + b"data\x00\x00\x00\x00",
    ],
)
async def test_garbage_is_refused_with_a_clear_error(garbage: bytes) -> None:
    with pytest.raises(AudioError) as caught:
        await convert_upload(garbage)
    assert caught.value.status_code in (415, 422)
    assert caught.value.message


async def test_unsupported_wav_encoding_names_what_is_supported() -> None:
    if shutil.which("ffmpeg"):
        pytest.skip("with ffmpeg installed, unusual WAV encodings go to ffmpeg")
    with pytest.raises(AudioError, match="not supported"):
        await convert_upload(riff(2, 1, 8000, 4, b"\x00" * 400))  # MS ADPCM


async def test_size_and_duration_are_limited() -> None:
    with pytest.raises(AudioError) as too_big:
        await convert_upload(pcm16_8k(), max_bytes=100)
    assert too_big.value.status_code == 413
    with pytest.raises(AudioError, match="allowed"):
        await convert_upload(pcm16_8k(seconds=2.0), max_seconds=1.0)


def test_format_detection_uses_magic_bytes() -> None:
    assert detect_format(b"ID3\x04" + b"\x00" * 20) == "mp3"
    assert detect_format(b"OggS" + b"\x00" * 20) == "ogg"
    assert detect_format(b"fLaC" + b"\x00" * 20) == "flac"
    assert detect_format(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 20) == "m4a"
    assert detect_format(stereo_44k(0.01)) == "wav"


def test_resampler_suppresses_what_would_alias() -> None:
    passed = resample_to_8k(sine(1000.0, 48000, 1.0), 48000)
    aliased = resample_to_8k(sine(6000.0, 48000, 1.0), 48000)  # would fold to 2 kHz
    assert audioop.rms(passed[800:-800], 2) > 8000
    assert audioop.rms(aliased[800:-800], 2) < 50


def _encode_with_sox(tmp_path: Path, suffix: str) -> bytes:
    source = tmp_path / "in.wav"
    source.write_bytes(stereo_44k(seconds=1.0))
    target = tmp_path / f"out.{suffix}"
    subprocess.run(["sox", str(source), str(target)], check=True, capture_output=True)
    return target.read_bytes()


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox (apt-get install sox)")
async def test_flac_is_converted_with_an_external_tool(tmp_path: Path) -> None:
    converted = await convert_upload(_encode_with_sox(tmp_path, "flac"))
    assert converted.source_format == "flac" and converted.converter in ("ffmpeg", "sox")
    pcm = _prompt_pcm(converted.wav)
    assert abs(len(pcm) / 16000 - 1.0) < 0.02


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (apt-get install ffmpeg)")
async def test_mp3_is_converted_with_ffmpeg(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    source.write_bytes(stereo_44k(seconds=1.0))
    target = tmp_path / "out.mp3"
    await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(source), str(target)],
        check=True,
    )
    converted = await convert_upload(target.read_bytes())
    assert converted.converter == "ffmpeg" and converted.source_format == "mp3"
    assert abs(converted.duration - 1.0) < 0.1


async def test_non_wav_without_any_tool_names_the_missing_tool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("helpline.prompts.convert.shutil.which", lambda _name: None)
    with pytest.raises(ToolMissing) as caught:
        await convert_upload(b"OggS" + b"\x00" * 100)
    assert caught.value.status_code == 503 and "ffmpeg" in caught.value.message


async def test_undecodable_file_of_a_known_format_is_refused(tmp_path: Path) -> None:
    if not (shutil.which("ffmpeg") or shutil.which("sox")):
        pytest.skip("needs ffmpeg or sox")
    with pytest.raises(AudioError, match="could not decode"):
        await convert_upload(b"fLaC" + b"\x00" * 200)
