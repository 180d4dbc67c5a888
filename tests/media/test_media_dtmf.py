import itertools
import random

import pytest

from helpline.media.dtmf import (
    DTMF_PAYLOAD_TYPE,
    DtmfEnd,
    DtmfReceiver,
    DtmfSender,
    TelephoneEvent,
    event_code,
)
from helpline.media.errors import MediaError
from helpline.media.g711 import PCMU
from helpline.media.rtp import RtpPacket, RtpSender


def _event_packet(
    ssrc: int, seq: int, ts: int, key: str, *, end: bool, duration: int, marker: bool = False
) -> bytes:
    payload = TelephoneEvent(event_code(key), end, 10, duration).serialize()
    return RtpPacket(DTMF_PAYLOAD_TYPE, seq, ts, ssrc, payload, marker).serialize()


def _drain(receiver: DtmfReceiver) -> list[str]:
    keys = []
    while (event := receiver.next_event()) is not None:
        keys.append(event.key)
    return keys


def test_payload_parse_and_serialize() -> None:
    data = bytes.fromhex("0b 8a 03 20")
    event = TelephoneEvent.parse(data)
    assert event == TelephoneEvent(11, True, 10, 800)
    assert event.key == "#"
    assert event.serialize() == data


def test_event_codes_cover_digits_star_hash_letters_and_flash() -> None:
    assert [event_code(k) for k in "0123456789*#ABCD!"] == list(range(17))
    assert event_code("d") == 15
    with pytest.raises(MediaError):
        event_code("E")


def test_short_payload_raises() -> None:
    with pytest.raises(MediaError):
        TelephoneEvent.parse(b"\x01\x02")


def test_triple_end_packet_counts_once() -> None:
    receiver = DtmfReceiver()
    receiver.receive_datagram(
        _event_packet(1, 10, 5000, "5", end=False, duration=0, marker=True), 0.0
    )
    receiver.receive_datagram(_event_packet(1, 11, 5000, "5", end=False, duration=400), 0.05)
    assert receiver.next_event() is None
    for i in range(3):
        receiver.receive_datagram(_event_packet(1, 12 + i, 5000, "5", end=True, duration=800), 0.1)
    digit = receiver.next_event()
    assert digit is not None
    assert (digit.key, digit.duration_ms, digit.ended_by) == ("5", 100.0, DtmfEnd.END_PACKET)
    assert receiver.next_event() is None
    assert receiver.get_timer() is None


def test_new_ssrc_for_every_digit_like_sipp() -> None:
    receiver = DtmfReceiver()
    for n, key in enumerate("1234#"):
        ssrc = 1000 + n
        ts = 8000 * n
        receiver.receive_datagram(_event_packet(ssrc, 1, ts, key, end=False, duration=0), n)
        for i in range(3):
            receiver.receive_datagram(
                _event_packet(ssrc, 2 + i, ts, key, end=True, duration=800), n
            )
    assert _drain(receiver) == list("1234#")


def test_same_key_twice_is_two_digits() -> None:
    receiver = DtmfReceiver()
    for n in range(2):
        for i in range(3):
            receiver.receive_datagram(
                _event_packet(7, 3 * n + i, 1600 * n, "0", end=True, duration=800), n
            )
    assert _drain(receiver) == ["0", "0"]


def test_audio_and_unknown_payload_types_are_ignored() -> None:
    receiver = DtmfReceiver()
    receiver.receive(RtpPacket(PCMU, 1, 0, 1, b"\xff" * 160), 0.0)
    receiver.receive(RtpPacket(13, 2, 0, 1, b"\x40"), 0.0)
    assert receiver.next_event() is None
    assert receiver.get_timer() is None


def test_digit_without_end_packet_is_reported_on_timeout() -> None:
    receiver = DtmfReceiver(timeout=0.5)
    receiver.receive_datagram(_event_packet(1, 1, 100, "9", end=False, duration=0), 10.0)
    receiver.receive_datagram(_event_packet(1, 2, 100, "9", end=False, duration=400), 10.05)
    assert receiver.get_timer() == pytest.approx(10.55)
    receiver.handle_timer(10.3)
    assert receiver.next_event() is None
    receiver.handle_timer(10.55)
    digit = receiver.next_event()
    assert digit is not None and (digit.key, digit.ended_by) == ("9", DtmfEnd.TIMEOUT)
    receiver.receive_datagram(_event_packet(1, 3, 100, "9", end=True, duration=800), 10.6)
    assert receiver.next_event() is None


def test_digit_without_end_packet_is_reported_when_next_event_starts() -> None:
    receiver = DtmfReceiver()
    receiver.receive_datagram(_event_packet(1, 1, 100, "1", end=False, duration=0), 0.0)
    receiver.receive_datagram(_event_packet(1, 2, 2000, "2", end=False, duration=0), 0.2)
    digit = receiver.next_event()
    assert digit is not None and (digit.key, digit.ended_by) == ("1", DtmfEnd.NEXT_EVENT)


def test_sender_packet_sequence_follows_rfc4733() -> None:
    rtp = RtpSender(PCMU, rng=random.Random(5))
    start_ts = rtp.timestamp
    planned = DtmfSender(rtp).packets("7", duration=0.2)
    events = [TelephoneEvent.parse(p.packet.payload) for p in planned]
    assert [p.offset for p in planned] == pytest.approx([0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    assert [p.packet.marker for p in planned] == [True] + [False] * 6
    assert {p.packet.timestamp for p in planned} == {start_ts}
    assert {p.packet.payload_type for p in planned} == {DTMF_PAYLOAD_TYPE}
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    durations = [e.duration for e in events]
    assert durations == sorted(durations) and durations[:4] == [0, 400, 800, 1200]
    assert durations[4:] == [1600] * 3
    seqs = [p.packet.sequence_number for p in planned]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))


def test_audio_after_a_digit_resumes_later_in_a_new_talkspurt() -> None:
    rtp = RtpSender(PCMU, rng=random.Random(6))
    rtp.next_packet(b"\xff" * 160)
    planned = DtmfSender(rtp).packets("1", duration=0.1)
    audio = rtp.next_packet(b"\xff" * 160)
    event_ts = planned[0].packet.timestamp
    assert audio.marker is True
    assert (audio.timestamp - event_ts) & 0xFFFFFFFF >= 800
    assert audio.sequence_number == (planned[-1].packet.sequence_number + 1) & 0xFFFF


def test_sender_output_is_received_as_one_digit_per_key() -> None:
    rtp = RtpSender(PCMU, rng=random.Random(9))
    sender = DtmfSender(rtp)
    receiver = DtmfReceiver()
    base = 0.0
    for key in "*0#":
        for item in sender.packets(key, duration=0.12):
            receiver.receive_datagram(item.packet.serialize(), base + item.offset)
        base += 1.0
    digits = []
    while (d := receiver.next_event()) is not None:
        digits.append(d)
    assert [d.key for d in digits] == ["*", "0", "#"]
    assert all(d.duration == 960 for d in digits)


def test_sender_rejects_bad_duration() -> None:
    sender = DtmfSender(RtpSender(rng=random.Random(1)))
    with pytest.raises(MediaError):
        sender.packets("1", duration=0)
    with pytest.raises(MediaError):
        sender.packets("1", duration=9.0)
