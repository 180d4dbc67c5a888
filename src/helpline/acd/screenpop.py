"""What the ACD learns about a caller when they join a queue: the screen pop and the
facts routing decides on.

Theory of operation: when call control puts a caller in a queue, the runtime reads,
in one unit of work, (1) the caller's customer record by their number
(:func:`helpline.customers.lookup.lookup_by_number`): its tier is the ACD's customer
type (``vip`` callers queue ahead where the queue gives the tier priority points),
its region the caller's region; (2) the IVR path of the call (``ivr_path_steps``, in
the order the caller went through the nodes) and the digits entered there; (3) for
queues with a last-agent window, the agent who took this number's last answered call
and when it ended.  :class:`ScreenPop` is what the agent's desktop is shown when the
call is offered (the ``acd.call_offered`` event); it travels with a callback request
so that the agent who calls back sees the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.calls.models import CallDirection, CallRecord
from helpline.customers.lookup import CustomerBrief, lookup_by_number
from helpline.ivr.models import IvrPathStep

__all__ = ["CallerContext", "ScreenPop", "caller_context", "customer_json"]

#: How far back a returning caller's previous call may have started.
STICKY_LOOKBACK = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """What an agent's desktop is told about an offered call."""

    queue: str
    caller: str
    called: str
    data: dict[str, str] = field(default_factory=dict)
    customer: dict[str, object] | None = None
    ivr_path: tuple[dict[str, str | None], ...] = ()
    digits: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The pop as stored with a callback request."""
        return {
            "queue": self.queue,
            "caller": self.caller,
            "called": self.called,
            "data": dict(self.data),
            "customer": self.customer,
            "ivr_path": [dict(step) for step in self.ivr_path],
            "digits": list(self.digits),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ScreenPop:
        """A pop stored by :meth:`to_json` (missing keys are empty)."""
        return cls(
            queue=str(raw.get("queue", "")),
            caller=str(raw.get("caller", "")),
            called=str(raw.get("called", "")),
            data={str(k): str(v) for k, v in dict(raw.get("data") or {}).items()},
            customer=raw.get("customer"),
            ivr_path=tuple(dict(step) for step in raw.get("ivr_path") or ()),
            digits=tuple(str(d) for d in raw.get("digits") or ()),
        )


@dataclass(frozen=True, slots=True)
class CallerContext:
    """What is known about a caller joining a queue."""

    customer: CustomerBrief | None = None
    ivr_path: tuple[dict[str, str | None], ...] = ()
    digits: tuple[str, ...] = ()
    last_agent: str | None = None
    """The SIP account that took this number's last answered call (within the window)."""
    last_agent_at: datetime | None = None


def customer_json(brief: CustomerBrief | None) -> dict[str, object] | None:
    """The customer record as the screen pop shows it."""
    if brief is None:
        return None
    return {
        "id": brief.id,
        "name": brief.name,
        "title": brief.title,
        "company": brief.company,
        "tier": brief.tier.value,
        "region": brief.region,
        "language": brief.language,
        "e164": brief.e164,
        "ambiguous": brief.ambiguous,
    }


async def caller_context(
    session: AsyncSession,
    *,
    tenant_id: int,
    call_id: str,
    caller: str,
    sticky_seconds: float,
    now: datetime,
    region: str | None = None,
) -> CallerContext:
    """The customer, IVR path and (with ``sticky_seconds``) last agent of a caller
    (``region``: the tenant's default region, read when not given)."""
    customer = None
    if caller:
        customer = await lookup_by_number(session, tenant_id, caller, region=region)
    steps = await session.execute(
        select(IvrPathStep.node, IvrPathStep.node_type, IvrPathStep.digits, IvrPathStep.outcome)
        .where(IvrPathStep.tenant_id == tenant_id, IvrPathStep.call_id == call_id)
        .order_by(IvrPathStep.entered_at, IvrPathStep.id)
    )
    path = tuple(
        {"node": node, "type": kind, "digits": digits, "result": result}
        for node, kind, digits, result in steps
    )
    digits = tuple(str(step["digits"]) for step in path if step["digits"])
    last_agent, last_at = None, None
    if sticky_seconds > 0 and caller:
        since = now - timedelta(seconds=sticky_seconds)
        row = (
            await session.execute(
                select(CallRecord.agent, CallRecord.ended_at)
                .where(
                    CallRecord.tenant_id == tenant_id,
                    CallRecord.caller == caller,
                    CallRecord.direction != CallDirection.OUTBOUND,
                    CallRecord.agent.is_not(None),
                    CallRecord.answered_at.is_not(None),
                    CallRecord.started_at >= since - STICKY_LOOKBACK,
                    CallRecord.ended_at >= since,
                    CallRecord.call_id != call_id,
                )
                .order_by(CallRecord.ended_at.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            last_agent, last_at = row[0], row[1]
    return CallerContext(customer, path, digits, last_agent, last_at)
