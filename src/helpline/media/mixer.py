"""An N-party audio mixer over 20 ms frames of 16-bit linear PCM.

Theory of operation
-------------------
Every tick the caller hands in the frame each participant sent (decoded to linear
PCM) and gets back the frame each participant should hear. A participant has a
``sends`` flag (is its voice mixed into anyone's output) and a ``hears`` mask (whose
voices it receives; None means everyone). A participant never hears itself. Sums use
``audioop.add``, which saturates instead of wrapping. Listeners that hear the same set
of voices share one mixed frame, so a two-party call costs no addition at all.

Supervision modes are mask settings (:func:`supervise`):
* listen: the supervisor hears caller and agent, sends nothing;
* whisper: the supervisor hears both and is heard by the agent only;
* barge: everyone hears everyone (a three-way call).
This module is pure: no clock, no I/O, no threads.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final, Generic, TypeVar

from helpline.media._audioop import audioop
from helpline.media.errors import MediaError

FRAME_BYTES: Final = 320
"""20 ms of 8 kHz 16-bit mono audio."""

Pid = TypeVar("Pid", bound=Hashable)
"""Whatever identifies a participant (a leg id, a channel name ...)."""


@dataclass(frozen=True, slots=True)
class Participant(Generic[Pid]):
    """Who a party is in the mix: whether it sends, and whom it hears."""

    id: Pid
    sends: bool = True
    hears: frozenset[Pid] | None = None
    """Participants this one hears; None means all the others."""

    def can_hear(self, other: Pid) -> bool:
        """Whether this participant hears ``other`` (never itself)."""
        if other == self.id:
            return False
        return self.hears is None or other in self.hears


class SupervisionMode(Enum):
    """How a supervisor joins an agent's call."""

    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


class Mixer(Generic[Pid]):
    """Mixes one frame per participant per tick into what each participant hears."""

    __slots__ = ("_participants", "_silence", "frame_bytes")

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        if frame_bytes <= 0 or frame_bytes % 2:
            raise MediaError(f"frame size must be a positive even number, got {frame_bytes}")
        self.frame_bytes = frame_bytes
        self._silence = bytes(frame_bytes)
        self._participants: dict[Pid, Participant[Pid]] = {}

    @property
    def participants(self) -> tuple[Participant[Pid], ...]:
        """The current participants, in the order they joined."""
        return tuple(self._participants.values())

    def add(
        self, pid: Pid, *, sends: bool = True, hears: frozenset[Pid] | None = None
    ) -> Participant[Pid]:
        """Add a participant; raises if ``pid`` is already in the mix."""
        if pid in self._participants:
            raise MediaError(f"participant {pid!r} is already in the mix")
        participant = Participant(pid, sends, hears)
        self._participants[pid] = participant
        return participant

    def update(self, pid: Pid, *, sends: bool, hears: frozenset[Pid] | None) -> Participant[Pid]:
        """Change whether ``pid`` sends and whom it hears."""
        if pid not in self._participants:
            raise MediaError(f"participant {pid!r} is not in the mix")
        participant = Participant(pid, sends, hears)
        self._participants[pid] = participant
        return participant

    def remove(self, pid: Pid) -> None:
        """Remove a participant (and it stops being heard by anyone)."""
        if self._participants.pop(pid, None) is None:
            raise MediaError(f"participant {pid!r} is not in the mix")

    def mix(self, frames: Mapping[Pid, bytes]) -> dict[Pid, bytes]:
        """What each participant hears this tick, given the frame each one sent.

        A participant missing from ``frames`` sent nothing this tick; unknown ids raise.
        """
        size = self.frame_bytes
        for pid, frame in frames.items():
            if pid not in self._participants:
                raise MediaError(f"frame from unknown participant {pid!r}")
            if len(frame) != size:
                raise MediaError(f"frame of {len(frame)} bytes, expected {size}")
        voices = [p.id for p in self._participants.values() if p.sends and p.id in frames]
        cache: dict[tuple[Pid, ...], bytes] = {}
        out: dict[Pid, bytes] = {}
        for listener in self._participants.values():
            heard = tuple(pid for pid in voices if listener.can_hear(pid))
            mixed = cache.get(heard)
            if mixed is None:
                mixed = self._silence
                if heard:
                    mixed = frames[heard[0]]
                    for pid in heard[1:]:
                        mixed = audioop.add(mixed, frames[pid], 2)
                cache[heard] = mixed
            out[listener.id] = mixed
        return out


def supervise(
    mixer: Mixer[Pid],
    mode: SupervisionMode,
    *,
    supervisor: Pid,
    caller: Pid,
    agent: Pid,
) -> None:
    """Set the masks of a supervised call: caller, agent and supervisor already in ``mixer``."""
    if mode is SupervisionMode.BARGE:
        mixer.update(caller, sends=True, hears=None)
        mixer.update(agent, sends=True, hears=None)
        mixer.update(supervisor, sends=True, hears=None)
        return
    mixer.update(caller, sends=True, hears=frozenset({agent}))
    mixer.update(
        supervisor, sends=mode is SupervisionMode.WHISPER, hears=frozenset({caller, agent})
    )
    mixer.update(agent, sends=True, hears=frozenset({caller, supervisor}))
