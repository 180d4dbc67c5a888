"""Real-time statistics: each queue and agent now, with today's figures.

Theory of operation: what is happening now comes from the ACD's real-time provider
(:func:`helpline.acd.presence.realtime_provider`): the ACD runtime when it registered
as the ``acd`` listener (waiting callers, longest wait), else the agent states saved
in the database (no waiting callers known). Today's figures (offered, answered,
service level, ASA, AHT, calls per agent) are the historical report of the tenant's
local day so far, per queue and per agent, read from the day's call records (a day is
small; the rollup is left to the historical reports). A supervisor sees the agents of
the teams they supervise, a tenant admin every agent; queue figures count every agent.
An agent's calls are found under the name call records give them, their phone's SIP
account (:mod:`helpline.stats.agents`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.presence import RealtimeProvider
from helpline.acd.service import supervised_team_ids
from helpline.acd.state import AgentState
from helpline.auth.principal import Principal
from helpline.stats.agents import agent_names
from helpline.stats.history import Request, call_figures, derive
from helpline.stats.models import Dimension
from helpline.stats.periods import Granularity, make_period
from helpline.stats.schemas import AgentLive, LiveStats, QueueLive
from helpline.users.models import Role


async def live_stats(
    session: AsyncSession,
    *,
    principal: Principal,
    provider: RealtimeProvider,
    zone: ZoneInfo,
    now: datetime,
) -> LiveStats:
    """Queues and agents of the principal's tenant now, with today's figures."""
    tenant_id = principal.tenant_id
    view = await provider.realtime(session, tenant_id=tenant_id, now=now)
    today = now.astimezone(zone).date()
    period = make_period(zone, Granularity.DAY, today, today)
    per_queue = await call_figures(
        session,
        Request(tenant_id=tenant_id, period=period, dimension=Dimension.QUEUE),
        now=now,
        use_rollup=False,
    )
    per_agent = await call_figures(
        session,
        Request(tenant_id=tenant_id, period=period, dimension=Dimension.AGENT),
        now=now,
        use_rollup=False,
    )
    queues = []
    for queue in view.queues:
        states = Counter(
            agent.state
            for agent in view.agents
            if queue.queue_id in agent.queue_ids and agent.state is not AgentState.OFFLINE
        )
        today_figures = derive(per_queue.get((0, queue.name), {}))
        queues.append(
            QueueLive(
                queue_id=queue.queue_id,
                name=queue.name,
                waiting=queue.waiting,
                longest_wait_seconds=queue.longest_wait_seconds,
                agents_logged_in=sum(states.values()),
                agents_available=states[AgentState.AVAILABLE],
                agents_reserved=states[AgentState.RESERVED],
                agents_on_call=states[AgentState.ON_CALL],
                agents_wrap_up=states[AgentState.WRAP_UP],
                agents_not_ready=states[AgentState.NOT_READY],
                offered_today=today_figures["offered"],
                answered_today=today_figures["answered"],
                abandoned_today=today_figures["abandoned"],
                short_abandoned_today=today_figures["short_abandoned"],
                callbacks_today=today_figures["callbacks"],
                service_level_today=today_figures["service_level"],
                asa_seconds_today=today_figures["asa_seconds"],
                aht_seconds_today=today_figures["aht_seconds"],
                longest_wait_today_seconds=today_figures["longest_wait_seconds"],
            )
        )
    teams = (
        None
        if principal.has(Role.TENANT_ADMIN)
        else await supervised_team_ids(session, user_id=principal.user_id)
    )
    names = await agent_names(session, tenant_id=tenant_id)
    agents = []
    for agent in view.agents:
        if teams is not None and agent.team_id not in teams and agent.user_id != principal.user_id:
            continue
        mine = derive(per_agent.get((0, names.get(agent.user_id, agent.username)), {}))
        agents.append(
            AgentLive(
                agent_id=agent.agent_id,
                username=agent.username,
                team_id=agent.team_id,
                state=agent.state,
                reason=agent.reason,
                since=agent.since,
                seconds_in_state=(
                    round(max(0.0, (now - agent.since).total_seconds()), 1)
                    if agent.since is not None
                    else None
                ),
                calls_today=mine["answered"],
                talk_seconds_today=mine["talk_seconds"],
                handle_seconds_today=mine["handle_seconds"],
                aht_seconds_today=mine["aht_seconds"],
                transfers_today=mine["transfers"],
            )
        )
    return LiveStats(at=now, source=view.source, queues=queues, agents=agents)
