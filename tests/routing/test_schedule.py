"""Pure schedule rules: weekly hours, overnight spans, DST, public holidays, dates,
ranges and the order rules are tried in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from helpline.routing.schedule import (
    AnnouncementTarget,
    DatesRule,
    FlowTarget,
    HolidayRule,
    QueueTarget,
    RangeRule,
    Rule,
    Target,
    Weekday,
    WeeklyRule,
    calendar_problem,
    choose,
    holiday_name,
    parse_rules,
    parse_target,
)

DAY = FlowTarget(flow_id=1)
NIGHT = AnnouncementTarget(prompt="closed")
HOLIDAY = FlowTarget(flow_id=2)
SEOUL = ZoneInfo("Asia/Seoul")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WORKDAYS = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
OFFICE = WeeklyRule(days=WORKDAYS, start=time(9), end=time(18), target=DAY)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def target_at(rules: list[Rule], now: datetime, tz: ZoneInfo = SEOUL) -> Target:
    return choose(rules, NIGHT, now, tz).target


def test_working_hours_are_read_in_the_service_time_zone() -> None:
    # Monday 2026-03-02: 09:00 in Seoul is 00:00 UTC.
    assert target_at([OFFICE], utc(2026, 3, 2, 0, 0)) == DAY
    assert target_at([OFFICE], utc(2026, 3, 1, 23, 59)) == NIGHT
    assert target_at([OFFICE], utc(2026, 3, 2, 8, 59)) == DAY
    assert target_at([OFFICE], utc(2026, 3, 2, 9, 0)) == NIGHT  # 18:00 is closed
    assert target_at([OFFICE], utc(2026, 3, 7, 3, 0)) == NIGHT  # Saturday noon


def test_opening_hours_follow_the_wall_clock_across_the_spring_dst_change() -> None:
    # Berlin goes from CET (+1) to CEST (+2) on Sunday 2026-03-29.
    assert target_at([OFFICE], utc(2026, 3, 27, 8, 0), BERLIN) == DAY  # Fri 09:00 CET
    assert target_at([OFFICE], utc(2026, 3, 30, 6, 59), BERLIN) == NIGHT  # Mon 08:59 CEST
    assert target_at([OFFICE], utc(2026, 3, 30, 7, 0), BERLIN) == DAY  # Mon 09:00 CEST
    assert target_at([OFFICE], utc(2026, 3, 30, 16, 0), BERLIN) == NIGHT  # Mon 18:00 CEST


def test_a_repeated_hour_in_autumn_matches_twice_and_a_skipped_hour_never() -> None:
    one_am = WeeklyRule(days=(Weekday.SUN,), start=time(1), end=time(2), target=DAY)
    # New York 2026-11-01: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    assert target_at([one_am], utc(2026, 11, 1, 5, 30), NEW_YORK) == DAY
    assert target_at([one_am], utc(2026, 11, 1, 6, 30), NEW_YORK) == DAY
    assert target_at([one_am], utc(2026, 11, 1, 7, 0), NEW_YORK) == NIGHT  # 02:00 EST
    two_am = WeeklyRule(days=(Weekday.SUN,), start=time(2), end=time(3), target=DAY)
    # 2026-03-08: 01:59 EST is followed by 03:00 EDT.
    assert target_at([two_am], utc(2026, 3, 8, 6, 59), NEW_YORK) == NIGHT
    assert target_at([two_am], utc(2026, 3, 8, 7, 0), NEW_YORK) == NIGHT


def test_an_overnight_span_belongs_to_the_day_it_starts_on() -> None:
    friday_night = WeeklyRule(days=(Weekday.FRI,), start=time(22), end=time(6), target=DAY)
    tz = ZoneInfo("UTC")
    assert target_at([friday_night], utc(2026, 3, 6, 21, 59), tz) == NIGHT  # Fri 21:59
    assert target_at([friday_night], utc(2026, 3, 6, 23, 0), tz) == DAY  # Fri 23:00
    assert target_at([friday_night], utc(2026, 3, 7, 5, 59), tz) == DAY  # Sat 05:59
    assert target_at([friday_night], utc(2026, 3, 7, 6, 0), tz) == NIGHT  # Sat 06:00
    assert target_at([friday_night], utc(2026, 3, 8, 3, 0), tz) == NIGHT  # Sun 03:00
    assert target_at([friday_night], utc(2026, 3, 6, 3, 0), tz) == NIGHT  # Fri 03:00


def test_equal_start_and_end_cover_a_whole_day_and_no_times_the_calendar_day() -> None:
    tz = ZoneInfo("UTC")
    from_noon = WeeklyRule(days=(Weekday.SAT,), start=time(12), end=time(12), target=DAY)
    assert target_at([from_noon], utc(2026, 3, 8, 11, 59), tz) == DAY  # Sun 11:59
    assert target_at([from_noon], utc(2026, 3, 8, 12, 0), tz) == NIGHT
    weekend = WeeklyRule(days=(Weekday.SAT, Weekday.SUN), target=DAY)
    assert target_at([weekend], utc(2026, 3, 7, 0, 0), tz) == DAY
    assert target_at([weekend], utc(2026, 3, 8, 23, 59), tz) == DAY
    assert target_at([weekend], utc(2026, 3, 9, 0, 0), tz) == NIGHT


def test_months_restrict_weekly_hours_to_a_season() -> None:
    summer = WeeklyRule(days=WORKDAYS, months=(7, 8), start=time(8), end=time(14), target=DAY)
    tz = ZoneInfo("UTC")
    assert target_at([summer], utc(2026, 7, 6, 9, 0), tz) == DAY
    assert target_at([summer], utc(2026, 9, 7, 9, 0), tz) == NIGHT


def test_korean_new_year_and_chinese_spring_festival_are_holidays() -> None:
    korea = HolidayRule(country="KR", target=HOLIDAY)
    china = HolidayRule(country="CN", target=HOLIDAY)
    # 2026-01-01 10:00 in Seoul, a Thursday.
    assert target_at([korea, OFFICE], utc(2026, 1, 1, 1, 0)) == HOLIDAY
    assert target_at([korea, OFFICE], utc(2026, 1, 2, 1, 0)) == DAY
    shanghai = ZoneInfo("Asia/Shanghai")
    assert target_at([china, OFFICE], utc(2026, 2, 17, 2, 0), shanghai) == HOLIDAY
    assert target_at([china, OFFICE], utc(2026, 3, 3, 2, 0), shanghai) == DAY
    assert holiday_name("KR", None, date(2026, 1, 1)) is not None
    assert holiday_name("CN", None, date(2026, 2, 17)) is not None


def test_a_holiday_is_a_local_date() -> None:
    korea = HolidayRule(country="KR", target=HOLIDAY)
    # 2025-12-31 15:00 UTC is already 2026-01-01 00:00 in Seoul.
    assert target_at([korea], utc(2025, 12, 31, 15, 0)) == HOLIDAY
    assert target_at([korea], utc(2025, 12, 31, 14, 59)) == NIGHT


def test_subdivision_holidays_apply_only_there() -> None:
    bavaria = HolidayRule(country="DE", subdivision="BY", target=HOLIDAY)
    berlin = HolidayRule(country="DE", subdivision="BE", target=HOLIDAY)
    epiphany = utc(2026, 1, 6, 10, 0)  # Heilige Drei Könige: Bavaria, not Berlin
    assert target_at([bavaria, OFFICE], epiphany, BERLIN) == HOLIDAY
    assert target_at([berlin, OFFICE], epiphany, BERLIN) == DAY


def test_a_holiday_rule_with_times_covers_only_that_window() -> None:
    afternoon_off = HolidayRule(country="KR", start=time(14), target=HOLIDAY)
    # 2026-01-01 is a Thursday: the morning is worked, the afternoon is not.
    assert target_at([afternoon_off, OFFICE], utc(2026, 1, 1, 4, 59)) == DAY  # 13:59
    assert target_at([afternoon_off, OFFICE], utc(2026, 1, 1, 5, 0)) == HOLIDAY  # 14:00


def test_rules_are_tried_in_order_and_the_first_match_wins() -> None:
    korea = HolidayRule(country="KR", target=HOLIDAY)
    new_year_10am = utc(2026, 1, 1, 1, 0)
    assert choose([korea, OFFICE], NIGHT, new_year_10am, SEOUL).rule_index == 0
    office_first = choose([OFFICE, korea], NIGHT, new_year_10am, SEOUL)
    assert office_first.rule_index == 0 and office_first.target == DAY
    nothing = choose([OFFICE], NIGHT, utc(2026, 1, 3, 1, 0), SEOUL)
    assert nothing.rule_index is None and nothing.target == NIGHT


def test_custom_dates_once_or_every_year() -> None:
    once = DatesRule(dates=(date(2026, 5, 4),), target=HOLIDAY)
    yearly = DatesRule(dates=(date(2000, 12, 24),), yearly=True, start=time(12), target=HOLIDAY)
    tz = ZoneInfo("UTC")
    assert target_at([once], utc(2026, 5, 4, 10, 0), tz) == HOLIDAY
    assert target_at([once], utc(2027, 5, 4, 10, 0), tz) == NIGHT
    assert target_at([yearly], utc(2031, 12, 24, 12, 0), tz) == HOLIDAY
    assert target_at([yearly], utc(2031, 12, 24, 11, 59), tz) == NIGHT


def test_a_date_range_runs_from_its_start_time_through_its_end() -> None:
    works = RangeRule(
        start_date=date(2026, 8, 3),
        start_time=time(18),
        end_date=date(2026, 8, 5),
        target=HOLIDAY,
    )
    tz = ZoneInfo("UTC")
    assert target_at([works], utc(2026, 8, 3, 17, 59), tz) == NIGHT
    assert target_at([works], utc(2026, 8, 3, 18, 0), tz) == HOLIDAY
    assert target_at([works], utc(2026, 8, 5, 23, 59), tz) == HOLIDAY
    assert target_at([works], utc(2026, 8, 6, 0, 0), tz) == NIGHT
    short = RangeRule(
        start_date=date(2026, 8, 3), end_date=date(2026, 8, 3), end_time=time(12), target=DAY
    )
    assert target_at([short], utc(2026, 8, 3, 11, 59), tz) == DAY
    assert target_at([short], utc(2026, 8, 3, 12, 0), tz) == NIGHT


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        choose([OFFICE], NIGHT, datetime(2026, 3, 2, 10, 0), SEOUL)


def test_rules_and_targets_round_trip_through_json() -> None:
    rules: list[Rule] = [
        OFFICE,
        HolidayRule(country="KR", target=QueueTarget(queue="sales")),
        DatesRule(dates=(date(2026, 5, 4),), target=NIGHT),
        RangeRule(start_date=date(2026, 8, 3), end_date=date(2026, 8, 4), target=DAY),
    ]
    stored = [rule.model_dump(mode="json") for rule in rules]
    assert list(parse_rules(stored)) == rules
    assert parse_target({"kind": "voicemail", "box_id": 3}).kind == "voicemail"


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "weekly", "days": ["mon"], "target": {"kind": "teleport"}},
        {"kind": "weekly", "days": [], "target": {"kind": "flow", "flow_id": 1}},
        {"kind": "weekly", "days": ["moo"], "target": {"kind": "flow", "flow_id": 1}},
        {"kind": "weekly", "days": ["mon"], "start": "09:00+02:00", "target": NIGHT},
        {"kind": "holiday", "country": "korea", "target": {"kind": "flow", "flow_id": 1}},
        {"kind": "dates", "dates": ["2026-02-30"], "target": {"kind": "flow", "flow_id": 1}},
        {
            "kind": "range",
            "start_date": "2026-08-04",
            "end_date": "2026-08-03",
            "target": {"kind": "flow", "flow_id": 1},
        },
        {"kind": "weekly", "days": ["mon"], "target": {"kind": "announcement", "prompt": "../x"}},
        {"kind": "weekly", "days": ["mon"], "target": {"kind": "flow", "flow_id": 0}},
        {"kind": "monthly", "target": {"kind": "flow", "flow_id": 1}},
    ],
)
def test_malformed_rules_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_rules([data])


def test_calendar_problems_name_the_unknown_part() -> None:
    assert calendar_problem("KR", None) is None
    assert calendar_problem("DE", "BY") is None
    assert calendar_problem("XX", None) == "unknown_holiday_country"
    assert calendar_problem("DE", "ZZ") == "unknown_holiday_subdivision"
