"""Report periods in the tenant's time zone: buckets, daylight-saving days, limits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from helpline.stats.periods import (
    Granularity,
    PeriodError,
    make_period,
    offsets,
    slot_of,
    slot_start,
)

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")


def _every_slot_maps_to_the_bucket_holding_it(period: object) -> None:
    from helpline.stats.periods import Period

    assert isinstance(period, Period)
    for slot in range(period.lo, period.hi):
        bucket = period.bucket(period.key_of(slot))
        assert bucket.start.timestamp() <= slot_start(slot).timestamp() < bucket.end.timestamp()


def test_a_day_in_hours_has_24_buckets_from_local_midnight() -> None:
    period = make_period(BERLIN, Granularity.HOUR, date(2026, 11, 2), date(2026, 11, 2))
    assert len(period.buckets) == 24
    assert period.buckets[0].start == datetime(2026, 11, 2, tzinfo=BERLIN)
    assert period.utc_start == datetime(2026, 11, 1, 23, tzinfo=UTC)
    assert period.hi - period.lo == 96
    _every_slot_maps_to_the_bucket_holding_it(period)


def test_the_day_summer_time_ends_has_25_hours_and_two_at_two() -> None:
    period = make_period(BERLIN, Granularity.HOUR, date(2026, 10, 25), date(2026, 10, 25))
    assert len(period.buckets) == 25
    starts = [b.start.isoformat() for b in period.buckets[1:4]]
    assert starts == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
    assert offsets(BERLIN, period.lo, period.hi) == (
        (period.lo, 7200),
        (slot_of(datetime(2026, 10, 25, 1, tzinfo=UTC)), 3600),
    )
    _every_slot_maps_to_the_bucket_holding_it(period)
    day = make_period(BERLIN, Granularity.DAY, date(2026, 10, 25), date(2026, 10, 25))
    assert day.buckets[0].end.timestamp() - day.buckets[0].start.timestamp() == 25 * 3600


def test_the_day_summer_time_starts_has_23_hours() -> None:
    period = make_period(BERLIN, Granularity.QUARTER, date(2026, 3, 29), date(2026, 3, 29))
    assert len(period.buckets) == 92
    assert "2026-03-29T02:00" not in {b.start.isoformat()[:16] for b in period.buckets}
    _every_slot_maps_to_the_bucket_holding_it(period)


def test_hours_start_on_the_local_hour_in_half_hour_zones() -> None:
    period = make_period(KOLKATA, Granularity.HOUR, date(2026, 11, 2), date(2026, 11, 3))
    assert len(period.buckets) == 48
    assert period.buckets[10].start.astimezone(UTC).minute == 30
    assert period.buckets[10].start.minute == 0
    _every_slot_maps_to_the_bucket_holding_it(period)


def test_months_and_years_widen_to_whole_ones() -> None:
    months = make_period(BERLIN, Granularity.MONTH, date(2026, 2, 15), date(2026, 4, 3))
    assert (months.first_day, months.last_day) == (date(2026, 2, 1), date(2026, 4, 30))
    assert [b.start.date() for b in months.buckets] == [
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 4, 1),
    ]
    assert len(months.bounds) == 2
    _every_slot_maps_to_the_bucket_holding_it(months)
    years = make_period(BERLIN, Granularity.YEAR, date(2025, 6, 1), date(2026, 6, 1))
    assert [b.start.year for b in years.buckets] == [2025, 2026]
    assert years.bucket_of(datetime(2026, 1, 1, 0, 30, tzinfo=BERLIN)) == years.buckets[1]
    assert years.bucket_of(datetime(2024, 12, 31, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("granularity", "start", "end", "error_id"),
    [
        (Granularity.DAY, date(2026, 2, 1), date(2026, 1, 1), "invalid_period"),
        (Granularity.DAY, date(1999, 12, 31), date(2000, 1, 1), "invalid_period"),
        (Granularity.QUARTER, date(2026, 1, 1), date(2026, 3, 1), "report_too_large"),
        (Granularity.DAY, date(2000, 1, 1), date(2026, 1, 1), "report_too_large"),
    ],
)
def test_impossible_periods_are_refused(
    granularity: Granularity, start: date, end: date, error_id: str
) -> None:
    with pytest.raises(PeriodError) as caught:
        make_period(BERLIN, granularity, start, end)
    assert caught.value.error_id == error_id


def test_a_month_in_quarters_fits() -> None:
    period = make_period(BERLIN, Granularity.QUARTER, date(2026, 10, 1), date(2026, 10, 31))
    assert len(period.buckets) == 31 * 96 + 4
