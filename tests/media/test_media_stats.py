import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.media.rtcp import SenderReport, ntp_middle, ntp_timestamp
from helpline.media.rtp import RtpPacket
from helpline.media.stats import ReceiveStatistics


def _packet(seq: int, ts: int | None = None, ssrc: int = 1) -> RtpPacket:
    return RtpPacket(
        0, seq & 0xFFFF, (seq * 160 if ts is None else ts) & 0xFFFFFFFF, ssrc, b"x" * 160
    )


def test_in_order_stream_counts_every_packet_and_no_loss() -> None:
    stats = ReceiveStatistics()
    for i in range(50):
        assert stats.receive(_packet(1000 + i), now=i * 0.02)
    snap = stats.snapshot()
    assert (snap.packets_received, snap.expected, snap.lost) == (50, 50, 0)
    assert snap.bytes_received == 50 * 160
    assert snap.extended_highest_sequence == 1049
    assert snap.jitter == pytest.approx(0.0, abs=1e-6)


@given(st.integers(0, 0xFFFF), st.integers(2, 5000))
def test_sequence_wrap_around_extends_highest_sequence(start: int, count: int) -> None:
    stats = ReceiveStatistics()
    for i in range(count):
        stats.receive(_packet(start + i), now=i * 0.02)
    snap = stats.snapshot()
    # Cycles count from the packet that validated the source (the second one).
    assert snap.extended_highest_sequence == start + count - 1 - ((start + 1) & ~0xFFFF)
    assert snap.expected == count
    assert snap.lost == 0


def test_lost_packets_and_interval_fraction() -> None:
    stats = ReceiveStatistics()
    for i in range(100):
        if i % 4 != 3:  # lose one in four
            stats.receive(_packet(i), now=i * 0.02)
    snap = stats.snapshot()
    assert snap.expected == 99  # highest seen is 98
    assert snap.lost == 24
    block = stats.report_block(now=2.0)
    assert block is not None
    assert block.fraction_lost == (24 << 8) // 99
    assert block.cumulative_lost == 24
    for i in range(100, 110):
        stats.receive(_packet(i), now=i * 0.02)
    block = stats.report_block(now=2.2)
    assert block is not None
    assert block.fraction_lost == (1 << 8) // 11  # seq 99 turned out lost
    assert block.cumulative_lost == 25


def test_jitter_grows_with_irregular_arrival() -> None:
    stats = ReceiveStatistics()
    for i in range(200):
        stats.receive(_packet(i), now=i * 0.02 + (0.01 if i % 2 else 0.0))
    snap = stats.snapshot()
    # |D| is 80 timestamp units on every packet; J converges to 80.
    assert snap.jitter == pytest.approx(80, rel=0.01)
    assert snap.jitter_ms == pytest.approx(10, rel=0.01)


def test_jitter_ignores_timestamp_wrap() -> None:
    stats = ReceiveStatistics()
    for i in range(20):
        stats.receive(_packet(i, ts=0xFFFFFF00 + i * 160), now=i * 0.02)
    assert stats.snapshot().jitter == pytest.approx(0.0, abs=1e-6)


def test_duplicates_are_counted_and_loss_fraction_never_negative() -> None:
    stats = ReceiveStatistics()
    for seq in (1, 2, 3, 3, 4):
        stats.receive(_packet(seq), now=0.0)
    snap = stats.snapshot()
    assert snap.lost == -1
    assert snap.loss_fraction == 0.0


def test_big_jump_is_discarded_until_confirmed_then_resyncs() -> None:
    stats = ReceiveStatistics()
    for i in range(10):
        stats.receive(_packet(i), now=0.0)
    assert not stats.receive(_packet(40000), now=0.2)
    assert stats.receive(_packet(40001), now=0.22)
    snap = stats.snapshot()
    assert snap.packets_discarded == 1
    assert snap.resyncs == 1
    assert snap.expected == 1 and snap.packets_received == 1


def test_new_ssrc_starts_over() -> None:
    stats = ReceiveStatistics()
    for i in range(10):
        stats.receive(_packet(i, ssrc=1), now=0.0)
    for i in range(5):
        stats.receive(_packet(500 + i, ssrc=2), now=0.0)
    snap = stats.snapshot()
    assert (snap.ssrc, snap.packets_received, snap.resyncs) == (2, 5, 1)


def test_source_in_probation_gives_no_report_block() -> None:
    stats = ReceiveStatistics()
    stats.receive(_packet(7), now=0.0)
    assert stats.report_block(now=0.0) is None
    assert stats.snapshot().expected == 0


def test_report_block_carries_lsr_and_dlsr_of_last_sender_report() -> None:
    stats = ReceiveStatistics()
    for i in range(3):
        stats.receive(_packet(i), now=0.0)
    ntp = ntp_timestamp(1234.5)
    stats.on_sender_report(SenderReport(1, ntp, 0, 3, 480), now=10.0)
    block = stats.report_block(now=10.5)
    assert block is not None
    assert block.last_sr == ntp_middle(ntp)
    assert block.delay_since_last_sr == 32768
