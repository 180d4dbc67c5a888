"""Historical reports: call figures, staffed time and work orders per bucket and key.

Theory of operation: :func:`call_figures` runs one SQL statement that sums the call
measures per bucket and key (:func:`helpline.stats.query.bucketed`) over the rollup
where it covers the period (:mod:`helpline.stats.rollup`, refreshed first) and over
the records for the rest: the period's ends not yet summed, or all of it when the
report filters on another dimension than its own or asks for its own thresholds.
Work orders come from one more statement; the agents' staffed time from their login
sessions, which are few (one per agent and shift), cut at the bucket edges here.
:func:`derive` turns the sums into the documented figures (service level, ASA,
AHT, occupancy ...) after everything is summed: ratios are never summed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.models import Agent, AgentSession
from helpline.routing.models import Service
from helpline.stats.agents import agent_name
from helpline.stats.models import Dimension
from helpline.stats.periods import Bucket, Period, slot_start
from helpline.stats.query import (
    COUNTS,
    MAXES,
    MEASURES,
    SUMS,
    WORK_ORDER_MEASURES,
    CallFilter,
    Scope,
    Thresholds,
    bucketed,
    raw_parts,
    rollup_part,
    work_order_parts,
)
from helpline.stats.rollup import refresh
from helpline.users.models import User

#: Sums per (bucket index, key).
Sums = dict[tuple[int, str], dict[str, float]]
#: Dimensions whose work orders are known (work orders carry a queue and an agent).
WORK_ORDER_DIMENSIONS = (Dimension.TENANT, Dimension.QUEUE, Dimension.AGENT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What one report is about."""

    tenant_id: int
    period: Period
    dimension: Dimension
    filters: CallFilter = field(default_factory=CallFilter)
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def scope(self) -> Scope:
        """The records of the whole period."""
        return Scope(
            tenant_id=self.tenant_id,
            start=self.period.utc_start,
            end=self.period.utc_end,
            filters=self.filters,
            thresholds=self.thresholds,
        )

    @property
    def rollup_serves(self) -> bool:
        """Whether the rollup holds what this report asks for."""
        return self.thresholds.per_queue and self.filters.only_on(self.dimension)

    @property
    def has_work_orders(self) -> bool:
        """Whether work orders are reported (not per service or IVR node)."""
        return self.dimension in WORK_ORDER_DIMENSIONS and self.filters.service_id is None

    @property
    def has_staffing(self) -> bool:
        """Whether staffed time is known (the tenant or agents, unfiltered by queue)."""
        return (
            self.dimension in (Dimension.TENANT, Dimension.AGENT)
            and self.filters.queue is None
            and self.filters.service_id is None
        )


def _raw_between(request: Request, lo: int, hi: int) -> list[Select[Any]]:
    if lo >= hi:
        return []
    scope = replace(request.scope, start=slot_start(lo), end=slot_start(hi))
    return raw_parts(scope, request.dimension)


async def _merge(
    session: AsyncSession, stmt: Select[Any], period: Period, into: Sums, names: tuple[str, ...]
) -> None:
    for row in await session.execute(stmt):
        bucket = period.bucket((int(row.b1), int(row.b2)))
        target = into.setdefault((bucket.index, row.key or ""), {})
        for name in names:
            value = float(getattr(row, name) or 0)
            if name in MAXES:
                target[name] = max(target.get(name, 0.0), value)
            else:
                target[name] = target.get(name, 0.0) + value


async def call_figures(
    session: AsyncSession, request: Request, *, now: datetime, use_rollup: bool = True
) -> Sums:
    """The call measures per (bucket index, key) of ``request``; the rollup is
    refreshed and read where it can serve unless ``use_rollup`` is false."""
    period = request.period
    if use_rollup and request.rollup_serves:
        covered = await refresh(session, tenant_id=request.tenant_id, now=now)
        lo, hi = covered.clip(period.lo, period.hi)
        if lo < hi:
            parts = [
                rollup_part(
                    tenant_id=request.tenant_id,
                    dimension=request.dimension,
                    lo=lo,
                    hi=hi,
                    key=request.filters.key_for(request.dimension),
                ),
                *_raw_between(request, period.lo, lo),
                *_raw_between(request, hi, period.hi),
            ]
        else:
            parts = _raw_between(request, period.lo, period.hi)
    else:
        parts = _raw_between(request, period.lo, period.hi)
    sums: Sums = {}
    await _merge(session, bucketed(parts, period), period, sums, MEASURES)
    return sums


async def work_order_figures(session: AsyncSession, request: Request) -> Sums:
    """Work orders created, closed and their time to close per (bucket index, key)."""
    stmt = bucketed(
        work_order_parts(request.scope, request.dimension),
        request.period,
        sums=WORK_ORDER_MEASURES,
        maxes=(),
    )
    sums: Sums = {}
    await _merge(session, stmt, request.period, sums, WORK_ORDER_MEASURES)
    return sums


async def staffed_seconds(
    session: AsyncSession, request: Request, *, now: datetime
) -> dict[tuple[int, str], float]:
    """Logged-in seconds per (bucket index, agent name as in the call records:
    :func:`~helpline.stats.agents.agent_name`), or per bucket with key ``""`` for the
    tenant; a session still open counts until ``now``."""
    period = request.period
    start, end = period.utc_start, period.utc_end
    name = agent_name()
    stmt = (
        select(AgentSession.login_at, AgentSession.logout_at, name)
        .join(Agent, Agent.id == AgentSession.agent_id)
        .join(User, User.id == Agent.user_id)
        .where(
            AgentSession.tenant_id == request.tenant_id,
            AgentSession.login_at < end,
            or_(AgentSession.logout_at.is_(None), AgentSession.logout_at > start),
        )
    )
    if request.filters.agent is not None:
        stmt = stmt.where(name == request.filters.agent)
    edges = [bucket.start.timestamp() for bucket in period.buckets]
    ends = [bucket.end.timestamp() for bucket in period.buckets]
    staffed: dict[tuple[int, str], float] = defaultdict(float)
    per_agent = request.dimension is Dimension.AGENT
    for login, logout, username in await session.execute(stmt):
        low = max(login, start).timestamp()
        high = min(logout or now, end).timestamp()
        index = max(bisect_right(edges, low) - 1, 0)
        while index < len(edges) and edges[index] < high:
            overlap = min(high, ends[index]) - max(low, edges[index])
            if overlap > 0:
                staffed[(index, username if per_agent else "")] += overlap
            index += 1
    return dict(staffed)


async def service_labels(session: AsyncSession, *, tenant_id: int) -> dict[str, str]:
    """Service id (as a report key) -> the service's name."""
    rows = await session.execute(
        select(Service.id, Service.name).where(Service.tenant_id == tenant_id)
    )
    return {str(ident): name for ident, name in rows}


def _ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def derive(
    sums: Mapping[str, float],
    *,
    staffed: float | None = None,
    work_orders: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The documented figures from summed measures (``docs/statistics.md``)."""
    count = {name: int(sums.get(name, 0)) for name in COUNTS}
    seconds = {name: float(sums.get(name, 0.0)) for name in (*SUMS, *MAXES)}
    answered, abandoned = count["answered"], count["abandoned"]
    queued = answered + abandoned - count["short_abandoned"]
    handle = seconds["talk"] + seconds["hold"] + seconds["wrap_up"]
    figures: dict[str, Any] = {
        "offered": count["offered"],
        "answered": answered,
        "answered_in_service_level": count["answered_in_sl"],
        "abandoned": abandoned,
        "short_abandoned": count["short_abandoned"],
        "abandoned_ivr": count["abandoned_ivr"],
        "callbacks": count["callbacks"],
        "voicemail": count["voicemail"],
        "transferred_out": count["transferred_out"],
        "transfers": count["transfers"],
        "ivr_hangups": count["ivr_hangups"],
        "service_level": _ratio(count["answered_in_sl"], queued),
        "abandon_rate": _ratio(abandoned - count["short_abandoned"], queued),
        "asa_seconds": _ratio(seconds["answer_wait"], answered, 2),
        "average_abandon_seconds": _ratio(seconds["abandon_wait"], abandoned, 2),
        "longest_wait_seconds": round(seconds["max_wait"], 2),
        "talk_seconds": round(seconds["talk"], 2),
        "hold_seconds": round(seconds["hold"], 2),
        "wrap_up_seconds": round(seconds["wrap_up"], 2),
        "handle_seconds": round(handle, 2),
        "aht_seconds": _ratio(handle, answered, 2),
        "survey_responses": count["survey_responses"],
        "survey_answers": count["survey_answers"],
        "satisfaction_score": _ratio(100 * seconds["survey_score"], count["survey_answers"], 2),
        "csat": _ratio(count["survey_top_two"], count["survey_answers"]),
    }
    if staffed is not None:
        figures["staffed_seconds"] = round(staffed, 2)
        figures["occupancy"] = _ratio(handle, staffed)
    if work_orders is not None:
        closed = int(work_orders.get("wo_closed", 0))
        figures["work_orders_created"] = int(work_orders.get("wo_created", 0))
        figures["work_orders_closed"] = closed
        figures["mean_time_to_close_seconds"] = _ratio(
            work_orders.get("wo_close_seconds", 0.0), closed, 2
        )
    return figures


def add_up(into: dict[str, float], more: Mapping[str, float]) -> None:
    """Add ``more``'s measures to ``into`` (maxima kept, sums added)."""
    for name, value in more.items():
        if name in MAXES:
            into[name] = max(into.get(name, 0.0), value)
        else:
            into[name] = into.get(name, 0.0) + value


@dataclass(frozen=True, slots=True)
class Line:
    """One report row before it becomes a schema: its bucket, key and figures."""

    bucket: Bucket
    key: str
    figures: dict[str, Any]


async def report_lines(
    session: AsyncSession, request: Request, *, now: datetime
) -> tuple[list[Line], list[Line]]:
    """The rows (by bucket, then key) and the totals per key of ``request``."""
    calls = await call_figures(session, request, now=now)
    orders = await work_order_figures(session, request) if request.has_work_orders else {}
    staffed = await staffed_seconds(session, request, now=now) if request.has_staffing else {}
    period = request.period
    keys = set(calls) | set(orders) | set(staffed)
    if request.dimension is Dimension.TENANT:
        keys |= {(bucket.index, "") for bucket in period.buckets}
    lines: list[Line] = []
    totals: dict[str, tuple[dict[str, float], dict[str, float], float]] = {}
    for index, key in sorted(keys):
        measures = calls.get((index, key), {})
        work = orders.get((index, key), {})
        seconds = staffed.get((index, key), 0.0)
        lines.append(
            Line(
                period.buckets[index],
                key,
                derive(
                    measures,
                    staffed=seconds if request.has_staffing else None,
                    work_orders=work if request.has_work_orders else None,
                ),
            )
        )
        total = totals.setdefault(key, ({}, {}, 0.0))
        add_up(total[0], measures)
        add_up(total[1], work)
        totals[key] = (total[0], total[1], total[2] + seconds)
    whole = Bucket(-1, period.buckets[0].start, period.buckets[-1].end)
    summary = [
        Line(
            whole,
            key,
            derive(
                measures,
                staffed=seconds if request.has_staffing else None,
                work_orders=work if request.has_work_orders else None,
            ),
        )
        for key, (measures, work, seconds) in sorted(totals.items())
    ]
    return lines, summary
