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


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered(Event):
    """A queued call rings an agent's phones: the screen pop (``user_id``: the agent).

    ``data`` carries what the caller told the IVR (digits, variables) and the queue."""

    name: ClassVar[str] = "acd.call_offered"
    audience: ClassVar[Audience] = Audience.AGENT
    agent_id: int
    username: str
    call_id: str
    queue: str
    caller: str
    called: str
    data: dict[str, str]


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
