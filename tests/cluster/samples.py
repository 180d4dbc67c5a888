"""Sample events and call records shared by the cluster tests."""

from __future__ import annotations

from datetime import datetime

from helpline.acd.events import CallOffered
from helpline.calls.models import CallDirection, CallOutcome, CallRecord
from helpline.runtime import Runtime


def offer(data: dict[str, str] | None = None) -> CallOffered:
    """A screen pop of agent 2001 carrying ``data`` as the IVR's variables."""
    return CallOffered(
        tenant_id=7,
        user_id=3,
        agent_id=2,
        username="agent2001",
        call_id="abc@host",
        queue="support",
        caller="+99955501",
        called="100",
        data=data or {"lang": "en"},
        customer={"id": 1, "name": "Kim", "ambiguous": False, "tier": None},
        ivr_path=({"node": "menu", "digits": "1", "result": None},),
        digits=("1",),
        waited_seconds=4.5,
    )


async def add_record(
    runtime: Runtime, *, tenant_id: int, call_id: str, node: str, at: datetime, is_open: bool = True
) -> None:
    """A call record of ``node``'s call ``call_id``, open or closed."""
    async with runtime.unit_of_work() as db:
        db.add(
            CallRecord(
                tenant_id=tenant_id,
                call_id=call_id,
                direction=CallDirection.INBOUND,
                caller="+99955501",
                called="100",
                started_at=at,
                outcome=CallOutcome.IN_PROGRESS,
                node=node,
                open=is_open,
            )
        )
