"""Timer values derived from T1/T2/T4 (RFC 3261 §17 Table 4, §13.3.1.4; RFC 6026)."""

from __future__ import annotations

import pytest

from helpline.sip.timers import Timer, TimerConfig, is_reliable

UDP = {
    Timer.A: 0.5,
    Timer.B: 32.0,
    Timer.C: 180.0,
    Timer.D: 32.0,
    Timer.E: 0.5,
    Timer.F: 32.0,
    Timer.G: 0.5,
    Timer.H: 32.0,
    Timer.I: 5.0,
    Timer.J: 32.0,
    Timer.K: 5.0,
    Timer.L: 32.0,
    Timer.M: 32.0,
}
TCP = UDP | {
    Timer.A: None,
    Timer.E: None,
    Timer.G: None,
    Timer.D: 0.0,
    Timer.I: 0.0,
    Timer.J: 0.0,
    Timer.K: 0.0,
}


@pytest.mark.parametrize("timer", list(Timer))
def test_default_timer_values_on_udp_and_tcp(timer: Timer) -> None:
    config = TimerConfig()
    assert config.duration(timer, reliable=False) == UDP[timer]
    assert config.duration(timer, reliable=True) == TCP[timer]


def test_retransmit_intervals() -> None:
    config = TimerConfig()
    assert config.next_interval(Timer.A, 16.0) == 32.0  # A is not capped
    assert config.next_interval(Timer.E, 2.0) == 4.0
    assert config.next_interval(Timer.E, 4.0) == 4.0
    assert config.next_interval(Timer.E, 0.5, proceeding=True) == 4.0
    assert config.next_interval(Timer.G, 4.0) == 4.0
    with pytest.raises(ValueError, match="does not retransmit"):
        config.next_interval(Timer.B, 1.0)


def test_uas_2xx_retransmission_schedule() -> None:
    config = TimerConfig()
    assert config.uas_2xx_retransmit_offsets() == (
        0.5,
        1.5,
        3.5,
        7.5,
        11.5,
        15.5,
        19.5,
        23.5,
        27.5,
        31.5,
    )
    assert config.uas_2xx_give_up == 32.0


def test_derived_timers_scale_with_t1() -> None:
    config = TimerConfig(t1=1.0, t2=8.0)
    assert config.duration(Timer.B, reliable=False) == 64.0
    assert config.duration(Timer.D, reliable=False) == 64.0  # covers the server's Timer H


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="T1"):
        TimerConfig(t1=5.0, t2=4.0)


def test_reliable_transports() -> None:
    assert is_reliable("tcp") and is_reliable("WSS") and not is_reliable("UDP")
