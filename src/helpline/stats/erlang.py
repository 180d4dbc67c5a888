"""Erlang C: the agents a queue needs for a service-level target.

Theory of operation: calls arriving at random (Poisson) at ``calls`` per interval of
``interval_seconds``, each taking ``aht_seconds`` of an agent's time (exponentially
distributed), offer ``A = calls * aht / interval`` erlangs of traffic. With ``N > A``
agents and callers who never abandon (M/M/N), the probability that a caller waits is
Erlang's C formula::

    C(N, A) = N * B(N, A) / (N - A * (1 - B(N, A)))

with ``B`` the Erlang B blocking probability, computed by the stable recursion
``B(0) = 1``, ``B(n) = A * B(n-1) / (n + A * B(n-1))`` (no factorials, no overflow).
Then, for a service-level threshold ``T`` seconds:

* service level ``SL = 1 - C * exp(-(N - A) * T / aht)`` (share answered within T);
* average speed of answer ``ASA = C * aht / (N - A)``;
* occupancy ``A / N``.

:func:`agents_needed` is the smallest ``N`` that meets the service-level target (and,
if given, keeps occupancy at or under a maximum). With ``N <= A`` the queue grows
without bound: the service level is 0 and the ASA infinite. The model ignores
abandonment and is slightly pessimistic for that reason, as every Erlang C table is.
Pure functions: no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The largest agent count :func:`agents_needed` tries.
MAX_AGENTS = 10_000


@dataclass(frozen=True, slots=True)
class Staffing:
    """What ``agents`` agents achieve for one interval's traffic."""

    agents: int
    traffic_erlangs: float
    probability_of_waiting: float
    service_level: float
    asa_seconds: float
    occupancy: float


def traffic(calls: float, aht_seconds: float, interval_seconds: float) -> float:
    """Offered traffic in erlangs."""
    if interval_seconds <= 0:
        raise ValueError("the interval must be positive")
    if calls < 0 or aht_seconds < 0:
        raise ValueError("calls and handle time cannot be negative")
    return calls * aht_seconds / interval_seconds


def erlang_b(agents: int, erlangs: float) -> float:
    """Erlang B: the probability that all ``agents`` are busy with no queue."""
    if agents < 0 or erlangs < 0:
        raise ValueError("agents and traffic cannot be negative")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = erlangs * blocking / (n + erlangs * blocking)
    return blocking


def erlang_c(agents: int, erlangs: float) -> float:
    """Erlang C: the probability that a caller has to wait (1 when ``agents <= A``)."""
    if erlangs == 0:
        return 0.0
    if agents <= erlangs:
        return 1.0
    blocking = erlang_b(agents, erlangs)
    return agents * blocking / (agents - erlangs * (1 - blocking))


def service_level(agents: int, erlangs: float, aht_seconds: float, threshold: float) -> float:
    """The share of callers answered within ``threshold`` seconds."""
    if erlangs == 0:
        return 1.0
    if agents <= erlangs:
        return 0.0
    waiting = erlang_c(agents, erlangs)
    if aht_seconds == 0:
        return 1.0
    return max(0.0, 1.0 - waiting * math.exp(-(agents - erlangs) * threshold / aht_seconds))


def asa(agents: int, erlangs: float, aht_seconds: float) -> float:
    """The average speed of answer in seconds (infinite when ``agents <= A``)."""
    if erlangs == 0:
        return 0.0
    if agents <= erlangs:
        return math.inf
    return erlang_c(agents, erlangs) * aht_seconds / (agents - erlangs)


def staffing(agents: int, erlangs: float, aht_seconds: float, threshold: float) -> Staffing:
    """Every figure for ``agents`` agents."""
    return Staffing(
        agents=agents,
        traffic_erlangs=erlangs,
        probability_of_waiting=erlang_c(agents, erlangs),
        service_level=service_level(agents, erlangs, aht_seconds, threshold),
        asa_seconds=asa(agents, erlangs, aht_seconds),
        occupancy=min(1.0, erlangs / agents) if agents else (1.0 if erlangs else 0.0),
    )


def agents_needed(
    *,
    calls: float,
    aht_seconds: float,
    interval_seconds: float,
    target_service_level: float,
    threshold_seconds: float,
    max_occupancy: float = 1.0,
) -> Staffing:
    """The fewest agents that answer ``target_service_level`` (0-1) of the calls within
    ``threshold_seconds`` with occupancy at most ``max_occupancy`` (0-1]; no calls
    need no agents. ``ValueError`` past :data:`MAX_AGENTS`."""
    if not 0 <= target_service_level < 1:
        raise ValueError("the target service level is a share from 0 to under 1")
    if not 0 < max_occupancy <= 1:
        raise ValueError("the maximum occupancy is a share above 0, at most 1")
    if threshold_seconds < 0:
        raise ValueError("the threshold cannot be negative")
    erlangs = traffic(calls, aht_seconds, interval_seconds)
    if erlangs == 0:
        return staffing(0, 0.0, aht_seconds, threshold_seconds)
    agents = max(1, math.floor(erlangs) + 1, math.ceil(erlangs / max_occupancy))
    while agents <= MAX_AGENTS:
        result = staffing(agents, erlangs, aht_seconds, threshold_seconds)
        if result.service_level >= target_service_level:
            return result
        agents += 1
    raise ValueError(f"more than {MAX_AGENTS} agents would be needed")
