"""The 20 ms tick of one engine: one timer for all endpoints, drift-free.

Theory of operation
-------------------
A :class:`Ticker` owns a :class:`~helpline.media.rtp.FrameClock` started on the event
loop's monotonic clock. Frame ``n`` is due at ``start + n * 20 ms``; after each run the
next timer is set for the deadline of the first frame not yet run, computed from the
frame number, so lateness of one callback never accumulates. If the loop stalled and
several frames are due, up to ``max_catchup`` run back to back; older ones are counted
in :attr:`Ticker.skipped` and reported to the callback so senders advance their RTP
timestamps over the hole instead of bursting seconds of audio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from helpline.media.rtp import FrameClock

EARLY = 0.002


class Ticker:
    """Calls ``on_tick(now)`` once per frame and ``on_skip(count)`` for frames dropped."""

    __slots__ = (
        "_clock",
        "_done",
        "_handle",
        "_loop",
        "late",
        "max_catchup",
        "on_skip",
        "on_tick",
        "ptime",
        "skipped",
        "ticks",
    )

    def __init__(
        self,
        on_tick: Callable[[float], None],
        on_skip: Callable[[int], None],
        *,
        ptime: float = 0.02,
        max_catchup: int = 5,
    ) -> None:
        self.on_tick = on_tick
        self.on_skip = on_skip
        self.ptime = ptime
        self.max_catchup = max_catchup
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock: FrameClock | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._done = 0
        self.ticks = 0
        self.skipped = 0
        self.late = 0
        """Runs that found more than one frame due (the loop was late)."""

    @property
    def running(self) -> bool:
        """Whether the timer is set."""
        return self._handle is not None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start ticking on ``loop``; the first frame is due one ptime from now."""
        if self._handle is not None:
            return
        self._loop = loop
        self._clock = FrameClock(loop.time(), self.ptime)
        self._done = 1  # index of the next frame to run
        self._handle = loop.call_at(self._clock.deadline(1), self._run)

    def stop(self) -> None:
        """Cancel the timer."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _run(self) -> None:
        loop = self._loop
        clock = self._clock
        assert loop is not None and clock is not None
        now = loop.time()
        # Timers may fire a little early (uvloop rounds to milliseconds): allow 2 ms.
        due = clock.frames_elapsed(now + EARLY) - self._done
        if due > 1:
            self.late += 1
        if due > self.max_catchup:
            dropped = due - self.max_catchup
            self.skipped += dropped
            self._done += dropped
            due = self.max_catchup
            self.on_skip(dropped)
        try:
            for _ in range(due):
                self.ticks += 1
                self._done += 1
                self.on_tick(now)
        finally:
            self._handle = loop.call_at(clock.deadline(self._done), self._run)
