"""SIP timer values: T1, T2, T4 and Timers A..K (RFC 3261 §17, Table 4), L and M (RFC 6026).

Theory of operation: every transaction timer is derived from three base values, held
in one frozen :class:`TimerConfig` (RFC 3261 §17.1.1.1: T1 = 500 ms, an estimate of
the round-trip time; T2 = 4 s, the cap on non-INVITE request and INVITE response
retransmission intervals; T4 = 5 s, how long a message can live in the network).
:meth:`TimerConfig.duration` gives each named :class:`Timer` for a transport:

=====  ================================  ==================  ===============
Timer  Meaning                           Unreliable (UDP)    Reliable (TCP)
=====  ================================  ==================  ===============
A      INVITE request retransmit         T1, doubling        not used
B      INVITE transaction timeout        64*T1               64*T1
C      proxy INVITE transaction timeout  > 3 min             > 3 min
D      wait for response retransmits     32 s                0
E      non-INVITE request retransmit     T1, doubling to T2  not used
F      non-INVITE transaction timeout    64*T1               64*T1
G      INVITE response retransmit        T1, doubling to T2  not used
H      wait for ACK receipt              64*T1               64*T1
I      wait for ACK retransmits          T4                  0
J      wait for non-INVITE retransmits   64*T1               0
K      wait for response retransmits     T4                  0
L      Accepted: wait for 2xx/ACK        64*T1               64*T1
M      Accepted: wait for 2xx retrans.   64*T1               64*T1
=====  ================================  ==================  ===============

"Not used" is returned as None; a zero duration means "fire at once".  The UAS core's
own 2xx retransmission (§13.3.1.4: T1, doubling to T2, giving up after 64*T1) is
:meth:`TimerConfig.uas_2xx_retransmit_offsets`.  This is the one place these names are
defined; nothing else in the SIP core hard-codes a timer value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["RELIABLE_TRANSPORTS", "Timer", "TimerConfig", "is_reliable"]

#: Transports that deliver in order without loss; request/response retransmission and
#: the "absorb retransmissions" wait timers (D, I, J, K) are not needed on them.
RELIABLE_TRANSPORTS = frozenset(("TCP", "TLS", "SCTP", "TLS-SCTP", "WS", "WSS"))


def is_reliable(transport: str) -> bool:
    """True when ``transport`` (a Via transport token, any case) is reliable."""
    return transport.upper() in RELIABLE_TRANSPORTS


class Timer(Enum):
    """The transaction timers of RFC 3261 §17 (A..K) and RFC 6026 (L, M)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the RFC's name
    J = "J"
    K = "K"
    L = "L"
    M = "M"


#: Timers that retransmit with a growing interval (and only on unreliable transports).
_RETRANSMIT = frozenset((Timer.A, Timer.E, Timer.G))
#: Timers that only absorb retransmissions: zero on reliable transports.
_ABSORB = frozenset((Timer.D, Timer.I, Timer.J, Timer.K))


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """Base timer values in seconds (RFC 3261 §17.1.1.1 defaults) and derived timers."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_c: float = 180.0
    timer_d_unreliable: float = 32.0

    def __post_init__(self) -> None:
        if not 0 < self.t1 <= self.t2:
            raise ValueError("timers need 0 < T1 <= T2")
        if self.t4 <= 0 or self.timer_c <= 0 or self.timer_d_unreliable < 0:
            raise ValueError("T4, Timer C and Timer D must be positive")

    def duration(self, timer: Timer, *, reliable: bool) -> float | None:
        """Initial duration of ``timer`` on a (un)reliable transport; None when not used."""
        if reliable and timer in _RETRANSMIT:
            return None
        if reliable and timer in _ABSORB:
            return 0.0
        return self._unreliable(timer)

    def _unreliable(self, timer: Timer) -> float:
        if timer in _RETRANSMIT:
            return self.t1
        if timer is Timer.C:
            return self.timer_c
        if timer is Timer.D:
            return max(self.timer_d_unreliable, 64 * self.t1)
        if timer in (Timer.I, Timer.K):
            return self.t4
        return 64 * self.t1  # B, F, H, J, L, M

    def next_interval(self, timer: Timer, interval: float, *, proceeding: bool = False) -> float:
        """Interval after ``interval`` for retransmit timer A, E or G.

        Timer A doubles without a cap (§17.1.1.2); E and G double up to T2 (§17.1.2.2,
        §17.2.1); E is T2 once the transaction is Proceeding.
        """
        if timer is Timer.A:
            return 2 * interval
        if timer is Timer.E and proceeding:
            return self.t2
        if timer in (Timer.E, Timer.G):
            return min(2 * interval, self.t2)
        raise ValueError(f"Timer {timer.value} does not retransmit")

    @property
    def uas_2xx_give_up(self) -> float:
        """How long the UAS core retransmits a 2xx without ACK: 64*T1 (§13.3.1.4)."""
        return 64 * self.t1

    def uas_2xx_retransmit_offsets(self) -> tuple[float, ...]:
        """Times after the first 2xx send at which the UAS core re-sends it (§13.3.1.4).

        The interval starts at T1 and doubles up to T2; the last offset is below 64*T1,
        when the core gives up (and should end the dialog with a BYE).
        """
        offsets: list[float] = []
        interval, at = self.t1, self.t1
        while at < self.uas_2xx_give_up:
            offsets.append(at)
            interval = min(2 * interval, self.t2)
            at += interval
        return tuple(offsets)
