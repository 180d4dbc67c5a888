"""Historical reports of a known day against hand-computed figures, on both databases.

The day is described in :mod:`tests.stats.day`; every number below is worked out there
or next to the assertion.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from helpline.calls.models import CallDirection, CallOutcome, CallRecord
from helpline.runtime import Runtime
from helpline.stats import service
from helpline.stats.models import Dimension, StatsSlot
from helpline.stats.periods import Granularity, slot_of
from helpline.stats.rollup import coverage
from helpline.stats.schemas import HistoryQuery, HistoryReport, HistoryRow
from helpline.surveys.models import SurveyAnswer, SurveyResponse
from helpline.tenants.models import Tenant
from tests.stats.day import CALLS, Day, admin, load_day, local, set_queue_thresholds

DAY = date(2026, 11, 2)
#: Well after the day: the rollup covers it.
LATER = datetime.fromisoformat("2026-11-10T00:00:00+00:00")


@pytest.fixture
async def day(runtime: Runtime) -> Day:
    return await load_day(runtime)


async def _report(
    runtime: Runtime, day: Day, *, now: datetime = LATER, **query: Any
) -> HistoryReport:
    params: dict[str, Any] = {"start": DAY, "granularity": Granularity.DAY, **query}
    async with runtime.unit_of_work() as session:
        return await service.history(
            session, principal=admin(day.tenant_id), query=HistoryQuery(**params), now=now
        )


def _by_key(rows: list[HistoryRow]) -> dict[str | None, HistoryRow]:
    return {row.key: row for row in rows}


async def test_the_tenant_day_matches_the_hand_computed_figures(runtime: Runtime, day: Day) -> None:
    report = await _report(runtime, day)
    assert report.timezone == "Europe/Berlin" and (report.start, report.end) == (DAY, DAY)
    assert len(report.rows) == 1
    row = report.rows[0]
    assert row.bucket_start == local(0) and row.bucket_end == local(0, day=3)
    assert row.key is None
    counts = (
        row.offered,
        row.answered,
        row.answered_in_service_level,
        row.abandoned,
        row.short_abandoned,
        row.abandoned_ivr,
        row.callbacks,
        row.voicemail,
        row.transferred_out,
        row.transfers,
    )
    assert counts == (9, 4, 3, 2, 1, 1, 1, 1, 0, 1)
    assert row.service_level == 0.6
    assert row.abandon_rate == 0.2
    assert row.asa_seconds == 16.25
    assert row.average_abandon_seconds == 21.5
    assert row.longest_wait_seconds == 50
    assert (row.talk_seconds, row.hold_seconds, row.wrap_up_seconds) == (660, 80, 60)
    assert row.handle_seconds == 800 and row.aht_seconds == 200
    assert row.staffed_seconds == 18000
    assert row.occupancy == pytest.approx(800 / 18000, abs=1e-4)
    assert (row.work_orders_created, row.work_orders_closed) == (2, 1)
    assert row.mean_time_to_close_seconds == 7200
    assert (row.survey_responses, row.survey_answers) == (3, 5)
    assert (row.satisfaction_score, row.csat) == (65.0, 0.6)
    assert report.totals == [row]


async def test_hours_split_the_day_in_local_time(runtime: Runtime, day: Day) -> None:
    report = await _report(runtime, day, granularity=Granularity.HOUR)
    assert len(report.rows) == 24, "the tenant dimension lists every hour"
    rows = {row.bucket_start.hour: row for row in report.rows}
    assert rows[0].offered == 1 and rows[0].bucket_start == local(0)
    nine = rows[9]
    assert (nine.offered, nine.answered, nine.answered_in_service_level) == (4, 2, 1)
    assert (nine.abandoned, nine.short_abandoned) == (2, 1)
    assert nine.service_level == pytest.approx(1 / 3, abs=1e-4)
    assert nine.staffed_seconds == 7200
    assert nine.occupancy == pytest.approx(360 / 7200, abs=1e-4)
    assert nine.work_orders_created == 1
    ten = rows[10]
    assert (ten.offered, ten.answered, ten.callbacks, ten.transfers) == (2, 1, 1, 1)
    assert ten.service_level == 1.0 and ten.aht_seconds == 380
    assert ten.work_orders_created == 1
    eleven = rows[11]
    assert (eleven.offered, eleven.answered, eleven.abandoned_ivr, eleven.voicemail) == (2, 0, 1, 1)
    assert eleven.service_level is None and eleven.asa_seconds is None
    assert eleven.work_orders_closed == 1 and eleven.mean_time_to_close_seconds == 7200
    assert rows[8].staffed_seconds == 3600 and rows[8].offered == 0
    assert rows[8].occupancy == 0
    assert rows[15].staffed_seconds == 0 and rows[15].occupancy is None
    assert sum(row.offered for row in report.rows) == 9
    assert report.totals[0].offered == 9 and report.totals[0].staffed_seconds == 18000


async def test_quarter_hours_months_and_years(runtime: Runtime, day: Day) -> None:
    quarters = await _report(runtime, day, granularity=Granularity.QUARTER)
    assert len(quarters.rows) == 96
    busy = {row.bucket_start.strftime("%H:%M"): row.offered for row in quarters.rows if row.offered}
    assert busy == {
        "00:30": 1, "09:00": 1, "09:15": 1, "09:30": 1, "09:45": 1,
        "10:00": 1, "10:30": 1, "11:00": 1, "11:15": 1,
    }  # fmt: skip
    month = await _report(runtime, day, granularity=Granularity.MONTH)
    assert (month.start, month.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert [(r.bucket_start, r.bucket_end) for r in month.rows] == [
        (local(0, day=1), local(0, day=1, month=12))
    ]
    assert month.rows[0].offered == 10, "c11 on 3 November is in the month"
    year = await _report(runtime, day, granularity=Granularity.YEAR)
    assert (year.start, year.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert year.rows[0].offered == 10 and year.rows[0].answered == 5
    days = await _report(runtime, day, end=date(2026, 11, 3))
    assert [(r.bucket_start.day, r.offered) for r in days.rows] == [(2, 9), (3, 1)]


async def test_queues_agents_services_and_ivr_nodes(runtime: Runtime, day: Day) -> None:
    queues = _by_key((await _report(runtime, day, dimension=Dimension.QUEUE)).rows)
    assert set(queues) == {"sales", "support"}
    sales, support = queues["sales"], queues["support"]
    assert (sales.offered, sales.answered, sales.answered_in_service_level) == (5, 3, 2)
    assert (sales.abandoned, sales.short_abandoned, sales.service_level) == (2, 1, 0.5)
    assert sales.asa_seconds == 20 and sales.aht_seconds == 140
    assert (sales.work_orders_created, sales.work_orders_closed) == (1, 1)
    assert sales.staffed_seconds is None and sales.occupancy is None
    assert (support.offered, support.answered, support.service_level) == (2, 1, 1.0)
    assert (support.callbacks, support.transfers, support.longest_wait_seconds) == (1, 1, 50)
    assert support.aht_seconds == 380 and support.work_orders_created == 0
    assert (sales.survey_responses, sales.survey_answers) == (2, 4)
    assert (sales.satisfaction_score, sales.csat) == (62.5, 0.5)
    assert (support.survey_responses, support.satisfaction_score, support.csat) == (1, 75.0, 1.0)

    agents = _by_key((await _report(runtime, day, dimension=Dimension.AGENT)).rows)
    assert set(agents) == {"2001", "2002", "2003"}
    first, second, third = agents["2001"], agents["2002"], agents["2003"]
    assert (first.label, third.label) == ("Agent 2001", "Agent 2003"), "the user's name"
    assert (first.answered, first.aht_seconds, first.staffed_seconds) == (1, 150, 14400)
    assert first.occupancy == pytest.approx(150 / 14400, abs=1e-4)
    assert (first.work_orders_created, first.work_orders_closed) == (1, 1)
    assert (second.answered, second.aht_seconds, second.occupancy) == (2, 135, 0.075)
    assert (third.answered, third.transfers, third.aht_seconds) == (1, 1, 380)
    assert third.staffed_seconds == 0 and third.occupancy is None
    assert (first.survey_answers, first.satisfaction_score, first.csat) == (2, 100.0, 1.0)
    assert (second.survey_answers, second.satisfaction_score, second.csat) == (2, 25.0, 0.0)

    services = (await _report(runtime, day, dimension=Dimension.SERVICE)).rows
    assert [(r.key, r.label, r.offered, r.answered) for r in services] == [
        (str(day.service_id), "demo", 8, 4)
    ]
    assert services[0].work_orders_created is None, "work orders have no service"
    assert services[0].satisfaction_score == 65.0

    nodes = _by_key((await _report(runtime, day, dimension=Dimension.IVR_NODE)).rows)
    assert set(nodes) == {f"demo-menu/{n}" for n in ("lang-en", "menu", "sales", "support")}
    menu = nodes["demo-menu/menu"]
    assert (menu.offered, menu.answered, menu.abandoned_ivr, menu.ivr_hangups) == (3, 2, 1, 1)
    assert nodes["demo-menu/lang-en"].ivr_hangups == 0
    assert (nodes["demo-menu/lang-en"].offered, nodes["demo-menu/lang-en"].answered) == (4, 3)
    assert (nodes["demo-menu/sales"].offered, nodes["demo-menu/sales"].answered) == (1, 1)
    assert _satisfaction(nodes) == IVR_SATISFACTION


#: Per IVR node (worked out in :mod:`tests.stats.day`): responses, answers, score, CSAT.
IVR_SATISFACTION = {
    "demo-menu/lang-en": (3, 5, 65.0, 0.6),
    "demo-menu/menu": (2, 4, 62.5, 0.5),
    "demo-menu/sales": (1, 2, 100.0, 1.0),
    "demo-menu/support": (1, 1, 75.0, 1.0),
}


def _satisfaction(
    rows: dict[str | None, HistoryRow],
) -> dict[str | None, tuple[int, int, float | None, float | None]]:
    return {
        key: (row.survey_responses, row.survey_answers, row.satisfaction_score, row.csat)
        for key, row in rows.items()
    }


async def test_ivr_node_satisfaction_from_the_rollup_and_the_records_agree(
    runtime: Runtime, day: Day
) -> None:
    records = await _report(runtime, day, dimension=Dimension.IVR_NODE, now=local(0))
    rolled = await _report(runtime, day, dimension=Dimension.IVR_NODE)
    assert _satisfaction(_by_key(rolled.totals)) == IVR_SATISFACTION
    assert records == rolled
    async with runtime.unit_of_work() as session:
        summed = dict(
            (
                await session.execute(
                    select(StatsSlot.key, func.sum(StatsSlot.survey_answers))
                    .where(
                        StatsSlot.tenant_id == day.tenant_id,
                        StatsSlot.dimension == Dimension.IVR_NODE,
                    )
                    .group_by(StatsSlot.key)
                )
            ).all()
        )
    # c11's answer (3 November) counts for lang-en in the rollup, not in the day.
    assert summed == {
        "demo-menu/lang-en": 6,
        "demo-menu/menu": 4,
        "demo-menu/sales": 2,
        "demo-menu/support": 1,
    }


async def test_a_late_survey_answer_reaches_the_nodes_of_its_call(
    runtime: Runtime, day: Day
) -> None:
    await _report(runtime, day, dimension=Dimension.IVR_NODE)
    await _answer_solved_late(runtime, day, 1)
    nodes = _by_key(
        (await _report(runtime, day, dimension=Dimension.IVR_NODE, now=LATER.replace(day=11))).rows
    )
    # c5 went through lang-en and support: one more answer scoring 0, not in the top.
    assert _satisfaction(nodes) == {
        **IVR_SATISFACTION,
        "demo-menu/lang-en": (3, 6, round(325 / 6, 2), 0.5),
        "demo-menu/support": (1, 2, 37.5, 0.5),
    }


async def test_filters_narrow_the_calls(runtime: Runtime, day: Day) -> None:
    only_sales = (await _report(runtime, day, dimension=Dimension.QUEUE, queue="sales")).rows
    assert [(r.key, r.offered) for r in only_sales] == [("sales", 5)]
    sales_agents = _by_key(
        (await _report(runtime, day, dimension=Dimension.AGENT, queue="sales")).rows
    )
    assert {key: row.answered for key, row in sales_agents.items()} == {
        "2001": 1,
        "2002": 2,
    }
    assert sales_agents["2001"].staffed_seconds is None, "staffed time has no queue"
    one_agent = (await _report(runtime, day, agent="2002")).rows[0]
    assert (one_agent.offered, one_agent.answered, one_agent.staffed_seconds) == (2, 2, 3600)


async def test_thresholds_given_replace_the_queues_own(runtime: Runtime, day: Day) -> None:
    row = (await _report(runtime, day, service_level_seconds=30, short_abandon_seconds=2)).rows[0]
    assert (row.answered_in_service_level, row.short_abandoned) == (4, 0)
    assert row.service_level == pytest.approx(4 / 6, abs=1e-4)
    assert row.abandon_rate == pytest.approx(2 / 6, abs=1e-4)


async def test_each_call_is_judged_by_its_queues_thresholds(runtime: Runtime, day: Day) -> None:
    await set_queue_thresholds(runtime, day.tenant_id, "support", service_level=3, short_abandon=5)
    await set_queue_thresholds(runtime, day.tenant_id, "sales", service_level=20, short_abandon=41)
    row = (await _report(runtime, day)).rows[0]
    # c5 waited 5 s > 3 s; both sales abandons (3 s, 40 s) are now short.
    assert (row.answered_in_service_level, row.short_abandoned) == (2, 2)
    assert row.service_level == pytest.approx(2 / 4, abs=1e-4)


async def test_the_rollup_and_the_records_give_the_same_report(runtime: Runtime, day: Day) -> None:
    before = await _report(runtime, day, now=local(0), granularity=Granularity.HOUR)
    midday = await _report(runtime, day, now=local(10), granularity=Granularity.HOUR)
    async with runtime.unit_of_work() as session:
        covered = await coverage(session, tenant_id=day.tenant_id)
    assert covered.lo <= slot_of(CALLS["c0"][0]) and covered.hi == slot_of(local(9, 45))
    after = await _report(runtime, day, now=LATER, granularity=Granularity.HOUR)
    async with runtime.unit_of_work() as session:
        covered = await coverage(session, tenant_id=day.tenant_id)
        summed = await session.scalar(
            select(func.sum(StatsSlot.offered)).where(
                StatsSlot.tenant_id == day.tenant_id, StatsSlot.dimension == Dimension.TENANT
            )
        )
    assert covered.hi > slot_of(local(0, day=4)), "the whole day is in the rollup"
    assert summed == 10
    assert before == midday == after


async def test_a_record_changed_after_its_slot_was_summed_is_summed_again(
    runtime: Runtime, day: Day
) -> None:
    first = (await _report(runtime, day)).rows[0]
    assert first.answered == 4
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(CallRecord)
            .where(CallRecord.id == day.records["c3"])
            .values(
                outcome=CallOutcome.ANSWERED,
                agent="2001",
                answered_at=local(9, 41),
                talk_seconds=40,
            )
        )
    again = (await _report(runtime, day, now=LATER.replace(day=11))).rows[0]
    assert (again.answered, again.abandoned, again.short_abandoned) == (5, 1, 0)
    assert again.talk_seconds == 700


async def _answer_solved_late(runtime: Runtime, day: Day, value: int) -> None:
    """c5's caller answers ``solved`` (1-2) with ``value``, after the day was summed."""
    async with runtime.unit_of_work() as session:
        response_id = await session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.call_record_id == day.records["c5"])
        )
        assert response_id is not None
        session.add(
            SurveyAnswer(
                tenant_id=day.tenant_id,
                response_id=response_id,
                question="solved",
                position=1,
                value=value,
                low=1,
                high=2,
                answered_at=LATER + timedelta(hours=1),
            )
        )


async def test_a_survey_answered_after_the_slot_was_summed_counts(
    runtime: Runtime, day: Day
) -> None:
    first = (await _report(runtime, day)).rows[0]
    assert (first.survey_answers, first.satisfaction_score) == (5, 65.0)
    await _answer_solved_late(runtime, day, 2)
    again = (await _report(runtime, day, now=LATER.replace(day=11))).rows[0]
    # One more answer scoring 100, in the top: (325 + 100) / 6 and 4 / 6.
    assert (again.survey_responses, again.survey_answers) == (3, 6)
    assert again.satisfaction_score == round(425 / 6, 2)
    assert again.csat == round(4 / 6, 4)
    async with runtime.unit_of_work() as session:
        summed = await session.scalar(
            select(func.sum(StatsSlot.survey_answers)).where(
                StatsSlot.tenant_id == day.tenant_id, StatsSlot.dimension == Dimension.TENANT
            )
        )
    assert summed == 7, "the rollup holds the new answer (and c11's)"


async def test_the_night_summer_time_ends_has_two_local_two_oclock_hours(
    runtime: Runtime, day: Day
) -> None:
    async with runtime.unit_of_work() as session:
        session.add_all(
            CallRecord(
                tenant_id=day.tenant_id,
                call_id=f"dst-{n}@stats",
                direction=CallDirection.INBOUND,
                caller="+4930",
                called="1000",
                started_at=datetime.fromisoformat(moment),
                outcome=CallOutcome.ABANDONED_IVR,
                open=False,
            )
            for n, moment in enumerate(("2026-10-25T00:30:00+00:00", "2026-10-25T01:30:00+00:00"))
        )
    report = await _report(runtime, day, start=date(2026, 10, 25), granularity=Granularity.HOUR)
    assert len(report.rows) == 25
    twos = [row for row in report.rows if row.bucket_start.hour == 2]
    assert [row.bucket_start.isoformat() for row in twos] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
    assert [row.offered for row in twos] == [1, 1]
    whole = await _report(runtime, day, start=date(2026, 10, 25))
    assert whole.rows[0].offered == 2
    length = whole.rows[0].bucket_end.timestamp() - whole.rows[0].bucket_start.timestamp()
    assert length == 25 * 3600


async def test_other_tenants_calls_are_not_counted(runtime: Runtime, day: Day) -> None:
    async with runtime.unit_of_work() as session:
        system = await session.scalar(select(Tenant.id).where(Tenant.slug == "system"))
        assert system is not None
        report = await service.history(
            session,
            principal=admin(system),
            query=HistoryQuery(start=DAY, granularity=Granularity.DAY),
            now=LATER,
        )
    assert report.rows[0].offered == 0 and report.totals[0].offered == 0
