import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.media import g711, tones
from helpline.media._audioop import audioop
from helpline.media.errors import MediaError


def _difference(a: bytes, b: bytes) -> bytes:
    return audioop.add(a, audioop.mul(b, 2, -1), 2)


def test_ulaw_round_trip_keeps_a_tone_close() -> None:
    pcm = tones.tone([1000], 0.02)
    back = g711.ulaw_decode(g711.ulaw_encode(pcm))
    assert len(g711.ulaw_encode(pcm)) == 160
    assert audioop.rms(_difference(pcm, back), 2) < 0.03 * audioop.rms(pcm, 2)


def test_alaw_round_trip_keeps_a_tone_close() -> None:
    pcm = tones.tone([440], 0.02)
    back = g711.alaw_decode(g711.alaw_encode(pcm))
    assert audioop.rms(_difference(pcm, back), 2) < 0.03 * audioop.rms(pcm, 2)


@given(st.binary(max_size=320))
def test_ulaw_to_alaw_equals_decode_then_encode(data: bytes) -> None:
    assert g711.ulaw_to_alaw(data) == g711.alaw_encode(g711.ulaw_decode(data))
    assert g711.alaw_to_ulaw(data) == g711.ulaw_encode(g711.alaw_decode(data))


def test_dispatch_by_payload_type() -> None:
    pcm = tones.tone([800], 0.02)
    assert g711.encode(pcm, g711.PCMU) == g711.ulaw_encode(pcm)
    assert g711.decode(g711.encode(pcm, g711.PCMA), g711.PCMA) == g711.alaw_decode(
        g711.alaw_encode(pcm)
    )
    ulaw = g711.ulaw_encode(pcm)
    assert g711.transcode(ulaw, g711.PCMU, g711.PCMA) == g711.ulaw_to_alaw(ulaw)
    assert g711.transcode(ulaw, g711.PCMU, g711.PCMU) is ulaw


def test_silence_payload_decodes_to_zero() -> None:
    for pt in (g711.PCMU, g711.PCMA):
        pcm = g711.decode(g711.silence(160, pt), pt)
        assert audioop.max(pcm, 2) <= 8


def test_unknown_payload_type_and_odd_pcm_raise() -> None:
    with pytest.raises(MediaError):
        g711.encode(b"\x00\x00", 18)
    with pytest.raises(MediaError):
        g711.ulaw_encode(b"\x00")
    with pytest.raises(MediaError):
        g711.transcode(b"", 0, 18)
