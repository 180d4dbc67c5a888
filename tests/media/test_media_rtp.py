import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.media.errors import MediaError
from helpline.media.g711 import PCMA, PCMU
from helpline.media.rtp import FrameClock, RtpPacket, RtpSender

packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence_number=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
)


@given(packets)
def test_serialize_then_parse_gives_the_same_packet(packet: RtpPacket) -> None:
    assert RtpPacket.parse(packet.serialize()) == packet


def test_parses_fixed_header_fields() -> None:
    data = bytes.fromhex("80 e0 01 02 00 00 03 e8 de ad be ef") + b"\xff" * 160
    packet = RtpPacket.parse(data)
    assert packet.marker is True
    assert packet.payload_type == 96
    assert packet.sequence_number == 0x0102
    assert packet.timestamp == 1000
    assert packet.ssrc == 0xDEADBEEF
    assert packet.payload == b"\xff" * 160
    assert packet.csrcs == ()


def test_padding_is_stripped_from_payload() -> None:
    data = bytes.fromhex("a0 00 00 01 00 00 00 01 00 00 00 01") + b"abc" + b"\x00\x00\x03"
    assert RtpPacket.parse(data).payload == b"abc"


def test_header_extension_is_skipped() -> None:
    ext = struct.pack("!HH", 0xBEDE, 2) + b"\x01" * 8
    data = bytes.fromhex("90 08 00 01 00 00 00 01 00 00 00 01") + ext + b"voice"
    packet = RtpPacket.parse(data)
    assert packet.payload == b"voice"
    assert packet.payload_type == PCMA


def test_csrc_list_is_read() -> None:
    data = bytes.fromhex("82 00 00 01 00 00 00 01 00 00 00 01 00 00 00 0a 00 00 00 0b") + b"x"
    packet = RtpPacket.parse(data)
    assert packet.csrcs == (10, 11)
    assert packet.payload == b"x"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x00\x00",
        bytes.fromhex("40 00 00 01 00 00 00 01 00 00 00 01"),  # version 1
        bytes.fromhex("83 00 00 01 00 00 00 01 00 00 00 01 00 00 00 01"),  # CSRC cut
        bytes.fromhex("90 00 00 01 00 00 00 01 00 00 00 01 be de"),  # extension cut
        bytes.fromhex("90 00 00 01 00 00 00 01 00 00 00 01 be de 00 05"),  # ext overrun
        bytes.fromhex("a0 00 00 01 00 00 00 01 00 00 00 01 00"),  # zero padding
        bytes.fromhex("a0 00 00 01 00 00 00 01 00 00 00 01 09"),  # padding overrun
    ],
)
def test_malformed_packets_raise_media_error(data: bytes) -> None:
    with pytest.raises(MediaError):
        RtpPacket.parse(data)


def test_serialize_rejects_payload_type_that_would_hit_marker_bit() -> None:
    with pytest.raises(MediaError):
        RtpPacket(128, 0, 0, 0).serialize()


def test_sender_starts_with_random_values_reproducible_from_seed() -> None:
    a = RtpSender(rng=random.Random(7))
    b = RtpSender(rng=random.Random(7))
    c = RtpSender(rng=random.Random(8))
    first = a.next_packet(b"\xff" * 160)
    assert first == b.next_packet(b"\xff" * 160)
    assert (first.ssrc, first.sequence_number, first.timestamp) != (
        c.ssrc,
        c.sequence_number,
        c.timestamp,
    )


def test_sender_marks_first_packet_and_advances_one_frame_per_packet() -> None:
    sender = RtpSender(PCMU, rng=random.Random(1))
    p1 = sender.next_packet(b"\xff" * 160)
    p2 = sender.next_packet(b"\xff" * 160)
    assert p1.marker is True and p2.marker is False
    assert p2.sequence_number == (p1.sequence_number + 1) & 0xFFFF
    assert p2.timestamp == (p1.timestamp + 160) & 0xFFFFFFFF
    assert p1.payload_type == PCMU
    assert sender.packets_sent == 2 and sender.octets_sent == 320


def test_timestamp_keeps_pace_across_silence_and_talkspurt_is_marked() -> None:
    sender = RtpSender(rng=random.Random(2))
    p1 = sender.next_packet(b"\xff" * 160)
    for _ in range(10):
        sender.skip()
    p2 = sender.next_packet(b"\xff" * 160)
    assert p2.marker is True
    assert p2.sequence_number == (p1.sequence_number + 1) & 0xFFFF
    assert p2.timestamp == (p1.timestamp + 11 * 160) & 0xFFFFFFFF


def test_sequence_and_timestamp_wrap_around() -> None:
    sender = RtpSender(initial_sequence=0xFFFF, initial_timestamp=0xFFFFFFFF - 100)
    sender.next_packet(b"")
    nxt = sender.next_packet(b"")
    assert nxt.sequence_number == 0
    assert nxt.timestamp == 59


def test_frame_clock_deadlines_do_not_drift() -> None:
    clock = FrameClock(start=1000.0, ptime=0.02)
    assert clock.deadline(0) == 1000.0
    assert clock.deadline(150_000) == pytest.approx(1000.0 + 3000.0, abs=1e-9)


def test_frame_clock_counts_frames_due_at_exact_deadlines() -> None:
    clock = FrameClock(start=0.0, ptime=0.02)
    assert clock.frames_due(-0.001) == 0
    assert clock.frames_due(0.0) == 1
    for n in range(1, 500):
        assert clock.frames_due(clock.deadline(n)) == n + 1
        assert clock.frames_due(clock.deadline(n) - 1e-6) == n


def test_frame_clock_reports_backlog_after_a_late_wakeup() -> None:
    clock = FrameClock(start=10.0)
    assert clock.frames_due(10.101, sent=1) == 5
    assert clock.frames_due(10.101, sent=6) == 0
