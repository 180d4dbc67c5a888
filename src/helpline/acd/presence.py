"""Agent presence in the database: login, logout and state changes from the API, the
rows the ACD runtime loads its board from and saves agent states to, and the real-time
view of queues and agents.

Theory of operation: the ACD runtime owns live agent state in memory and writes every
change (one row per agent in ``acd_agent_states``; its journal saves a tick's changes
at once with :func:`save_agent_states`), so a restarted process or another node
rebuilds its board with :func:`load_board_rows`.
Every saved change of state, reason or queues queues an :class:`AgentStateChanged`
event, published when the unit of work commits.  The API's own changes (login, logout,
ready / not ready) are checked against :data:`SETTABLE` before they are saved: only an
agent who is logged in and not busy with a call may change, and only to available or
not ready.  ``GET /acd/realtime`` asks a :class:`RealtimeProvider`: the ACD runtime's
snapshot (:mod:`helpline.acd.live`) when it registered as the ``acd`` listener of the
:class:`~helpline.runtime.Runtime`, else :class:`StoredRealtime`, which reads the saved
states.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.events import AgentStateChanged
from helpline.acd.live import ACD_LISTENER, AcdSnapshot, LiveAcd, live_acd
from helpline.acd.models import (
    Agent,
    AgentSession,
    AgentSkill,
    AgentStateRow,
    Membership,
    Queue,
    ReasonCode,
    Skill,
)
from helpline.acd.schemas import (
    AgentLogin,
    AgentStateOut,
    QueueOut,
    QueueRealtime,
    RealtimeOut,
    StateChange,
    WaitingCaller,
)
from helpline.acd.service import agent_outs, invalid, supervised_team_ids
from helpline.acd.state import (
    BUSY_STATES,
    AgentRecord,
    AgentState,
    IllegalTransition,
    Login,
    Logout,
    Pause,
    Resume,
    WrapUpDone,
    apply,
)
from helpline.auth.principal import Principal
from helpline.core.errors import Conflict, Forbidden
from helpline.db.base import get_owned
from helpline.runtime import Runtime, queue_event
from helpline.users.models import Role

__all__ = ["ACD_LISTENER", "LiveRealtime", "RealtimeProvider", "StoredRealtime"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredState:
    """An agent's state as saved in ``acd_agent_states``."""

    agent_id: int
    state: AgentState
    since: datetime
    reason: str | None = None
    pending_reason: str | None = None
    call_id: str | None = None
    call_queue_id: int | None = None
    wrap_up_until: datetime | None = None
    queue_ids: tuple[int, ...] = ()
    missed_offers: int = 0
    calls_today: int = 0
    talk_seconds_today: float = 0.0
    last_call_ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QueuePlace:
    """An agent's place in one queue."""

    position: int
    penalty: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardAgent:
    """Everything the ACD core needs about one agent."""

    agent_id: int
    user_id: int
    username: str
    team_id: int | None
    weight: int
    region: str
    enabled: bool
    sip_accounts: tuple[str, ...]
    skills: Mapping[str, int]
    queues: Mapping[int, QueuePlace]
    stored: StoredState | None
    """None: never saved (the agent is offline)."""


@dataclass(frozen=True, slots=True)
class BoardRows:
    """A tenant's queues and agents as the ACD runtime loads them."""

    tenant_id: int
    queues: tuple[QueueOut, ...]
    agents: tuple[BoardAgent, ...] = field(default=())


def _stored(row: AgentStateRow) -> StoredState:
    return StoredState(
        agent_id=row.agent_id,
        state=row.state,
        since=row.since,
        reason=row.reason,
        pending_reason=row.pending_reason,
        call_id=row.call_id,
        call_queue_id=row.call_queue_id,
        wrap_up_until=row.wrap_up_until,
        queue_ids=tuple(row.queue_ids),
        missed_offers=row.missed_offers,
        calls_today=row.calls_today,
        talk_seconds_today=row.talk_seconds_today,
        last_call_ended_at=row.last_call_ended_at,
    )


async def _state_rows(session: AsyncSession, tenant_id: int) -> dict[int, AgentStateRow]:
    rows = await session.execute(select(AgentStateRow).where(AgentStateRow.tenant_id == tenant_id))
    return {row.agent_id: row for row in rows.scalars()}


async def load_board_rows(session: AsyncSession, tenant_id: int) -> BoardRows:
    """The queues of ``tenant_id`` and its agents with phones, skills, memberships and
    saved states, for the ACD runtime to build (or rebuild) its board from."""
    queues = (
        await session.execute(select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.id))
    ).scalars()
    agents = list(
        (
            await session.execute(
                select(Agent).where(Agent.tenant_id == tenant_id).order_by(Agent.id)
            )
        ).scalars()
    )
    ids = [agent.id for agent in agents]
    skills: dict[int, dict[str, int]] = {ident: {} for ident in ids}
    skill_rows = await session.execute(
        select(AgentSkill.agent_id, Skill.name, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.agent_id.in_(ids))
    )
    for agent_id, name, level in skill_rows:
        skills[agent_id][name] = level
    places: dict[int, dict[int, QueuePlace]] = {ident: {} for ident in ids}
    for m in (
        await session.execute(select(Membership).where(Membership.agent_id.in_(ids)))
    ).scalars():
        places[m.agent_id][m.queue_id] = QueuePlace(m.position, m.penalty)
    states = await _state_rows(session, tenant_id)
    return BoardRows(
        tenant_id=tenant_id,
        queues=tuple(QueueOut.model_validate(queue) for queue in queues),
        agents=tuple(
            BoardAgent(
                agent_id=out.id,
                user_id=out.user_id,
                username=out.username,
                team_id=out.team_id,
                weight=out.weight,
                region=out.region,
                enabled=out.enabled,
                sip_accounts=tuple(out.sip_accounts),
                skills=MappingProxyType(skills[out.id]),
                queues=MappingProxyType(places[out.id]),
                stored=_stored(states[out.id]) if out.id in states else None,
            )
            for out in await agent_outs(session, agents)
        ),
    )


def _shown(state: StoredState) -> tuple[object, ...]:
    """What an :class:`AgentStateChanged` event is about."""
    return (state.state, state.reason, state.pending_reason, state.queue_ids)


async def save_agent_state(
    session: AsyncSession,
    *,
    tenant_id: int,
    state: StoredState,
    node: str = "",
    announce: bool = True,
    origin: str = "api",
) -> bool:
    """Save an agent's state (insert or replace its row); whether the state, reason or
    queues changed.  A change queues an :class:`AgentStateChanged` event naming
    ``origin`` unless ``announce`` is false (the runtime publishes a richer one
    itself)."""
    agent = await get_owned(session, Agent, state.agent_id, tenant_id=tenant_id, what="agent")
    row = await session.get(AgentStateRow, agent.id)
    previous = _write(session, tenant_id, row, state, node)
    changed = previous is None or _shown(previous) != _shown(state)
    if changed and announce:
        out = (await agent_outs(session, [agent]))[0]
        who = AgentIdentity(agent.id, agent.user_id, out.username, agent.team_id)
        queue_event(session, _changed(tenant_id, who, previous, state, origin))
    return changed


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """Who an agent is, as agent-state events name them."""

    agent_id: int
    user_id: int
    username: str
    team_id: int | None


async def save_agent_states(
    session: AsyncSession,
    *,
    tenant_id: int,
    states: Sequence[tuple[AgentIdentity, StoredState]],
    node: str,
    origin: str,
) -> int:
    """Save several agents' states at once (the ACD runtime's batch: one read for all
    of them); each change queues an :class:`AgentStateChanged` event naming ``origin``
    and the agent as the caller knows it.  Agents that are not the tenant's (deleted
    meanwhile) are skipped; how many states were saved."""
    ids = [agent.agent_id for agent, _ in states]
    found = await session.execute(
        select(Agent.id, AgentStateRow)
        .outerjoin(AgentStateRow, AgentStateRow.agent_id == Agent.id)
        .where(Agent.tenant_id == tenant_id, Agent.id.in_(ids))
    )
    rows: dict[int, AgentStateRow | None] = {ident: row for ident, row in found}
    saved = 0
    for agent, state in states:
        if agent.agent_id not in rows:
            continue
        previous = _write(session, tenant_id, rows[agent.agent_id], state, node)
        if previous is None or _shown(previous) != _shown(state):
            queue_event(session, _changed(tenant_id, agent, previous, state, origin))
        saved += 1
    return saved


def _write(
    session: AsyncSession,
    tenant_id: int,
    row: AgentStateRow | None,
    state: StoredState,
    node: str,
) -> StoredState | None:
    """Put ``state`` in the agent's row (a new one if ``row`` is None); the state it held."""
    previous = _stored(row) if row is not None else None
    if row is None:
        row = AgentStateRow(tenant_id=tenant_id, agent_id=state.agent_id, state=state.state)
        session.add(row)
    for name, value in dataclasses.asdict(state).items():
        setattr(row, name, list(value) if name == "queue_ids" else value)
    row.node = node
    return previous


def _changed(
    tenant_id: int,
    agent: AgentIdentity,
    previous: StoredState | None,
    state: StoredState,
    origin: str,
) -> AgentStateChanged:
    return AgentStateChanged(
        tenant_id=tenant_id,
        user_id=agent.user_id,
        agent_id=agent.agent_id,
        username=agent.username,
        team_id=agent.team_id,
        state=state.state.value,
        previous=(previous.state if previous else AgentState.OFFLINE).value,
        reason=state.reason,
        pending_reason=state.pending_reason,
        since=state.since,
        call_id=state.call_id,
        queue_ids=state.queue_ids,
        origin=origin,
    )


async def open_agent_session(
    session: AsyncSession, *, tenant_id: int, agent_id: int, queue_ids: Sequence[int], at: datetime
) -> AgentSession:
    """Log the start of an agent's login (statistics)."""
    entry = AgentSession(
        tenant_id=tenant_id, agent_id=agent_id, login_at=at, queue_ids=list(queue_ids)
    )
    session.add(entry)
    return entry


async def close_agent_sessions(
    session: AsyncSession, *, agent_id: int, at: datetime, reason: str
) -> int:
    """Close an agent's open logins at ``at`` (logout, or recovery after a crash); how
    many were open."""
    result = await session.execute(
        update(AgentSession)
        .where(AgentSession.agent_id == agent_id, AgentSession.logout_at.is_(None))
        .values(logout_at=at, logout_reason=reason)
    )
    return int(getattr(result, "rowcount", 0))


# The API


async def _own_agent(session: AsyncSession, principal: Principal) -> Agent:
    agent = (
        await session.execute(select(Agent).where(Agent.user_id == principal.user_id))
    ).scalar_one_or_none()
    if agent is None or agent.tenant_id != principal.tenant_id:
        raise Forbidden("you have no agent profile", error_id="not_an_agent")
    if not agent.enabled:
        raise Forbidden("your agent profile is disabled", error_id="agent_disabled")
    return agent


async def supervised_agent(session: AsyncSession, *, principal: Principal, agent_id: int) -> Agent:
    """An agent whose state ``principal`` may set: one of a team they supervise, or
    any agent for a tenant admin; 404 for another tenant's, 403 ``not_your_team``."""
    agent = await get_owned(session, Agent, agent_id, tenant_id=principal.tenant_id, what="agent")
    if principal.has(Role.TENANT_ADMIN) or agent.user_id == principal.user_id:
        return agent
    if agent.team_id not in await supervised_team_ids(session, user_id=principal.user_id):
        raise Forbidden("this agent is not in a team you supervise", error_id="not_your_team")
    return agent


async def _current(session: AsyncSession, agent: Agent, now: datetime) -> StoredState:
    row = await session.get(AgentStateRow, agent.id)
    if row is None:
        return StoredState(agent_id=agent.id, state=AgentState.OFFLINE, since=now)
    return _stored(row)


def _view(
    *, agent_id: int, user_id: int, username: str, team_id: int | None, state: StoredState | None
) -> AgentStateOut:
    saved = {} if state is None else dataclasses.asdict(state)
    saved.pop("agent_id", None)
    return AgentStateOut(
        agent_id=agent_id, user_id=user_id, username=username, team_id=team_id, **saved
    )


async def _state_out(session: AsyncSession, agent: Agent, state: StoredState) -> AgentStateOut:
    out = (await agent_outs(session, [agent]))[0]
    return _view(
        agent_id=agent.id,
        user_id=agent.user_id,
        username=out.username,
        team_id=agent.team_id,
        state=state,
    )


async def my_state(session: AsyncSession, *, principal: Principal, now: datetime) -> AgentStateOut:
    """The principal's own agent state."""
    agent = await _own_agent(session, principal)
    return await _state_out(session, agent, await _current(session, agent, now))


def _record(state: StoredState) -> AgentRecord:
    """The state machine's view of a saved state (its clock: POSIX seconds)."""
    return AgentRecord(
        agent_id=str(state.agent_id),
        state=state.state,
        since=state.since.timestamp(),
        reason=state.reason,
        call_id=state.call_id,
        pending_reason=state.pending_reason,
        missed_offers=state.missed_offers,
        wrap_up_until=state.wrap_up_until.timestamp() if state.wrap_up_until else None,
    )


def _apply(
    current: StoredState, event: Login | Logout | Pause | Resume | WrapUpDone, now: datetime
) -> StoredState:
    """``current`` after ``event``, by the ACD state machine; 409 when it is illegal."""
    try:
        new = apply(_record(current), event, now.timestamp()).agent
    except IllegalTransition as exc:
        busy = current.state in BUSY_STATES
        raise Conflict(
            str(exc),
            error_id="agent_busy" if busy else "illegal_transition",
            details={"state": current.state.value, "event": exc.event.value},
        ) from None
    keeps_call = new.call_id is not None or new.state is AgentState.WRAP_UP
    return dataclasses.replace(
        current,
        state=new.state,
        since=current.since if new.state is current.state else now,
        reason=new.reason,
        pending_reason=new.pending_reason,
        call_id=new.call_id,
        call_queue_id=current.call_queue_id if keeps_call else None,
        missed_offers=new.missed_offers,
        wrap_up_until=None if new.wrap_up_until is None else current.wrap_up_until,
    )


async def login(
    session: AsyncSession, *, principal: Principal, data: AgentLogin, now: datetime
) -> AgentStateOut:
    """Log the principal in to ``data.queue_ids`` (default: all their queues); a logged
    out agent becomes available, a logged-in one only changes queues."""
    agent = await _own_agent(session, principal)
    rows = await session.execute(select(Membership.queue_id).where(Membership.agent_id == agent.id))
    member_of = set(rows.scalars())
    wanted = member_of if data.queue_ids is None else set(data.queue_ids)
    if wanted - member_of:
        raise invalid(
            f"you are not a member of queue {min(wanted - member_of)}", "not_a_member", "queue_ids"
        )
    current = await _current(session, agent, now)
    queue_ids = tuple(sorted(wanted))
    new = dataclasses.replace(current, queue_ids=queue_ids)
    if current.state is AgentState.OFFLINE:
        new = _apply(new, Login(), now)
        await open_agent_session(
            session, tenant_id=agent.tenant_id, agent_id=agent.id, queue_ids=queue_ids, at=now
        )
    await save_agent_state(session, tenant_id=agent.tenant_id, state=new)
    return await _state_out(session, agent, new)


async def logout(session: AsyncSession, *, principal: Principal, now: datetime) -> AgentStateOut:
    """Log the principal out of every queue; 409 ``agent_busy`` during a call."""
    agent = await _own_agent(session, principal)
    current = await _current(session, agent, now)
    if current.state is AgentState.OFFLINE:
        return await _state_out(session, agent, current)
    new = dataclasses.replace(_apply(current, Logout(), now), queue_ids=())
    await close_agent_sessions(session, agent_id=agent.id, at=now, reason="logout")
    await save_agent_state(session, tenant_id=agent.tenant_id, state=new)
    return await _state_out(session, agent, new)


async def _event_for(
    session: AsyncSession, agent: Agent, current: StoredState, data: StateChange
) -> Pause | Resume | WrapUpDone | None:
    """The machine event a requested state means (None: nothing to do)."""
    if data.state is AgentState.AVAILABLE:
        if data.reason is not None:
            raise invalid("only not_ready takes a reason", "reason_not_allowed", "reason")
        if current.state is AgentState.AVAILABLE:
            return None
        return WrapUpDone() if current.state is AgentState.WRAP_UP else Resume()
    if data.reason is None:
        raise invalid("not_ready needs a reason code", "reason_required", "reason")
    known = await session.execute(
        select(ReasonCode.id).where(
            ReasonCode.tenant_id == agent.tenant_id, ReasonCode.name == data.reason
        )
    )
    if known.first() is None:
        raise invalid(f"no reason code {data.reason!r}", "unknown_reason", "reason")
    return Pause(data.reason)


async def set_state(
    session: AsyncSession,
    *,
    principal: Principal,
    agent_id: int | None,
    data: StateChange,
    now: datetime,
) -> AgentStateOut:
    """Make an agent available or not ready: the principal itself (``agent_id`` None),
    or an agent of a team the principal supervises (tenant admins: any agent).

    The ACD state machine decides: a pause asked for while a call rings or is taken is
    kept pending until it is over, ``available`` ends wrap-up early, and a logged-out
    agent cannot change (409 ``illegal_transition``)."""
    if agent_id is None:
        agent = await _own_agent(session, principal)
    else:
        agent = await supervised_agent(session, principal=principal, agent_id=agent_id)
    current = await _current(session, agent, now)
    event = await _event_for(session, agent, current, data)
    if event is None:
        return await _state_out(session, agent, current)
    new = _apply(current, event, now)
    await save_agent_state(session, tenant_id=agent.tenant_id, state=new)
    return await _state_out(session, agent, new)


# Real time


@runtime_checkable
class RealtimeProvider(Protocol):
    """Where ``GET /acd/realtime`` gets its figures from."""

    async def realtime(
        self, session: AsyncSession, *, tenant_id: int, now: datetime
    ) -> RealtimeOut:
        """The live state of ``tenant_id``'s queues and agents."""
        ...


class StoredRealtime:
    """The real-time view from the saved agent states (no waiting callers known)."""

    async def realtime(
        self, session: AsyncSession, *, tenant_id: int, now: datetime
    ) -> RealtimeOut:
        """Queues with their logged-in and available agents; every agent's state."""
        board = await load_board_rows(session, tenant_id)
        agents = [
            _view(
                agent_id=agent.agent_id,
                user_id=agent.user_id,
                username=agent.username,
                team_id=agent.team_id,
                state=agent.stored,
            )
            for agent in board.agents
        ]
        queues = []
        for queue in board.queues:
            logged_in = [a for a in agents if queue.id in a.queue_ids]
            queues.append(
                QueueRealtime(
                    queue_id=queue.id,
                    name=queue.name,
                    agents_logged_in=len(logged_in),
                    agents_available=sum(a.state is AgentState.AVAILABLE for a in logged_in),
                )
            )
        return RealtimeOut(at=now, source="stored", queues=queues, agents=agents)


class LiveRealtime:
    """The real-time view from the ACD runtime's snapshot (the saved states when this
    node does not run the tenant's distributor)."""

    def __init__(self, live: LiveAcd) -> None:
        self.live = live

    async def realtime(
        self, session: AsyncSession, *, tenant_id: int, now: datetime
    ) -> RealtimeOut:
        """Queues with their waiting callers and agents, every agent's live state."""
        snap = await self.live.snapshot(tenant_id)
        if snap is None:
            return await StoredRealtime().realtime(session, tenant_id=tenant_id, now=now)
        return realtime_view(snap)


def realtime_view(snap: AcdSnapshot) -> RealtimeOut:
    """The API's view of a runtime snapshot."""
    queues = [
        QueueRealtime(
            queue_id=q.queue_id,
            name=q.name,
            waiting=q.waiting,
            longest_wait_seconds=round(q.longest_wait_seconds, 3),
            callbacks_pending=q.callbacks_pending,
            offering=q.offering,
            agents_logged_in=q.agents_logged_in,
            agents_available=q.agents_available,
            agents_busy=q.agents_busy,
            expected_wait_seconds=q.expected_wait_seconds,
            callers=[
                WaitingCaller(
                    call_id=c.call_id,
                    position=c.position,
                    joined_at=c.joined_at,
                    waited_seconds=round(c.waited_seconds, 3),
                    priority=c.priority,
                    customer_type=c.customer_type,
                    callback=c.callback,
                )
                for c in q.callers
            ],
        )
        for q in snap.queues
    ]
    agents = [
        AgentStateOut(
            agent_id=a.agent_id,
            user_id=a.user_id,
            username=a.username,
            team_id=a.team_id,
            state=a.state,
            since=a.since,
            reason=a.reason,
            call_id=a.call_id,
            queue_ids=list(a.queue_ids),
            missed_offers=a.missed_offers,
            calls_today=a.calls_today,
            talk_seconds_today=a.talk_seconds_today,
            last_call_ended_at=a.last_call_ended_at,
        )
        for a in snap.agents
    ]
    return RealtimeOut(at=snap.at, source="runtime", node=snap.node, queues=queues, agents=agents)


def realtime_provider(runtime: Runtime) -> RealtimeProvider:
    """The ACD runtime if it registered as the ``acd`` listener, else the saved states."""
    live = live_acd(runtime)
    return StoredRealtime() if live is None else LiveRealtime(live)


async def realtime(
    session: AsyncSession, *, principal: Principal, provider: RealtimeProvider, now: datetime
) -> RealtimeOut:
    """The provider's view of the principal's tenant; a supervisor sees the agents of
    the teams they supervise (tenant admins see every agent)."""
    view = await provider.realtime(session, tenant_id=principal.tenant_id, now=now)
    if principal.has(Role.TENANT_ADMIN):
        return view
    teams = await supervised_team_ids(session, user_id=principal.user_id)
    agents = [a for a in view.agents if a.team_id in teams or a.user_id == principal.user_id]
    return view.model_copy(update={"agents": agents})
