import struct

import pytest

from helpline.media.errors import MediaError
from helpline.media.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    build_compound,
    ntp_middle,
    ntp_timestamp,
    parse_compound,
    reception_statistics,
    round_trip_time,
)

BLOCK = ReportBlock(0x11223344, 64, 12, 0x0001_0010, 80, 0xAABBCCDD, 65536)


def test_receiver_report_with_cname_round_trips() -> None:
    rr = ReceiverReport(0xCAFEBABE, (BLOCK,))
    data = build_compound(rr, cname="helpline@example.org")
    assert len(data) % 4 == 0
    assert parse_compound(data) == (rr,)


def test_sender_report_round_trips() -> None:
    sr = SenderReport(1, ntp_timestamp(1_700_000_000.25), 12345, 100, 16000, (BLOCK, BLOCK))
    assert parse_compound(sr.serialize()) == (sr,)


def test_negative_cumulative_lost_is_sign_extended() -> None:
    block = ReportBlock(1, 0, -3, 10, 0)
    (rr,) = parse_compound(ReceiverReport(2, (block,)).serialize())
    assert isinstance(rr, ReceiverReport)
    assert rr.reports[0].cumulative_lost == -3


def test_sdes_and_app_are_skipped_and_bye_is_read() -> None:
    sdes = bytes.fromhex("81 ca 00 02 00 00 00 05 01 02 61 62")
    app = bytes.fromhex("80 cc 00 02 00 00 00 05") + b"name"
    reason = b"\x04done\x00\x00\x00"
    bye = struct.pack("!BBH", 0x81, 203, 3) + struct.pack("!I", 5) + reason
    rr = ReceiverReport(5)
    packets = parse_compound(rr.serialize() + sdes + app + bye)
    assert packets == (rr, Bye((5,), "done"))


def test_sr_with_padding_on_last_packet() -> None:
    rr = ReceiverReport(9, (BLOCK,)).serialize()
    padded = bytearray(rr + b"\x00\x00\x00\x04")
    padded[0] |= 0x20
    padded[3] += 1
    assert parse_compound(bytes(padded)) == (ReceiverReport(9, (BLOCK,)),)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\xc9",
        bytes.fromhex("40 c9 00 01 00 00 00 01"),  # version 1
        bytes.fromhex("80 c9 00 05 00 00 00 01"),  # length beyond datagram
        bytes.fromhex("81 c9 00 01 00 00 00 01"),  # one block announced, none there
        bytes.fromhex("80 c8 00 01 00 00 00 01"),  # SR without sender info
        bytes.fromhex("80 c9 00 01 00 00 00 01 00"),  # trailing byte
    ],
)
def test_malformed_rtcp_raises(data: bytes) -> None:
    with pytest.raises(MediaError):
        parse_compound(data)


def test_round_trip_time_from_lsr_and_dlsr() -> None:
    sent = ntp_timestamp(1000.0)
    arrival = ntp_timestamp(1000.0 + 1.0 + 0.08)
    block = ReportBlock(1, 0, 0, 0, 0, ntp_middle(sent), 65536)  # peer held it 1 s
    rtt = round_trip_time(block, arrival)
    assert rtt == pytest.approx(0.08, abs=1e-4)
    assert round_trip_time(ReportBlock(1, 0, 0, 0, 0), arrival) is None


def test_report_block_becomes_statistics() -> None:
    stats = reception_statistics(BLOCK, clock_rate=8000)
    assert stats.loss_fraction == 0.25
    assert stats.cumulative_lost == 12
    assert stats.jitter_ms == 10.0
    assert stats.round_trip_time is None
