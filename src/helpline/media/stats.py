"""Receive statistics of one RTP source (RFC 3550 appendix A.1, A.3, A.8).

Theory of operation
-------------------
* Sequence tracking (A.1): a source is valid after ``min_sequential`` packets in
  sequence (probation). Then a packet ahead of the highest sequence number by less
  than ``MAX_DROPOUT`` advances it, counting a wrap (cycle) when the 16-bit number
  goes round; a packet far outside that window is dropped unless the next one follows
  it, in which case the sender restarted and the counts start again; anything behind
  by up to ``MAX_MISORDER`` is a duplicate or reordered packet and is counted.
  Unlike the appendix's sample code, the packets that passed probation are counted
  too (the base sequence number is the first of them), so a 3-packet stream reports 3.
* Loss (A.3): expected = extended highest - base + 1, lost = expected - received
  (negative with duplicates, as the RFC intends); the fraction lost for a report is
  computed over the interval since the previous report.
* Jitter (A.8): for packets i-1, i with arrival times R and timestamps S (timestamp
  units), D = (R_i - R_{i-1}) - (S_i - S_{i-1}) and J += (|D| - J) / 16.
* A change of SSRC starts over (the stream was re-sourced, e.g. a re-INVITE).
The caller passes the arrival time ``now`` in seconds; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from helpline.media.errors import MediaError
from helpline.media.rtcp import ReportBlock, SenderReport, ntp_middle
from helpline.media.rtp import RtpPacket

RTP_SEQ_MOD: Final = 1 << 16
MAX_DROPOUT: Final = 3000
MAX_MISORDER: Final = 100
MIN_SEQUENTIAL: Final = 2


@dataclass(frozen=True, slots=True)
class ReceptionStats:
    """A snapshot of what we received from one source."""

    ssrc: int | None
    packets_received: int
    bytes_received: int
    packets_discarded: int
    """Packets refused as an unconfirmed sequence jump."""
    expected: int
    lost: int
    loss_fraction: float
    """Cumulative lost / expected, 0.0-1.0 (duplicates never make it negative)."""
    extended_highest_sequence: int
    jitter: float
    """Interarrival jitter in timestamp units."""
    jitter_ms: float
    resyncs: int


class ReceiveStatistics:
    """Sequence, loss and jitter bookkeeping for the RTP source of one stream."""

    __slots__ = (
        "_bad_seq",
        "_base_seq",
        "_cycles",
        "_expected_prior",
        "_jitter",
        "_last_arrival",
        "_last_ts",
        "_max_seq",
        "_probation",
        "_received",
        "_received_prior",
        "_sr_at",
        "_sr_middle",
        "bytes_received",
        "clock_rate",
        "min_sequential",
        "packets_discarded",
        "resyncs",
        "ssrc",
    )

    def __init__(self, clock_rate: int = 8000, *, min_sequential: int = MIN_SEQUENTIAL) -> None:
        if min_sequential < 1:
            raise MediaError("min_sequential must be at least 1")
        self.clock_rate = clock_rate
        self.min_sequential = min_sequential
        self.ssrc: int | None = None
        self.resyncs = 0
        self._reset()

    def _reset(self) -> None:
        self._max_seq = 0
        self._probation = self.min_sequential
        self._init_seq(0)
        self._jitter = 0.0
        self._last_arrival: float | None = None
        self._last_ts = 0
        self._sr_middle = 0
        self._sr_at = 0.0
        self.bytes_received = 0
        self.packets_discarded = 0

    def _init_seq(self, seq: int) -> None:
        self._base_seq = seq
        self._max_seq = seq
        self._bad_seq = RTP_SEQ_MOD + 1
        self._cycles = 0
        self._received = 0
        self._received_prior = 0
        self._expected_prior = 0

    def receive(self, packet: RtpPacket, now: float) -> bool:
        """Account for one packet arriving at ``now``; False if it was discarded as a
        sequence jump (it is counted once the next packet confirms the jump)."""
        if packet.ssrc != self.ssrc:
            if self.ssrc is not None:
                self.resyncs += 1
            self.ssrc = packet.ssrc
            self._reset()
            self._max_seq = (packet.sequence_number - 1) & 0xFFFF
        if not self._update_seq(packet.sequence_number):
            self.packets_discarded += 1
            self._last_arrival = None
            return False
        self.bytes_received += len(packet.payload)
        arrival = now * self.clock_rate
        ts = packet.timestamp
        if self._last_arrival is not None:
            ts_delta = ((ts - self._last_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            d = abs(arrival - self._last_arrival - ts_delta)
            self._jitter += (d - self._jitter) / 16
        self._last_arrival = arrival
        self._last_ts = ts
        return True

    def _update_seq(self, seq: int) -> bool:
        max_seq = self._max_seq
        if self._probation:
            if seq == (max_seq + 1) & 0xFFFF:
                self._probation -= 1
                self._max_seq = seq
                if self._probation == 0:
                    self._init_seq(seq)
                    self._base_seq = seq - (self.min_sequential - 1)
                    self._received = self.min_sequential
            else:
                self._probation = self.min_sequential - 1
                self._max_seq = seq
            return True
        udelta = (seq - max_seq) & 0xFFFF
        if udelta < MAX_DROPOUT:
            if seq < max_seq:
                self._cycles += RTP_SEQ_MOD
            self._max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq != self._bad_seq:
                self._bad_seq = (seq + 1) & 0xFFFF
                return False
            self._init_seq(seq)
            self.resyncs += 1
        self._received += 1
        return True

    @property
    def extended_highest_sequence(self) -> int:
        """Highest sequence number received, extended with the wrap count (A.1)."""
        return self._cycles + self._max_seq

    @property
    def valid(self) -> bool:
        """Whether the source has passed probation."""
        return self.ssrc is not None and self._probation == 0

    def snapshot(self) -> ReceptionStats:
        """Current counters; does not start a new report interval."""
        if not self.valid:
            expected = lost = 0
        else:
            expected = self.extended_highest_sequence - self._base_seq + 1
            lost = expected - self._received
        return ReceptionStats(
            ssrc=self.ssrc,
            packets_received=self._received,
            bytes_received=self.bytes_received,
            packets_discarded=self.packets_discarded,
            expected=expected,
            lost=lost,
            loss_fraction=max(0, lost) / expected if expected > 0 else 0.0,
            extended_highest_sequence=self.extended_highest_sequence if self.valid else 0,
            jitter=self._jitter,
            jitter_ms=self._jitter * 1000 / self.clock_rate,
            resyncs=self.resyncs,
        )

    def on_sender_report(self, report: SenderReport, now: float) -> None:
        """Remember the source's last SR for the LSR/DLSR fields of our next report."""
        if report.ssrc == self.ssrc:
            self._sr_middle = ntp_middle(report.ntp_timestamp)
            self._sr_at = now

    def report_block(self, now: float) -> ReportBlock | None:
        """A report block for our next RR/SR (A.3); starts a new interval. None before
        the source is valid."""
        if self.ssrc is None or not self.valid:
            return None
        expected = self.extended_highest_sequence - self._base_seq + 1
        lost = expected - self._received
        expected_interval = expected - self._expected_prior
        received_interval = self._received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = (lost_interval << 8) // expected_interval
        dlsr = 0
        if self._sr_middle:
            dlsr = max(0, min(0xFFFFFFFF, round((now - self._sr_at) * 65536)))
        return ReportBlock(
            self.ssrc,
            fraction,
            lost,
            self.extended_highest_sequence & 0xFFFFFFFF,
            int(self._jitter),
            self._sr_middle,
            dlsr,
        )
