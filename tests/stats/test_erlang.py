"""Erlang B and C against published values."""

from __future__ import annotations

import math

import pytest

from helpline.stats import erlang


@pytest.mark.parametrize(
    ("agents", "erlangs", "blocking"),
    [(1, 1.0, 0.5), (5, 2.0, 0.0367), (10, 5.0, 0.0184)],
)
def test_erlang_b_matches_the_tables(agents: int, erlangs: float, blocking: float) -> None:
    assert erlang.erlang_b(agents, erlangs) == pytest.approx(blocking, abs=1e-4)


def test_erlang_c_matches_the_closed_forms() -> None:
    assert erlang.erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang.erlang_c(2, 2.0) == 1.0 and erlang.erlang_c(5, 0) == 0.0


# Westbay Engineers' "The Erlang-C Formula" example: 360 calls per half hour of 240 s
# each (48 erlangs) for 55 agents, service level within 15 s. Published: probability
# of waiting 0.2388, ASA 8.18 s, service level 84.6 %, occupancy 87.3 %.
def test_the_published_westbay_example() -> None:
    result = erlang.staffing(55, erlang.traffic(360, 240, 1800), 240, 15)
    assert result.traffic_erlangs == 48
    assert result.probability_of_waiting == pytest.approx(0.2388, abs=1e-3)
    assert result.asa_seconds == pytest.approx(8.18, abs=0.01)
    assert result.service_level == pytest.approx(0.846, abs=1e-3)
    assert result.occupancy == pytest.approx(0.873, abs=1e-3)


# Call Centre Helper's "Erlang C formula - made simple": 100 calls in 30 minutes of
# 180 s (10 erlangs), 80 % within 20 s: 13 agents fall just short, 14 are needed.
@pytest.mark.parametrize(("agents", "level"), [(13, 0.7956), (14, 0.8884)])
def test_the_worked_example_around_the_answer(agents: int, level: float) -> None:
    result = erlang.staffing(agents, erlang.traffic(100, 180, 1800), 180, 20)
    assert result.service_level == pytest.approx(level, abs=1e-3)
    assert result.occupancy == pytest.approx(10 / agents)


def test_the_fewest_agents_meeting_the_target_are_proposed() -> None:
    needed = erlang.agents_needed(
        calls=100,
        aht_seconds=180,
        interval_seconds=1800,
        target_service_level=0.8,
        threshold_seconds=20,
    )
    assert needed.agents == 14
    capped = erlang.agents_needed(
        calls=100,
        aht_seconds=180,
        interval_seconds=1800,
        target_service_level=0.5,
        threshold_seconds=20,
        max_occupancy=0.7,
    )
    assert capped.agents == 15 and capped.occupancy <= 0.7
    idle = erlang.agents_needed(
        calls=0,
        aht_seconds=180,
        interval_seconds=1800,
        target_service_level=0.8,
        threshold_seconds=20,
    )
    assert idle.agents == 0 and idle.service_level == 1.0


def test_too_few_agents_never_catch_up() -> None:
    assert erlang.service_level(10, 10.0, 180, 20) == 0.0
    assert math.isinf(erlang.asa(9, 10.0, 180))


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError):
        erlang.traffic(10, 180, 0)
    with pytest.raises(ValueError):
        erlang.agents_needed(
            calls=10, aht_seconds=60, interval_seconds=900, target_service_level=1.0,
            threshold_seconds=20,
        )  # fmt: skip
