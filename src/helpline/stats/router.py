"""HTTP routes for statistics: real time, history, staffing and the Erlang C calculator.

Supervisors and tenant admins read them; every route answers JSON, or with
``format=csv`` / ``format=xlsx`` the same table as a file download.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from helpline.acd import presence
from helpline.api.deps import Db, Supervisor, get_runtime
from helpline.db.base import utcnow
from helpline.stats import service
from helpline.stats.export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Table, table
from helpline.stats.schemas import (
    AgentLive,
    ErlangOut,
    ErlangQuery,
    ErlangRow,
    ExportFormat,
    HistoryQuery,
    HistoryReport,
    LiveQuery,
    LiveStats,
    QueueLive,
    StaffingQuery,
    StaffingReport,
    StaffingRow,
)

router = APIRouter(tags=["statistics"])

#: The file types every report can also be had as.
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {CSV_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}},
        "description": "JSON, or the report as CSV or XLSX with `format`.",
    }
}


def _file(name: str, fmt: ExportFormat, *tables: Table) -> Response:
    made = service.export(name, fmt, *tables)
    return Response(
        made.content,
        media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


async def _live(request: Request, db: Db, principal: Supervisor) -> LiveStats:
    provider = presence.realtime_provider(get_runtime(request))
    return await service.live(db, principal=principal, provider=provider, now=utcnow())


@router.get("/stats/realtime", response_model=LiveStats)
async def realtime(request: Request, db: Db, principal: Supervisor) -> object:
    """Every queue (waiting callers, agents by state, today's figures) and agent
    (state, time in it, today's calls) now."""
    return await _live(request, db, principal)


@router.get("/stats/realtime/queues", response_model=list[QueueLive], responses=FILES)
async def realtime_queues(
    request: Request, db: Db, principal: Supervisor, query: Annotated[LiveQuery, Query()]
) -> object:
    """The queues of :func:`realtime` alone."""
    stats = await _live(request, db, principal)
    if query.format is ExportFormat.JSON:
        return stats.queues
    return _file("queues-now", query.format, table("queues", QueueLive, stats.queues))


@router.get("/stats/realtime/agents", response_model=list[AgentLive], responses=FILES)
async def realtime_agents(
    request: Request, db: Db, principal: Supervisor, query: Annotated[LiveQuery, Query()]
) -> object:
    """The agents of :func:`realtime` alone."""
    stats = await _live(request, db, principal)
    if query.format is ExportFormat.JSON:
        return stats.agents
    return _file("agents-now", query.format, table("agents", AgentLive, stats.agents))


@router.get("/stats/history", response_model=HistoryReport, responses=FILES)
async def history(db: Db, principal: Supervisor, query: Annotated[HistoryQuery, Query()]) -> object:
    """Offered, answered, abandoned, service level, ASA, AHT, occupancy, transfers,
    callbacks and work orders per 15 minutes, hour, day, month or year, for the tenant
    or per queue, agent, service or IVR node (definitions: docs/statistics.md). The
    file exports list the rows, then the totals (one per key)."""
    report = await service.history(db, principal=principal, query=query, now=utcnow())
    if query.format is ExportFormat.JSON:
        return report
    name = f"{query.dimension.value}-by-{query.granularity.value}-{report.start}-{report.end}"
    return _file(name, query.format, *service.history_tables(report))


@router.get("/stats/staffing", response_model=StaffingReport, responses=FILES)
async def staffing(
    db: Db, principal: Supervisor, query: Annotated[StaffingQuery, Query()]
) -> object:
    """Agents per 15 minutes or hour that Erlang C proposes for the calls and handle
    time measured in the period, to meet the service-level target."""
    report = await service.staffing(db, principal=principal, query=query, now=utcnow())
    if query.format is ExportFormat.JSON:
        return report
    name = f"staffing-{report.start}-{report.end}"
    return _file(name, query.format, table("staffing", StaffingRow, report.rows))


@router.get("/stats/erlang-c", response_model=ErlangOut, responses=FILES)
async def erlang_c(principal: Supervisor, query: Annotated[ErlangQuery, Query()]) -> object:
    """The Erlang C calculator: agents needed for one interval's calls and handle time
    to answer the target share of calls within the threshold."""
    result = service.erlang_c(query)
    if query.format is ExportFormat.JSON:
        return result
    return _file("erlang-c", query.format, table("erlang-c", ErlangRow, result.table))
