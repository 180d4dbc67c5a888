"""The ACD runtime's journal: agent states and queue events of a tick in one unit of
work, the newest state per agent, written by themselves after a tick, at once on close.

The journal runs against the demo database on SQLite and PostgreSQL; commits are
counted with SQLAlchemy's ``commit`` engine event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from helpline.acd.events import AgentStateChanged
from helpline.acd.models import Agent, AgentStateRow
from helpline.acd.presence import AgentIdentity, StoredState, save_agent_states
from helpline.acd.state import AgentState
from helpline.calls.models import QueueEvent, QueueEventKind
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.telephony.acd_writer import Journal, QueueEntry
from helpline.tenants.service import by_slug
from helpline.users.models import User

WAIT = 10.0
#: Long enough that no tick passes during a test: only flush() and close() write.
NEVER = 3600.0


@dataclass
class Demo:
    runtime: Runtime
    tenant_id: int
    agents: dict[str, AgentIdentity]
    commits: list[int]


@pytest.fixture
async def demo(runtime: Runtime) -> AsyncIterator[Demo]:
    async with runtime.unit_of_work() as session:
        tenant = await by_slug(session, "demo")
        assert tenant is not None
        rows = await session.execute(
            select(Agent.id, Agent.user_id, User.username, Agent.team_id).join(
                User, User.id == Agent.user_id
            )
        )
        agents = {row[2]: AgentIdentity(*row) for row in rows}
    commits: list[int] = []

    def count(_connection: object) -> None:
        commits.append(1)

    event.listen(runtime.engine.sync_engine, "commit", count)
    yield Demo(runtime, tenant.id, agents, commits)
    event.remove(runtime.engine.sync_engine, "commit", count)


def _state(agent: AgentIdentity, state: AgentState, call_id: str | None = None) -> StoredState:
    return StoredState(agent_id=agent.agent_id, state=state, since=utcnow(), call_id=call_id)


async def _kinds(runtime: Runtime) -> list[str]:
    async with runtime.unit_of_work() as session:
        rows = await session.execute(select(QueueEvent).order_by(QueueEvent.id))
        return [row.event.value for row in rows.scalars()]


async def _states(runtime: Runtime) -> dict[int, AgentState]:
    async with runtime.unit_of_work() as session:
        rows = (await session.execute(select(AgentStateRow))).scalars()
        return {row.agent_id: row.state for row in rows}


async def test_a_ticks_states_and_queue_events_are_written_in_one_unit_of_work(
    demo: Demo,
) -> None:
    first, second = demo.agents["agent2001"], demo.agents["agent2002"]
    events = demo.runtime.bus.subscribe()
    journal = Journal(demo.runtime, "node-j", tick=NEVER)
    at = utcnow()
    journal.log(demo.tenant_id, QueueEntry("sales", "c1", QueueEventKind.JOIN, at, position=1))
    journal.save(demo.tenant_id, first, _state(first, AgentState.RESERVED, "c1"))
    journal.log(demo.tenant_id, QueueEntry("sales", "c1", QueueEventKind.OFFER, at, "2001", 0.25))
    journal.save(demo.tenant_id, first, _state(first, AgentState.ON_CALL, "c1"))
    journal.save(demo.tenant_id, second, _state(second, AgentState.AVAILABLE))
    assert journal.busy(demo.tenant_id, first.agent_id)
    await journal.flush()
    assert not journal.busy(demo.tenant_id, first.agent_id)
    assert len(demo.commits) == 1
    assert await _kinds(demo.runtime) == ["join", "offer"]
    states = await _states(demo.runtime)
    assert (states[first.agent_id], states[second.agent_id]) == (
        AgentState.ON_CALL,
        AgentState.AVAILABLE,
    )
    # Only the newest state of an agent is written, and its event names the runtime.
    changed = [await asyncio.wait_for(events.get(), WAIT) for _ in range(2)]
    events.close()
    assert {
        (e.username, e.state, e.origin) for e in changed if isinstance(e, AgentStateChanged)
    } == {
        ("agent2001", "on_call", "acd:node-j"),
        ("agent2002", "available", "acd:node-j"),
    }
    await journal.close()


async def test_changes_are_written_by_themselves_a_tick_later(demo: Demo) -> None:
    agent = demo.agents["agent2001"]
    events = demo.runtime.bus.subscribe(lambda e: isinstance(e, AgentStateChanged))
    journal = Journal(demo.runtime, "node-j", tick=0.01)
    journal.log(demo.tenant_id, QueueEntry("sales", "c2", QueueEventKind.JOIN, utcnow()))
    journal.save(demo.tenant_id, agent, _state(agent, AgentState.NOT_READY))
    changed = await asyncio.wait_for(events.get(), WAIT)
    events.close()
    assert isinstance(changed, AgentStateChanged) and changed.state == "not_ready"
    assert await _kinds(demo.runtime) == ["join"]
    await journal.close()


async def test_closing_writes_what_is_pending_at_once(demo: Demo) -> None:
    journal = Journal(demo.runtime, "node-j", tick=NEVER)
    queue_entry = QueueEntry("sales", "c3", QueueEventKind.ABANDON, utcnow(), wait=12.3456)
    journal.log(demo.tenant_id, queue_entry)
    await journal.close()
    async with demo.runtime.unit_of_work() as session:
        (row,) = (await session.execute(select(QueueEvent))).scalars()
    assert (row.call_id, row.event, row.wait_seconds) == ("c3", QueueEventKind.ABANDON, 12.346)
    assert abs(row.at - queue_entry.at) < timedelta(seconds=1)


async def test_a_batch_skips_agents_that_are_not_the_tenants(demo: Demo) -> None:
    agent = demo.agents["agent2002"]
    gone = AgentIdentity(agent_id=987654, user_id=agent.user_id, username="gone", team_id=None)
    async with demo.runtime.unit_of_work() as session:
        saved = await save_agent_states(
            session,
            tenant_id=demo.tenant_id,
            states=[
                (gone, _state(gone, AgentState.AVAILABLE)),
                (agent, _state(agent, AgentState.NOT_READY)),
            ],
            node="node-j",
            origin="acd:node-j",
        )
        other_tenant = await save_agent_states(
            session,
            tenant_id=demo.tenant_id + 1000,
            states=[(agent, _state(agent, AgentState.OFFLINE))],
            node="node-j",
            origin="acd:node-j",
        )
    assert (saved, other_tenant) == (1, 0)
    assert (await _states(demo.runtime))[agent.agent_id] is AgentState.NOT_READY
