"""RTCP sender and receiver reports (RFC 3550 §6).

Theory of operation
-------------------
* A datagram is a compound packet (§6.1): RTCP packets back to back, each with a
  common header (version 2, padding bit, 5-bit count, packet type, length in 32-bit
  words minus one). :func:`parse_compound` walks them and returns the sender reports
  (SR, PT 200, §6.4.1), receiver reports (RR, PT 201, §6.4.2) and BYEs (PT 203, §6.6);
  SDES (202), APP (204) and feedback packets are skipped, never fatal. Anything that
  does not fit raises :class:`MediaError`.
* A report block (§6.4.1) carries, about one source: fraction lost since the previous
  report (8-bit fixed point), cumulative number lost (24-bit signed), extended highest
  sequence number, interarrival jitter (timestamp units), LSR (middle 32 bits of the
  NTP timestamp of the last SR received) and DLSR (1/65536 s since then). The round
  trip time is ``A - LSR - DLSR`` where A is the middle 32 bits of the arrival time
  (§6.4.1, figure 2); :func:`reception_statistics` turns a block into those numbers.
* We build minimal reports for our side: an SR when we sent media, an RR otherwise,
  followed by an SDES CNAME chunk when a CNAME is given (§6.1 requires it in compounds).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, TypeAlias

from helpline.media.errors import MediaError

SR: Final = 200
RR: Final = 201
SDES: Final = 202
BYE: Final = 203
NTP_EPOCH_OFFSET: Final = 2_208_988_800
"""Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch)."""

_COMMON: Final = struct.Struct("!BBH")
_SENDER_INFO: Final = struct.Struct("!QIII")
_BLOCK: Final = struct.Struct("!IIIIII")
_SSRC: Final = struct.Struct("!I")


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block (RFC 3550 §6.4.1)."""

    ssrc: int
    fraction_lost: int
    """Fraction lost since the previous report, in 1/256."""
    cumulative_lost: int
    highest_sequence: int
    """Extended highest sequence number received (cycles << 16 | seq)."""
    jitter: int
    """Interarrival jitter in timestamp units."""
    last_sr: int = 0
    delay_since_last_sr: int = 0
    """In units of 1/65536 second."""

    def serialize(self) -> bytes:
        """The 24-byte block; cumulative lost is clamped to the 24-bit signed range."""
        lost = max(-0x800000, min(0x7FFFFF, self.cumulative_lost)) & 0xFFFFFF
        fraction = max(0, min(255, self.fraction_lost))
        try:
            return _BLOCK.pack(
                self.ssrc,
                fraction << 24 | lost,
                self.highest_sequence,
                self.jitter,
                self.last_sr,
                self.delay_since_last_sr,
            )
        except struct.error as exc:
            raise MediaError(f"report block field out of range: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SenderReport:
    """An SR (RFC 3550 §6.4.1): sender info plus report blocks."""

    ssrc: int
    ntp_timestamp: int
    """64-bit NTP timestamp (32.32 fixed point seconds since 1900)."""
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def serialize(self) -> bytes:
        """The SR packet on the wire."""
        try:
            info = _SENDER_INFO.pack(
                self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
            )
        except struct.error as exc:
            raise MediaError(f"sender info field out of range: {exc}") from exc
        return _packet(SR, self.reports, _SSRC.pack(self.ssrc) + info)


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """An RR (RFC 3550 §6.4.2): report blocks from a participant that sends no media."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def serialize(self) -> bytes:
        """The RR packet on the wire."""
        return _packet(RR, self.reports, _SSRC.pack(self.ssrc))


@dataclass(frozen=True, slots=True)
class Bye:
    """A BYE (RFC 3550 §6.6): these sources leave the session."""

    ssrcs: tuple[int, ...]
    reason: str = ""


RtcpPacket: TypeAlias = SenderReport | ReceiverReport | Bye


def _packet(packet_type: int, reports: tuple[ReportBlock, ...], head: bytes) -> bytes:
    if len(reports) > 31:
        raise MediaError(f"at most 31 report blocks, got {len(reports)}")
    body = head + b"".join(block.serialize() for block in reports)
    return _COMMON.pack(0x80 | len(reports), packet_type, len(body) // 4) + body


def sdes_cname(ssrc: int, cname: str) -> bytes:
    """An SDES packet with one chunk holding the CNAME item (RFC 3550 §6.5.1)."""
    text = cname.encode()
    if len(text) > 255:
        raise MediaError("CNAME longer than 255 bytes")
    chunk = _SSRC.pack(ssrc) + bytes((1, len(text))) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _COMMON.pack(0x81, SDES, len(chunk) // 4) + chunk


def build_compound(report: SenderReport | ReceiverReport, cname: str | None = None) -> bytes:
    """A compound RTCP datagram: the report, then an SDES CNAME if ``cname`` is given."""
    data = report.serialize()
    if cname is not None:
        data += sdes_cname(report.ssrc, cname)
    return data


def _blocks(data: bytes, offset: int, count: int, end: int) -> tuple[ReportBlock, ...]:
    if offset + 24 * count > end:
        raise MediaError("RTCP report blocks overrun the packet")
    blocks = []
    for _ in range(count):
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        blocks.append(ReportBlock(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr))
        offset += 24
    return tuple(blocks)


def parse_compound(data: bytes) -> tuple[RtcpPacket, ...]:
    """Parse a compound RTCP datagram into its SR, RR and BYE packets (others skipped)."""
    packets: list[RtcpPacket] = []
    offset = 0
    size = len(data)
    if size < 4:
        raise MediaError(f"RTCP datagram too short: {size} bytes")
    while offset < size:
        if size - offset < 4:
            raise MediaError("trailing bytes after the last RTCP packet")
        first, packet_type, words = _COMMON.unpack_from(data, offset)
        if first >> 6 != 2:
            raise MediaError(f"RTCP version {first >> 6} is not 2")
        end = offset + 4 * (words + 1)
        if end > size:
            raise MediaError("RTCP packet length exceeds the datagram")
        body_end = end
        if first & 0x20:
            pad = data[end - 1]
            if pad == 0 or offset + 4 + pad > end:
                raise MediaError(f"invalid RTCP padding length {pad}")
            body_end -= pad
        count = first & 0x1F
        body = offset + 4
        if packet_type == SR:
            if body + 24 > body_end:
                raise MediaError("RTCP SR too short")
            (ssrc,) = _SSRC.unpack_from(data, body)
            ntp, rtp_ts, pkts, octets = _SENDER_INFO.unpack_from(data, body + 4)
            reports = _blocks(data, body + 24, count, body_end)
            packets.append(SenderReport(ssrc, ntp, rtp_ts, pkts, octets, reports))
        elif packet_type == RR:
            if body + 4 > body_end:
                raise MediaError("RTCP RR too short")
            (ssrc,) = _SSRC.unpack_from(data, body)
            packets.append(ReceiverReport(ssrc, _blocks(data, body + 4, count, body_end)))
        elif packet_type == BYE:
            packets.append(_parse_bye(data, body, count, body_end))
        offset = end
    return tuple(packets)


def _parse_bye(data: bytes, body: int, count: int, end: int) -> Bye:
    reason_at = body + 4 * count
    if reason_at > end:
        raise MediaError("RTCP BYE source list overruns the packet")
    ssrcs = struct.unpack_from(f"!{count}I", data, body)
    reason = ""
    if reason_at < end:
        length = data[reason_at]
        raw = data[reason_at + 1 : min(end, reason_at + 1 + length)]
        reason = raw.decode("utf-8", errors="replace")
    return Bye(tuple(ssrcs), reason)


def ntp_timestamp(unix_time: float) -> int:
    """The 64-bit NTP timestamp (32.32 fixed point, era 0) of a Unix time in seconds."""
    return round((unix_time + NTP_EPOCH_OFFSET) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp: the LSR/DLSR time base."""
    return (ntp >> 16) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class RemoteReception:
    """What a peer reported about the stream we send it."""

    ssrc: int
    loss_fraction: float
    """Fraction lost since the peer's previous report, 0.0-1.0."""
    cumulative_lost: int
    highest_sequence: int
    jitter_ms: float
    round_trip_time: float | None
    """Seconds, or None when the peer has not received an SR from us yet."""


def round_trip_time(block: ReportBlock, arrival_ntp: int) -> float | None:
    """RTT in seconds from a report block that arrived at ``arrival_ntp`` (64-bit NTP)."""
    if block.last_sr == 0:
        return None
    delta = (ntp_middle(arrival_ntp) - block.last_sr - block.delay_since_last_sr) & 0xFFFFFFFF
    if delta & 0x80000000:
        return None
    return delta / 65536


def reception_statistics(
    block: ReportBlock, *, clock_rate: int = 8000, arrival_ntp: int | None = None
) -> RemoteReception:
    """Turn a report block about our stream into loss, jitter (ms) and round trip time."""
    rtt = None if arrival_ntp is None else round_trip_time(block, arrival_ntp)
    return RemoteReception(
        block.ssrc,
        block.fraction_lost / 256,
        block.cumulative_lost,
        block.highest_sequence,
        block.jitter * 1000 / clock_rate,
        rtt,
    )
