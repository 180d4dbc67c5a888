"""Report periods: the intervals of a report in the tenant's time zone, as UTC slots.

Theory of operation: a report covers whole local days, ``start`` to ``end``
inclusive, in the tenant's IANA time zone (months and years are widened to whole
months and years). Its rows are *buckets* of one :class:`Granularity`. The database
holds UTC times, and the rollup 15-minute UTC *slots* (``epoch // 900``); a bucket
is a set of consecutive slots, because every zone's offset has been a multiple of 15
minutes since 1972 (reports start in 2000 or later) and changes at a slot boundary.

SQL maps a slot to its bucket without time-zone support in the database (SQLite has
none): :class:`Period` gives the zone's offsets over the range as a short table
(:attr:`Period.offsets`, one entry per daylight-saving change) so that the *local
epoch seconds* of a slot is ``slot * 900 + offset(slot)``. Quarters, hours and days
are then integer divisions of the local epoch; months and years are found by
comparing the slot with the first slot of each month or year
(:attr:`Period.bounds`). Every bucket is named by two integers, :meth:`Period.bucket`
turns them back into local times:

* quarter and hour: ``(local epoch // width, offset)`` — the offset keeps apart the
  two local 02:00 hours of the night daylight-saving time ends;
* day: ``(local epoch // 86400, 0)``; month and year: ``(index of the bucket, 0)``.

Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from helpline.stats.models import SLOT_SECONDS

#: The most buckets one report may have.
MAX_BUCKETS = 3000
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)
DAY = 86400


class Granularity(StrEnum):
    """How long one row of a report is."""

    QUARTER = "15min"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


WIDTH = {Granularity.QUARTER: 900, Granularity.HOUR: 3600, Granularity.DAY: DAY}


class PeriodError(ValueError):
    """The period asked for cannot be reported on; ``error_id`` says why."""

    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True, slots=True)
class Bucket:
    """One row's interval: ``start`` inclusive, ``end`` exclusive, both in the zone."""

    index: int
    start: datetime
    end: datetime


def slot_of(moment: datetime) -> int:
    """The UTC slot ``moment`` falls in."""
    return int(moment.timestamp()) // SLOT_SECONDS


def slot_start(slot: int) -> datetime:
    """The UTC start of ``slot``."""
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


def _offset(zone: ZoneInfo, slot: int) -> int:
    delta = slot_start(slot).astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offsets(zone: ZoneInfo, lo: int, hi: int) -> tuple[tuple[int, int], ...]:
    """``((first slot, offset seconds), ...)``: the zone's UTC offset over slots
    ``[lo, hi)``, one entry from ``lo`` and one per change."""
    changes = [(lo, _offset(zone, lo))]
    step = DAY // SLOT_SECONDS
    here = lo
    while here < hi:
        there = min(here + step, hi)
        if _offset(zone, there - 1) != changes[-1][1]:
            low, high = here, there - 1  # the offset changes in (low, high]
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, middle) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            changes.append((high, _offset(zone, high)))
            continue
        here = there
    return tuple(changes)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """The buckets of one report and what SQL needs to find them."""

    zone: ZoneInfo
    granularity: Granularity
    first_day: date
    last_day: date
    lo: int
    """First slot of the period."""
    hi: int
    """Slot just after the period."""
    offsets: tuple[tuple[int, int], ...]
    bounds: tuple[int, ...] = ()
    """Month or year granularity: the first slot of every bucket after the first."""
    buckets: tuple[Bucket, ...] = ()
    _by_key: dict[tuple[int, int], Bucket] = field(default_factory=dict, repr=False)

    @property
    def utc_start(self) -> datetime:
        """The period's first instant."""
        return slot_start(self.lo)

    @property
    def utc_end(self) -> datetime:
        """The instant just after the period."""
        return slot_start(self.hi)

    def offset_at(self, slot: int) -> int:
        """The zone's offset in seconds during ``slot``."""
        index = bisect_right([first for first, _ in self.offsets], slot) - 1
        return self.offsets[max(index, 0)][1]

    def key_of(self, slot: int) -> tuple[int, int]:
        """The two integers SQL names ``slot``'s bucket by (see the module text)."""
        if self.granularity in (Granularity.MONTH, Granularity.YEAR):
            return bisect_right(self.bounds, slot), 0
        offset = self.offset_at(slot)
        local = slot * SLOT_SECONDS + offset
        width = WIDTH[self.granularity]
        if self.granularity is Granularity.DAY:
            return local // width, 0
        return local // width, offset

    def bucket(self, key: tuple[int, int]) -> Bucket:
        """The bucket SQL named ``key``."""
        return self._by_key[key]

    def bucket_of(self, moment: datetime) -> Bucket | None:
        """The bucket ``moment`` falls in, None outside the period."""
        slot = slot_of(moment)
        if not self.lo <= slot < self.hi:
            return None
        return self._by_key[self.key_of(slot)]


def _widen(granularity: Granularity, start: date, end: date) -> tuple[date, date]:
    if granularity is Granularity.MONTH:
        return _month_start(start), _next_month(end) - timedelta(days=1)
    if granularity is Granularity.YEAR:
        return date(start.year, 1, 1), date(end.year, 12, 31)
    return start, end


def _calendar_starts(granularity: Granularity, first: date, last: date) -> list[date]:
    starts: list[date] = []
    day = first
    while day <= last:
        starts.append(day)
        if granularity is Granularity.DAY:
            day += timedelta(days=1)
        elif granularity is Granularity.MONTH:
            day = _next_month(day)
        else:
            day = date(day.year + 1, 1, 1)
        if len(starts) > MAX_BUCKETS:
            break
    return starts


def make_period(zone: ZoneInfo, granularity: Granularity, start: date, end: date) -> Period:
    """The period of local days ``start`` to ``end`` inclusive in ``zone`` (widened to
    whole months or years for those granularities); :class:`PeriodError` if it is
    empty, out of range or has more than :data:`MAX_BUCKETS` buckets."""
    if end < start:
        raise PeriodError("the period ends before it starts", "invalid_period")
    if start < EARLIEST or end > LATEST:
        raise PeriodError(
            f"reports cover {EARLIEST.isoformat()} to {LATEST.isoformat()}", "invalid_period"
        )
    first, last = _widen(granularity, start, end)
    lo = slot_of(_local_midnight(first, zone))
    hi = slot_of(_local_midnight(last + timedelta(days=1), zone))
    if granularity in WIDTH:
        estimate = (hi - lo) * SLOT_SECONDS // WIDTH[granularity]
    else:
        estimate = len(_calendar_starts(granularity, first, last))
    if estimate > MAX_BUCKETS:
        raise PeriodError(
            f"{estimate} rows of {granularity.value}; at most {MAX_BUCKETS}: shorten the "
            "period or choose a coarser granularity",
            "report_too_large",
        )
    changes = offsets(zone, lo, hi)
    by_key: dict[tuple[int, int], Bucket] = {}
    buckets: list[Bucket] = []
    bounds: tuple[int, ...] = ()
    period = Period(zone, granularity, first, last, lo, hi, changes)
    if granularity in (Granularity.QUARTER, Granularity.HOUR):
        slots_per = WIDTH[granularity] // SLOT_SECONDS
        slot = lo
        while slot < hi:
            key = period.key_of(slot)
            end_slot = slot + 1
            while end_slot < hi and end_slot - slot < slots_per and period.key_of(end_slot) == key:
                end_slot += 1
            if key not in by_key:
                bucket = Bucket(
                    len(buckets),
                    slot_start(slot).astimezone(zone),
                    slot_start(end_slot).astimezone(zone),
                )
                by_key[key] = bucket
                buckets.append(bucket)
            slot = end_slot
    else:
        starts = _calendar_starts(granularity, first, last)
        edges = [slot_of(_local_midnight(day, zone)) for day in starts] + [hi]
        if granularity is not Granularity.DAY:
            bounds = tuple(edges[1:-1])
        for index in range(len(starts)):
            bucket = Bucket(
                index,
                slot_start(edges[index]).astimezone(zone),
                slot_start(edges[index + 1]).astimezone(zone),
            )
            key = period.key_of(edges[index]) if granularity is Granularity.DAY else (index, 0)
            by_key[key] = bucket
            buckets.append(bucket)
    return Period(zone, granularity, first, last, lo, hi, changes, bounds, tuple(buckets), by_key)
