"""API shapes of the statistics: query parameters, report rows, real-time figures.

Every report row is flat (numbers, texts, times) so that the CSV and XLSX exports
(:mod:`helpline.stats.export`) write the same columns the JSON has. Definitions of
every figure are in ``docs/statistics.md``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from helpline.acd.state import AgentState
from helpline.stats.models import MAX_KEY_LENGTH, Dimension
from helpline.stats.periods import Granularity

Seconds = Field(default=None, ge=0, le=3600)


class ExportFormat(StrEnum):
    """How a report is returned."""

    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class HistoryQuery(BaseModel):
    """A historical report: local days ``start`` to ``end`` (inclusive, default today)
    in the tenant's time zone, split by ``granularity`` and ``dimension``. A threshold
    left out is each queue's own (20 s and 5 s for calls that reached no queue)."""

    model_config = ConfigDict(extra="forbid")

    dimension: Dimension = Dimension.TENANT
    granularity: Granularity = Granularity.HOUR
    start: date | None = None
    end: date | None = Field(default=None, description="Inclusive; default: start.")
    queue: str | None = Field(default=None, max_length=MAX_KEY_LENGTH)
    agent: str | None = Field(default=None, max_length=MAX_KEY_LENGTH)
    service_id: int | None = None
    service_level_seconds: int | None = Seconds
    short_abandon_seconds: int | None = Seconds
    format: ExportFormat = ExportFormat.JSON


class Figures(BaseModel):
    """Call, staffing and work-order figures of one bucket (or the whole period)."""

    offered: int = 0
    answered: int = 0
    answered_in_service_level: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    abandoned_ivr: int = 0
    callbacks: int = 0
    voicemail: int = 0
    transferred_out: int = 0
    transfers: int = 0
    ivr_hangups: int = 0
    service_level: float | None = None
    abandon_rate: float | None = None
    asa_seconds: float | None = None
    average_abandon_seconds: float | None = None
    longest_wait_seconds: float = 0.0
    talk_seconds: float = 0.0
    hold_seconds: float = 0.0
    wrap_up_seconds: float = 0.0
    handle_seconds: float = 0.0
    aht_seconds: float | None = None
    survey_responses: int = 0
    survey_answers: int = 0
    satisfaction_score: float | None = Field(default=None, description="Mean score, 0-100.")
    csat: float | None = Field(default=None, description="Share of top-two answers.")
    staffed_seconds: float | None = None
    occupancy: float | None = None
    work_orders_created: int | None = None
    work_orders_closed: int | None = None
    mean_time_to_close_seconds: float | None = None


class Bucket(BaseModel):
    """Which interval and key a row is about."""

    bucket_start: datetime
    bucket_end: datetime
    key: str | None = None
    label: str | None = Field(
        default=None, description="The service's name, or the agent's display name."
    )


class HistoryRow(Figures, Bucket):
    """One bucket of one key (the bucket's fields come first); ``key`` is None for the
    tenant dimension. In totals ``bucket_start`` and ``bucket_end`` are the period's."""


class HistoryReport(BaseModel):
    """A historical report; ``totals`` has one row per key over the whole period."""

    timezone: str
    dimension: Dimension
    granularity: Granularity
    start: date
    end: date
    service_level_seconds: int | None = Field(description="None: each queue's own.")
    short_abandon_seconds: int | None = Field(description="None: each queue's own.")
    rows: list[HistoryRow]
    totals: list[HistoryRow]


class QueueLive(BaseModel):
    """A queue now and today (local day in the tenant's time zone)."""

    queue_id: int
    name: str
    waiting: int
    longest_wait_seconds: float
    agents_logged_in: int
    agents_available: int
    agents_reserved: int
    agents_on_call: int
    agents_wrap_up: int
    agents_not_ready: int
    offered_today: int
    answered_today: int
    abandoned_today: int
    short_abandoned_today: int
    callbacks_today: int
    service_level_today: float | None
    asa_seconds_today: float | None
    aht_seconds_today: float | None
    longest_wait_today_seconds: float


class AgentLive(BaseModel):
    """An agent now and today."""

    agent_id: int
    username: str
    team_id: int | None
    state: AgentState
    reason: str | None
    since: datetime | None
    seconds_in_state: float | None
    calls_today: int
    talk_seconds_today: float
    handle_seconds_today: float
    aht_seconds_today: float | None
    transfers_today: int


class LiveStats(BaseModel):
    """Queues and agents now; ``source`` says whether waiting callers are known
    (``runtime``) or only the saved agent states (``stored``: ``waiting`` is 0)."""

    at: datetime
    source: Literal["runtime", "stored"]
    queues: list[QueueLive]
    agents: list[AgentLive]


class LiveQuery(BaseModel):
    """How a real-time table is returned."""

    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = ExportFormat.JSON


class StaffingQuery(BaseModel):
    """Agents per interval for a service-level target, from the calls measured in
    local days ``start`` to ``end`` (default today)."""

    model_config = ConfigDict(extra="forbid")

    granularity: Literal[Granularity.QUARTER, Granularity.HOUR] = Granularity.HOUR
    start: date | None = None
    end: date | None = None
    queue: str | None = Field(default=None, max_length=MAX_KEY_LENGTH)
    target_service_level: float = Field(default=0.8, ge=0, lt=1)
    service_level_seconds: int = Field(default=20, ge=0, le=3600)
    max_occupancy: float = Field(default=1.0, gt=0, le=1)
    format: ExportFormat = ExportFormat.JSON


class StaffingRow(BaseModel):
    """One interval: the calls that asked for an agent, their handle time, and the
    agents Erlang C proposes with what they would achieve."""

    bucket_start: datetime
    bucket_end: datetime
    calls: int
    aht_seconds: float
    traffic_erlangs: float
    agents: int
    service_level: float
    asa_seconds: float | None
    occupancy: float


class StaffingReport(BaseModel):
    """Proposed agents per interval."""

    timezone: str
    granularity: Granularity
    start: date
    end: date
    queue: str | None
    target_service_level: float
    service_level_seconds: int
    max_occupancy: float
    rows: list[StaffingRow]


class ErlangQuery(BaseModel):
    """One interval's traffic and the target (defaults: 100 calls in 30 minutes of
    3 minutes each, 80 % within 20 s)."""

    model_config = ConfigDict(extra="forbid")

    calls: float = Field(default=100, ge=0, le=1_000_000)
    interval_seconds: int = Field(default=1800, ge=60, le=86400)
    aht_seconds: float = Field(default=180, ge=0, le=86400)
    target_service_level: float = Field(default=0.8, ge=0, lt=1)
    service_level_seconds: int = Field(default=20, ge=0, le=3600)
    max_occupancy: float = Field(default=1.0, gt=0, le=1)
    format: ExportFormat = ExportFormat.JSON


class ErlangRow(BaseModel):
    """What a number of agents achieves."""

    agents: int
    traffic_erlangs: float
    probability_of_waiting: float
    service_level: float
    asa_seconds: float | None = Field(description="None: the queue grows without end.")
    occupancy: float


class ErlangOut(BaseModel):
    """The agents needed, and the neighbouring staffing levels to compare."""

    calls: float
    interval_seconds: int
    aht_seconds: float
    target_service_level: float
    service_level_seconds: int
    max_occupancy: float
    needed: ErlangRow
    table: list[ErlangRow]
