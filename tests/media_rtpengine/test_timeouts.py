"""RTP timeouts of bridged endpoints from polled packet counters, on a fake clock."""

from __future__ import annotations

from helpline.media.backend import EndpointTimeout
from helpline.media.rtpengine.timeouts import BridgedSilence


def test_a_counter_that_stands_still_for_the_timeout_is_reported_once() -> None:
    watch = BridgedSilence(30.0)
    assert watch.interval == 10.0
    watch.watch("a", now=100.0)
    assert watch.update("a", 50, now=110.0) is None  # first reading: baseline
    assert watch.update("a", 90, now=120.0) is None  # moving
    assert watch.update("a", 90, now=149.0) is None
    assert watch.update("a", 90, now=150.0) == EndpointTimeout("a", 30.0)
    assert watch.update("a", 90, now=160.0) is None  # once per silence
    assert watch.update("a", 91, now=170.0) is None  # resumed
    assert watch.update("a", 91, now=200.0) == EndpointTimeout("a", 30.0)


def test_a_phone_that_never_sent_is_silent_since_the_bridge() -> None:
    watch = BridgedSilence(2.0)
    watch.watch("b", now=10.0)
    assert watch.update("b", 0, now=10.7) is None
    assert watch.update("b", 0, now=12.1) == EndpointTimeout("b", 2.1)


def test_forgotten_and_unknown_endpoints_are_not_reported() -> None:
    watch = BridgedSilence(1.0)
    watch.watch("a", now=0.0)
    assert watch.watched == frozenset({"a"})
    watch.forget("a")
    assert watch.update("a", 0, now=5.0) is None
    assert watch.update("zz", 0, now=5.0) is None
    assert watch.watched == frozenset()
    assert BridgedSilence(0.3).interval == 0.2
