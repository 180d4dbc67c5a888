"""When the runtime sends waiting callers away (maximum wait; the last agent left and
the grace ran out) and when it wakes up next, with a fake clock: the tenant's board is
built by hand and the runtime's functions are given the time."""

from __future__ import annotations

import asyncio
from typing import Any

from helpline.acd.board import AgentInfo, Caller, Membership
from helpline.acd.callback import CallbackRecord
from helpline.acd.schemas import CallbackTarget, QueueOut
from helpline.acd.screenpop import ScreenPop
from helpline.acd.state import AgentState
from helpline.db.base import utcnow
from helpline.telephony.acd_tenant import (
    CallbackEntry,
    Leave,
    LeaveReason,
    TenantAcd,
    departures,
    next_wakeup,
    queue_config,
)


def _queue(**settings: Any) -> QueueOut:
    now = utcnow()
    return QueueOut.model_validate(
        {"id": 1, "name": "sales", "created_at": now, "updated_at": now, **settings}
    )


def _tenant(queue: QueueOut, *callers: tuple[str, float]) -> TenantAcd:
    acd = TenantAcd(1)
    acd.by_id = {"1": queue}
    acd.queues = {queue.name: queue}
    acd.board.set_queue(queue_config(queue, {queue.name: queue.id}))
    for call_id, joined in callers:
        acd.board.add_caller(Caller(call_id, "1", joined))
        acd.departures[call_id] = asyncio.get_running_loop().create_future()
    return acd


def _agent(state: AgentState) -> AgentInfo:
    return AgentInfo("7", state, memberships=(Membership("1"),))


async def test_callers_past_the_maximum_wait_leave_for_the_fallback_in_order() -> None:
    queue = _queue(max_wait_seconds=60, fallback=CallbackTarget().model_dump())
    acd = _tenant(queue, ("a", 0.0), ("b", 30.0))
    assert departures(acd, 59.9) == []
    assert next_wakeup(acd, 59.9) == 60.0
    gone = departures(acd, 60.0)
    assert gone == [("a", Leave(LeaveReason.MAX_WAIT, "sales", CallbackTarget()), 60.0)]
    assert not acd.board.is_waiting("a") and "a" in acd.parked
    assert next_wakeup(acd, 60.0) == 90.0


async def test_callers_leave_a_queue_without_agents_only_after_its_grace() -> None:
    queue = _queue(leave_when_empty="leave", leave_empty_seconds=20)
    acd = _tenant(queue, ("a", 0.0))
    acd.board.set_agent(_agent(AgentState.AVAILABLE))
    assert departures(acd, 5.0) == [] and acd.empty_since == {}
    acd.board.set_agent(_agent(AgentState.OFFLINE))  # the last agent logs out at 10 s
    assert departures(acd, 10.0) == []
    assert next_wakeup(acd, 10.0) == 30.0
    assert departures(acd, 29.0) == []
    (left,) = departures(acd, 30.0)
    assert left[0] == "a" and left[1].reason is LeaveReason.LEFT_EMPTY


async def test_a_returning_agent_ends_the_grace() -> None:
    queue = _queue(leave_when_empty="leave", leave_empty_seconds=20)
    acd = _tenant(queue, ("a", 0.0))
    assert departures(acd, 1.0) == []
    acd.board.set_agent(_agent(AgentState.NOT_READY))  # paused: still logged in
    assert departures(acd, 25.0) == [] and acd.empty_since == {}


async def test_callbacks_keep_their_place_past_the_maximum_wait() -> None:
    queue = _queue(max_wait_seconds=60)
    acd = _tenant(queue, ("cb-1-1-x", 0.0))
    caller = acd.board.waiting_entry("cb-1-1-x").caller
    pop = ScreenPop("sales", "2003", "5200")
    acd.callbacks["cb-1-1-x"] = CallbackEntry(CallbackRecord(1), caller, 1, "2003", "5200", pop)
    assert departures(acd, 120.0) == []
    assert acd.board.is_waiting("cb-1-1-x")
