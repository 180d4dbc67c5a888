"""Bus events of the ACD's database layer.

``user_id`` is the agent's user, so an agent's event stream carries its own state
changes and supervisors (and admins) see every agent of the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from helpline.core.events import Audience, Event


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged(Event):
    """An agent logged in or out, or changed state or not-ready reason."""

    name: ClassVar[str] = "acd.agent_state"
    audience: ClassVar[Audience] = Audience.AGENT
    agent_id: int
    username: str
    team_id: int | None
    state: str
    previous: str
    reason: str | None
    pending_reason: str | None
    since: datetime
    call_id: str | None
    queue_ids: tuple[int, ...]
    origin: str = "api"
    """Who made the change: ``api``, or ``acd:<node>`` for the ACD runtime of a node."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered(Event):
    """A queued call rings an agent's phones: the screen pop (``user_id``: the agent).

    ``data`` carries the IVR's variables; ``customer`` the caller's customer record
    found by their number (id, name, title, company, tier, region, language, e164,
    ambiguous), None when unknown; ``ivr_path`` the IVR steps the caller went through
    (node, type, digits, result) and ``digits`` the keys entered there, in order;
    ``callback`` is true when the call is a callback the caller asked for;
    ``waited_seconds`` how long the caller has kept their place."""

    name: ClassVar[str] = "acd.call_offered"
    audience: ClassVar[Audience] = Audience.AGENT
    agent_id: int
    username: str
    call_id: str
    queue: str
    caller: str
    called: str
    data: dict[str, str]
    customer: dict[str, object] | None = None
    ivr_path: tuple[dict[str, str | None], ...] = ()
    digits: tuple[str, ...] = ()
    callback: bool = False
    waited_seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered(Event):
    """The agent took the offered call."""

    name: ClassVar[str] = "acd.call_answered"
    audience: ClassVar[Audience] = Audience.AGENT
    agent_id: int
    username: str
    call_id: str
    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFinished(Event):
    """The agent's call ended; wrap-up follows."""

    name: ClassVar[str] = "acd.call_ended"
    audience: ClassVar[Audience] = Audience.AGENT
    agent_id: int
    username: str
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueChanged(Event):
    """A queue's live figures changed (a caller joined or left, an offer rang, an agent
    became available or busy): the wallboard's feed, published by the ACD runtime."""

    name: ClassVar[str] = "acd.queue"
    audience: ClassVar[Audience] = Audience.SUPERVISOR
    queue_id: int
    queue: str
    waiting: int
    longest_wait_seconds: float
    callbacks_pending: int
    offering: int
    agents_logged_in: int
    agents_available: int
    agents_busy: int
    expected_wait_seconds: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackChanged(Event):
    """A callback request was made, tried, connected, finished or cancelled."""

    name: ClassVar[str] = "acd.callback"
    audience: ClassVar[Audience] = Audience.SUPERVISOR
    callback_id: int
    queue_id: int
    number: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    agent: str | None
