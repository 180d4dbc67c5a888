"""A small reorder buffer for recording and mixing (RFC 3550 §5.1 sequence numbers).

Theory of operation
-------------------
Packets are pushed in arrival order and popped in sequence order. Each 16-bit
sequence number is extended (the nearest 32-bit value to the highest one seen, as in
RFC 3550 A.1) so a wrap from 65535 to 0 keeps the order. :meth:`ReorderBuffer.pop`
hands out the next packet as soon as it is there (the very first one of a run only
once ``depth - 1`` later ones were seen, as an earlier one could still arrive). A
missing packet is declared lost
once ``depth`` newer packets (by sequence number) have been seen behind it; it is then
reported as a :class:`Gap` so the consumer can insert silence. A packet older than
the last one popped is late: dropped and counted. Before anything is popped, the start
point may still move back to an earlier packet that arrives late.

A new SSRC, or a jump of more than ``MAX_JUMP`` sequence numbers, is a resync: the
packets still held for the old run become ready (in order, with their gaps) and the
new run starts at the packet that caused it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

from helpline.media.errors import MediaError
from helpline.media.rtp import RtpPacket

MAX_JUMP: Final = 3000
"""Same as RFC 3550 A.1 MAX_DROPOUT: a larger jump means the sender restarted."""


@dataclass(frozen=True, slots=True)
class Gap:
    """``count`` consecutive frames starting at ``sequence_number`` (16-bit) never came."""

    sequence_number: int
    count: int


class ReorderBuffer:
    """Reorders the packets of one stream within ``depth`` frames."""

    __slots__ = (
        "_count",
        "_held",
        "_highest",
        "_next",
        "_popped",
        "_ready",
        "depth",
        "duplicates",
        "late_dropped",
        "lost",
        "resyncs",
        "ssrc",
    )

    def __init__(self, depth: int = 3) -> None:
        if depth < 1:
            raise MediaError(f"depth must be at least 1, got {depth}")
        self.depth = depth
        self.ssrc: int | None = None
        self._held: dict[int, RtpPacket] = {}
        self._ready: deque[RtpPacket | Gap] = deque()
        self._next = 0
        self._highest = 0
        self._popped = False
        self._count = 0
        self.late_dropped = 0
        self.duplicates = 0
        self.lost = 0
        self.resyncs = 0

    def __len__(self) -> int:
        """Packets held or ready, not counting gaps."""
        return self._count

    def push(self, packet: RtpPacket) -> None:
        """Add a packet received in any order."""
        if packet.ssrc != self.ssrc:
            if self.ssrc is not None:
                self._resync()
            self.ssrc = packet.ssrc
            self._start(packet.sequence_number)
        reference = self._highest
        delta = ((packet.sequence_number - reference + 0x8000) & 0xFFFF) - 0x8000
        ext = reference + delta
        if ext < self._next:
            if not self._popped and self._next - ext < MAX_JUMP:
                self._next = ext
            elif self._next - ext <= MAX_JUMP:
                self.late_dropped += 1
                return
            else:
                self._resync()
                self._start(packet.sequence_number)
                ext = self._next
        elif ext - self._highest > MAX_JUMP:
            self._resync()
            self._start(packet.sequence_number)
            ext = self._next
        if ext in self._held:
            self.duplicates += 1
            return
        self._held[ext] = packet
        self._count += 1
        if ext > self._highest:
            self._highest = ext

    def pop(self) -> RtpPacket | Gap | None:
        """The next packet in sequence order, a :class:`Gap`, or None if the next frame
        may still arrive."""
        if self._ready:
            item = self._ready.popleft()
            if not isinstance(item, Gap):
                self._count -= 1
            return item
        held = self._held
        packet = held.get(self._next)
        if packet is not None:
            if not self._popped and self._highest - self._next < self.depth - 1:
                return None  # an earlier packet may still come: wait for depth frames
            del held[self._next]
            self._count -= 1
            self._next += 1
            self._popped = True
            return packet
        if not held:
            return None
        limit = self._highest - self.depth + 1
        if self._next >= limit:
            return None
        end = min(min(held), limit)
        return self._gap(end)

    def pop_ready(self) -> list[RtpPacket | Gap]:
        """Everything :meth:`pop` would return now."""
        items: list[RtpPacket | Gap] = []
        while (item := self.pop()) is not None:
            items.append(item)
        return items

    def flush(self) -> list[RtpPacket | Gap]:
        """Everything held, in order with its gaps, without waiting (end of the stream)."""
        self._resync(count=False)
        items = list(self._ready)
        self._ready.clear()
        self._count = 0
        return items

    def _gap(self, end: int) -> Gap:
        count = end - self._next
        gap = Gap(self._next & 0xFFFF, count)
        self.lost += count
        self._next = end
        self._popped = True
        return gap

    def _start(self, seq: int) -> None:
        self._next = self._highest = seq
        self._popped = False

    def _resync(self, *, count: bool = True) -> None:
        held = self._held
        ready = self._ready
        for ext in sorted(held):
            if ext > self._next:
                ready.append(self._gap(ext))
            ready.append(held[ext])
            self._next = ext + 1
            self._popped = True
        held.clear()
        if count:
            self.resyncs += 1
