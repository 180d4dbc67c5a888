"""The live state of a tenant's ACD, read-only, as the runtime sees it right now.

Theory of operation: the node that runs a tenant's distributor (see
:mod:`helpline.telephony.acd`) registers itself in ``Runtime.listeners`` under
:data:`ACD_LISTENER`.  Anything in the process that needs live figures (the
``GET /acd/realtime`` view, the wallboard, statistics) calls :func:`live_acd` and then
:meth:`LiveAcd.snapshot`: a frozen :class:`AcdSnapshot` of the tenant's queues (who
waits, for how long, which callbacks are pending, the agents logged in, available
and busy, the average handling time and the expected wait of a new caller) and
agents (state, since when, the call they hold).  Snapshots are plain data, copied
out of the runtime, so readers can keep them and never change the runtime.
Times are UTC datetimes; durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from helpline.acd.state import AgentState
from helpline.runtime import Runtime

__all__ = [
    "ACD_LISTENER",
    "AcdSnapshot",
    "AgentSnapshot",
    "CallerSnapshot",
    "LiveAcd",
    "QueueSnapshot",
    "live_acd",
]

ACD_LISTENER = "acd"
"""The name under which the ACD runtime registers in ``Runtime.listeners``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerSnapshot:
    """A caller waiting in a queue (or a callback keeping its place there)."""

    call_id: str
    position: int
    joined_at: datetime
    waited_seconds: float
    priority: float
    """Effective priority now (base, customer-type bonus and aging)."""
    customer_type: str | None
    callback: bool
    """A callback request keeping the caller's place (the caller is not on the line)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSnapshot:
    """One queue's live figures."""

    queue_id: int
    name: str
    waiting: int
    """Callers on the board: live callers and callbacks whose turn may come."""
    longest_wait_seconds: float
    callbacks_pending: int
    """Callback requests not finished yet (on the board, dialing or waiting to retry)."""
    offering: int
    """Callers whose offer is ringing an agent now."""
    agents_logged_in: int
    agents_available: int
    agents_busy: int
    """Members reserved or on a call."""
    handle_seconds: float
    """The queue's average handling time (talk and wrap-up) on this node."""
    expected_wait_seconds: float | None
    """What a caller joining now would be told; None when no agent serves the queue."""
    callers: tuple[CallerSnapshot, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSnapshot:
    """One agent as the distributor holds it."""

    agent_id: int
    user_id: int
    username: str
    team_id: int | None
    state: AgentState
    since: datetime
    reason: str | None
    call_id: str | None
    queue_ids: tuple[int, ...]
    """Queues the agent is logged in to."""
    missed_offers: int
    calls_today: int = 0
    talk_seconds_today: float = 0.0
    last_call_ended_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AcdSnapshot:
    """A tenant's queues and agents at ``at``, from the node ``node``."""

    tenant_id: int
    at: datetime
    node: str
    queues: tuple[QueueSnapshot, ...]
    agents: tuple[AgentSnapshot, ...]


@runtime_checkable
class LiveAcd(Protocol):
    """The read-only accessor the ACD runtime offers."""

    async def snapshot(self, tenant_id: int) -> AcdSnapshot | None:
        """The live state of ``tenant_id``; None when this node does not run its
        distributor (another node is its leader)."""
        ...


def live_acd(runtime: Runtime) -> LiveAcd | None:
    """The ACD runtime of this process, if one registered."""
    found = runtime.listeners.get(ACD_LISTENER)
    return found if isinstance(found, LiveAcd) else None
