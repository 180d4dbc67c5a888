"""DTMF as RTP telephone-events (RFC 4733).

Theory of operation
-------------------
* Payload (RFC 4733 §2.3): event code (8 bits), E(nd) bit, R bit, volume (6 bits,
  -dBm0), duration (16 bits, timestamp units). Codes 0-9, ``*``=10, ``#``=11, A-D=12-15
  and flash=16 (§3.2) are the DTMF events; we render flash as ``"!"``.
* An event is identified by its RTP timestamp, which stays the same for every packet
  of the event (§2.5.1.1), within one SSRC. :class:`DtmfReceiver` keys events on
  ``(ssrc, timestamp)``, so peers that pick a new SSRC for every digit (SIPp) work.
  A digit is reported on the first end packet; the end packet is sent three times
  (§2.5.1.4) and the copies are ignored, as are late updates of a reported event.
  When no end packet comes, the digit is reported when the next event starts or after
  ``timeout`` seconds without a packet (§2.5.2.3, via :meth:`DtmfReceiver.get_timer`).
  Other payload types are ignored.
* :class:`DtmfSender` plans the packets of one digit (§2.5.1.2-§2.5.1.4): the first
  with the marker bit, an update every ``interval`` (50 ms) whose duration grows, then
  three end packets carrying the full duration, all with the timestamp of the event
  start, in the sequence space of the audio stream's :class:`RtpSender`.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Final

from helpline.media.errors import MediaError
from helpline.media.rtp import RtpPacket, RtpSender

DTMF_PAYLOAD_TYPE: Final = 101
"""Customary dynamic payload type for ``telephone-event/8000``."""
EVENT_FLASH: Final = 16
FLASH: Final = "!"
KEYS: Final = "0123456789*#ABCD" + FLASH
"""The key of each event code 0-16 (index = code)."""
END_PACKET_COPIES: Final = 3

_PAYLOAD: Final = struct.Struct("!BBH")
_CODES: Final = {key: code for code, key in enumerate(KEYS)}


def event_code(key: str) -> int:
    """The RFC 4733 event code of a key (``"0"``-``"9"``, ``*``, ``#``, A-D, ``!``)."""
    try:
        return _CODES[key.upper()]
    except KeyError:
        raise MediaError(f"not a DTMF key: {key!r}") from None


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """The 4-byte telephone-event payload (RFC 4733 §2.3)."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    @classmethod
    def parse(cls, data: bytes) -> TelephoneEvent:
        """Parse a telephone-event payload; raise :class:`MediaError` if too short."""
        if len(data) < 4:
            raise MediaError(f"telephone-event payload too short: {len(data)} bytes")
        event, flags, duration = _PAYLOAD.unpack_from(data)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def serialize(self) -> bytes:
        """The 4-byte payload; the R bit is sent as zero."""
        if not 0 <= self.volume <= 63:
            raise MediaError(f"volume {self.volume} out of range 0-63")
        flags = self.volume | 0x80 if self.end else self.volume
        try:
            return _PAYLOAD.pack(self.event, flags, self.duration)
        except struct.error as exc:
            raise MediaError(f"telephone-event field out of range: {exc}") from exc

    @property
    def key(self) -> str | None:
        """The DTMF key, or None for a non-DTMF event code."""
        return KEYS[self.event] if self.event < len(KEYS) else None


class DtmfEnd(Enum):
    """Why a digit was considered finished."""

    END_PACKET = "end-packet"
    NEXT_EVENT = "next-event"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """A digit received as a telephone-event."""

    key: str
    ssrc: int
    timestamp: int
    duration: int
    """Duration in timestamp units, as last reported by the sender."""
    clock_rate: int
    ended_by: DtmfEnd

    @property
    def duration_ms(self) -> float:
        """Duration in milliseconds."""
        return self.duration * 1000 / self.clock_rate


class _Active:
    __slots__ = ("duration", "event", "last_seen", "ssrc", "timestamp")

    def __init__(self, ssrc: int, timestamp: int, event: int, now: float) -> None:
        self.ssrc = ssrc
        self.timestamp = timestamp
        self.event = event
        self.duration = 0
        self.last_seen = now


class DtmfReceiver:
    """Turns received RTP packets into :class:`DtmfDigit` events (sans-IO)."""

    __slots__ = ("_current", "_events", "_finished", "clock_rate", "payload_type", "timeout")

    def __init__(
        self,
        payload_type: int = DTMF_PAYLOAD_TYPE,
        *,
        clock_rate: int = 8000,
        timeout: float = 0.5,
    ) -> None:
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.timeout = timeout
        self._current: _Active | None = None
        self._finished: deque[tuple[int, int]] = deque(maxlen=16)
        self._events: deque[DtmfDigit] = deque()

    def receive_datagram(self, data: bytes, now: float) -> None:
        """Parse an RTP datagram and feed it to :meth:`receive`."""
        self.receive(RtpPacket.parse(data), now)

    def receive(self, packet: RtpPacket, now: float) -> None:
        """Feed one RTP packet of the stream; packets of other payload types are ignored."""
        if packet.payload_type != self.payload_type:
            return
        te = TelephoneEvent.parse(packet.payload)
        if te.event >= len(KEYS):
            return
        ident = (packet.ssrc, packet.timestamp)
        if ident in self._finished:
            return
        current = self._current
        if current is not None and (current.ssrc, current.timestamp) != ident:
            self._finish(current, DtmfEnd.NEXT_EVENT)
            current = None
        if current is None:
            current = self._current = _Active(packet.ssrc, packet.timestamp, te.event, now)
        current.duration = max(current.duration, te.duration)
        current.last_seen = now
        if te.end:
            self._finish(current, DtmfEnd.END_PACKET)

    def next_event(self) -> DtmfDigit | None:
        """The next digit received, or None."""
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` should be called (a digit without end packet)."""
        current = self._current
        return None if current is None else current.last_seen + self.timeout

    def handle_timer(self, now: float) -> None:
        """Report a digit whose end packets never came, once ``timeout`` has passed."""
        current = self._current
        if current is not None and now >= current.last_seen + self.timeout:
            self._finish(current, DtmfEnd.TIMEOUT)

    def _finish(self, active: _Active, reason: DtmfEnd) -> None:
        self._current = None
        self._finished.append((active.ssrc, active.timestamp))
        self._events.append(
            DtmfDigit(
                KEYS[active.event],
                active.ssrc,
                active.timestamp,
                active.duration,
                self.clock_rate,
                reason,
            )
        )


@dataclass(frozen=True, slots=True)
class ScheduledPacket:
    """A packet to send ``offset`` seconds after the start of the event."""

    offset: float
    packet: RtpPacket


class DtmfSender:
    """Plans the telephone-event packets of digits on an audio stream (RFC 4733 §2.5.1).

    The audio of the stream should be muted while the packets of a digit are sent; the
    stream's timestamp is moved past the event so that audio resumes in a new talkspurt.
    """

    __slots__ = ("_rtp", "clock_rate", "interval", "payload_type", "volume")

    def __init__(
        self,
        rtp: RtpSender,
        *,
        payload_type: int = DTMF_PAYLOAD_TYPE,
        volume: int = 10,
        interval: float = 0.05,
        clock_rate: int = 8000,
    ) -> None:
        if interval <= 0:
            raise MediaError(f"interval must be positive, got {interval}")
        self._rtp = rtp
        self.payload_type = payload_type
        self.volume = volume
        self.interval = interval
        self.clock_rate = clock_rate

    def packets(self, key: str, duration: float = 0.1) -> tuple[ScheduledPacket, ...]:
        """The packets of one key press lasting ``duration`` seconds, with send offsets."""
        code = event_code(key)
        total = round(duration * self.clock_rate)
        if not 0 < total <= 0xFFFF:
            raise MediaError(f"event duration {duration}s out of range")
        step = max(1, round(self.interval * self.clock_rate))
        rate = self.clock_rate
        rtp = self._rtp
        start = rtp.timestamp
        planned: list[ScheduledPacket] = []
        elapsed = 0
        while elapsed < total:
            payload = TelephoneEvent(code, False, self.volume, elapsed).serialize()
            packet = rtp.packet_at(
                payload, payload_type=self.payload_type, timestamp=start, marker=elapsed == 0
            )
            planned.append(ScheduledPacket(elapsed / rate, packet))
            elapsed += step
        end_payload = TelephoneEvent(code, True, self.volume, total).serialize()
        for copy in range(END_PACKET_COPIES):
            packet = rtp.packet_at(
                end_payload, payload_type=self.payload_type, timestamp=start, marker=False
            )
            planned.append(ScheduledPacket((total + copy * step) / rate, packet))
        rtp.skip(total + (END_PACKET_COPIES - 1) * step)
        return tuple(planned)
