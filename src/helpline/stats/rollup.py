"""Keeping the 15-minute rollup of call figures up to date, lazily, from the reports.

Theory of operation: each tenant's rollup covers one run of slots,
``[settled_from, settled_until)`` (:class:`~helpline.stats.models.RollupState`).
:func:`refresh`, which a report calls before it reads, does three things in the
report's unit of work, holding the state row locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite has one writer anyway):

1. *late changes*: the slots of records changed since the last refresh (their
   ``updated_at`` is later than ``checked_at`` less :data:`LATE_MARGIN`, for clock
   skew between nodes and commit delays) that are already in the rollup are summed
   again: a call closed after its slot was summed, a crash recovered, a record
   written late, a disposition set, a survey about the call answered since;
2. *forward*: the slots that ended at least :data:`SETTLE` ago are summed, at most
   ``max_slots`` of them;
3. *backward*: older history (a first start, imported records) is summed back to the
   tenant's first record, at most ``max_slots`` per refresh, newest first so that the
   recent reports become fast first.

Summing slots ``[lo, hi)`` deletes their rows and inserts them again from the
records with one ``INSERT ... SELECT`` per dimension and source
(:func:`helpline.stats.query.raw_parts`), so it can be repeated safely. What the
rollup does not cover yet is read from the records by the reports themselves.

The service level and short abandons are summed with each queue's thresholds of the
time; a report asking for other thresholds reads the records instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, literal, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.calls.models import CallRecord
from helpline.stats.models import Dimension, RollupState, StatsSlot
from helpline.stats.periods import slot_of, slot_start
from helpline.stats.query import MEASURES, Scope, raw_parts, slot_expr
from helpline.surveys.models import SurveyAnswer, SurveyResponse

#: A slot is summed once it ended this long ago.
SETTLE = timedelta(minutes=15)
#: Records changed up to this long before the last refresh are looked at again.
LATE_MARGIN = timedelta(minutes=5)
#: Slots summed per refresh in each direction (7 days: a few seconds for a busy tenant).
CHUNK_SLOTS = 7 * 96
#: Separate runs of changed slots summed one by one; more are summed as one run.
MAX_RUNS = 20


@dataclass(frozen=True, slots=True)
class Coverage:
    """The slots ``[lo, hi)`` the rollup holds for a tenant."""

    lo: int
    hi: int

    def clip(self, lo: int, hi: int) -> tuple[int, int]:
        """The part of ``[lo, hi)`` covered (empty: ``start >= end``)."""
        return max(lo, self.lo), min(hi, self.hi)


async def coverage(session: AsyncSession, *, tenant_id: int) -> Coverage:
    """What the rollup holds for ``tenant_id`` now, without refreshing it."""
    state = (
        await session.execute(select(RollupState).where(RollupState.tenant_id == tenant_id))
    ).scalar_one_or_none()
    return Coverage(0, 0) if state is None else Coverage(state.settled_from, state.settled_until)


async def _locked_state(session: AsyncSession, tenant_id: int, now: datetime) -> RollupState:
    query = select(RollupState).where(RollupState.tenant_id == tenant_id).with_for_update()
    state = (await session.execute(query)).scalar_one_or_none()
    if state is not None:
        return state
    horizon = slot_of(now - SETTLE)
    try:
        async with session.begin_nested():
            session.add(
                RollupState(
                    tenant_id=tenant_id,
                    settled_from=horizon,
                    settled_until=horizon,
                    checked_at=now,
                )
            )
    except IntegrityError:
        pass  # another request made it first; take theirs
    return (await session.execute(query)).scalar_one()


def _runs(slots: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive slots as ``[lo, hi)`` runs; one covering run if there are many."""
    runs: list[tuple[int, int]] = []
    for slot in sorted(set(slots)):
        if runs and runs[-1][1] == slot:
            runs[-1] = (runs[-1][0], slot + 1)
        else:
            runs.append((slot, slot + 1))
    if len(runs) > MAX_RUNS:
        return [(runs[0][0], runs[-1][1])]
    return runs


def _insert(tenant_id: int, dimension: Dimension, part: Select[Any]) -> Any:
    rows = part.subquery()
    source = select(
        literal(tenant_id),
        literal(dimension.value),
        rows.c.slot,
        rows.c.key,
        *[rows.c[name] for name in MEASURES],
    )
    columns = ["tenant_id", "dimension", "slot", "key", *MEASURES]
    return insert(StatsSlot).from_select(columns, source)


async def roll(session: AsyncSession, *, tenant_id: int, lo: int, hi: int) -> None:
    """Sum slots ``[lo, hi)`` of ``tenant_id`` into the rollup again, every dimension."""
    if lo >= hi:
        return
    await session.execute(
        delete(StatsSlot).where(
            StatsSlot.tenant_id == tenant_id, StatsSlot.slot >= lo, StatsSlot.slot < hi
        )
    )
    scope = Scope(tenant_id=tenant_id, start=slot_start(lo), end=slot_start(hi))
    for dimension in Dimension:
        for part in raw_parts(scope, dimension):
            await session.execute(_insert(tenant_id, dimension, part))


async def _changed_slots(session: AsyncSession, state: RollupState, tenant_id: int) -> list[int]:
    record, response, answer = CallRecord, SurveyResponse, SurveyAnswer
    slot = slot_expr(record.started_at)
    since = state.checked_at - LATE_MARGIN
    summed = (
        record.tenant_id == tenant_id,
        record.started_at >= slot_start(state.settled_from),
        record.started_at < slot_start(state.settled_until),
    )
    changed = select(slot.label("slot")).where(*summed, record.updated_at >= since)
    answered = (
        select(slot.label("slot"))
        .select_from(answer)
        .join(response, response.id == answer.response_id)
        .join(record, record.id == response.call_record_id)
        .where(*summed, answer.tenant_id == tenant_id, answer.answered_at >= since)
    )
    rows = union(changed, answered).subquery()
    return [int(value) for value in (await session.execute(select(rows.c.slot))).scalars()]


async def refresh(
    session: AsyncSession, *, tenant_id: int, now: datetime, max_slots: int = CHUNK_SLOTS
) -> Coverage:
    """Bring ``tenant_id``'s rollup up to date as far as ``max_slots`` per direction
    allow (see the module text); what it covers afterwards."""
    state = await _locked_state(session, tenant_id, now)
    if state.settled_from < state.settled_until:
        for lo, hi in _runs(await _changed_slots(session, state, tenant_id)):
            await roll(session, tenant_id=tenant_id, lo=lo, hi=hi)
    horizon = slot_of(now - SETTLE)
    if state.settled_until < horizon:
        until = min(horizon, state.settled_until + max_slots)
        await roll(session, tenant_id=tenant_id, lo=state.settled_until, hi=until)
        state.settled_until = until
    first = (
        await session.execute(
            select(func.min(CallRecord.started_at)).where(CallRecord.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if first is not None and slot_of(first) < state.settled_from:
        since = max(slot_of(first), state.settled_from - max_slots)
        await roll(session, tenant_id=tenant_id, lo=since, hi=state.settled_from)
        state.settled_from = since
    state.checked_at = now
    await session.flush()
    return Coverage(state.settled_from, state.settled_until)
