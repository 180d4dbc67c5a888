import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.media.errors import MediaError
from helpline.media.jitter import Gap, ReorderBuffer
from helpline.media.rtp import RtpPacket


def _p(seq: int, ssrc: int = 1) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, ssrc)


def _seqs(items: list[RtpPacket | Gap]) -> list[int | str]:
    return [
        f"gap{i.sequence_number}x{i.count}" if isinstance(i, Gap) else i.sequence_number
        for i in items
    ]


@st.composite
def shuffled_within_depth(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    depth = draw(st.integers(1, 8))
    start = draw(st.integers(0, 0xFFFF))
    count = draw(st.integers(1, 60))
    offsets = draw(st.lists(st.integers(0, depth - 1), min_size=count, max_size=count))
    order = sorted(range(count), key=lambda i: i + offsets[i])
    return depth, start, order


@given(shuffled_within_depth())
def test_any_reordering_within_depth_comes_out_in_order(case: tuple[int, int, list[int]]) -> None:
    depth, start, order = case
    buffer = ReorderBuffer(depth)
    out: list[RtpPacket | Gap] = []
    for i in order:
        buffer.push(_p(start + i))
        out.extend(buffer.pop_ready())
    out.extend(buffer.flush())
    assert _seqs(out) == [(start + i) & 0xFFFF for i in range(len(order))]
    assert buffer.late_dropped == 0 and buffer.lost == 0


def test_first_packet_waits_for_depth_then_in_order_packets_pop_immediately() -> None:
    buffer = ReorderBuffer(3)
    buffer.push(_p(10))
    buffer.push(_p(11))
    assert buffer.pop_ready() == []
    buffer.push(_p(12))
    assert _seqs(buffer.pop_ready()) == [10, 11, 12]
    buffer.push(_p(13))
    assert _seqs(buffer.pop_ready()) == [13]


def test_missing_frame_becomes_a_gap_after_depth_newer_frames() -> None:
    buffer = ReorderBuffer(3)
    for seq in (1, 3, 4):
        buffer.push(_p(seq))
    assert _seqs(buffer.pop_ready()) == [1]
    buffer.push(_p(5))
    assert _seqs(buffer.pop_ready()) == ["gap2x1", 3, 4, 5]
    assert buffer.lost == 1


def test_late_packet_after_its_gap_is_dropped_and_counted() -> None:
    buffer = ReorderBuffer(2)
    for seq in (1, 3, 4):
        buffer.push(_p(seq))
    assert _seqs(buffer.pop_ready()) == [1, "gap2x1", 3, 4]
    buffer.push(_p(2))
    buffer.push(_p(4))
    assert buffer.pop_ready() == []
    assert buffer.late_dropped == 2


def test_duplicate_held_packet_is_counted_once() -> None:
    buffer = ReorderBuffer(4)
    buffer.push(_p(1))
    buffer.push(_p(3))
    buffer.push(_p(3))
    assert buffer.duplicates == 1
    assert _seqs(buffer.flush()) == [1, "gap2x1", 3]


def test_order_survives_sequence_wrap() -> None:
    buffer = ReorderBuffer(3)
    for seq in (65534, 0, 65535, 1):
        buffer.push(_p(seq))
    assert _seqs(buffer.pop_ready()) == [65534, 65535, 0, 1]


def test_first_packet_may_arrive_after_its_successor() -> None:
    buffer = ReorderBuffer(3)
    buffer.push(_p(6))
    buffer.push(_p(5))
    assert buffer.pop_ready() == []
    buffer.push(_p(7))
    assert _seqs(buffer.pop_ready()) == [5, 6, 7]


def test_new_ssrc_releases_old_run_then_continues_with_new_one() -> None:
    buffer = ReorderBuffer(3)
    buffer.push(_p(100))
    buffer.push(_p(102))
    buffer.push(_p(7, ssrc=2))
    buffer.push(_p(8, ssrc=2))
    assert _seqs(buffer.pop_ready()) == [100, "gap101x1", 102]
    buffer.push(_p(9, ssrc=2))
    out = buffer.pop_ready()
    assert _seqs(out) == [7, 8, 9]
    assert {p.ssrc for p in out if isinstance(p, RtpPacket)} == {2}
    assert buffer.resyncs == 1


def test_huge_sequence_jump_resyncs_instead_of_a_huge_gap() -> None:
    buffer = ReorderBuffer(3)
    buffer.push(_p(10))
    buffer.push(_p(30000))
    assert _seqs(buffer.pop_ready()) == [10]
    assert _seqs(buffer.flush()) == [30000]
    assert buffer.resyncs == 1 and buffer.lost == 0


def test_depth_must_be_positive() -> None:
    with pytest.raises(MediaError):
        ReorderBuffer(0)
