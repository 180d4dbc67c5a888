"""Abuse resistance for the SIP edge: per-source rate limits, scanner user agents, bans.

Pure: callers pass the current time. A token bucket per source address admits a burst
and a steady rate; sources in ``trusted`` networks (a carrier's trunk, the node's own
SIP proxy: every call arrives from one address) are never rate limited. Known scanner
user agents (SIPVicious, sipsak floods, "friendly-scanner" ...) are dropped without an
answer, as answering only confirms a target; sources that fail authentication
repeatedly are banned for a while. Every refusal is counted by reason so that the
health endpoint and metrics show what the edge turns away.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

SCANNER_AGENTS = (
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipsak",
    "vaxsipuseragent",
    "iWar",
    "sundayddr",
    "pplsip",
    "smap",
)


class Refusal(StrEnum):
    """Why a message was refused at the edge."""

    RATE_LIMITED = "rate_limited"
    SCANNER = "scanner"
    BANNED = "banned"
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class EdgePolicy:
    """Limits applied per source address."""

    rate: float = 200.0
    burst: float = 400.0
    max_sources: int = 100_000
    auth_failures: int = 10
    auth_window: float = 60.0
    ban_seconds: float = 600.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class _Failures:
    count: int
    since: float


@dataclass(slots=True)
class Edge:
    """The per-source state of one node's SIP edge."""

    policy: EdgePolicy = field(default_factory=EdgePolicy)
    trusted: tuple[IPv4Network | IPv6Network, ...] = ()
    refused: Counter[Refusal] = field(default_factory=Counter)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _failures: dict[str, _Failures] = field(default_factory=dict)
    _bans: dict[str, float] = field(default_factory=dict)

    def admit(self, source: str, now: float) -> Refusal | None:
        """Whether a message from ``source`` may be processed; counts refusals."""
        banned_until = self._bans.get(source)
        if banned_until is not None:
            if now < banned_until:
                return self.refuse(Refusal.BANNED)
            del self._bans[source]
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= self.policy.max_sources:
                self._buckets.clear()
            bucket = self._buckets[source] = _Bucket(self.policy.burst, now)
        bucket.tokens = min(
            self.policy.burst, bucket.tokens + (now - bucket.stamp) * self.policy.rate
        )
        bucket.stamp = now
        if bucket.tokens < 1.0:
            if self.trusted and _in_networks(source, self.trusted):
                return None
            return self.refuse(Refusal.RATE_LIMITED)
        bucket.tokens -= 1.0
        return None

    def refuse(self, reason: Refusal) -> Refusal:
        """Count a refusal and return it."""
        self.refused[reason] += 1
        return reason

    @staticmethod
    def is_scanner(user_agent: str | None) -> bool:
        """Whether a User-Agent names a known scanner."""
        if not user_agent:
            return False
        agent = user_agent.lower()
        return any(name.lower() in agent for name in SCANNER_AGENTS)

    def auth_failed(self, source: str, now: float) -> bool:
        """Record a failed authentication; True when the source is now banned."""
        entry = self._failures.get(source)
        if entry is None or now - entry.since > self.policy.auth_window:
            entry = self._failures[source] = _Failures(0, now)
        entry.count += 1
        if entry.count >= self.policy.auth_failures:
            self._bans[source] = now + self.policy.ban_seconds
            del self._failures[source]
            return True
        return False

    def auth_succeeded(self, source: str) -> None:
        """Forget the failures of a source that authenticated."""
        self._failures.pop(source, None)

    @staticmethod
    def networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
        """Comma-separated addresses or CIDRs as networks (ValueError names a bad one)."""
        return tuple(
            ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
        )

    def counters(self) -> dict[str, int]:
        """Refusals by reason, for metrics."""
        return {reason.value: self.refused[reason] for reason in Refusal}


@lru_cache(maxsize=4096)
def _address(source: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(source.strip("[]"))
    except ValueError:
        return None


def _in_networks(source: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    address = _address(source)
    return address is not None and any(address in network for network in networks)
