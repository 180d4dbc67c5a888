"""The SIP edge's rate limits, scanner filter and bans (fake clock)."""

from __future__ import annotations

import pytest

from helpline.telephony.abuse import Edge, EdgePolicy, Refusal


def test_burst_is_admitted_then_the_rate_applies() -> None:
    edge = Edge(EdgePolicy(rate=10, burst=5))
    assert [edge.admit("10.0.0.1", 0.0) for _ in range(5)] == [None] * 5
    assert edge.admit("10.0.0.1", 0.0) is Refusal.RATE_LIMITED
    assert edge.admit("10.0.0.2", 0.0) is None, "another source has its own bucket"
    assert edge.admit("10.0.0.1", 0.1) is None, "0.1 s at 10/s refills one token"
    assert edge.admit("10.0.0.1", 0.1) is Refusal.RATE_LIMITED
    assert edge.counters()["rate_limited"] == 2


def test_known_scanners_are_recognised() -> None:
    assert Edge.is_scanner("friendly-scanner")
    assert Edge.is_scanner("SIPVicious 0.3.4")
    assert not Edge.is_scanner("baresip v1.0.0 (x86_64/linux)")
    assert not Edge.is_scanner(None)


def test_repeated_auth_failures_ban_the_source_until_the_ban_ends() -> None:
    edge = Edge(EdgePolicy(auth_failures=3, auth_window=60, ban_seconds=600))
    assert not edge.auth_failed("1.2.3.4", 0)
    assert not edge.auth_failed("1.2.3.4", 1)
    assert edge.auth_failed("1.2.3.4", 2)
    assert edge.admit("1.2.3.4", 100) is Refusal.BANNED
    assert edge.admit("1.2.3.4", 603) is None
    assert edge.counters()["banned"] == 1


def test_failures_outside_the_window_do_not_add_up() -> None:
    edge = Edge(EdgePolicy(auth_failures=2, auth_window=10))
    assert not edge.auth_failed("1.2.3.4", 0)
    assert not edge.auth_failed("1.2.3.4", 20)
    edge.auth_succeeded("1.2.3.4")
    assert not edge.auth_failed("1.2.3.4", 21)


def test_trusted_networks_are_never_rate_limited_but_can_be_banned() -> None:
    edge = Edge(
        EdgePolicy(rate=10, burst=2, auth_failures=1), Edge.networks("10.1.0.0/16, 10.9.9.9")
    )
    assert [edge.admit("10.1.2.3", 0.0) for _ in range(50)] == [None] * 50
    assert [edge.admit("10.9.9.9", 0.0) for _ in range(50)] == [None] * 50
    assert [edge.admit("10.2.0.1", 0.0) for _ in range(3)][-1] is Refusal.RATE_LIMITED
    assert edge.admit("not-an-ip", 0.0) is None and edge.admit("not-an-ip", 0.0) is None
    assert edge.admit("not-an-ip", 0.0) is Refusal.RATE_LIMITED
    assert edge.auth_failed("10.1.2.3", 1.0)
    assert edge.admit("10.1.2.3", 2.0) is Refusal.BANNED


def test_bad_trusted_network_is_refused() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
        Edge.networks("10.0.0.300/8")
