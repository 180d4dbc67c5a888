"""G.711 RTP <-> 20 ms PCM frames on the gateway's plain-RTP side, without I/O."""

from __future__ import annotations

import random

import pytest

from helpline.media import g711
from helpline.media.errors import MediaError
from helpline.media.g711 import PCMA, PCMU
from helpline.media.rtp import RtpPacket, RtpSender
from helpline.media.tones import dominant_frequency, tone
from helpline.webrtc.audio import (
    FRAME_BYTES,
    SILENCE,
    BrowserToEngine,
    EngineToBrowser,
    is_rtcp,
)


def _rtp(pcm: bytes, payload_type: int = PCMU, sender: RtpSender | None = None) -> bytes:
    sender = sender or RtpSender(payload_type, rng=random.Random(1))
    return sender.next_datagram(g711.encode(pcm, payload_type))


@pytest.mark.parametrize("payload_type", [PCMU, PCMA])
def test_engine_rtp_becomes_frames_of_the_same_tone(payload_type: int) -> None:
    source = EngineToBrowser()
    pcm = tone([1000], 0.02, amplitude=0.5)
    source.receive(_rtp(pcm, payload_type))
    frame = source.next_frame()
    assert len(frame) == FRAME_BYTES
    assert dominant_frequency(frame) == pytest.approx(1000, abs=5)


def test_nothing_queued_means_silence() -> None:
    assert EngineToBrowser().next_frame() == SILENCE


def test_a_full_queue_drops_the_oldest_frames() -> None:
    source = EngineToBrowser(max_frames=2)
    sender = RtpSender(PCMU, rng=random.Random(2))
    for frequency in (500, 1000, 1500, 2000):
        source.receive(_rtp(tone([frequency], 0.02, amplitude=0.5), sender=sender))
    assert (source.queued, source.dropped, source.received) == (2, 2, 4)
    assert dominant_frequency(source.next_frame()) == pytest.approx(1500, abs=5)
    assert dominant_frequency(source.next_frame()) == pytest.approx(2000, abs=5)
    assert source.next_frame() == SILENCE


def test_packets_longer_than_a_frame_are_split_and_the_rest_kept() -> None:
    source = EngineToBrowser()
    pcm = tone([800], 0.03, amplitude=0.5)  # 240 samples: one frame and a half
    source.receive(_rtp(pcm))
    assert source.queued == 1
    source.receive(_rtp(tone([800], 0.01, amplitude=0.5, start_sample=240)))
    assert source.queued == 2


def test_rtcp_telephone_events_and_garbage_are_ignored() -> None:
    source = EngineToBrowser()
    rtcp = bytes([0x80, 200]) + bytes(26)
    assert is_rtcp(rtcp)
    event = RtpPacket(101, 1, 2, 3, bytes([1, 0x80, 0, 160])).serialize()
    for data in (rtcp, event, b"\x00\x01", b"\x40" + bytes(20)):
        source.receive(data)
    assert (source.queued, source.ignored, source.received) == (0, 4, 0)


def test_browser_pcm_leaves_as_20_ms_rtp_frames() -> None:
    sender = RtpSender(PCMU, rng=random.Random(3))
    sink = BrowserToEngine(sender)
    pcm = tone([2000], 0.05, amplitude=0.5)  # 400 samples: two frames and a half
    first = sink.push(pcm[:100])
    rest = sink.push(pcm[100:])
    assert first == []
    packets = [RtpPacket.parse(d) for d in rest]
    assert len(packets) == 2
    assert [p.payload_type for p in packets] == [PCMU, PCMU]
    assert packets[1].sequence_number == (packets[0].sequence_number + 1) & 0xFFFF
    assert packets[1].timestamp == (packets[0].timestamp + 160) & 0xFFFFFFFF
    assert all(len(p.payload) == 160 for p in packets)
    heard = g711.decode(packets[0].payload + packets[1].payload, PCMU)
    assert dominant_frequency(heard) == pytest.approx(2000, abs=5)
    assert len(sink.push(pcm[:160])) == 1  # the held half frame completes


def test_bad_input_is_refused() -> None:
    with pytest.raises(MediaError):
        BrowserToEngine(RtpSender(9))
    with pytest.raises(MediaError):
        BrowserToEngine(RtpSender(PCMU)).push(b"\x00")
    with pytest.raises(MediaError):
        EngineToBrowser(max_frames=0)
