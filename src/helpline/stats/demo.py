"""A generated history for the demo tenant, so that reports show something at once.

Theory of operation: :func:`simulate` plays yesterday and today (up to ``now``) of the
demo call center with a seeded random generator, so the same ``now`` always gives the
same calls: callers arrive between 09:00 and 18:00 local time (more in the late
morning and early afternoon), go through the ``demo-menu`` IVR, and most ask for
sales or support; the rest use self-service (the account balance), leave a voicemail,
or hang up. In a queue a caller goes to the member agent free longest, or waits for
the first one to become free; callers whose patience runs out first abandon, some of
the patient ones ask for a callback. Agents are logged in from 08:45 to 18:00 and take
one call at a time (talk, sometimes a hold, wrap-up); a few calls are transferred.

:func:`load_demo_history` writes the result as the call recorder would have: closed
call records with their segments, the queue event log, the IVR path steps and the
agents' login sessions (their current state is left alone). It reads the queues,
agents, flow and service it needs from the tenant and skips what is missing.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.models import Agent, AgentSession, Membership, Queue
from helpline.calls.models import (
    CallDirection,
    CallOutcome,
    CallRecord,
    CallSegment,
    HangupSide,
    QueueEvent,
    QueueEventKind,
    SegmentKind,
    SegmentResult,
)
from helpline.db.base import Base
from helpline.ivr.models import Flow, IvrPathStep
from helpline.routing.models import Service
from helpline.stats.agents import agent_name
from helpline.stats.service import tenant_zone
from helpline.users.models import User

log = logging.getLogger(__name__)

SEED = 20261124
FLOW = "demo-menu"
SERVICE = "demo"
CALLED = "1000"
OPEN, CLOSE = time(9), time(18)
LOGIN, LOGOUT = time(8, 45), time(18)
#: Mean calls per quarter hour, by local hour of the day.
PROFILE = {9: 5.0, 10: 9.0, 11: 11.0, 12: 7.0, 13: 8.0, 14: 10.0, 15: 9.0, 16: 7.0, 17: 4.0}
#: Where callers go after the menu: (share, menu key, queue or None).
CHOICES = ((0.45, "1", "sales"), (0.33, "2", "support"), (0.1, "3", None), (0.07, "9", None))


@dataclass(slots=True)
class Staff:
    """A demo agent as the simulation sees it."""

    username: str
    agent_id: int
    queues: dict[str, int]
    """Queue name -> penalty (lower first)."""
    free_at: datetime
    idle_since: datetime


@dataclass(slots=True)
class Segment:
    """One segment of a simulated call."""

    kind: SegmentKind
    start: datetime
    end: datetime
    agent: str | None = None
    queue: str | None = None
    result: SegmentResult | None = None


@dataclass(slots=True)
class Step:
    """One IVR node a simulated call entered."""

    node: str
    node_type: str
    at: datetime
    digits: str | None
    outcome: str


@dataclass(slots=True)
class Call:
    """A simulated call: the record's fields, its segments, steps and queue events."""

    call_id: str
    caller: str
    start: datetime
    outcome: CallOutcome
    queue: str | None = None
    agent: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    side: HangupSide = HangupSide.CALLER
    segments: list[Segment] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    events: list[tuple[datetime, QueueEventKind, str | None, float | None]] = field(
        default_factory=list
    )


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=round(value, 1))


_INTRO = (
    ("lang-en", "language", 0.5),
    ("offer-en", "play", 3.0),
    ("lang-zh", "language", 0.5),
    ("offer-zh", "play", 3.0),
    ("lang-ko", "language", 0.5),
)


def _menu(call: Call, rng: random.Random, key: str) -> datetime:
    """The steps up to the main menu's choice; when the caller pressed ``key``."""
    at = call.start
    for node, kind, seconds in _INTRO:
        call.steps.append(Step(node, kind, at, None, "ok"))
        at += _seconds(seconds)
    call.steps.append(Step("choose-language", "menu", at, "1", "option"))
    at += _seconds(rng.uniform(1, 3))
    call.steps.append(Step("set-en", "language", at, None, "ok"))
    call.steps.append(Step("menu", "menu", at, key, "option"))
    return at + _seconds(rng.uniform(3, 8))


def _self_service(call: Call, rng: random.Random, at: datetime) -> None:
    call.steps.append(Step("account", "collect", at, None, "ok"))
    at += _seconds(rng.uniform(6, 12))
    call.steps.append(Step("lookup", "http", at, None, "status:200"))
    call.steps.append(Step("balance-is", "play", at, None, "ok"))
    at += _seconds(2)
    call.steps.append(Step("say-balance", "say", at, None, "ok"))
    at += _seconds(rng.uniform(3, 5))
    call.steps.append(Step("menu", "menu", at, None, "caller_hung_up"))
    at += _seconds(rng.uniform(1, 4))
    call.segments.append(Segment(SegmentKind.IVR, call.start, at, result=SegmentResult.ABANDONED))
    call.outcome, call.ended_at = CallOutcome.ABANDONED_IVR, at


def _queue(call: Call, rng: random.Random, at: datetime, queue: str, staff: list[Staff]) -> None:
    call.steps.append(Step(queue, "queue", at, None, "transferred"))
    call.segments.append(Segment(SegmentKind.IVR, call.start, at, result=SegmentResult.COMPLETED))
    call.queue = queue
    call.events.append((at, QueueEventKind.JOIN, None, None))
    members = [s for s in staff if queue in s.queues]
    ring = _seconds(rng.uniform(2, 7))
    patience = rng.expovariate(1 / 90)
    chosen = min(
        members, key=lambda s: (max(s.free_at, at), s.queues[queue], s.idle_since), default=None
    )
    answer = max(chosen.free_at, at) + ring if chosen is not None else None
    if chosen is None or answer is None or (answer - at).total_seconds() > patience:
        waited = _seconds(patience)
        left = at + waited
        callback = patience > 60 and rng.random() < 0.35
        result = SegmentResult.CALLBACK if callback else SegmentResult.ABANDONED
        call.segments.append(Segment(SegmentKind.QUEUE, at, left, queue=queue, result=result))
        kind = QueueEventKind.CALLBACK_REQUESTED if callback else QueueEventKind.ABANDON
        call.events.append((left, kind, None, waited.total_seconds()))
        call.outcome = CallOutcome.CALLBACK if callback else CallOutcome.ABANDONED_QUEUE
        call.ended_at = left
        return
    name = chosen.username
    call.segments.append(
        Segment(SegmentKind.QUEUE, at, answer, queue=queue, result=SegmentResult.ANSWERED)
    )
    call.segments.append(
        Segment(SegmentKind.OFFER, answer - ring, answer, name, queue, SegmentResult.ANSWERED)
    )
    call.events.append((answer, QueueEventKind.ANSWER, name, (answer - at).total_seconds()))
    call.agent, call.answered_at, call.outcome = name, answer, CallOutcome.ANSWERED
    talk = _seconds(min(900.0, rng.lognormvariate(math.log(150), 0.5)))
    here = answer
    if rng.random() < 0.2:
        first = _seconds(talk.total_seconds() * rng.uniform(0.3, 0.7))
        hold = _seconds(rng.uniform(10, 60))
        call.segments.append(Segment(SegmentKind.TALK, here, here + first, name))
        call.segments.append(Segment(SegmentKind.HOLD, here + first, here + first + hold, name))
        here += first + hold
        talk -= first
    call.segments.append(Segment(SegmentKind.TALK, here, here + talk, name))
    here += talk
    if rng.random() < 0.06:
        call.segments.append(Segment(SegmentKind.TRANSFER, here, here + _seconds(5), name))
        here += _seconds(5)
        call.side = HangupSide.AGENT
    call.ended_at = here
    wrap = _seconds(rng.uniform(5, 30))
    call.segments.append(Segment(SegmentKind.WRAP_UP, here, here + wrap, name))
    chosen.free_at = chosen.idle_since = here + wrap


def simulate(
    *, zone: ZoneInfo, now: datetime, staff: list[Staff], queues: set[str]
) -> tuple[list[Call], list[tuple[Staff, datetime, datetime]]]:
    """Yesterday's and today's calls up to ``now`` (only calls over by then), and the
    agents' login sessions; the same inputs always give the same history."""
    rng = random.Random(SEED)
    today = now.astimezone(zone).date()
    calls: list[Call] = []
    sessions: list[tuple[Staff, datetime, datetime]] = []
    for day in (today - timedelta(days=1), today):
        calls += _day(rng, zone, day, now, staff, queues, sessions)
    return calls, sessions


def _day(
    rng: random.Random,
    zone: ZoneInfo,
    day: date,
    now: datetime,
    staff: list[Staff],
    queues: set[str],
    sessions: list[tuple[Staff, datetime, datetime]],
) -> list[Call]:
    login = datetime.combine(day, LOGIN, zone).astimezone(UTC)
    for member in staff:
        member.free_at = member.idle_since = login
        logout = min(datetime.combine(day, LOGOUT, zone).astimezone(UTC), now)
        if logout > login:
            sessions.append((member, login, logout))
    calls = []
    quarter = datetime.combine(day, OPEN, zone).astimezone(UTC)
    end = datetime.combine(day, CLOSE, zone).astimezone(UTC)
    number = 0
    while quarter < end:
        mean = PROFILE.get(quarter.astimezone(zone).hour, 0.0)
        arrivals = sorted(rng.uniform(0, 900) for _ in range(_poisson(rng, mean)))
        for offset in arrivals:
            number += 1
            start = quarter + _seconds(offset)
            call = Call(
                f"history-{day.isoformat()}-{number:04d}@demo",
                f"+1555{rng.randint(0, 9999999):07d}",
                start,
                CallOutcome.ANSWERED,
            )
            _route(call, rng, staff, queues)
            if call.ended_at is not None and call.segments[-1].end <= now:
                calls.append(call)
        quarter += timedelta(minutes=15)
    return calls


def _poisson(rng: random.Random, mean: float) -> int:
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _choose(rng: random.Random) -> tuple[str, str | None] | None:
    """The menu key and queue the caller picks; None: hangs up at the start."""
    pick, total = rng.random(), 0.0
    for share, key, queue in CHOICES:
        total += share
        if pick < total:
            return key, queue
    return None


def _route(call: Call, rng: random.Random, staff: list[Staff], queues: set[str]) -> None:
    choice = _choose(rng)
    if choice is None:
        at = call.start + _seconds(rng.uniform(3, 10))
        call.steps.append(Step("lang-en", "language", call.start, None, "caller_hung_up"))
        call.segments.append(
            Segment(SegmentKind.IVR, call.start, at, result=SegmentResult.ABANDONED)
        )
        call.outcome, call.ended_at = CallOutcome.ABANDONED_IVR, at
        return
    key, queue = choice
    at = _menu(call, rng, key)
    if queue is not None and queue in queues:
        _queue(call, rng, at, queue, staff)
    elif key == "3":
        _self_service(call, rng, at)
    else:
        call.steps.append(Step("voicemail", "voicemail", at, None, "transferred"))
        call.segments.append(
            Segment(SegmentKind.IVR, call.start, at, result=SegmentResult.COMPLETED)
        )
        left = at + _seconds(rng.uniform(15, 45))
        call.segments.append(Segment(SegmentKind.VOICEMAIL, at, left))
        call.outcome, call.ended_at = CallOutcome.VOICEMAIL, left


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


async def _staff(session: AsyncSession, tenant_id: int, now: datetime) -> list[Staff]:
    rows = await session.execute(
        select(Agent.id, agent_name(), Queue.name, Membership.penalty)
        .join(User, User.id == Agent.user_id)
        .join(Membership, Membership.agent_id == Agent.id)
        .join(Queue, Queue.id == Membership.queue_id)
        .where(Agent.tenant_id == tenant_id, Agent.enabled.is_(True))
        .order_by(User.username, Queue.name)
    )
    staff: dict[int, Staff] = {}
    for agent_id, username, queue, penalty in rows:
        member = staff.setdefault(agent_id, Staff(username, agent_id, {}, now, now))
        member.queues[queue] = penalty
    return list(staff.values())


def _record(tenant_id: int, call: Call, service_id: int | None) -> dict[str, Any]:
    totals = dict.fromkeys(("ivr", "queue", "talk", "hold", "wrap_up"), 0.0)
    for segment in call.segments:
        if segment.kind.value in totals:
            totals[segment.kind.value] += (segment.end - segment.start).total_seconds()
    closed = call.segments[-1].end
    return {
        "tenant_id": tenant_id,
        "call_id": call.call_id,
        "direction": CallDirection.INBOUND,
        "caller": call.caller,
        "called": CALLED,
        "service_id": service_id,
        "queue": call.queue,
        "agent": call.agent,
        "started_at": call.start,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "outcome": call.outcome,
        "ivr_seconds": totals["ivr"],
        "wait_seconds": totals["queue"],
        "talk_seconds": totals["talk"],
        "hold_seconds": totals["hold"],
        "wrap_up_seconds": totals["wrap_up"],
        "hangup_side": call.side,
        "node": "",
        "open": False,
        "recovered": False,
        "created_at": call.start,
        "updated_at": closed,
    }


async def load_demo_history(session: AsyncSession, *, tenant_id: int, now: datetime) -> int:
    """Write yesterday's and today's generated calls for ``tenant_id`` (the demo
    tenant); how many calls. Call it once, in the unit of work that made the tenant."""
    zone = await tenant_zone(session, tenant_id=tenant_id)
    staff = await _staff(session, tenant_id, now)
    queues = set(
        (await session.execute(select(Queue.name).where(Queue.tenant_id == tenant_id))).scalars()
    )
    flow = (
        await session.execute(select(Flow).where(Flow.tenant_id == tenant_id, Flow.name == FLOW))
    ).scalar_one_or_none()
    service_id = (
        await session.execute(
            select(Service.id).where(Service.tenant_id == tenant_id, Service.name == SERVICE)
        )
    ).scalar_one_or_none()
    calls, sessions = simulate(zone=zone, now=now, staff=staff, queues=queues)
    records = _table(CallRecord)
    if not calls:
        return 0
    ids = (
        await session.execute(
            insert(records).returning(records.c.id, sort_by_parameter_order=True),
            [_record(tenant_id, call, service_id) for call in calls],
        )
    ).scalars()
    segments: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for record_id, call in zip(list(ids), calls, strict=True):
        segments += [
            {
                "record_id": record_id,
                "seq": seq,
                "kind": s.kind,
                "started_at": s.start,
                "ended_at": s.end,
                "agent": s.agent,
                "queue": s.queue,
                "detail": {},
                "result": s.result,
            }
            for seq, s in enumerate(sorted(call.segments, key=lambda s: s.start))
        ]
        events += [
            {
                "tenant_id": tenant_id,
                "at": at,
                "queue": call.queue,
                "call_id": call.call_id,
                "event": kind,
                "agent": agent,
                "wait_seconds": wait,
            }
            for at, kind, agent, wait in call.events
        ]
        if flow is not None:
            steps += [
                {
                    "tenant_id": tenant_id,
                    "call_id": call.call_id,
                    "flow_id": flow.id,
                    "version": max(flow.latest_version, 1),
                    "node": step.node,
                    "node_type": step.node_type,
                    "entered_at": step.at,
                    "digits": step.digits,
                    "outcome": step.outcome,
                }
                for step in call.steps
            ]
    await session.execute(insert(_table(CallSegment)), segments)
    if events:
        await session.execute(insert(_table(QueueEvent)), events)
    if steps:
        await session.execute(insert(_table(IvrPathStep)), steps)
    if sessions:
        await session.execute(
            insert(_table(AgentSession)),
            [
                {
                    "tenant_id": tenant_id,
                    "agent_id": member.agent_id,
                    "login_at": login,
                    "logout_at": logout,
                    "queue_ids": [],
                    "logout_reason": "demo history",
                }
                for member, login, logout in sessions
            ],
        )
    log.info("demo history: %d calls of yesterday and today", len(calls))
    return len(calls)
