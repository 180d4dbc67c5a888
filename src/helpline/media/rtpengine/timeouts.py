"""RTP timeouts of endpoints bridged in rtpengine, from polled packet counters.

Theory of operation
-------------------
An endpoint bridged in rtpengine sends its RTP to rtpengine only; the embedded engine,
which reports ``EndpointTimeout`` for every other endpoint, is told not to expect media
meanwhile. rtpengine's own ``--timeout`` is no substitute: it is one daemon-wide value
for whole calls (all legs silent), it deletes the call without telling its controller
over NG, and a call of Helpline holds every leg of a conversation.

So the backend polls: every ``timeout / 3`` seconds one NG ``query`` per rtpengine call
with a bridged leg reads the RTP packet counter of each bridged phone.
:class:`BridgedSilence` (pure: counters and the caller's monotonic time in, events out)
remembers when each counter last moved and reports ``EndpointTimeout`` once the counter
has stood still for ``timeout`` seconds, once per silence (again only after RTP
resumed), as the engine does. Counters are compared, not rtpengine's ``last packet``
wall-clock stamps, so the two hosts' clocks need not agree; the report comes between
``timeout`` and ``timeout`` plus one poll interval after the last packet.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.media.backend import EndpointId, EndpointTimeout


@dataclass(slots=True)
class _Watched:
    packets: int | None
    since: float
    reported: bool = False


class BridgedSilence:
    """Which bridged endpoints have been silent for ``timeout`` seconds."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._watched: dict[EndpointId, _Watched] = {}

    @property
    def interval(self) -> float:
        """How often to poll the counters."""
        return max(self.timeout / 3, 0.2)

    @property
    def watched(self) -> frozenset[EndpointId]:
        """The endpoints being watched."""
        return frozenset(self._watched)

    def watch(self, endpoint: EndpointId, now: float) -> None:
        """Start watching ``endpoint`` (just bridged): silent from ``now`` on."""
        self._watched[endpoint] = _Watched(None, now)

    def forget(self, endpoint: EndpointId) -> None:
        """Stop watching ``endpoint`` (unbridged or released)."""
        self._watched.pop(endpoint, None)

    def update(self, endpoint: EndpointId, packets: int, now: float) -> EndpointTimeout | None:
        """The counter of RTP packets received from ``endpoint`` read at ``now``; the
        timeout to report, if any."""
        watched = self._watched.get(endpoint)
        if watched is None:
            return None
        if watched.packets is None or packets > watched.packets:
            if watched.packets is not None or packets > 0:
                watched.since, watched.reported = now, False
            watched.packets = packets
            return None
        if watched.reported or now - watched.since < self.timeout:
            return None
        watched.reported = True
        return EndpointTimeout(endpoint, round(now - watched.since, 3))
