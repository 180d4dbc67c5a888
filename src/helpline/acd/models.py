"""ACD tables: queues, skills, agent profiles, teams, reason codes and agent state.

Configuration (queues, skills, agents, teams, reason codes) is edited through the API;
``acd_agent_states`` is written by the ACD runtime on every state change so that a
restarted process, or another node, recovers each agent's state, and
``acd_agent_sessions`` logs logins and logouts for statistics.  ``acd_callbacks`` holds
callback requests that keep a caller's place (reloaded when a node starts) and
``acd_leases`` says which node runs each tenant's distributor.  A queue's
``fallback`` and ``overflow`` are JSON in the shapes of :mod:`helpline.acd.schemas`.
An agent's phones are the SIP accounts linked to its user (``SipAccount.user_id``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.acd.board import Strategy as Strategy
from helpline.acd.callback import CallbackState
from helpline.acd.state import AgentState
from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum, utcnow

MAX_NAME_LENGTH = 100
MAX_CALL_ID_LENGTH = 255
MAX_NUMBER_LENGTH = 64


class JoinWhenEmpty(StrEnum):
    """Whether a caller may join a queue no agent is logged in to."""

    JOIN = "join"
    REFUSE = "refuse"
    """The caller goes to the queue's fallback at once."""


class LeaveWhenEmpty(StrEnum):
    """What happens to waiting callers when the last agent logs out."""

    STAY = "stay"
    LEAVE = "leave"
    """After ``leave_empty_seconds`` the callers go to the queue's fallback."""


class Queue(TenantOwned, Timestamped, Base):
    """A call queue and its distribution rules."""

    __tablename__ = "acd_queues"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    strategy: Mapped[Strategy] = mapped_column(str_enum(Strategy))
    ring_timeout: Mapped[int] = mapped_column(Integer, default=15)
    """Seconds one offer rings before it goes to the next agent."""
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=10)
    auto_pause_after: Mapped[int] = mapped_column(Integer, default=3)
    """Missed offers in a row that set the agent not ready; 0 never does."""
    max_length: Mapped[int | None] = mapped_column(Integer, default=None)
    max_wait_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    fallback: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    join_when_empty: Mapped[JoinWhenEmpty] = mapped_column(str_enum(JoinWhenEmpty))
    leave_when_empty: Mapped[LeaveWhenEmpty] = mapped_column(str_enum(LeaveWhenEmpty))
    leave_empty_seconds: Mapped[int] = mapped_column(Integer, default=0)
    music_on_hold: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), default="default")
    announce_interval: Mapped[int] = mapped_column(Integer, default=0)
    """Seconds between position and expected-wait announcements; 0 never."""
    periodic_prompt: Mapped[str | None] = mapped_column(String(200), default=None)
    periodic_interval: Mapped[int] = mapped_column(Integer, default=0)
    required_skills: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Skill name -> minimum level, for calls that bring no requirements of their own."""
    priority_aging: Mapped[float] = mapped_column(Double, default=0.0)
    """Priority points a waiting caller gains per minute."""
    overflow: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sticky_seconds: Mapped[int] = mapped_column(Integer, default=0)
    """A caller returning within this window goes to the last agent first; 0 off."""
    callback_enabled: Mapped[bool] = mapped_column(default=False)
    callback_key: Mapped[str] = mapped_column(String(1), default="1")
    callback_attempts: Mapped[int] = mapped_column(Integer, default=3)
    """Calls placed to reach a caller who asked for a callback before giving up."""
    callback_retry_seconds: Mapped[int] = mapped_column(Integer, default=60)
    customer_priority: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Customer tier (``vip`` ...) -> priority points added to its callers."""
    recording: Mapped[bool] = mapped_column(default=False)
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=20)
    short_abandon_seconds: Mapped[int] = mapped_column(Integer, default=5)
    region_prefixes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Caller number prefix -> caller region, for callers no customer record places."""
    region_teams: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Caller region -> the agents' region (team) offered the caller first."""
    region_wait_seconds: Mapped[int] = mapped_column(Integer, default=0)
    """Seconds only that team is offered the caller; the team is preferred afterwards."""


class Skill(TenantOwned, Timestamped, Base):
    """A skill agents have and calls require ("sales", "ko" ...)."""

    __tablename__ = "acd_skills"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    description: Mapped[str] = mapped_column(String(500), default="")


class Team(TenantOwned, Timestamped, Base):
    """A group of agents led by supervisors."""

    __tablename__ = "acd_teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    description: Mapped[str] = mapped_column(String(500), default="")


class TeamSupervisor(Base):
    """A supervisor of a team."""

    __tablename__ = "acd_team_supervisors"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("acd_teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Agent(TenantOwned, Timestamped, Base):
    """The ACD profile of a user who takes calls."""

    __tablename__ = "acd_agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_teams.id", ondelete="SET NULL"), default=None, index=True
    )
    weight: Mapped[int] = mapped_column(Integer, default=1)
    """Relative share of calls under the weighted random strategy."""
    region: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), default="")
    """Region or group callers are routed to by number prefix or customer region."""
    enabled: Mapped[bool] = mapped_column(default=True)


class AgentSkill(Base):
    """An agent's proficiency (0-5) in a skill."""

    __tablename__ = "acd_agent_skills"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("acd_agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("acd_skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[int] = mapped_column(Integer)


class Membership(Base):
    """An agent's place in a queue: ``position`` orders the linear strategy, agents with
    a lower ``penalty`` are offered calls first."""

    __tablename__ = "acd_memberships"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("acd_agents.id", ondelete="CASCADE"), primary_key=True
    )
    queue_id: Mapped[int] = mapped_column(
        ForeignKey("acd_queues.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    penalty: Mapped[int] = mapped_column(Integer, default=0)


class ReasonCode(TenantOwned, Timestamped, Base):
    """A reason an agent gives for being not ready ("break", "lunch" ...)."""

    __tablename__ = "acd_reason_codes"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Language (en, zh, ko) -> label shown on the agent's desktop."""


class AgentStateRow(TenantOwned, Base):
    """An agent's current state as the ACD runtime last saved it."""

    __tablename__ = "acd_agent_states"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("acd_agents.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[AgentState] = mapped_column(str_enum(AgentState))
    since: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    pending_reason: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    """A pause asked for during an offer or call, taken when it is over."""
    call_id: Mapped[str | None] = mapped_column(String(MAX_CALL_ID_LENGTH), default=None)
    call_queue_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """The queue of the offer or call (its policy applies until wrap-up ends)."""
    wrap_up_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    queue_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Queues the agent is logged in to."""
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)
    calls_today: Mapped[int] = mapped_column(Integer, default=0)
    talk_seconds_today: Mapped[float] = mapped_column(Double, default=0.0)
    last_call_ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    node: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AgentSession(TenantOwned, Base):
    """One login of an agent, closed at logout (for statistics)."""

    __tablename__ = "acd_agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("acd_agents.id", ondelete="CASCADE"), index=True
    )
    login_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    logout_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    queue_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    logout_reason: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), default="")


class Callback(TenantOwned, Timestamped, Base):
    """A caller who asked to be called back, keeping their place in the queue."""

    __tablename__ = "acd_callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(
        ForeignKey("acd_queues.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str] = mapped_column(String(MAX_CALL_ID_LENGTH))
    """The call that asked for the callback."""
    number: Mapped[str] = mapped_column(String(MAX_NUMBER_LENGTH))
    """Where to call back: a SIP account of the tenant or a number dialed out a trunk."""
    called: Mapped[str] = mapped_column(String(MAX_NUMBER_LENGTH), default="")
    """The number the caller had dialed (shown to them as the callback's caller)."""
    state: Mapped[CallbackState] = mapped_column(str_enum(CallbackState), index=True)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When the caller joined the queue: the place the callback keeps."""
    priority: Mapped[float] = mapped_column(Double, default=0.0)
    customer_type: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    skills: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The screen pop of the original call (customer, IVR path, variables)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    retry_seconds: Mapped[int] = mapped_column(Integer, default=60)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_call_id: Mapped[str | None] = mapped_column(String(MAX_CALL_ID_LENGTH), default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    """The SIP status of the last attempt that failed."""
    agent: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    """The SIP account of the agent who took the callback."""
    node: Mapped[str] = mapped_column(String(100), default="")


class AcdLease(Base):
    """Which node runs a tenant's distributor, until ``expires_at`` unless renewed."""

    __tablename__ = "acd_leases"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
