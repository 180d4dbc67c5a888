"""Concatenated inbound SMS: finding the parts (3GPP TS 23.040 §9.2.3.24.1 and .8, SMPP
3.4 §5.3.2.22-24) and putting them back together.

Theory of operation: a long message arrives as several ``deliver_sm``, each naming its
set by a reference, the number of parts and its own place, either in a user data
header (``esm_class`` UDHI: information element 0x00 with an 8-bit reference or 0x08
with a 16-bit one) or in the ``sar_msg_ref_num``, ``sar_total_segments`` and
``sar_segment_seqnum`` TLVs. :func:`split_udh` takes the header off the payload and
reads it. :class:`Reassembler` keeps the parts of each set (keyed by sender,
recipient and reference), as raw octets so that a UCS-2 character cut between two
parts survives, and gives back the whole payload when the last one arrives; a set not
complete within ``timeout`` seconds is given back as far as it got (the parts held,
in order), so a lost part never loses the rest. No I/O and no clock inside: the
caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

#: Seconds the parts of a set wait for the rest.
REASSEMBLY_TIMEOUT: Final = 120.0
IEI_CONCAT_8BIT: Final = 0x00
IEI_CONCAT_16BIT: Final = 0x08
#: Sets held at once at most; the oldest is given back when more arrive.
MAX_SETS: Final = 1000


@dataclass(frozen=True, slots=True)
class PartInfo:
    """Where one part belongs: its set's ``reference``, the set's size, its place."""

    reference: int
    total: int
    seq: int


def split_udh(data: bytes) -> tuple[PartInfo | None, bytes]:
    """The concatenation element of the user data header at the start of ``data`` (if
    it has one) and the text octets after the header. A header that runs past the
    data is :class:`ValueError`."""
    if not data:
        return None, data
    length = data[0]
    if length + 1 > len(data):
        raise ValueError("the user data header is longer than the message")
    header, rest = data[1 : length + 1], data[length + 1 :]
    at, found = 0, None
    while at + 2 <= len(header):
        iei, size = header[at], header[at + 1]
        value = header[at + 2 : at + 2 + size]
        if len(value) < size:
            raise ValueError("a header element runs past the header")
        if iei == IEI_CONCAT_8BIT and size == 3:
            found = PartInfo(value[0], value[1], value[2])
        elif iei == IEI_CONCAT_16BIT and size == 4:
            found = PartInfo((value[0] << 8) | value[1], value[2], value[3])
        at += 2 + size
    return found, rest


@dataclass(frozen=True, slots=True)
class Assembled:
    """A set given back: its key, the payload of the parts held (in order), and
    whether every part was there."""

    key: tuple[str, ...]
    payload: bytes
    complete: bool


@dataclass(slots=True)
class _Set:
    total: int
    first_at: float
    parts: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """The sets being put together (one per SMPP session)."""

    def __init__(self, *, timeout: float = REASSEMBLY_TIMEOUT, max_sets: int = MAX_SETS) -> None:
        self.timeout = timeout
        self.max_sets = max_sets
        self._sets: dict[tuple[str, ...], _Set] = {}

    def __len__(self) -> int:
        return len(self._sets)

    def add(
        self, key: tuple[str, ...], info: PartInfo, payload: bytes, *, now: float
    ) -> list[Assembled]:
        """Keep one part of the set ``key`` + ``info.reference``; the sets given back
        (this one when complete, others pushed out by the limit)."""
        if info.total <= 1 or not 1 <= info.seq <= info.total:
            return [Assembled((*key, str(info.reference)), payload, True)]
        full_key = (*key, str(info.reference))
        held = self._sets.get(full_key)
        if held is None or held.total != info.total:
            held = self._sets[full_key] = _Set(info.total, now)
        held.parts[info.seq] = payload
        out: list[Assembled] = []
        if len(held.parts) == held.total:
            del self._sets[full_key]
            out.append(Assembled(full_key, _joined(held), True))
        while len(self._sets) > self.max_sets:
            oldest = min(self._sets, key=lambda k: self._sets[k].first_at)
            out.append(Assembled(oldest, _joined(self._sets.pop(oldest)), False))
        return out

    def expire(self, *, now: float) -> list[Assembled]:
        """The sets whose first part came ``timeout`` seconds ago or more, as far as
        they got."""
        late = [k for k, held in self._sets.items() if now - held.first_at >= self.timeout]
        return [Assembled(k, _joined(self._sets.pop(k)), False) for k in late]


def _joined(held: _Set) -> bytes:
    return b"".join(held.parts[seq] for seq in sorted(held.parts))
