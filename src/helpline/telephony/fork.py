"""Parallel forking of one inbound call to several contacts: what to do on each answer.

Theory of operation: a B2BUA that rings an account's registered phones at once sends one
INVITE per contact (a *branch*) and must decide, for every response that comes back,
what the caller sees (RFC 3261 §16.7, applied to a UA pair instead of a proxy):

* the first 180 is passed on as 180; the first provisional that carries SDP is early
  media (183 with our answer, and the media bridged so the caller hears the callee's
  ringback or announcement);
* the first 2xx wins: the call is connected and every other pending branch is
  cancelled; a 2xx from another branch that raced it gets a BYE;
* when every branch has failed, the caller gets the best failure: a 6xx at once (a
  6xx also cancels the other branches), else 486 if any callee was busy, else the
  lowest class, else 480; timeouts and transport errors (408, 503 from our own layer)
  count as "not reachable" (480);
* a caller CANCEL or a ring timeout cancels every pending branch.

:class:`ForkSet` holds no I/O and no clock: call control feeds it branch keys and
statuses and carries out the :class:`Step` it returns.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

#: Failures that say nothing about the callee but that it could not be reached.
UNREACHABLE = frozenset({408, 480, 487, 503})
BUSY = frozenset({486, 600})


class Relay(Enum):
    """What a provisional response means for the caller."""

    NOTHING = "nothing"
    RINGING = "ringing"
    EARLY_MEDIA = "early_media"


@dataclass(frozen=True, slots=True)
class Step(Generic[K]):
    """What call control does after a branch's final response.

    ``connect``: this branch answered first, connect the caller to it. ``hang_up``: a
    late 2xx, end that branch with BYE. ``cancel``: branches to CANCEL. ``fail``: the
    status to answer the caller with (the call has failed).
    """

    connect: bool = False
    hang_up: bool = False
    cancel: tuple[K, ...] = ()
    fail: int | None = None


@dataclass(slots=True)
class ForkSet(Generic[K]):
    """The branches of one call and the caller-side state they produced."""

    pending: set[K] = field(default_factory=set)
    winner: K | None = None
    statuses: list[int] = field(default_factory=list)
    finished: bool = False
    ringing: bool = False
    early: bool = False

    def add(self, branch: K) -> None:
        """A branch was sent."""
        self.pending.add(branch)

    @property
    def settled(self) -> bool:
        """True once the caller has its answer (connected, failed or cancelled)."""
        return self.finished or self.winner is not None

    def progress(self, branch: K, status: int, *, has_sdp: bool) -> Relay:
        """A provisional (101-199) from ``branch``: what the caller is sent."""
        if branch not in self.pending or self.settled or status <= 100:
            return Relay.NOTHING
        if has_sdp and not self.early:
            self.early = True
            return Relay.EARLY_MEDIA
        if not self.ringing and not self.early:
            self.ringing = True
            return Relay.RINGING
        return Relay.NOTHING

    def answered(self, branch: K) -> Step[K]:
        """A 2xx from ``branch``."""
        self.pending.discard(branch)
        if self.settled:
            return Step(hang_up=True)
        self.winner = branch
        return Step(connect=True, cancel=self._take_pending())

    def failed(self, branch: K, status: int) -> Step[K]:
        """A final non-2xx (or our own 408/503) for ``branch``."""
        if branch not in self.pending:
            return Step()
        self.pending.discard(branch)
        if self.settled:
            return Step()
        self.statuses.append(status)
        if status >= 600:
            self.finished = True
            return Step(cancel=self._take_pending(), fail=status)
        if self.pending:
            return Step()
        self.finished = True
        return Step(fail=best_failure(self.statuses))

    def cancel(self) -> tuple[K, ...]:
        """The caller went away or the ring time is up: branches to CANCEL."""
        self.finished = True
        return self._take_pending()

    def _take_pending(self) -> tuple[K, ...]:
        out = tuple(self.pending)
        self.pending.clear()
        return out


def best_failure(statuses: list[int]) -> int:
    """The failure the caller sees when every branch failed (RFC 3261 §16.7 step 6)."""
    six = [s for s in statuses if s >= 600]
    if six:
        return six[0]
    if any(s in BUSY for s in statuses):
        return 486
    telling = [s for s in statuses if s not in UNREACHABLE]
    if telling:
        return min(telling, key=lambda s: (s // 100, s))
    return 480
