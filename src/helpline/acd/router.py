"""HTTP routes for the ACD: queues, skills, reason codes, teams and agent profiles
(supervisors read, tenant admins write), agents' own login, logout and state, the
supervisor's control of their teams' agents, the real-time view and the callback
requests that keep callers' places."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from helpline.acd import callback_store, presence, profile, service
from helpline.acd.callback import CallbackState
from helpline.acd.schemas import (
    AgentCreate,
    AgentLogin,
    AgentOut,
    AgentStateOut,
    AgentUpdate,
    CallbackOut,
    MembershipOut,
    MembershipsPut,
    QueueCreate,
    QueueOut,
    QueueUpdate,
    RealtimeOut,
    ReasonCodeCreate,
    ReasonCodeOut,
    ReasonCodeUpdate,
    SkillCreate,
    SkillOut,
    SkillsOut,
    SkillsPut,
    SkillUpdate,
    StateChange,
    TeamCreate,
    TeamOut,
    TeamUpdate,
)
from helpline.api.deps import AnyUser, Db, Supervisor, TenantAdmin, get_runtime
from helpline.core.pagination import Page, PageParams
from helpline.db.base import utcnow

router = APIRouter(tags=["acd"])
Params = Annotated[PageParams, Query()]


@router.get("/queues", response_model=Page[QueueOut])
async def list_queues(
    db: Db, principal: Supervisor, params: Params, name: str | None = None
) -> object:
    """Queues of the tenant."""
    items, total = await service.list_queues(db, principal=principal, params=params, name=name)
    return Page[QueueOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/queues", response_model=QueueOut, status_code=status.HTTP_201_CREATED)
async def create_queue(data: QueueCreate, db: Db, principal: TenantAdmin) -> object:
    """A new queue; 409 ``queue_name_taken`` when the tenant has one of that name."""
    return await service.create_queue(db, tenant_id=principal.tenant_id, actor=principal, data=data)


@router.get("/queues/{queue_id}", response_model=QueueOut)
async def get_queue(queue_id: int, db: Db, principal: Supervisor) -> object:
    """One queue."""
    return await service.get_queue(db, principal=principal, queue_id=queue_id)


@router.patch("/queues/{queue_id}", response_model=QueueOut)
async def update_queue(queue_id: int, data: QueueUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change a queue; omitted fields stay."""
    return await service.update_queue(db, principal=principal, queue_id=queue_id, data=data)


@router.delete("/queues/{queue_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_queue(queue_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a queue; 409 ``queue_in_use`` while another queue sends callers to it."""
    await service.delete_queue(db, principal=principal, queue_id=queue_id)


@router.get("/skills", response_model=Page[SkillOut])
async def list_skills(
    db: Db, principal: Supervisor, params: Params, name: str | None = None
) -> object:
    """Skills of the tenant."""
    items, total = await service.list_skills(db, principal=principal, params=params, name=name)
    return Page[SkillOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/skills", response_model=SkillOut, status_code=status.HTTP_201_CREATED)
async def create_skill(data: SkillCreate, db: Db, principal: TenantAdmin) -> object:
    """A new skill."""
    return await service.create_skill(db, tenant_id=principal.tenant_id, actor=principal, data=data)


@router.get("/skills/{skill_id}", response_model=SkillOut)
async def get_skill(skill_id: int, db: Db, principal: Supervisor) -> object:
    """One skill."""
    return await service.get_skill(db, principal=principal, skill_id=skill_id)


@router.patch("/skills/{skill_id}", response_model=SkillOut)
async def update_skill(skill_id: int, data: SkillUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change a skill; a new name follows into every queue's requirements."""
    return await service.update_skill(db, principal=principal, skill_id=skill_id, data=data)


@router.delete("/skills/{skill_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_skill(skill_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a skill; 409 ``skill_in_use`` while a queue requires it."""
    await service.delete_skill(db, principal=principal, skill_id=skill_id)


@router.get("/reason-codes", response_model=Page[ReasonCodeOut])
async def list_reason_codes(
    db: Db, principal: AnyUser, params: Params, name: str | None = None
) -> object:
    """Not-ready reasons of the tenant (every user reads them)."""
    items, total = await service.list_reason_codes(
        db, principal=principal, params=params, name=name
    )
    return Page[ReasonCodeOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/reason-codes", response_model=ReasonCodeOut, status_code=status.HTTP_201_CREATED)
async def create_reason_code(data: ReasonCodeCreate, db: Db, principal: TenantAdmin) -> object:
    """A new not-ready reason."""
    return await service.create_reason_code(
        db, tenant_id=principal.tenant_id, actor=principal, data=data
    )


@router.get("/reason-codes/{reason_code_id}", response_model=ReasonCodeOut)
async def get_reason_code(reason_code_id: int, db: Db, principal: AnyUser) -> object:
    """One not-ready reason."""
    return await service.get_reason_code(db, principal=principal, reason_code_id=reason_code_id)


@router.patch("/reason-codes/{reason_code_id}", response_model=ReasonCodeOut)
async def update_reason_code(
    reason_code_id: int, data: ReasonCodeUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change a not-ready reason."""
    return await service.update_reason_code(
        db, principal=principal, reason_code_id=reason_code_id, data=data
    )


@router.delete("/reason-codes/{reason_code_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_reason_code(reason_code_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a not-ready reason."""
    await service.delete_reason_code(db, principal=principal, reason_code_id=reason_code_id)


@router.get("/teams", response_model=Page[TeamOut])
async def list_teams(
    db: Db, principal: Supervisor, params: Params, name: str | None = None
) -> object:
    """Teams of the tenant with their supervisors."""
    items, total = await service.list_teams(db, principal=principal, params=params, name=name)
    return Page[TeamOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED)
async def create_team(data: TeamCreate, db: Db, principal: TenantAdmin) -> object:
    """A new team."""
    return await service.create_team(db, tenant_id=principal.tenant_id, actor=principal, data=data)


@router.get("/teams/{team_id}", response_model=TeamOut)
async def get_team(team_id: int, db: Db, principal: Supervisor) -> object:
    """One team."""
    return await service.get_team(db, principal=principal, team_id=team_id)


@router.patch("/teams/{team_id}", response_model=TeamOut)
async def update_team(team_id: int, data: TeamUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change a team; ``supervisor_ids`` replaces its supervisors."""
    return await service.update_team(db, principal=principal, team_id=team_id, data=data)


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_team(team_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a team; its agents stay without a team."""
    await service.delete_team(db, principal=principal, team_id=team_id)


@router.get("/agents", response_model=Page[AgentOut])
async def list_agents(
    db: Db,
    principal: Supervisor,
    params: Params,
    team_id: int | None = None,
    enabled: bool | None = None,
) -> object:
    """Agent profiles of the tenant."""
    items, total = await service.list_agents(
        db, principal=principal, params=params, team_id=team_id, enabled=enabled
    )
    return Page[AgentOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/agents", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
async def create_agent(data: AgentCreate, db: Db, principal: TenantAdmin) -> object:
    """The agent profile of a user with the agent or supervisor role."""
    agent = await service.create_agent(
        db, tenant_id=principal.tenant_id, actor=principal, data=data
    )
    return (await service.agent_outs(db, [agent]))[0]


@router.get("/agents/me", response_model=profile.AgentProfileOut)
async def my_profile(db: Db, principal: AnyUser) -> object:
    """The caller's agent profile (team, queues, skills, SIP accounts); 404
    ``not_an_agent`` without one."""
    return await profile.my_profile(db, principal=principal)


@router.get("/agents/me/state", response_model=AgentStateOut)
async def my_state(db: Db, principal: AnyUser) -> object:
    """The caller's agent state; 403 ``not_an_agent`` without an agent profile."""
    return await presence.my_state(db, principal=principal, now=utcnow())


@router.put("/agents/me/state", response_model=AgentStateOut)
async def set_my_state(data: StateChange, db: Db, principal: AnyUser) -> object:
    """Become available or not ready (with a reason code); 409 ``agent_busy`` during a
    call, 409 ``illegal_transition`` when logged out."""
    return await presence.set_state(db, principal=principal, agent_id=None, data=data, now=utcnow())


@router.post("/agents/me/login", response_model=AgentStateOut)
async def login(db: Db, principal: AnyUser, data: AgentLogin | None = None) -> object:
    """Log in to some of one's queues (all without ``queue_ids``) and become available."""
    return await presence.login(db, principal=principal, data=data or AgentLogin(), now=utcnow())


@router.post("/agents/me/logout", response_model=AgentStateOut)
async def logout(db: Db, principal: AnyUser) -> object:
    """Log out of every queue; 409 ``agent_busy`` while a call rings or is taken."""
    return await presence.logout(db, principal=principal, now=utcnow())


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: int, db: Db, principal: Supervisor) -> object:
    """One agent profile."""
    return await service.get_agent(db, principal=principal, agent_id=agent_id)


@router.patch("/agents/{agent_id}", response_model=AgentOut)
async def update_agent(agent_id: int, data: AgentUpdate, db: Db, principal: TenantAdmin) -> object:
    """Change an agent profile."""
    return await service.update_agent(db, principal=principal, agent_id=agent_id, data=data)


@router.delete("/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(agent_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove an agent profile; the user stays."""
    await service.delete_agent(db, principal=principal, agent_id=agent_id)


@router.get("/agents/{agent_id}/memberships", response_model=list[MembershipOut])
async def get_memberships(agent_id: int, db: Db, principal: Supervisor) -> object:
    """The agent's queues."""
    return await service.get_memberships(db, tenant_id=principal.tenant_id, agent_id=agent_id)


@router.put("/agents/{agent_id}/memberships", response_model=list[MembershipOut])
async def put_memberships(
    agent_id: int, data: MembershipsPut, db: Db, principal: TenantAdmin
) -> object:
    """Replace the agent's queues."""
    return await service.put_memberships(
        db, tenant_id=principal.tenant_id, actor=principal, agent_id=agent_id, data=data
    )


@router.get("/agents/{agent_id}/skills", response_model=SkillsOut)
async def get_agent_skills(agent_id: int, db: Db, principal: Supervisor) -> object:
    """The agent's skills."""
    return await service.get_agent_skills(db, tenant_id=principal.tenant_id, agent_id=agent_id)


@router.put("/agents/{agent_id}/skills", response_model=SkillsOut)
async def put_agent_skills(
    agent_id: int, data: SkillsPut, db: Db, principal: TenantAdmin
) -> object:
    """Replace the agent's skills; 422 ``unknown_skill`` names a missing one."""
    return await service.put_agent_skills(
        db, tenant_id=principal.tenant_id, actor=principal, agent_id=agent_id, data=data
    )


async def _supervised(agent_id: int, db: Db, principal: Supervisor) -> int:
    """The path's agent, checked before the body so that a foreign one is a 404."""
    await presence.supervised_agent(db, principal=principal, agent_id=agent_id)
    return agent_id


@router.put("/agents/{agent_id}/state", response_model=AgentStateOut)
async def set_agent_state(
    agent_id: Annotated[int, Depends(_supervised)],
    data: StateChange,
    db: Db,
    principal: Supervisor,
) -> object:
    """Make an agent of a team one supervises available or not ready; 403
    ``not_your_team`` for other agents (tenant admins may set any agent's state)."""
    return await presence.set_state(
        db, principal=principal, agent_id=agent_id, data=data, now=utcnow()
    )


@router.get("/acd/realtime", response_model=RealtimeOut)
async def realtime(request: Request, db: Db, principal: Supervisor) -> object:
    """Live state of the tenant's queues and agents (a supervisor sees their teams)."""
    provider = presence.realtime_provider(get_runtime(request))
    return await presence.realtime(db, principal=principal, provider=provider, now=utcnow())


@router.get("/acd/callbacks", response_model=Page[CallbackOut])
async def list_callbacks(
    db: Db,
    principal: Supervisor,
    params: Params,
    state: CallbackState | None = None,
    queue_id: int | None = None,
) -> object:
    """Callback requests of the tenant, newest first (filter by ``state``, ``queue_id``)."""
    items, total = await callback_store.list_callbacks(
        db, principal=principal, params=params, state=state, queue_id=queue_id
    )
    return Page[CallbackOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/acd/callbacks/{callback_id}", response_model=CallbackOut)
async def get_callback(callback_id: int, db: Db, principal: Supervisor) -> object:
    """One callback request."""
    return await callback_store.get_callback(db, principal=principal, callback_id=callback_id)


@router.post("/acd/callbacks/{callback_id}/cancel", response_model=CallbackOut)
async def cancel_callback(callback_id: int, db: Db, principal: Supervisor) -> object:
    """Cancel a pending callback (the caller loses their place); 409
    ``callback_in_progress`` while the caller is being called, ``callback_finished``
    once it is over."""
    return await callback_store.cancel_callback(db, principal=principal, callback_id=callback_id)
