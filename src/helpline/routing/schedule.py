"""Service schedules: which target a service's rules choose at a given moment.

Theory of operation: a service has an ordered list of rules and a default (closed or
night) target.  :func:`choose` converts an aware ``now`` to the service's time zone
(:mod:`zoneinfo`) and walks the rules in order; the first rule matching the local wall
clock wins, and when none does the default target is taken.  Nothing here touches the
database, a socket or a clock; the public holiday calendars of the ``holidays`` package
are computed once per country, subdivision and year and kept in memory.

Rule kinds:

* ``weekly``: days of the week (optionally only in some months) between ``start`` and
  ``end``;
* ``holiday``: the public holidays of a country (optionally a subdivision);
* ``dates``: listed dates, optionally every year (``yearly``);
* ``range``: from ``start_date`` (at ``start_time``, else midnight) to ``end_date`` (up
  to ``end_time``, else through the whole end date).

Time windows of the day-based kinds (``weekly``, ``holiday``, ``dates``): a missing
``start`` is midnight, a missing ``end`` the end of the day.  An ``end`` at or before
``start`` spans midnight: ``22:00-06:00`` on Friday covers Friday 22:00 to Saturday
06:00 (the span belongs to the day it starts on), and ``start == end`` is 24 hours.
Times are wall-clock times, so across a DST change "09:00" stays 09:00 local; a time
skipped by the change never occurs and one repeated matches twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from helpline.prompts.language import NAME_PATTERN

__all__ = [
    "AnnouncementTarget",
    "Choice",
    "DatesRule",
    "FlowTarget",
    "HolidayRule",
    "QueueTarget",
    "RangeRule",
    "Rule",
    "Target",
    "VoicemailTarget",
    "VxmlTarget",
    "Weekday",
    "WeeklyRule",
    "calendar_problem",
    "choose",
    "holiday_name",
    "parse_rules",
    "parse_target",
    "zone",
]

MAX_RULES = 100
MAX_DATES = 366

Id = Annotated[int, Field(ge=1)]
PromptName = Annotated[str, Field(pattern=NAME_PATTERN)]
QueueName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
Label = Annotated[str, Field(min_length=1, max_length=100)]


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("times are local to the service's time zone; give no offset")
    return value


LocalTime = Annotated[time, AfterValidator(_wall_clock)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlowTarget(_Frozen):
    """An IVR flow (its id in the flows domain)."""

    kind: Literal["flow"] = "flow"
    flow_id: Id


class VxmlTarget(_Frozen):
    """A VoiceXML document."""

    kind: Literal["vxml"] = "vxml"
    document_id: Id


class QueueTarget(_Frozen):
    """Straight into an ACD queue."""

    kind: Literal["queue"] = "queue"
    queue: QueueName


class VoicemailTarget(_Frozen):
    """A voicemail box."""

    kind: Literal["voicemail"] = "voicemail"
    box_id: Id


class AnnouncementTarget(_Frozen):
    """A prompt played to the caller, then the call ends."""

    kind: Literal["announcement"] = "announcement"
    prompt: PromptName


Target = Annotated[
    FlowTarget | VxmlTarget | QueueTarget | VoicemailTarget | AnnouncementTarget,
    Field(discriminator="kind"),
]
"""Where a call goes: tagged by ``kind``."""


class Weekday(StrEnum):
    """Days of the week, Monday first (``date.weekday()`` order)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_WEEK = list(Weekday)


class _DailyRule(_Frozen):
    """A rule covering some days, within an optional time window of the day."""

    name: Label | None = None
    target: Target
    start: LocalTime | None = None
    end: LocalTime | None = None

    def covers_day(self, day: date) -> bool:
        """Whether a span of this rule starts on ``day``."""
        raise NotImplementedError

    def matches(self, local: datetime) -> bool:
        """Whether the naive local wall-clock time ``local`` lies in one of the spans."""
        start = self.start or time(0)
        now = local.time()
        overnight = self.end is not None and self.end <= start
        in_window = now >= start and (self.end is None or overnight or now < self.end)
        if in_window and self.covers_day(local.date()):
            return True
        return (
            overnight
            and self.end is not None
            and now < self.end
            and self.covers_day(local.date() - timedelta(days=1))
        )


class WeeklyRule(_DailyRule):
    """Opening hours: the listed weekdays, optionally only in the listed months."""

    kind: Literal["weekly"] = "weekly"
    days: tuple[Weekday, ...] = Field(min_length=1, max_length=7)
    months: tuple[Annotated[int, Field(ge=1, le=12)], ...] | None = Field(
        default=None, min_length=1, max_length=12
    )

    def covers_day(self, day: date) -> bool:
        """Whether ``day`` is one of the weekdays (and months)."""
        if self.months is not None and day.month not in self.months:
            return False
        return _WEEK[day.weekday()] in self.days


class HolidayRule(_DailyRule):
    """The public holidays of ``country`` (ISO 3166 code) and optional subdivision."""

    kind: Literal["holiday"] = "holiday"
    country: str = Field(pattern=r"^[A-Z]{2,3}$")
    subdivision: str | None = Field(default=None, min_length=1, max_length=10)

    def covers_day(self, day: date) -> bool:
        """Whether ``day`` is a public holiday there."""
        return holiday_name(self.country, self.subdivision, day) is not None


class DatesRule(_DailyRule):
    """Listed dates; with ``yearly`` their month and day every year."""

    kind: Literal["dates"] = "dates"
    dates: tuple[date, ...] = Field(min_length=1, max_length=MAX_DATES)
    yearly: bool = False

    def covers_day(self, day: date) -> bool:
        """Whether ``day`` is listed."""
        if self.yearly:
            return any((d.month, d.day) == (day.month, day.day) for d in self.dates)
        return day in self.dates


class RangeRule(_Frozen):
    """One stretch of local time, e.g. a company event or a closing for works."""

    kind: Literal["range"] = "range"
    name: Label | None = None
    target: Target
    start_date: date
    end_date: date
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None

    @property
    def begins(self) -> datetime:
        """The first local moment covered."""
        return datetime.combine(self.start_date, self.start_time or time(0))

    @property
    def ends(self) -> datetime:
        """The first local moment no longer covered."""
        if self.end_time is None:
            return datetime.combine(self.end_date + timedelta(days=1), time(0))
        return datetime.combine(self.end_date, self.end_time)

    @model_validator(mode="after")
    def _ordered(self) -> RangeRule:
        if self.ends <= self.begins:
            raise ValueError("the range ends before it begins")
        return self

    def matches(self, local: datetime) -> bool:
        """Whether the naive local wall-clock time ``local`` lies in the range."""
        return self.begins <= local < self.ends


Rule = Annotated[
    WeeklyRule | HolidayRule | DatesRule | RangeRule,
    Field(discriminator="kind"),
]
"""One schedule rule, tagged by ``kind``."""

_RULES: TypeAdapter[tuple[Rule, ...]] = TypeAdapter(tuple[Rule, ...])
_TARGET: TypeAdapter[Target] = TypeAdapter(Target)


def parse_rules(data: object) -> tuple[Rule, ...]:
    """Rules from their JSON form (as stored); raises ``pydantic.ValidationError``."""
    return _RULES.validate_python(data)


def parse_target(data: object) -> Target:
    """A target from its JSON form (as stored); raises ``pydantic.ValidationError``."""
    return _TARGET.validate_python(data)


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone ``name``, or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@lru_cache(maxsize=512)
def _calendar(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return MappingProxyType(dict(found))


def holiday_name(country: str, subdivision: str | None, day: date) -> str | None:
    """The public holiday on ``day`` in ``country`` (and subdivision), else None."""
    return _calendar(country, subdivision, day.year).get(day)


def calendar_problem(country: str, subdivision: str | None) -> str | None:
    """Why there is no holiday calendar for ``country``/``subdivision``: an error id
    (``unknown_holiday_country`` or ``unknown_holiday_subdivision``), else None."""
    supported = holidays.list_supported_countries()
    if country not in supported:
        return "unknown_holiday_country"
    if subdivision is not None:
        try:
            holidays.country_holidays(country, subdiv=subdivision, years=())
        except NotImplementedError:
            return "unknown_holiday_subdivision"
    return None


@dataclass(frozen=True, slots=True)
class Choice:
    """What a schedule chose: the target, and the rule (None: the default target)."""

    target: Target
    rule_index: int | None
    rule_name: str | None
    local_time: datetime


def choose(rules: Sequence[Rule], default: Target, now: datetime, tz: ZoneInfo) -> Choice:
    """The target the first rule matching ``now`` (aware) in ``tz`` chooses, else
    ``default``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(tz)
    wall = local.replace(tzinfo=None)
    for index, rule in enumerate(rules):
        if rule.matches(wall):
            return Choice(rule.target, index, rule.name, local)
    return Choice(default, None, None, local)
