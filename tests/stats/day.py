"""A known day of the demo tenant for the statistics tests, with hand-computed figures.

The demo tenant is put in Europe/Berlin (UTC+1 in November). Monday 2 November 2026,
local times, every call inbound to the demo service unless said otherwise:

====  =====  =======  ============================  ====  ====  ====  ====
call  start  queue    outcome (agent)               wait  talk  hold  wrap
====  =====  =======  ============================  ====  ====  ====  ====
c0    00:30  sales    answered (2002)                 20    60     0     0
c1    09:05  sales    answered (2001)                 10   100    20    30
c2    09:20  sales    answered (2002)                 30   200     0    10
c3    09:40  sales    abandoned in queue               3
c4    09:50  sales    abandoned in queue              40
c5    10:10  support  answered (2003), transfer        5   300    60    20
c6    10:30  support  callback requested              50
c7    11:00  -        hung up in the IVR
c8    11:15  -        voicemail (no service)
c9    11:30  -        rejected                        (not offered)
c10   11:45  -        outbound by 2001                (not counted)
c11   00:30  sales    3 Nov, answered (2001)           0    45     0     0
====  =====  =======  ============================  ====  ====  ====  ====

c0 started at 23:30 UTC on 1 November and c11 at 23:30 UTC on 2 November: the local
day holds c0 but not c11. IVR paths (flow ``demo-menu``): c1 entered ``lang-en``,
``menu`` twice and ``sales``; c2 ``lang-en`` and ``menu``; c5 ``lang-en`` and
``support``; c7 ``lang-en`` then hung up in ``menu``; c11 (3 November) ``lang-en``.

Agents are named by their phone's SIP account, as call control records them (users
``agent2001`` ... own the accounts ``2001`` ...). Logged in: 2001 08:00-12:00, 2002
09:00-10:00 (local). Work orders: one from c1 (sales, 2001) created 09:00 and closed
11:00, one created 10:00 and still open.

Hand-computed for the local day (queue thresholds 20 s and 5 s): offered 9 (c0-c8),
answered 4, answered within 20 s 3 (c0 at exactly 20 s, c1, c5), abandoned 2 of
which short 1 (c3), so the service level is 3 / (4 + 2 - 1) = 0.6 and the abandon
rate (2 - 1) / 5 = 0.2; ASA (20 + 10 + 30 + 5) / 4 = 16.25 s; the average abandon
(3 + 40) / 2 = 21.5 s; the longest wait 50 s (c6); talk 660, hold 80, wrap-up 60,
handle 800 s, AHT 200 s; staffed 14,400 + 3,600 s, occupancy 800 / 18,000.

Satisfaction (survey ``stats-survey``: ``agent`` on 1-5, ``solved`` on 1-2), answered
the next morning, about the call:

========  =========  ==========  ===============================================
call      agent 1-5  solved 1-2  scores (100 x (answer - low) / (high - low))
========  =========  ==========  ===============================================
c1        5          2           100, 100 (both top-two: 5 >= 4; 2 is the top)
c2        3          1           50, 0 (neither)
c5        4          -           75 (top two)
c0        -          -           offered the link, never answered: not counted
c11       1          -           0 (3 November)
========  =========  ==========  ===============================================

For the local day: 3 responses, 5 answers, satisfaction (100 + 100 + 50 + 0 + 75) / 5
= 65, CSAT 3 / 5 = 0.6; sales 2 responses, 4 answers, 62.5, 0.5; support 1, 1, 75,
1.0.

Per IVR node (a call's answers count once for each node its path entered, however
often): ``lang-en`` c1, c2, c5: 3 responses, 5 answers, 65, 0.6 (c11 is the next day);
``menu`` c1 once (not twice) and c2: 2, 4, (100 + 100 + 50 + 0) / 4 = 62.5, 0.5
(counting c1's visits twice would give 6 answers and 75); ``sales`` c1: 1, 2, 100,
1.0; ``support`` c5: 1, 1, 75, 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.models import Agent, AgentSession, Queue
from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    CallRecord,
    CallSegment,
    SegmentKind,
)
from helpline.ivr.models import Flow, IvrPathStep
from helpline.routing.models import Service
from helpline.runtime import Runtime
from helpline.surveys.models import (
    Channel,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyResponse,
)
from helpline.tenants.models import Tenant
from helpline.users.models import Role, User
from helpline.workorders.models import Source, WorkOrder
from helpline.workorders.sla import Priority, Status

BERLIN = ZoneInfo("Europe/Berlin")


def local(hour: int, minute: int = 0, day: int = 2, month: int = 11) -> datetime:
    """A local time in Berlin in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def admin(tenant_id: int) -> Principal:
    """A tenant admin of ``tenant_id``, for calling the services directly."""
    return Principal(
        user_id=1,
        tenant_id=tenant_id,
        tenant_slug="demo",
        username="admin",
        role=Role.TENANT_ADMIN,
        scopes=ALL_SCOPES,
        via=Via.SESSION,
    )


@dataclass(frozen=True, slots=True)
class Day:
    """Ids the tests need."""

    tenant_id: int
    service_id: int
    records: dict[str, int]


#: name -> (start, queue, outcome, agent, wait, talk, hold, wrap); c10 is outbound.
CALLS: dict[
    str, tuple[datetime, str | None, CallOutcome, str | None, float, float, float, float]
] = {
    "c0": (local(0, 30), "sales", CallOutcome.ANSWERED, "2002", 20, 60, 0, 0),
    "c1": (local(9, 5), "sales", CallOutcome.ANSWERED, "2001", 10, 100, 20, 30),
    "c2": (local(9, 20), "sales", CallOutcome.ANSWERED, "2002", 30, 200, 0, 10),
    "c3": (local(9, 40), "sales", CallOutcome.ABANDONED_QUEUE, None, 3, 0, 0, 0),
    "c4": (local(9, 50), "sales", CallOutcome.ABANDONED_QUEUE, None, 40, 0, 0, 0),
    "c5": (local(10, 10), "support", CallOutcome.ANSWERED, "2003", 5, 300, 60, 20),
    "c6": (local(10, 30), "support", CallOutcome.CALLBACK, None, 50, 0, 0, 0),
    "c7": (local(11, 0), None, CallOutcome.ABANDONED_IVR, None, 0, 0, 0, 0),
    "c8": (local(11, 15), None, CallOutcome.VOICEMAIL, None, 0, 0, 0, 0),
    "c9": (local(11, 30), None, CallOutcome.REJECTED, None, 0, 0, 0, 0),
    "c10": (local(11, 45), None, CallOutcome.ANSWERED, "2001", 0, 500, 0, 0),
    "c11": (local(0, 30, day=3), "sales", CallOutcome.ANSWERED, "2001", 0, 45, 0, 0),
}


def _record(tenant_id: int, service_id: int, name: str) -> CallRecord:
    start, queue, outcome, agent, wait, talk, hold, wrap = CALLS[name]
    answered = agent is not None
    return CallRecord(
        tenant_id=tenant_id,
        call_id=f"{name}@stats",
        direction=CallDirection.OUTBOUND if name == "c10" else CallDirection.INBOUND,
        caller="+4930555000" if name != "c10" else "2001",
        called="1000",
        service_id=None if name in ("c8", "c10") else service_id,
        queue=queue,
        agent=agent,
        started_at=start,
        answered_at=start + timedelta(seconds=12 + wait) if answered else None,
        ended_at=start + timedelta(seconds=12 + wait + talk + hold),
        outcome=outcome,
        ivr_seconds=12,
        wait_seconds=wait,
        talk_seconds=talk,
        hold_seconds=hold,
        wrap_up_seconds=wrap,
        open=False,
        created_at=start,
        updated_at=start + timedelta(minutes=10),
    )


async def load_day(runtime: Runtime) -> Day:
    """Put the demo tenant in Berlin and write the day above."""
    async with runtime.unit_of_work() as session:
        tenant = (await session.execute(select(Tenant).where(Tenant.slug == "demo"))).scalar_one()
        tenant.timezone = "Europe/Berlin"
        tenant_id = tenant.id
        service_id = (
            await session.execute(
                select(Service.id).where(Service.tenant_id == tenant_id, Service.name == "demo")
            )
        ).scalar_one()
        flow_id = (
            await session.execute(
                select(Flow.id).where(Flow.tenant_id == tenant_id, Flow.name == "demo-menu")
            )
        ).scalar_one()
        agents = dict(
            (
                await session.execute(
                    select(User.username, Agent.id)
                    .join(Agent, Agent.user_id == User.id)
                    .where(User.tenant_id == tenant_id)
                )
            ).all()
        )
        records = {name: _record(tenant_id, service_id, name) for name in CALLS}
        session.add_all(records.values())
        await session.flush()
        transfer_at = local(10, 16)
        session.add(
            CallSegment(
                record_id=records["c5"].id,
                seq=0,
                kind=SegmentKind.TRANSFER,
                started_at=transfer_at,
                ended_at=transfer_at + timedelta(seconds=5),
                agent="2003",
            )
        )
        steps = [
            ("c1", "lang-en", "language", "ok"),
            ("c1", "menu", "menu", "option"),
            ("c1", "menu", "menu", "option"),
            ("c1", "sales", "queue", "transferred"),
            ("c2", "lang-en", "language", "ok"),
            ("c2", "menu", "menu", "option"),
            ("c5", "lang-en", "language", "ok"),
            ("c5", "support", "queue", "transferred"),
            ("c7", "lang-en", "language", "ok"),
            ("c7", "menu", "menu", "caller_hung_up"),
            ("c11", "lang-en", "language", "ok"),
        ]
        session.add_all(
            IvrPathStep(
                tenant_id=tenant_id,
                call_id=f"{name}@stats",
                flow_id=flow_id,
                version=1,
                node=node,
                node_type=node_type,
                entered_at=CALLS[name][0] + timedelta(seconds=n),
                outcome=outcome,
            )
            for n, (name, node, node_type, outcome) in enumerate(steps)
        )
        session.add_all(
            [
                AgentSession(
                    tenant_id=tenant_id,
                    agent_id=agents["agent2001"],
                    login_at=local(8),
                    logout_at=local(12),
                ),
                AgentSession(
                    tenant_id=tenant_id,
                    agent_id=agents["agent2002"],
                    login_at=local(9),
                    logout_at=local(10),
                ),
            ]
        )
        session.add_all(
            [
                _work_order(tenant_id, "from c1", local(9), local(11), "sales", "2001"),
                _work_order(tenant_id, "still open", local(10), None, None, None),
            ]
        )
        await session.flush()
        await _add_surveys(session, tenant_id, records)
        return Day(tenant_id, service_id, {name: r.id for name, r in records.items()})


#: name -> answers to (``agent`` 1-5, ``solved`` 1-2); None: not answered.
SURVEYS: dict[str, tuple[int | None, int | None]] = {
    "c1": (5, 2),
    "c2": (3, 1),
    "c5": (4, None),
    "c0": (None, None),
    "c11": (1, None),
}


async def _add_surveys(
    session: AsyncSession, tenant_id: int, records: dict[str, CallRecord]
) -> None:
    survey = Survey(
        tenant_id=tenant_id,
        name="stats-survey",
        questions=[{"key": "agent", "low": 1, "high": 5}, {"key": "solved", "low": 1, "high": 2}],
    )
    session.add(survey)
    await session.flush()
    for name, values in SURVEYS.items():
        record = records[name]
        response = SurveyResponse(
            tenant_id=tenant_id,
            survey_id=survey.id,
            channel=Channel.SMS,
            status=ResponseStatus.PENDING if values == (None, None) else ResponseStatus.COMPLETE,
            call_id=record.call_id,
            call_record_id=record.id,
            agent=record.agent,
            queue=record.queue,
        )
        session.add(response)
        await session.flush()
        scales = (("agent", 1, 5), ("solved", 1, 2))
        session.add_all(
            SurveyAnswer(
                tenant_id=tenant_id,
                response_id=response.id,
                question=key,
                position=position,
                value=value,
                low=low,
                high=high,
                answered_at=record.started_at + timedelta(hours=10),
            )
            for position, ((key, low, high), value) in enumerate(zip(scales, values, strict=True))
            if value is not None
        )
    await session.flush()


def _work_order(
    tenant_id: int,
    title: str,
    created: datetime,
    closed: datetime | None,
    queue: str | None,
    agent: str | None,
) -> WorkOrder:
    return WorkOrder(
        tenant_id=tenant_id,
        title=title,
        status=Status.CLOSED if closed else Status.OPEN,
        priority=Priority.NORMAL,
        source=Source.CALL,
        queue=queue,
        agent=agent,
        first_response_due_at=created + timedelta(hours=1),
        resolution_due_at=created + timedelta(days=1),
        closed_at=closed,
        created_at=created,
        updated_at=closed or created,
    )


async def set_queue_thresholds(
    runtime: Runtime, tenant_id: int, queue: str, *, service_level: int, short_abandon: int
) -> None:
    """Change one queue's service-level and short-abandon thresholds."""
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Queue)
            .where(Queue.tenant_id == tenant_id, Queue.name == queue)
            .values(service_level_seconds=service_level, short_abandon_seconds=short_abandon)
        )
