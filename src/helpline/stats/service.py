"""Statistics for the API: historical reports, real time, staffing, Erlang C, exports.

Every function takes the tenant from the principal and reports in the tenant's time
zone (UTC if the stored zone is unknown). Periods are whole local days; a period that
cannot be reported on is a 422 with error id ``invalid_period`` or
``report_too_large``. The reports, their sources and every definition are described
in ``docs/statistics.md``; the SQL is in :mod:`helpline.stats.query`, the rollup in
:mod:`helpline.stats.rollup`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.presence import RealtimeProvider
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError
from helpline.stats import erlang
from helpline.stats.agents import agent_labels
from helpline.stats.export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Table, table, to_csv, to_xlsx
from helpline.stats.history import (
    Line,
    Request,
    call_figures,
    derive,
    report_lines,
    service_labels,
)
from helpline.stats.models import Dimension
from helpline.stats.periods import Granularity, Period, PeriodError, make_period
from helpline.stats.query import CallFilter, Thresholds
from helpline.stats.realtime import live_stats
from helpline.stats.schemas import (
    ErlangOut,
    ErlangQuery,
    ErlangRow,
    ExportFormat,
    HistoryQuery,
    HistoryReport,
    HistoryRow,
    LiveStats,
    StaffingQuery,
    StaffingReport,
    StaffingRow,
)
from helpline.tenants.models import Tenant

log = logging.getLogger(__name__)

#: Staffing levels shown on each side of the one needed.
ERLANG_NEIGHBOURS = 3


async def tenant_zone(session: AsyncSession, *, tenant_id: int) -> ZoneInfo:
    """The tenant's time zone (UTC if it names no known zone)."""
    tenant = await session.get(Tenant, tenant_id)
    name = tenant.timezone if tenant is not None else "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("tenant %s: unknown time zone %r, reporting in UTC", tenant_id, name)
        return ZoneInfo("UTC")


def _period(
    zone: ZoneInfo, granularity: Granularity, start: date | None, end: date | None, now: datetime
) -> Period:
    first = start or now.astimezone(zone).date()
    try:
        return make_period(zone, granularity, first, end or first)
    except PeriodError as exc:
        raise ApiError(
            str(exc), error_id=exc.error_id, status_code=422, details={"field": "start"}
        ) from exc


def _row(line: Line, dimension: Dimension, labels: dict[str, str]) -> HistoryRow:
    return HistoryRow(
        bucket_start=line.bucket.start,
        bucket_end=line.bucket.end,
        key=line.key if dimension is not Dimension.TENANT else None,
        label=labels.get(line.key),
        **line.figures,
    )


async def history(
    session: AsyncSession, *, principal: Principal, query: HistoryQuery, now: datetime
) -> HistoryReport:
    """The historical report ``query`` asks for (the rollup is brought up to date
    first when it can serve the report)."""
    zone = await tenant_zone(session, tenant_id=principal.tenant_id)
    period = _period(zone, query.granularity, query.start, query.end, now)
    request = Request(
        tenant_id=principal.tenant_id,
        period=period,
        dimension=query.dimension,
        filters=CallFilter(queue=query.queue, agent=query.agent, service_id=query.service_id),
        thresholds=Thresholds(
            service_level_seconds=query.service_level_seconds,
            short_abandon_seconds=query.short_abandon_seconds,
        ),
    )
    lines, totals = await report_lines(session, request, now=now)
    labels: dict[str, str] = {}
    if query.dimension is Dimension.SERVICE:
        labels = await service_labels(session, tenant_id=principal.tenant_id)
    elif query.dimension is Dimension.AGENT:
        labels = await agent_labels(session, tenant_id=principal.tenant_id)

    return HistoryReport(
        timezone=zone.key,
        dimension=query.dimension,
        granularity=query.granularity,
        start=period.first_day,
        end=period.last_day,
        service_level_seconds=query.service_level_seconds,
        short_abandon_seconds=query.short_abandon_seconds,
        rows=[_row(line, query.dimension, labels) for line in lines],
        totals=[_row(line, query.dimension, labels) for line in totals],
    )


async def live(
    session: AsyncSession, *, principal: Principal, provider: RealtimeProvider, now: datetime
) -> LiveStats:
    """Each queue and (visible) agent now, with today's figures."""
    zone = await tenant_zone(session, tenant_id=principal.tenant_id)
    return await live_stats(session, principal=principal, provider=provider, zone=zone, now=now)


def _erlang_row(result: erlang.Staffing) -> ErlangRow:
    return ErlangRow(
        agents=result.agents,
        traffic_erlangs=round(result.traffic_erlangs, 4),
        probability_of_waiting=round(result.probability_of_waiting, 4),
        service_level=round(result.service_level, 4),
        asa_seconds=round(result.asa_seconds, 2) if result.asa_seconds != float("inf") else None,
        occupancy=round(result.occupancy, 4),
    )


def _impossible(exc: ValueError) -> ApiError:
    return ApiError(str(exc), error_id="staffing_impossible", status_code=422)


def erlang_c(query: ErlangQuery) -> ErlangOut:
    """The agents one interval needs, and the staffing levels around it."""
    try:
        needed = erlang.agents_needed(
            calls=query.calls,
            aht_seconds=query.aht_seconds,
            interval_seconds=query.interval_seconds,
            target_service_level=query.target_service_level,
            threshold_seconds=query.service_level_seconds,
            max_occupancy=query.max_occupancy,
        )
    except ValueError as exc:
        raise _impossible(exc) from exc
    erlangs = needed.traffic_erlangs
    low = max(1, needed.agents - ERLANG_NEIGHBOURS)
    table_rows = [
        _erlang_row(
            erlang.staffing(agents, erlangs, query.aht_seconds, query.service_level_seconds)
        )
        for agents in range(low, needed.agents + ERLANG_NEIGHBOURS + 1)
    ]
    return ErlangOut(
        **query.model_dump(exclude={"format"}),
        needed=_erlang_row(needed),
        table=table_rows,
    )


async def staffing(
    session: AsyncSession, *, principal: Principal, query: StaffingQuery, now: datetime
) -> StaffingReport:
    """Erlang C agents per interval for the calls measured in the period: the calls
    that asked for an agent (answered, abandoned in queue, callback requests) and the
    interval's AHT (the period's where the interval has no answered call)."""
    zone = await tenant_zone(session, tenant_id=principal.tenant_id)
    period = _period(zone, query.granularity, query.start, query.end, now)
    dimension = Dimension.QUEUE if query.queue is not None else Dimension.TENANT
    request = Request(
        tenant_id=principal.tenant_id,
        period=period,
        dimension=dimension,
        filters=CallFilter(queue=query.queue),
    )
    sums = await call_figures(session, request, now=now)
    key = query.queue or ""
    handle = sum(s["talk"] + s["hold"] + s["wrap_up"] for s in sums.values())
    answered = sum(s["answered"] for s in sums.values())
    overall_aht = handle / answered if answered else 0.0
    rows = []
    for bucket in period.buckets:
        figures = derive(sums.get((bucket.index, key), {}))
        calls = figures["answered"] + figures["abandoned"] + figures["callbacks"]
        aht = figures["aht_seconds"] or overall_aht
        try:
            result = erlang.agents_needed(
                calls=calls,
                aht_seconds=aht,
                interval_seconds=bucket.end.timestamp() - bucket.start.timestamp(),
                target_service_level=query.target_service_level,
                threshold_seconds=query.service_level_seconds,
                max_occupancy=query.max_occupancy,
            )
        except ValueError as exc:
            raise _impossible(exc) from exc
        out = _erlang_row(result)
        rows.append(
            StaffingRow(
                bucket_start=bucket.start,
                bucket_end=bucket.end,
                calls=calls,
                aht_seconds=round(aht, 2),
                traffic_erlangs=out.traffic_erlangs,
                agents=out.agents,
                service_level=out.service_level,
                asa_seconds=out.asa_seconds,
                occupancy=out.occupancy,
            )
        )
    return StaffingReport(
        timezone=zone.key,
        granularity=query.granularity,
        start=period.first_day,
        end=period.last_day,
        queue=query.queue,
        target_service_level=query.target_service_level,
        service_level_seconds=query.service_level_seconds,
        max_occupancy=query.max_occupancy,
        rows=rows,
    )


class Export(BaseModel):
    """A report rendered as a file."""

    content: bytes
    media_type: str
    filename: str


def export(name: str, fmt: ExportFormat, *tables: Table) -> Export:
    """``tables`` as one CSV (one after another) or one XLSX workbook (a sheet each)."""
    if fmt is ExportFormat.XLSX:
        return Export(content=to_xlsx(*tables), media_type=XLSX_MEDIA_TYPE, filename=f"{name}.xlsx")
    return Export(content=to_csv(*tables), media_type=CSV_MEDIA_TYPE, filename=f"{name}.csv")


def history_tables(report: HistoryReport) -> tuple[Table, Table]:
    """A history report's rows and totals as tables."""
    return table("report", HistoryRow, report.rows), table("totals", HistoryRow, report.totals)
