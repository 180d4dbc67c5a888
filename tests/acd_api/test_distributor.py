"""The ACD runtime against the demo database with fake phones: who is offered first,
what the offer shows, callbacks that keep a caller's place (retries, restarts), the
queue's admission rules, the live view and the one-leader-per-tenant lease.

Call control is replaced by two fakes: ``ring`` records each offer and waits for the
test to say how it ended; ``dial`` does the same for callbacks.  Tests wait on those
queues and on bus events, never on time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from helpline.acd.callback import CallbackState
from helpline.acd.events import CallbackChanged, CallOffered, QueueChanged
from helpline.acd.models import Agent, AgentStateRow, Callback, Queue
from helpline.acd.presence import StoredState, save_agent_state
from helpline.acd.state import AgentState
from helpline.calls.models import CallDirection, CallOutcome, CallRecord, QueueEvent
from helpline.core.events import Event, Subscription
from helpline.db.base import utcnow
from helpline.ivr.models import Flow, IvrPathStep
from helpline.routing.schedule import AnnouncementTarget
from helpline.runtime import Runtime
from helpline.telephony.acd import DialRequest, Distributor, LeaveReason, Offered
from helpline.tenants.service import by_slug
from helpline.users.models import User

VIP = "+8613800138000"
"""王伟, a VIP customer of the demo."""
WAIT = 10.0


@dataclass
class Phones:
    """Fake call control: offers and callbacks wait for the test's verdict."""

    offers: asyncio.Queue[tuple[str, tuple[str, ...], asyncio.Future[Offered]]] = field(
        default_factory=asyncio.Queue
    )
    dials: asyncio.Queue[tuple[DialRequest, asyncio.Future[int]]] = field(
        default_factory=asyncio.Queue
    )

    async def ring(self, call_id: str, accounts: tuple[str, ...], seconds: float) -> Offered:
        done: asyncio.Future[Offered] = asyncio.get_running_loop().create_future()
        self.offers.put_nowait((call_id, accounts, done))
        return await done

    async def dial(self, request: DialRequest) -> int:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.dials.put_nowait((request, done))
        return await done

    async def next_offer(self) -> tuple[str, tuple[str, ...], asyncio.Future[Offered]]:
        return await asyncio.wait_for(self.offers.get(), WAIT)

    async def next_dial(self) -> tuple[DialRequest, asyncio.Future[int]]:
        return await asyncio.wait_for(self.dials.get(), WAIT)


@dataclass
class World:
    runtime: Runtime
    acd: Distributor
    phones: Phones
    tenant_id: int
    queues: dict[str, int]
    agents: dict[str, int]
    events: Subscription

    async def login(self, *names: str, queue: str = "sales") -> None:
        """Agents log in to ``queue`` (their saved state, as the API writes it)."""
        async with self.runtime.unit_of_work() as session:
            for name in names:
                state = StoredState(
                    agent_id=self.agents[name],
                    state=AgentState.AVAILABLE,
                    since=utcnow(),
                    queue_ids=(self.queues[queue],),
                )
                await save_agent_state(session, tenant_id=self.tenant_id, state=state)

    async def set_queue(self, name: str, **values: Any) -> None:
        async with self.runtime.unit_of_work() as session:
            await session.execute(
                update(Queue).where(Queue.id == self.queues[name]).values(**values)
            )

    async def event(self, kind: type[Event], **match: object) -> Any:
        """The next bus event of ``kind`` whose fields match."""

        async def find() -> Event:
            while True:
                event = await self.events.get()
                if isinstance(event, kind) and all(
                    getattr(event, k) == v for k, v in match.items()
                ):
                    return event

        return await asyncio.wait_for(find(), WAIT)


@pytest.fixture
async def world(runtime: Runtime) -> AsyncIterator[World]:
    async with runtime.unit_of_work() as session:
        tenant = await by_slug(session, "demo")
        assert tenant is not None
        queues = {q.name: q.id for q in (await session.execute(select(Queue))).scalars()}
        rows = await session.execute(select(User.username, Agent.id).join(Agent))
        agents = {name: ident for name, ident in rows}
    events = runtime.bus.subscribe()
    phones = Phones()
    acd = Distributor(runtime, phones.ring, phones.dial)
    yield World(runtime, acd, phones, tenant.id, queues, agents, events)
    events.close()
    await acd.close()


async def test_a_vip_caller_is_offered_before_a_caller_who_waited_longer(world: World) -> None:
    w = world
    first = await w.acd.join(w.tenant_id, "regular", "sales", caller="+12015550100")
    vip = await w.acd.join(w.tenant_id, "vip", "sales", caller=VIP, called="5200")
    assert first.refused is None and vip.refused is None
    snap = await w.acd.snapshot(w.tenant_id)
    assert snap is not None
    (sales,) = [q for q in snap.queues if q.name == "sales"]
    assert [(c.call_id, c.position, c.customer_type) for c in sales.callers] == [
        ("vip", 1, "vip"),
        ("regular", 2, None),
    ]
    await w.login("agent2001")
    call_id, accounts, answered = await w.phones.next_offer()
    assert (call_id, accounts) == ("vip", ("2001",))
    offered = await w.event(CallOffered, call_id="vip")
    assert offered.customer["name"] == "王伟" and offered.customer["tier"] == "vip"
    assert (offered.queue, offered.called, offered.callback) == ("sales", "5200", False)
    answered.set_result(Offered(200, "2001"))
    changed = await w.event(QueueChanged, queue="sales", offering=0, waiting=1)
    assert changed.agents_busy == 1 and changed.agents_available == 0


async def test_the_offer_carries_the_ivr_path_digits_and_variables(world: World) -> None:
    w = world
    async with w.runtime.unit_of_work() as session:
        flow = (await session.execute(select(Flow).limit(1))).scalar_one()
        for node, kind, digits in (("welcome", "menu", "2"), ("account", "collect", "1234")):
            session.add(
                IvrPathStep(
                    tenant_id=w.tenant_id,
                    call_id="ivr-call",
                    flow_id=flow.id,
                    version=1,
                    node=node,
                    node_type=kind,
                    entered_at=utcnow(),
                    digits=digits,
                    outcome="ok",
                )
            )
    await w.login("agent2002")
    data = {"account": "1234", "lang": "ko"}
    await w.acd.join(w.tenant_id, "ivr-call", "sales", data=data, caller="+12015550100")
    offered = await w.event(CallOffered, call_id="ivr-call")
    assert [step["node"] for step in offered.ivr_path] == ["welcome", "account"]
    assert offered.digits == ("2", "1234") and offered.data == data
    assert offered.customer is None and offered.username == "agent2002"


async def test_a_returning_caller_is_offered_to_the_agent_of_their_last_call(world: World) -> None:
    w = world
    await w.set_queue("sales", sticky_seconds=600)
    async with w.runtime.unit_of_work() as session:
        session.add(
            CallRecord(
                tenant_id=w.tenant_id,
                call_id="earlier",
                direction=CallDirection.INBOUND,
                caller="+12015550111",
                called="5200",
                agent="2002",
                started_at=utcnow() - timedelta(minutes=5),
                answered_at=utcnow() - timedelta(minutes=5),
                ended_at=utcnow() - timedelta(minutes=2),
                outcome=CallOutcome.ANSWERED,
                open=False,
            )
        )
    await w.login("agent2002")
    await w.login("agent2001")  # idle for less long, but not the caller's last agent
    await w.acd.join(w.tenant_id, "again", "sales", caller="+12015550111")
    call_id, accounts, _ = await w.phones.next_offer()
    assert (call_id, accounts) == ("again", ("2002",))


async def test_a_full_queue_answers_with_its_fallback(world: World) -> None:
    w = world
    fallback = {"kind": "announcement", "prompt": "queue/all-agents-busy"}
    await w.set_queue("sales", max_length=1, fallback=fallback)
    assert (await w.acd.join(w.tenant_id, "one", "sales")).refused is None
    refused = (await w.acd.join(w.tenant_id, "two", "sales")).refused
    assert refused is not None and refused.reason is LeaveReason.FULL
    assert refused.fallback == AnnouncementTarget(prompt="queue/all-agents-busy")
    nowhere = (await w.acd.join(w.tenant_id, "three", "no-such-queue")).refused
    assert nowhere is not None and nowhere.reason is LeaveReason.NO_QUEUE


async def test_a_queue_that_refuses_empty_takes_nobody_until_an_agent_logs_in(
    world: World,
) -> None:
    w = world
    await w.set_queue("sales", join_when_empty="refuse")
    refused = (await w.acd.join(w.tenant_id, "early", "sales")).refused
    assert refused is not None and refused.reason is LeaveReason.EMPTY
    await w.login("agent2001")
    await w.event(QueueChanged, queue="sales", agents_logged_in=1)
    assert (await w.acd.join(w.tenant_id, "later", "sales")).refused is None


async def test_a_callback_keeps_the_place_is_retried_and_fails_after_its_attempts(
    world: World,
) -> None:
    w = world
    await w.set_queue("sales", callback_attempts=2, callback_retry_seconds=0)
    asked = await w.acd.join(w.tenant_id, "asker", "sales", caller="2003", called="5200")
    await w.acd.join(w.tenant_id, "behind", "sales", caller="+12015550100")
    assert asked.departure is not None
    assert await w.acd.request_callback(w.tenant_id, "asker", number="2003")
    made = await w.event(CallbackChanged, state="pending")
    snap = await w.acd.snapshot(w.tenant_id)
    assert snap is not None
    (sales,) = [q for q in snap.queues if q.name == "sales"]
    assert [(c.position, c.callback) for c in sales.callers] == [(1, True), (2, False)]
    assert sales.callbacks_pending == 1
    await w.login("agent2001")
    for attempt, status in ((1, 486), (2, 408)):
        request, placed = await w.phones.next_dial()
        assert (request.number, request.caller_id, request.queue) == ("2003", "5200", "sales")
        assert request.call_id.startswith(f"cb-{made.callback_id}-{attempt}-")
        placed.set_result(status)
    failed = await w.event(CallbackChanged, state="failed")
    assert (failed.attempts, failed.last_status) == (2, 408)
    call_id, accounts, _ = await w.phones.next_offer()  # the next caller's turn
    assert (call_id, accounts) == ("behind", ("2001",))
    snap = await w.acd.snapshot(w.tenant_id)
    assert snap is not None
    agent = next(a for a in snap.agents if a.username == "agent2001")
    assert agent.missed_offers == 0  # an unanswered callback is not the agent's miss


async def test_an_answered_callback_is_offered_to_the_reserved_agent(world: World) -> None:
    w = world
    await w.acd.join(w.tenant_id, "asker", "sales", caller="2003", called="5200")
    assert await w.acd.request_callback(w.tenant_id, "asker", number="2003")
    await w.login("agent2001")
    request, placed = await w.phones.next_dial()
    offered = await w.event(CallOffered, call_id=request.call_id)
    assert offered.callback and offered.caller == "2003"
    snap = await w.acd.snapshot(w.tenant_id)
    assert snap is not None
    agent = next(a for a in snap.agents if a.username == "agent2001")
    assert (agent.state, agent.call_id) == (AgentState.RESERVED, request.call_id)
    placed.set_result(200)
    call_id, accounts, answered = await w.phones.next_offer()
    assert (call_id, accounts) == (request.call_id, ("2001",))
    answered.set_result(Offered(200, "2001"))
    done = await w.event(CallbackChanged, state="completed")
    assert done.agent == "2001" and done.attempts == 1
    await w.acd.writer.flush()  # the queue event log is written a tick later
    async with w.runtime.unit_of_work() as session:
        kinds = [
            e.event.value
            for e in (await session.execute(select(QueueEvent).order_by(QueueEvent.id))).scalars()
        ]
    assert kinds[:2] == ["join", "callback_requested"]


async def test_pending_callbacks_survive_a_restart_at_their_place(world: World) -> None:
    w = world
    await w.acd.join(w.tenant_id, "asker", "sales", caller="2003")
    assert await w.acd.request_callback(w.tenant_id, "asker", number="2003")
    await w.event(CallbackChanged, state="pending")
    await w.acd.close()
    async with w.runtime.unit_of_work() as session:
        row = (await session.execute(select(Callback))).scalar_one()
    assert (row.state, row.number) == (CallbackState.PENDING, "2003")
    w.acd = Distributor(w.runtime, w.phones.ring, w.phones.dial)
    await w.event(QueueChanged, queue="sales", callbacks_pending=1)  # taken up on start
    snap = await w.acd.snapshot(w.tenant_id)
    assert snap is not None
    (sales,) = [q for q in snap.queues if q.name == "sales"]
    (kept,) = sales.callers
    assert kept.callback
    assert abs((kept.joined_at - row.joined_at).total_seconds()) < 0.01


async def test_one_node_leads_a_tenant_until_it_lets_go(world: World) -> None:
    w = world
    other = Distributor(w.runtime, w.phones.ring, w.phones.dial)
    other.node = "node-b"
    try:
        assert (await w.acd.join(w.tenant_id, "here", "sales")).refused is None
        refused = (await other.join(w.tenant_id, "there", "sales")).refused
        assert refused is not None and refused.reason is LeaveReason.NOT_LEADER
        assert await other.snapshot(w.tenant_id) is None
        await w.acd.close()
        assert (await other.join(w.tenant_id, "there", "sales")).refused is None
        assert other.status()["tenants"] == [w.tenant_id]
    finally:
        await other.close()
    w.acd = Distributor(w.runtime, w.phones.ring, w.phones.dial)


async def test_a_caller_whose_number_has_a_regions_prefix_is_offered_to_that_team(
    world: World,
) -> None:
    w = world
    await _south_team(w, wait=60)
    await w.login("agent2002")  # idle for longest: offered first without regions
    await w.login("agent2001")
    await w.acd.join(w.tenant_id, "from-south", "sales", caller="+825155501234")
    call_id, accounts, answered = await w.phones.next_offer()
    assert (call_id, accounts) == ("from-south", ("2001",))
    answered.set_result(Offered(200, "2001"))
    await w.acd.join(w.tenant_id, "elsewhere", "sales", caller="+12015550100")
    call_id, accounts, _ = await w.phones.next_offer()
    assert (call_id, accounts) == ("elsewhere", ("2002",))


async def test_a_callback_taken_up_after_a_restart_keeps_the_callers_region(
    world: World,
) -> None:
    w = world
    await _south_team(w, wait=600)
    south = "+825155501234"
    await w.acd.join(w.tenant_id, "asker", "sales", caller=south, called="5200")
    assert await w.acd.request_callback(w.tenant_id, "asker", number=south)
    await w.event(CallbackChanged, state="pending")
    await w.acd.close()
    w.acd = Distributor(w.runtime, w.phones.ring, w.phones.dial)
    snap = await w.acd.snapshot(w.tenant_id)  # taken up on start
    assert snap is not None
    assert [q.callbacks_pending for q in snap.queues if q.name == "sales"] == [1]
    # Without its region the request would go to the first agent who logs in.
    await w.login("agent2002")
    await w.event(QueueChanged, queue="sales", agents_logged_in=1)
    assert w.phones.dials.empty()
    await w.login("agent2001")
    request, _ = await w.phones.next_dial()
    offered = await w.event(CallOffered, call_id=request.call_id)
    assert (offered.username, request.number) == ("agent2001", south)


async def _south_team(w: World, *, wait: int) -> None:
    """Callers from +8251 belong to the south, agent2001 too; they wait ``wait``
    seconds for the south's agents."""
    await w.set_queue(
        "sales", region_prefixes={"+8251": "south"}, region_teams={}, region_wait_seconds=wait
    )
    async with w.runtime.unit_of_work() as session:
        await session.execute(
            update(Agent).where(Agent.id == w.agents["agent2001"]).values(region="south")
        )


async def _state_of(w: World, name: str) -> AgentState | None:
    snap = await w.acd.snapshot(w.tenant_id)
    assert snap is not None
    return next((a.state for a in snap.agents if a.agent_id == w.agents[name]), None)


async def test_a_logout_through_the_api_wins_over_a_state_of_ours_not_yet_written(
    world: World,
) -> None:
    """The runtime's own states wait in the journal; an agent logged out through the
    API meanwhile stays logged out, in memory and in the database (the journal must
    not write the older state after the API's)."""
    w = world
    w.acd.writer.tick = 3600.0  # our saves wait: only flush() writes them
    assert (await w.acd.join(w.tenant_id, "c1", "sales", caller="+12015550100")).refused is None
    await w.login("agent2001")
    _, accounts, ringing = await w.phones.next_offer()
    assert accounts == ("2001",)
    ringing.set_result(Offered(480))  # no answer: available again, a state of ours
    await w.event(QueueChanged, queue="sales", offering=0, agents_available=1)
    assert await _state_of(w, "agent2001") is AgentState.AVAILABLE
    assert w.acd.writer.busy(w.tenant_id, w.agents["agent2001"]), "ours is still pending"
    async with w.runtime.unit_of_work() as session:
        state = StoredState(
            agent_id=w.agents["agent2001"], state=AgentState.OFFLINE, since=utcnow()
        )
        await save_agent_state(session, tenant_id=w.tenant_id, state=state)
    await w.event(QueueChanged, queue="sales", agents_available=0)
    assert await _state_of(w, "agent2001") is AgentState.OFFLINE
    await w.acd.writer.flush()
    async with w.runtime.unit_of_work() as session:
        stored = await session.scalar(
            select(AgentStateRow.state).where(AgentStateRow.agent_id == w.agents["agent2001"])
        )
    assert stored is AgentState.OFFLINE
