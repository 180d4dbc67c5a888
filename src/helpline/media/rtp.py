"""RTP packets and the sending side of an RTP stream (RFC 3550).

Theory of operation
-------------------
* :class:`RtpPacket` is the fixed header of RFC 3550 §5.1 plus CSRC list and payload.
  :meth:`RtpPacket.parse` checks the version (2), strips padding (§5.1 P bit: the last
  octet counts the padding octets), skips a header extension (§5.3.1: 16-bit profile
  word, 16-bit length in 32-bit words) and raises :class:`MediaError` on anything that
  does not fit. Extensions are not kept; :meth:`RtpPacket.serialize` never pads.
* :class:`RtpSender` owns the SSRC, sequence number and timestamp of one outgoing
  stream. All three start random (§5.1, §8). The sequence number grows by one per
  packet; the timestamp grows by the samples of every frame, *including frames not
  sent* during silence (§5.1: timestamps keep pace with the sampling clock), and the
  marker bit flags the first packet of each talkspurt (RFC 3551 §4.1).
* :class:`FrameClock` paces sending: frame ``n`` is due at ``start + n * ptime``,
  computed from the frame number rather than by adding ``ptime`` repeatedly, so
  there is no accumulated drift. The caller passes ``now``; nothing here reads a clock.
"""

from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass
from typing import Final

from helpline.media.errors import MediaError
from helpline.media.g711 import PCMU

RTP_VERSION: Final = 2
SAMPLES_PER_FRAME: Final = 160
"""20 ms of 8 kHz audio: one G.711 frame."""

_HEADER: Final = struct.Struct("!BBHII")
_EXTENSION: Final = struct.Struct("!HH")
_CSRC: Final = tuple(struct.Struct(f"!{n}I") for n in range(16))
_SEQ_MASK: Final = 0xFFFF
_TS_MASK: Final = 0xFFFFFFFF


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet (RFC 3550 §5.1); header extensions are skipped when parsing.

    Treat it as a value. It is not frozen because one is built for every packet
    received, and a frozen dataclass's ``__init__`` costs three times as much.
    """

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP datagram; raise :class:`MediaError` if it is malformed."""
        size = len(data)
        if size < 12:
            raise MediaError(f"RTP packet too short: {size} bytes")
        first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        if first == 0x80:  # the usual case: no padding, extension or CSRC
            return cls(second & 0x7F, seq, ts, ssrc, data[12:], second > 0x7F)
        if first >> 6 != RTP_VERSION:
            raise MediaError(f"RTP version {first >> 6} is not 2")
        offset = 12
        count = first & 0x0F
        csrcs: tuple[int, ...] = ()
        if count:
            offset += 4 * count
            if size < offset:
                raise MediaError("RTP packet truncated in the CSRC list")
            csrcs = _CSRC[count].unpack_from(data, 12)
        if first & 0x10:
            if size < offset + 4:
                raise MediaError("RTP packet truncated in the header extension")
            _profile, words = _EXTENSION.unpack_from(data, offset)
            offset += 4 + 4 * words
            if size < offset:
                raise MediaError("RTP header extension longer than the packet")
        end = size
        if first & 0x20:
            pad = data[-1]
            if pad == 0 or offset + pad > size:
                raise MediaError(f"invalid RTP padding length {pad}")
            end -= pad
        return cls(second & 0x7F, seq, ts, ssrc, data[offset:end], bool(second & 0x80), csrcs)

    def serialize(self) -> bytes:
        """The packet on the wire: header, CSRC list and payload, without padding."""
        count = len(self.csrcs)
        if count > 15:
            raise MediaError(f"at most 15 CSRCs, got {count}")
        if not 0 <= self.payload_type <= 127:
            raise MediaError(f"payload type {self.payload_type} out of range")
        second = self.payload_type | 0x80 if self.marker else self.payload_type
        try:
            header = _HEADER.pack(
                0x80 | count, second, self.sequence_number, self.timestamp, self.ssrc
            )
            if count:
                header += _CSRC[count].pack(*self.csrcs)
        except struct.error as exc:
            raise MediaError(f"RTP header field out of range: {exc}") from exc
        return header + self.payload


class RtpSender:
    """Sequence number, timestamp and SSRC of one outgoing RTP stream (RFC 3550 §5.1).

    Call :meth:`next_packet` for every frame sent and :meth:`skip` for every frame of
    silence not sent; the next packet after a skip (and the first one) has the marker set.
    """

    __slots__ = (
        "_new_talkspurt",
        "_seq",
        "_ts",
        "octets_sent",
        "packets_sent",
        "payload_type",
        "samples_per_frame",
        "ssrc",
    )

    def __init__(
        self,
        payload_type: int = PCMU,
        *,
        rng: random.Random | None = None,
        samples_per_frame: int = SAMPLES_PER_FRAME,
        ssrc: int | None = None,
        initial_sequence: int | None = None,
        initial_timestamp: int | None = None,
    ) -> None:
        """Random SSRC, sequence number and timestamp come from ``rng`` (seed it in
        tests) unless given explicitly (e.g. to continue a stream)."""
        if not 0 <= payload_type <= 127:
            raise MediaError(f"payload type {payload_type} out of range")
        draw = rng if rng is not None else random.Random()
        self.payload_type = payload_type
        self.samples_per_frame = samples_per_frame
        self.ssrc = ssrc if ssrc is not None else draw.getrandbits(32)
        seq = draw.getrandbits(16)
        ts = draw.getrandbits(32)
        self._seq = (seq if initial_sequence is None else initial_sequence) & _SEQ_MASK
        self._ts = (ts if initial_timestamp is None else initial_timestamp) & _TS_MASK
        self._new_talkspurt = True
        self.packets_sent = 0
        self.octets_sent = 0

    @property
    def sequence_number(self) -> int:
        """Sequence number the next packet will carry."""
        return self._seq

    @property
    def timestamp(self) -> int:
        """RTP timestamp of the next frame (sent or skipped)."""
        return self._ts

    def next_packet(
        self, payload: bytes, *, samples: int | None = None, marker: bool | None = None
    ) -> RtpPacket:
        """The packet for the next frame; advances sequence number and timestamp.

        ``samples`` defaults to ``samples_per_frame``; ``marker`` defaults to "first
        packet of a talkspurt".
        """
        mark = self._new_talkspurt if marker is None else marker
        packet = RtpPacket(self.payload_type, self._seq, self._ts, self.ssrc, payload, mark)
        self._seq = (self._seq + 1) & _SEQ_MASK
        step = self.samples_per_frame if samples is None else samples
        self._ts = (self._ts + step) & _TS_MASK
        self._new_talkspurt = False
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return packet

    def next_datagram(
        self, payload: bytes, *, timestamp: int | None = None, samples: int | None = None
    ) -> bytes:
        """The next frame as bytes on the wire, like ``next_packet(payload).serialize()``,
        without building the packet (the media engine's hot path). ``timestamp``
        overrides the stream's (a relayed packet keeps its own timing); ``samples``
        defaults to ``samples_per_frame``."""
        ts = self._ts if timestamp is None else timestamp & _TS_MASK
        second = self.payload_type | 0x80 if self._new_talkspurt else self.payload_type
        data = _HEADER.pack(0x80, second, self._seq, ts, self.ssrc) + payload
        self._seq = (self._seq + 1) & _SEQ_MASK
        step = self.samples_per_frame if samples is None else samples
        self._ts = (ts + step) & _TS_MASK
        self._new_talkspurt = False
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return data

    def skip(self, samples: int | None = None) -> None:
        """A frame of silence that is not sent: the timestamp moves on, the next packet
        starts a talkspurt."""
        step = self.samples_per_frame if samples is None else samples
        self._ts = (self._ts + step) & _TS_MASK
        self._new_talkspurt = True

    def packet_at(
        self, payload: bytes, *, payload_type: int, timestamp: int, marker: bool
    ) -> RtpPacket:
        """A packet with an explicit payload type and timestamp (telephone-events, RFC
        4733 §2.3) in this stream's sequence space; the timestamp does not advance."""
        packet = RtpPacket(
            payload_type, self._seq, timestamp & _TS_MASK, self.ssrc, payload, marker
        )
        self._seq = (self._seq + 1) & _SEQ_MASK
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return packet


@dataclass(frozen=True, slots=True)
class FrameClock:
    """Drift-free frame pacing: frame ``n`` is due at ``start + n * ptime`` (seconds)."""

    start: float
    ptime: float = 0.02

    def __post_init__(self) -> None:
        if not self.ptime > 0:
            raise MediaError(f"ptime must be positive, got {self.ptime}")

    def deadline(self, n: int) -> float:
        """When frame ``n`` (counting from 0) is due."""
        return self.start + n * self.ptime

    def frames_elapsed(self, now: float) -> int:
        """How many frames (0, 1, ...) have a deadline at or before ``now``."""
        if now < self.start:
            return 0
        n = math.floor((now - self.start) / self.ptime)
        # Float division can land just below an exact deadline; deadline() is the truth.
        while self.deadline(n + 1) <= now:
            n += 1
        while n >= 0 and self.deadline(n) > now:
            n -= 1
        return n + 1

    def frames_due(self, now: float, sent: int = 0) -> int:
        """How many frames should be sent at ``now`` when ``sent`` have gone out already."""
        return max(0, self.frames_elapsed(now) - sent)
