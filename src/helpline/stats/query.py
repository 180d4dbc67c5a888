"""The SQL of the reports: call figures per slot and key, and their buckets.

Theory of operation: every report metric is derived from a few counts and sums
(:data:`MEASURES`) taken over the tenant's call records; the definitions are in
``docs/statistics.md``. This module builds, as SQLAlchemy statements that run the same
on SQLite and PostgreSQL:

* :func:`raw_parts` — the measures of the records started in a UTC range, grouped by
  15-minute slot and the report's key (queue, agent, service, IVR node, or none): the
  records themselves, their transfer segments (counted for the agent who transferred),
  the survey answers about them (by the call's start, not the answer's time) and, for
  IVR nodes, the distinct nodes each call's path entered (survey answers included);
* :func:`rollup_part` — the same columns read back from ``stats_slots``;
* :func:`bucketed` — any union of those, regrouped into the report's buckets in the
  tenant's time zone (:mod:`helpline.stats.periods` explains the arithmetic);
* :func:`work_order_parts` — work orders created and closed per slot and key.

Constants that appear both in a select list and in its GROUP BY are rendered inline
(:func:`_int`): PostgreSQL does not see two bound parameters as the same expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    FunctionElement,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler

from helpline.acd.models import Queue
from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    CallRecord,
    CallSegment,
    SegmentKind,
)
from helpline.ivr.models import Flow, IvrPathStep
from helpline.stats.models import SLOT_SECONDS, Dimension, StatsSlot
from helpline.stats.periods import DAY, WIDTH, Granularity, Period
from helpline.surveys.models import SurveyAnswer, SurveyResponse
from helpline.workorders.models import WorkOrder

#: Counted calls (integers).
COUNTS = (
    "offered",
    "answered",
    "answered_in_sl",
    "abandoned",
    "short_abandoned",
    "abandoned_ivr",
    "callbacks",
    "voicemail",
    "transferred_out",
    "transfers",
    "ivr_hangups",
    "survey_responses",
    "survey_answers",
    "survey_top_two",
)
#: Summed seconds, and the survey answers' scores on a 0-1 scale.
SUMS = ("answer_wait", "abandon_wait", "talk", "hold", "wrap_up", "survey_score")
#: The longest wait (a maximum, never summed).
MAXES = ("max_wait",)
MEASURES = COUNTS + SUMS + MAXES
WORK_ORDER_MEASURES = ("wo_created", "wo_closed", "wo_close_seconds")
#: Thresholds for calls that reached no queue (the queues' own defaults).
DEFAULT_SERVICE_LEVEL_SECONDS = 20
DEFAULT_SHORT_ABANDON_SECONDS = 5
#: Outcomes that never reached the tenant's resources: not offered.
NOT_OFFERED = (CallOutcome.REJECTED, CallOutcome.BLACKLISTED)
#: The IVR path step outcome of a caller hanging up in the node.
CALLER_HUNG_UP = "caller_hung_up"


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970 of a UTC datetime column, on either database."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(date_part('epoch', {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def _int(value: int) -> ColumnElement[int]:
    return literal_column(str(int(value)), BigInteger)


def _zero() -> ColumnElement[int]:
    return literal_column("0", Integer)


def _zero_seconds() -> ColumnElement[float]:
    return cast(literal_column("0"), Double)


def slot_expr(column: Any) -> ColumnElement[int]:
    """The 15-minute UTC slot of a datetime column."""
    return epoch_seconds(column) // _int(SLOT_SECONDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFilter:
    """Restrict a report to one queue, agent or service."""

    queue: str | None = None
    agent: str | None = None
    service_id: int | None = None

    def only_on(self, dimension: Dimension) -> bool:
        """Whether nothing but the report's own key is filtered (the rollup can serve)."""
        given = {
            Dimension.QUEUE: self.queue is not None,
            Dimension.AGENT: self.agent is not None,
            Dimension.SERVICE: self.service_id is not None,
        }
        return not any(on for dim, on in given.items() if dim is not dimension)

    def key_for(self, dimension: Dimension) -> str | None:
        """The filter's value on the report's own dimension."""
        if dimension is Dimension.QUEUE:
            return self.queue
        if dimension is Dimension.AGENT:
            return self.agent
        if dimension is Dimension.SERVICE and self.service_id is not None:
            return str(self.service_id)
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Service-level and short-abandon thresholds in seconds; None: each queue's own."""

    service_level_seconds: int | None = None
    short_abandon_seconds: int | None = None

    @property
    def per_queue(self) -> bool:
        """Whether the queues' own thresholds apply (the rollup holds those)."""
        return self.service_level_seconds is None and self.short_abandon_seconds is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Which records: a tenant's, started in ``[start, end)``, with filters."""

    tenant_id: int
    start: datetime
    end: datetime
    filters: CallFilter = field(default_factory=CallFilter)
    thresholds: Thresholds = field(default_factory=Thresholds)


def _record_measures(
    record: type[CallRecord], sl: ColumnElement[Any], short: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    answered = record.answered_at.is_not(None)
    abandoned = record.outcome == CallOutcome.ABANDONED_QUEUE
    wait = record.wait_seconds

    def outcome(value: CallOutcome) -> ColumnElement[int]:
        return func.count().filter(record.outcome == value)

    def total(column: Any, *where: ColumnElement[bool]) -> ColumnElement[float]:
        summed = func.sum(column)
        return func.coalesce(summed.filter(*where) if where else summed, 0.0)

    columns: dict[str, ColumnElement[Any]] = {
        "offered": func.count(),
        "answered": func.count().filter(answered),
        "answered_in_sl": func.count().filter(answered, wait <= sl),
        "abandoned": func.count().filter(abandoned),
        "short_abandoned": func.count().filter(abandoned, wait < short),
        "abandoned_ivr": outcome(CallOutcome.ABANDONED_IVR),
        "callbacks": outcome(CallOutcome.CALLBACK),
        "voicemail": outcome(CallOutcome.VOICEMAIL),
        "transferred_out": outcome(CallOutcome.TRANSFERRED_OUT),
        "transfers": _zero(),
        "ivr_hangups": _zero(),
        "survey_responses": _zero(),
        "survey_answers": _zero(),
        "survey_top_two": _zero(),
        "survey_score": _zero_seconds(),
        "answer_wait": total(wait, answered),
        "abandon_wait": total(wait, abandoned),
        "talk": total(record.talk_seconds),
        "hold": total(record.hold_seconds),
        "wrap_up": total(record.wrap_up_seconds),
        "max_wait": func.coalesce(func.max(wait), 0.0),
    }
    return [columns[name].label(name) for name in MEASURES]


def _only(**given: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """All measures, zero but those ``given``."""
    columns = {name: _zero() for name in COUNTS} | {name: _zero_seconds() for name in SUMS}
    columns["max_wait"] = _zero_seconds()
    columns.update(given)
    return [columns[name].label(name) for name in MEASURES]


def _record_where(scope: Scope, record: type[CallRecord]) -> list[ColumnElement[bool]]:
    where = [
        record.tenant_id == scope.tenant_id,
        record.started_at >= scope.start,
        record.started_at < scope.end,
        record.direction == CallDirection.INBOUND,
        record.outcome.not_in(NOT_OFFERED),
        record.parent_call_id.is_(None),  # legs placed inside a call are not offered calls
    ]
    if scope.filters.queue is not None:
        where.append(record.queue == scope.filters.queue)
    if scope.filters.service_id is not None:
        where.append(record.service_id == scope.filters.service_id)
    return where


def _key(dimension: Dimension, record: type[CallRecord]) -> Any:
    if dimension is Dimension.QUEUE:
        return record.queue
    if dimension is Dimension.AGENT:
        return record.agent
    if dimension is Dimension.SERVICE:
        return cast(record.service_id, String)
    return None


def _empty_key() -> ColumnElement[str]:
    return literal_column("''", String)


def _thresholds(
    scope: Scope, record: type[CallRecord]
) -> tuple[ColumnElement[Any], ColumnElement[Any], Any]:
    """The service-level and short-abandon thresholds of each record, and the queue
    table to outer-join for them (None when the request gives both)."""
    given = scope.thresholds
    both = (given.service_level_seconds, given.short_abandon_seconds)
    queue = aliased(Queue) if None in both else None
    sl: ColumnElement[Any] = (
        literal(given.service_level_seconds, Integer)
        if given.service_level_seconds is not None or queue is None
        else func.coalesce(queue.service_level_seconds, DEFAULT_SERVICE_LEVEL_SECONDS)
    )
    short: ColumnElement[Any] = (
        literal(given.short_abandon_seconds, Integer)
        if given.short_abandon_seconds is not None or queue is None
        else func.coalesce(queue.short_abandon_seconds, DEFAULT_SHORT_ABANDON_SECONDS)
    )
    return sl, short, queue


def _join_queue(stmt: Select[Any], queue: Any, record: Any) -> Select[Any]:
    if queue is None:
        return stmt
    return stmt.outerjoin(
        queue, and_(queue.tenant_id == record.tenant_id, queue.name == record.queue)
    )


def _record_rows(scope: Scope, dimension: Dimension) -> Select[Any]:
    record = CallRecord
    sl, short, queue = _thresholds(scope, record)
    slot = slot_expr(record.started_at)
    key = _key(dimension, record)
    where = _record_where(scope, record)
    if scope.filters.agent is not None:
        where.append(record.agent == scope.filters.agent)
    if key is not None:
        where.append(key.is_not(None))
    stmt = select(
        slot.label("slot"),
        (key if key is not None else _empty_key()).label("key"),
        *_record_measures(record, sl, short),
    ).select_from(record)
    stmt = _join_queue(stmt, queue, record).where(*where)
    return stmt.group_by(slot, *([key] if key is not None else []))


def _transfer_rows(scope: Scope, dimension: Dimension) -> Select[Any]:
    record, segment = CallRecord, CallSegment
    slot = slot_expr(record.started_at)
    key: Any = (
        func.coalesce(segment.agent, record.agent)
        if dimension is Dimension.AGENT
        else _key(dimension, record)
    )
    where = [*_record_where(scope, record), segment.kind == SegmentKind.TRANSFER]
    if scope.filters.agent is not None:
        where.append(func.coalesce(segment.agent, record.agent) == scope.filters.agent)
    if key is not None:
        where.append(key.is_not(None))
    return (
        select(
            slot.label("slot"),
            (key if key is not None else _empty_key()).label("key"),
            *_only(transfers=func.count()),
        )
        .select_from(segment)
        .join(record, record.id == segment.record_id)
        .where(*where)
        .group_by(slot, *([key] if key is not None else []))
    )


def _survey_rows(scope: Scope, dimension: Dimension) -> Select[Any]:
    """Survey answers about the records of ``scope`` (linked by the call record), by
    the call's slot and key; answers without a scale (``high <= low``) are left out."""
    record, response, answer = CallRecord, SurveyResponse, SurveyAnswer
    slot = slot_expr(record.started_at)
    key = _key(dimension, record)
    where = _survey_where(scope, record, answer)
    if key is not None:
        where.append(key.is_not(None))
    return (
        select(
            slot.label("slot"),
            (key if key is not None else _empty_key()).label("key"),
            *_survey_measures(response, answer),
        )
        .select_from(answer)
        .join(response, response.id == answer.response_id)
        .join(
            record,
            and_(record.id == response.call_record_id, record.tenant_id == response.tenant_id),
        )
        .where(*where)
        .group_by(slot, *([key] if key is not None else []))
    )


def _survey_where(
    scope: Scope, record: type[CallRecord], answer: type[SurveyAnswer]
) -> list[ColumnElement[bool]]:
    where = [*_record_where(scope, record), answer.high > answer.low]
    if scope.filters.agent is not None:
        where.append(record.agent == scope.filters.agent)
    return where


def _survey_measures(
    response: type[SurveyResponse], answer: type[SurveyAnswer]
) -> list[ColumnElement[Any]]:
    """All measures, zero but the survey ones, over rows of one answer each."""
    score = cast(answer.value - answer.low, Double) / cast(answer.high - answer.low, Double)
    top_two = or_(
        and_(answer.high - answer.low >= 2, answer.value >= answer.high - 1),
        answer.value == answer.high,
    )
    return _only(
        survey_responses=func.count(func.distinct(response.id)),
        survey_answers=func.count(),
        survey_top_two=func.count().filter(top_two),
        survey_score=func.coalesce(func.sum(score), 0.0),
    )


def _ivr_nodes(scope: Scope) -> Subquery:
    """The distinct ``(call_id, flow_id, node)`` each call of ``scope`` entered, and
    whether the caller hung up there (``hung``): a node entered twice is one row."""
    step, calls = IvrPathStep, aliased(CallRecord)
    hung = func.max(case((step.outcome == CALLER_HUNG_UP, 1), else_=0))
    return (
        select(step.call_id, step.flow_id, step.node, hung.label("hung"))
        .join(calls, and_(calls.tenant_id == step.tenant_id, calls.call_id == step.call_id))
        .where(step.tenant_id == scope.tenant_id, *_record_where(scope, calls))
        .group_by(step.call_id, step.flow_id, step.node)
        .subquery()
    )


def _node_key(nodes: Subquery) -> ColumnElement[str]:
    return Flow.name + literal_column("'/'", String) + nodes.c.node


def _ivr_rows(scope: Scope) -> Select[Any]:
    record = CallRecord
    nodes = _ivr_nodes(scope)
    slot = slot_expr(record.started_at)
    key = _node_key(nodes)
    sl, short, queue = _thresholds(scope, record)
    measures = _record_measures(record, sl, short)
    index = MEASURES.index("ivr_hangups")
    measures[index] = func.sum(nodes.c.hung).label("ivr_hangups")
    where = _record_where(scope, record)
    if scope.filters.agent is not None:
        where.append(record.agent == scope.filters.agent)
    stmt = (
        select(slot.label("slot"), key.label("key"), *measures)
        .select_from(record)
        .join(nodes, nodes.c.call_id == record.call_id)
        .join(Flow, Flow.id == nodes.c.flow_id)
    )
    return _join_queue(stmt, queue, record).where(*where).group_by(slot, key)


def _ivr_survey_rows(scope: Scope) -> Select[Any]:
    """Survey answers about the calls of ``scope``, for every node each call's path
    entered (once per node, however often the call entered it)."""
    record, response, answer = CallRecord, SurveyResponse, SurveyAnswer
    nodes = _ivr_nodes(scope)
    slot = slot_expr(record.started_at)
    key = _node_key(nodes)
    return (
        select(slot.label("slot"), key.label("key"), *_survey_measures(response, answer))
        .select_from(answer)
        .join(response, response.id == answer.response_id)
        .join(
            record,
            and_(record.id == response.call_record_id, record.tenant_id == response.tenant_id),
        )
        .join(nodes, nodes.c.call_id == record.call_id)
        .join(Flow, Flow.id == nodes.c.flow_id)
        .where(*_survey_where(scope, record, answer))
        .group_by(slot, key)
    )


def raw_parts(scope: Scope, dimension: Dimension) -> list[Select[Any]]:
    """Selects of ``(slot, key, *MEASURES)`` from the records of ``scope``."""
    if dimension is Dimension.IVR_NODE:
        return [_ivr_rows(scope), _ivr_survey_rows(scope)]
    return [
        _record_rows(scope, dimension),
        _transfer_rows(scope, dimension),
        _survey_rows(scope, dimension),
    ]


def rollup_part(
    *, tenant_id: int, dimension: Dimension, lo: int, hi: int, key: str | None
) -> Select[Any]:
    """``(slot, key, *MEASURES)`` of slots ``[lo, hi)`` from the rollup."""
    row = StatsSlot
    where = [
        row.tenant_id == tenant_id,
        row.dimension == dimension,
        row.slot >= lo,
        row.slot < hi,
    ]
    if key is not None:
        where.append(row.key == key)
    return select(row.slot, row.key, *[getattr(row, name) for name in MEASURES]).where(*where)


def _offset_expr(slot: ColumnElement[int], period: Period) -> ColumnElement[int]:
    changes = period.offsets
    if len(changes) == 1:
        return _int(changes[0][1])
    whens = [
        (slot < _int(first), _int(offset))
        for (first, _), (_, offset) in zip(changes[1:], changes[:-1], strict=True)
    ]
    return case(*whens, else_=_int(changes[-1][1]))


def bucket_exprs(
    slot: ColumnElement[int], period: Period
) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """The two integers naming ``slot``'s bucket (:meth:`Period.key_of` in SQL)."""
    granularity = period.granularity
    if granularity in (Granularity.MONTH, Granularity.YEAR):
        if not period.bounds:
            return _int(0), _int(0)
        whens = [(slot < _int(bound), _int(index)) for index, bound in enumerate(period.bounds)]
        return case(*whens, else_=_int(len(period.bounds))), _int(0)
    offset = _offset_expr(slot, period)
    local = slot * _int(SLOT_SECONDS) + offset
    if granularity is Granularity.DAY:
        return local // _int(DAY), _int(0)
    return local // _int(WIDTH[granularity]), offset


def bucketed(
    parts: list[Select[Any]],
    period: Period,
    *,
    sums: tuple[str, ...] = COUNTS + SUMS,
    maxes: tuple[str, ...] = MAXES,
) -> Select[Any]:
    """``(b1, b2, key, *sums, *maxes)``: the parts' rows summed per bucket and key."""
    inner = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    b1, b2 = bucket_exprs(inner.c.slot, period)
    keyed = select(
        b1.label("b1"), b2.label("b2"), inner.c.key, *[inner.c[m] for m in sums + maxes]
    ).subquery()
    return select(
        keyed.c.b1,
        keyed.c.b2,
        keyed.c.key,
        *[func.sum(keyed.c[m]).label(m) for m in sums],
        *[func.max(keyed.c[m]).label(m) for m in maxes],
    ).group_by(keyed.c.b1, keyed.c.b2, keyed.c.key)


def work_order_parts(scope: Scope, dimension: Dimension) -> list[Select[Any]]:
    """``(slot, key, wo_created, wo_closed, wo_close_seconds)``: work orders created in
    the range by their creation slot, and closed in it by their closing slot."""
    order = WorkOrder
    key: Any = None
    if dimension is Dimension.QUEUE:
        key = order.queue
    elif dimension is Dimension.AGENT:
        key = order.agent
    where: list[ColumnElement[bool]] = [order.tenant_id == scope.tenant_id]
    if scope.filters.queue is not None:
        where.append(order.queue == scope.filters.queue)
    if scope.filters.agent is not None:
        where.append(order.agent == scope.filters.agent)
    if key is not None:
        where.append(key.is_not(None))
    key_column = (key if key is not None else _empty_key()).label("key")
    created_slot = slot_expr(order.created_at)
    closed_slot = slot_expr(order.closed_at)
    grouped = [key] if key is not None else []
    created = (
        select(
            created_slot.label("slot"),
            key_column,
            func.count().label("wo_created"),
            _zero().label("wo_closed"),
            _zero_seconds().label("wo_close_seconds"),
        )
        .where(*where, order.created_at >= scope.start, order.created_at < scope.end)
        .group_by(created_slot, *grouped)
    )
    closed = (
        select(
            closed_slot.label("slot"),
            key_column,
            _zero().label("wo_created"),
            func.count().label("wo_closed"),
            cast(
                func.sum(epoch_seconds(order.closed_at) - epoch_seconds(order.created_at)), Double
            ).label("wo_close_seconds"),
        )
        .where(*where, order.closed_at >= scope.start, order.closed_at < scope.end)
        .group_by(closed_slot, *grouped)
    )
    return [created, closed]
