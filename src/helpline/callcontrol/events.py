"""Bus events of CTI commands on live calls.

``user_id`` is the agent's user (the agent whose call it is, even when a supervisor
acted), so the agent's event stream shows what happened to its call; ``actor`` is the
username of whoever asked. Supervisors and admins see every event of their tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from helpline.core.events import Audience, Event


@dataclass(frozen=True, slots=True, kw_only=True)
class CallHeld(Event):
    """The customer was put on hold (music on hold)."""

    name: ClassVar[str] = "call.held"
    audience: ClassVar[Audience] = Audience.AGENT
    call_id: str
    agent: str
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResumed(Event):
    """The customer was taken off hold."""

    name: ClassVar[str] = "call.resumed"
    audience: ClassVar[Audience] = Audience.AGENT
    call_id: str
    agent: str
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred(Event):
    """The customer was handed on: ``kind`` is ``blind``, ``attended`` or ``intercept``
    (a supervisor took the call over); ``agent`` is the agent who left it."""

    name: ClassVar[str] = "call.transferred"
    audience: ClassVar[Audience] = Audience.AGENT
    call_id: str
    agent: str
    actor: str
    kind: str
    target_kind: str
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsultationStarted(Event):
    """The agent placed a consultation call; the customer is on hold."""

    name: ClassVar[str] = "call.consultation_started"
    audience: ClassVar[Audience] = Audience.AGENT
    call_id: str
    agent: str
    actor: str
    target_kind: str
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsultationEnded(Event):
    """A consultation ended without a transfer: ``reason`` is ``cancelled`` or
    ``failed`` (not answered, refused, or the consulted party hung up)."""

    name: ClassVar[str] = "call.consultation_ended"
    audience: ClassVar[Audience] = Audience.AGENT
    call_id: str
    agent: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConferenceStarted(Event):
    """Customer, agent and the consulted party now hear each other."""

    name: ClassVar[str] = "call.conference"
    audience: ClassVar[Audience] = Audience.AGENT
    call_id: str
    agent: str
    actor: str
    third: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorJoined(Event):
    """A supervisor joined an agent's call (``mode``: listen, whisper, barge); not
    shown to agents."""

    name: ClassVar[str] = "call.supervisor_joined"
    audience: ClassVar[Audience] = Audience.SUPERVISOR
    call_id: str
    agent: str
    supervisor: str
    mode: str
