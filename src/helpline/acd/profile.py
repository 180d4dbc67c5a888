"""The signed-in agent's own profile: team, queues, skills and phones.

Agents cannot read ``/agents/{id}`` (supervisors only), so ``GET /agents/me`` gathers
what the desktop and the "My settings" dialog show them about themselves.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd import service
from helpline.acd.models import Agent, Team
from helpline.acd.schemas import MembershipOut
from helpline.auth.principal import Principal
from helpline.core.errors import NotFound


class TeamRef(BaseModel):
    """The agent's team."""

    id: int
    name: str


class AgentProfileOut(BaseModel):
    """The caller's agent profile."""

    id: int
    user_id: int
    username: str
    display_name: str
    enabled: bool
    region: str
    team: TeamRef | None
    queues: list[MembershipOut]
    skills: dict[str, int]
    sip_accounts: list[str]


async def agent_of(session: AsyncSession, principal: Principal) -> Agent | None:
    """The signed-in user's agent profile, if they have one."""
    return (
        await session.execute(
            select(Agent).where(
                Agent.user_id == principal.user_id, Agent.tenant_id == principal.tenant_id
            )
        )
    ).scalar_one_or_none()


async def my_profile(session: AsyncSession, *, principal: Principal) -> AgentProfileOut:
    """The principal's agent profile; 404 ``not_an_agent`` for a user without one."""
    agent = await agent_of(session, principal)
    if agent is None:
        raise NotFound("you have no agent profile", error_id="not_an_agent")
    out = (await service.agent_outs(session, [agent]))[0]
    team = await session.get(Team, agent.team_id) if agent.team_id is not None else None
    tenant_id = principal.tenant_id
    return AgentProfileOut(
        id=agent.id,
        user_id=agent.user_id,
        username=out.username,
        display_name=out.display_name,
        enabled=agent.enabled,
        region=agent.region,
        team=TeamRef(id=team.id, name=team.name) if team is not None else None,
        queues=await service.get_memberships(session, tenant_id=tenant_id, agent_id=agent.id),
        skills=(
            await service.get_agent_skills(session, tenant_id=tenant_id, agent_id=agent.id)
        ).skills,
        sip_accounts=out.sip_accounts,
    )
