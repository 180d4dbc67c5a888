import pytest

from helpline.media.errors import MediaError
from helpline.media.tones import (
    BUSY,
    DIAL,
    RINGBACK,
    ToneGenerator,
    dominant_frequency,
    dtmf,
    silence,
    tone,
    tone_level,
)


@pytest.mark.parametrize("frequency", [300, 425, 1000, 1633, 3400])
def test_dominant_frequency_finds_a_pure_tone(frequency: int) -> None:
    assert dominant_frequency(tone([frequency], 0.1)) == pytest.approx(frequency, abs=2)


def test_dominant_frequency_of_silence_is_zero() -> None:
    assert dominant_frequency(silence(800)) == 0.0


def test_tone_level_estimates_amplitude() -> None:
    pcm = tone([1000], 0.1, amplitude=0.5)
    assert tone_level(pcm, 1000) == pytest.approx(0.5, rel=0.05)
    assert tone_level(pcm, 425) < 0.01


def test_dtmf_tone_holds_both_frequencies() -> None:
    pcm = dtmf("5", 0.1)
    assert len(pcm) == 1600
    assert tone_level(pcm, 770) > 0.2 and tone_level(pcm, 1336) > 0.2
    assert tone_level(pcm, 697) < 0.05


def test_tone_phase_continues_across_calls() -> None:
    whole = tone([425], 0.04)
    parts = tone([425], 0.02) + tone([425], 0.02, start_sample=160)
    assert whole == parts


def test_ringback_cadence_is_one_second_on_four_off() -> None:
    generator = ToneGenerator(RINGBACK)
    frames = [generator.next_frame() for _ in range(500)]  # two full cycles
    assert all(len(f) == 320 for f in frames)
    on = [any(f) for f in frames]
    assert on[:50] == [True] * 50 and on[50:250] == [False] * 200
    assert on[250:300] == [True] * 50
    assert dominant_frequency(b"".join(frames[:5])) == pytest.approx(425, abs=2)


def test_busy_cadence_alternates_half_seconds() -> None:
    generator = ToneGenerator(BUSY)
    on = [any(generator.next_frame()) for _ in range(100)]
    assert on == [True] * 25 + [False] * 25 + [True] * 25 + [False] * 25


def test_continuous_tone_has_no_click_at_cycle_boundary() -> None:
    generator = ToneGenerator(DIAL)
    joined = b"".join(generator.next_frame() for _ in range(60))
    assert joined[16000 - 640 : 16000 + 640] == tone([425], 0.08, start_sample=7680)


def test_bad_tone_arguments_raise() -> None:
    with pytest.raises(MediaError):
        tone([], 0.1)
    with pytest.raises(MediaError):
        tone([440], 0.1, amplitude=2.0)
    with pytest.raises(MediaError):
        dtmf("X")
    with pytest.raises(MediaError):
        dominant_frequency(b"\x00\x00")
