"""ACD configuration: queues, skills, teams, reason codes, agent profiles with their
queue memberships and skills.

Every API function takes the tenant from the principal (the demo loader passes a tenant
and no actor) and checks, on the whole object after every change, what no single field
can: names are free in the tenant, a fallback or overflow queue, a voicemail box, a
skill, a team or a user exists in the same tenant.  Queues and skills are referred to by
name inside queue settings (as routing's queue targets are), so renaming a skill renames
it in every queue's requirements, and a queue or skill still referred to cannot be
deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from helpline.acd.models import (
    Agent,
    AgentSkill,
    Membership,
    Queue,
    ReasonCode,
    Skill,
    Team,
    TeamSupervisor,
)
from helpline.acd.schemas import (
    AGENT_NULLABLE,
    QUEUE_NULLABLE,
    AgentCreate,
    AgentOut,
    AgentUpdate,
    MembershipOut,
    MembershipsPut,
    OverflowStage,
    QueueCreate,
    QueueUpdate,
    ReasonCodeCreate,
    ReasonCodeUpdate,
    SkillCreate,
    SkillsOut,
    SkillsPut,
    SkillUpdate,
    TeamCreate,
    TeamOut,
    TeamUpdate,
)
from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.routing.schedule import QueueTarget, VoicemailTarget
from helpline.users.models import Role, SipAccount, User
from helpline.voicemail.models import VoicemailBox

QUEUE_AUDITED = tuple(QueueCreate.model_fields)
SKILL_AUDITED = ("name", "description")
TEAM_AUDITED = ("name", "description")
REASON_AUDITED = ("name", "labels")
AGENT_AUDITED = ("user_id", "team_id", "weight", "region", "enabled")
_JSON_FIELDS = {"fallback", "overflow", "labels", "customer_priority"}

_Named = TypeVar("_Named", Queue, Skill, Team, ReasonCode)
_Row = Queue | Skill | Team | ReasonCode | Agent
_ENTITY: dict[type[Any], str] = {
    Queue: "queue",
    Skill: "skill",
    Team: "team",
    ReasonCode: "reason_code",
    Agent: "agent",
}


def invalid(message: str, error_id: str, field: str) -> ApiError:
    """A 422 naming the field whose value refers to something that is not there."""
    return ApiError(message, error_id=error_id, status_code=422, details={"field": field})


def _columns(data: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    """Column values of a schema: JSON columns as JSON-ready dicts and lists."""
    values = data.model_dump(exclude_unset=exclude_unset)
    json_ready = data.model_dump(mode="json", exclude_unset=exclude_unset, include=_JSON_FIELDS)
    return {**values, **json_ready}


async def _log(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    obj: _Row,
    fields: tuple[str, ...],
    before: dict[str, Any] | None = None,
) -> None:
    await audit.log_change(
        session,
        actor=actor,
        tenant_id=obj.tenant_id,
        action=action,
        entity=_ENTITY[type(obj)],
        obj=obj,
        fields=fields,
        before=before,
    )


async def _delete(
    session: AsyncSession, principal: Principal, obj: _Row, fields: tuple[str, ...]
) -> None:
    await audit.delete_logged(
        session, actor=principal, entity=_ENTITY[type(obj)], obj=obj, fields=fields
    )


async def _get(
    session: AsyncSession, model: type[_Named], principal: Principal, ident: int
) -> _Named:
    return await get_owned(
        session, model, ident, tenant_id=principal.tenant_id, what=_ENTITY[model].replace("_", " ")
    )


async def _name_free(session: AsyncSession, obj: _Named) -> None:
    model = type(obj)
    stmt = select(model.id).where(model.tenant_id == obj.tenant_id, model.name == obj.name)
    if obj.id is not None:
        stmt = stmt.where(model.id != obj.id)
    with session.no_autoflush:
        taken = (await session.execute(stmt.limit(1))).first() is not None
    if taken:
        what = _ENTITY[model]
        raise Conflict(f"{what} {obj.name!r} exists", error_id=f"{what}_name_taken")


async def _list_named(
    session: AsyncSession,
    model: type[_Named],
    *,
    principal: Principal,
    params: PageParams,
    name: str | None,
) -> tuple[list[_Named], int]:
    return await paginate(
        session,
        select(model).where(model.tenant_id == principal.tenant_id),
        params,
        sortable={"id": model.id, "name": model.name, "created_at": model.created_at},
        filters={"name": (model.name, name)},
        default_sort=(model.name, model.id),
    )


async def _names(
    session: AsyncSession, column: InstrumentedAttribute[str], *where: ColumnElement[bool]
) -> set[str]:
    return set((await session.execute(select(column).where(*where))).scalars())


# Queues


def _queue_refs(queue: Queue) -> set[str]:
    """Names of the other queues ``queue`` sends callers to."""
    refs = {name for stage in queue.overflow for name in stage.get("add_queues", ())}
    if queue.fallback and queue.fallback.get("kind") == "queue":
        refs.add(queue.fallback["queue"])
    return refs


async def _check_queue(session: AsyncSession, queue: Queue) -> None:
    with session.no_autoflush:
        await _check_queue_refs(session, queue)
    await _name_free(session, queue)


async def _check_queue_refs(session: AsyncSession, queue: Queue) -> None:
    if queue.periodic_interval and not queue.periodic_prompt:
        raise invalid(
            "a periodic message needs periodic_prompt", "queue_prompt_missing", "periodic_prompt"
        )
    known = await _names(
        session, Queue.name, Queue.tenant_id == queue.tenant_id, Queue.name != queue.name
    )
    fallback = queue.fallback or {}
    if fallback.get("kind") == "queue":
        target = QueueTarget.model_validate(fallback)
        if target.queue == queue.name:
            raise invalid("a queue cannot fall back to itself", "queue_loop", "fallback.queue")
        if target.queue not in known:
            raise invalid(f"no queue {target.queue!r}", "unknown_queue", "fallback.queue")
    if fallback.get("kind") == "voicemail":
        box = await session.get(VoicemailBox, VoicemailTarget.model_validate(fallback).box_id)
        if box is None or box.tenant_id != queue.tenant_id:
            raise invalid("no such voicemail box", "unknown_voicemail_box", "fallback.box_id")
    for index, stage in enumerate(OverflowStage.model_validate(s) for s in queue.overflow):
        unknown = sorted(set(stage.add_queues) - known)
        if unknown:
            raise invalid(
                f"no queue {unknown[0]!r}", "unknown_queue", f"overflow.{index}.add_queues"
            )
        await _known_skills(
            session, queue.tenant_id, stage.drop_skills, f"overflow.{index}.drop_skills"
        )
    await _known_skills(session, queue.tenant_id, queue.required_skills, "required_skills")


async def _known_skills(
    session: AsyncSession, tenant_id: int, wanted: Iterable[str], field: str
) -> dict[str, int]:
    """Skill ids by name for ``wanted``; 422 ``unknown_skill`` names a missing one."""
    wanted = set(wanted)
    rows = await session.execute(
        select(Skill.name, Skill.id).where(Skill.tenant_id == tenant_id, Skill.name.in_(wanted))
    )
    found: dict[str, int] = {name: ident for name, ident in rows}
    missing = sorted(wanted - set(found))
    if missing:
        raise invalid(f"no skill {missing[0]!r}", "unknown_skill", field)
    return found


async def list_queues(
    session: AsyncSession, *, principal: Principal, params: PageParams, name: str | None
) -> tuple[list[Queue], int]:
    """The queues of the principal's tenant, by name unless ``sort`` says otherwise."""
    return await _list_named(session, Queue, principal=principal, params=params, name=name)


async def get_queue(session: AsyncSession, *, principal: Principal, queue_id: int) -> Queue:
    """A queue of the principal's tenant."""
    return await _get(session, Queue, principal, queue_id)


async def create_queue(
    session: AsyncSession, *, tenant_id: int, actor: Principal | None, data: QueueCreate
) -> Queue:
    """A new queue of ``tenant_id`` (the actor's tenant)."""
    queue = Queue(tenant_id=tenant_id, **_columns(data))
    await _check_queue(session, queue)
    session.add(queue)
    await _log(session, actor, "create", queue, QUEUE_AUDITED)
    return queue


async def update_queue(
    session: AsyncSession, *, principal: Principal, queue_id: int, data: QueueUpdate
) -> Queue:
    """Change a queue of the principal's tenant; the whole queue is checked again."""
    queue = await get_queue(session, principal=principal, queue_id=queue_id)
    before = audit.snapshot(queue, QUEUE_AUDITED)
    audit.apply_changes(queue, _columns(data, exclude_unset=True), nullable=QUEUE_NULLABLE)
    await _check_queue(session, queue)
    await _log(session, principal, "update", queue, QUEUE_AUDITED, before)
    return queue


async def delete_queue(session: AsyncSession, *, principal: Principal, queue_id: int) -> None:
    """Remove a queue that no other queue falls back or overflows to."""
    queue = await get_queue(session, principal=principal, queue_id=queue_id)
    others = await session.execute(
        select(Queue).where(Queue.tenant_id == queue.tenant_id, Queue.id != queue.id)
    )
    users = sorted(other.name for other in others.scalars() if queue.name in _queue_refs(other))
    if users:
        raise Conflict(
            f"queue {users[0]!r} sends callers to this queue",
            error_id="queue_in_use",
            details={"queues": users},
        )
    await _delete(session, principal, queue, QUEUE_AUDITED)


# Skills


async def list_skills(
    session: AsyncSession, *, principal: Principal, params: PageParams, name: str | None
) -> tuple[list[Skill], int]:
    """The skills of the principal's tenant."""
    return await _list_named(session, Skill, principal=principal, params=params, name=name)


async def get_skill(session: AsyncSession, *, principal: Principal, skill_id: int) -> Skill:
    """A skill of the principal's tenant."""
    return await _get(session, Skill, principal, skill_id)


async def create_skill(
    session: AsyncSession, *, tenant_id: int, actor: Principal | None, data: SkillCreate
) -> Skill:
    """A new skill of ``tenant_id``."""
    skill = Skill(tenant_id=tenant_id, **data.model_dump())
    await _name_free(session, skill)
    session.add(skill)
    await _log(session, actor, "create", skill, SKILL_AUDITED)
    return skill


def _dropped(queue: Queue) -> set[str]:
    return {name for stage in queue.overflow for name in stage.get("drop_skills", ())}


async def _queues_requiring(session: AsyncSession, tenant_id: int, skill: str) -> list[Queue]:
    rows = await session.execute(select(Queue).where(Queue.tenant_id == tenant_id))
    return [q for q in rows.scalars() if skill in q.required_skills or skill in _dropped(q)]


async def update_skill(
    session: AsyncSession, *, principal: Principal, skill_id: int, data: SkillUpdate
) -> Skill:
    """Change a skill; a new name replaces the old one in every queue's requirements."""
    skill = await get_skill(session, principal=principal, skill_id=skill_id)
    before = audit.snapshot(skill, SKILL_AUDITED)
    old_name = skill.name
    audit.apply_changes(skill, data.model_dump(exclude_unset=True))
    await _name_free(session, skill)
    if skill.name != old_name:
        for queue in await _queues_requiring(session, skill.tenant_id, old_name):
            levels = dict(queue.required_skills)
            if old_name in levels:
                levels[skill.name] = levels.pop(old_name)
            queue.required_skills = levels
            queue.overflow = [
                {
                    **stage,
                    "drop_skills": [
                        skill.name if name == old_name else name
                        for name in stage.get("drop_skills", ())
                    ],
                }
                for stage in queue.overflow
            ]
    await _log(session, principal, "update", skill, SKILL_AUDITED, before)
    return skill


async def delete_skill(session: AsyncSession, *, principal: Principal, skill_id: int) -> None:
    """Remove a skill (and every agent's proficiency in it) that no queue requires."""
    skill = await get_skill(session, principal=principal, skill_id=skill_id)
    queues = await _queues_requiring(session, skill.tenant_id, skill.name)
    if queues:
        raise Conflict(
            f"queue {queues[0].name!r} requires this skill",
            error_id="skill_in_use",
            details={"queues": sorted(q.name for q in queues)},
        )
    await _delete(session, principal, skill, SKILL_AUDITED)


# Reason codes


async def list_reason_codes(
    session: AsyncSession, *, principal: Principal, params: PageParams, name: str | None
) -> tuple[list[ReasonCode], int]:
    """The not-ready reasons of the principal's tenant (agents read them too)."""
    return await _list_named(session, ReasonCode, principal=principal, params=params, name=name)


async def get_reason_code(
    session: AsyncSession, *, principal: Principal, reason_code_id: int
) -> ReasonCode:
    """A not-ready reason of the principal's tenant."""
    return await _get(session, ReasonCode, principal, reason_code_id)


async def create_reason_code(
    session: AsyncSession, *, tenant_id: int, actor: Principal | None, data: ReasonCodeCreate
) -> ReasonCode:
    """A new not-ready reason of ``tenant_id``."""
    code = ReasonCode(tenant_id=tenant_id, **_columns(data))
    await _name_free(session, code)
    session.add(code)
    await _log(session, actor, "create", code, REASON_AUDITED)
    return code


async def update_reason_code(
    session: AsyncSession, *, principal: Principal, reason_code_id: int, data: ReasonCodeUpdate
) -> ReasonCode:
    """Change a not-ready reason (agents not ready for it keep the old name)."""
    code = await get_reason_code(session, principal=principal, reason_code_id=reason_code_id)
    before = audit.snapshot(code, REASON_AUDITED)
    audit.apply_changes(code, _columns(data, exclude_unset=True))
    await _name_free(session, code)
    await _log(session, principal, "update", code, REASON_AUDITED, before)
    return code


async def delete_reason_code(
    session: AsyncSession, *, principal: Principal, reason_code_id: int
) -> None:
    """Remove a not-ready reason."""
    code = await get_reason_code(session, principal=principal, reason_code_id=reason_code_id)
    await _delete(session, principal, code, REASON_AUDITED)


# Teams


async def _supervisor_ids(session: AsyncSession, team_ids: Sequence[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(TeamSupervisor.team_id, TeamSupervisor.user_id)
        .where(TeamSupervisor.team_id.in_(team_ids))
        .order_by(TeamSupervisor.user_id)
    )
    found: dict[int, list[int]] = {ident: [] for ident in team_ids}
    for team_id, user_id in rows:
        found[team_id].append(user_id)
    return found


async def team_outs(session: AsyncSession, teams: Sequence[Team]) -> list[TeamOut]:
    """The API view of ``teams`` with their supervisors."""
    supervisors = await _supervisor_ids(session, [team.id for team in teams])
    return [
        TeamOut(
            id=team.id,
            name=team.name,
            description=team.description,
            supervisor_ids=supervisors[team.id],
            created_at=team.created_at,
            updated_at=team.updated_at,
        )
        for team in teams
    ]


async def _set_supervisors(session: AsyncSession, team: Team, user_ids: Sequence[int]) -> None:
    wanted = set(user_ids)
    rows = await session.execute(
        select(User).where(User.tenant_id == team.tenant_id, User.id.in_(wanted))
    )
    able = {user.id for user in rows.scalars() if user.role.at_least(Role.SUPERVISOR)}
    if wanted - able:
        raise invalid(
            f"user {min(wanted - able)} is not a supervisor of this tenant",
            "unknown_supervisor",
            "supervisor_ids",
        )
    await session.flush()
    await session.execute(delete(TeamSupervisor).where(TeamSupervisor.team_id == team.id))
    session.add_all(TeamSupervisor(team_id=team.id, user_id=ident) for ident in sorted(wanted))


async def list_teams(
    session: AsyncSession, *, principal: Principal, params: PageParams, name: str | None
) -> tuple[list[TeamOut], int]:
    """The teams of the principal's tenant with their supervisors."""
    teams, total = await _list_named(session, Team, principal=principal, params=params, name=name)
    return await team_outs(session, teams), total


async def get_team(session: AsyncSession, *, principal: Principal, team_id: int) -> TeamOut:
    """A team of the principal's tenant."""
    return (await team_outs(session, [await _get(session, Team, principal, team_id)]))[0]


async def create_team(
    session: AsyncSession, *, tenant_id: int, actor: Principal | None, data: TeamCreate
) -> TeamOut:
    """A new team of ``tenant_id`` led by ``data.supervisor_ids``."""
    team = Team(tenant_id=tenant_id, name=data.name, description=data.description)
    await _name_free(session, team)
    session.add(team)
    await _set_supervisors(session, team, data.supervisor_ids)
    await _log(session, actor, "create", team, TEAM_AUDITED)
    return (await team_outs(session, [team]))[0]


async def update_team(
    session: AsyncSession, *, principal: Principal, team_id: int, data: TeamUpdate
) -> TeamOut:
    """Change a team; ``supervisor_ids`` replaces its supervisors when given."""
    team = await _get(session, Team, principal, team_id)
    before = audit.snapshot(team, TEAM_AUDITED)
    changes = data.model_dump(exclude_unset=True)
    supervisors = changes.pop("supervisor_ids", None)
    audit.apply_changes(team, changes)
    await _name_free(session, team)
    if supervisors is not None:
        await _set_supervisors(session, team, supervisors)
    await _log(session, principal, "update", team, TEAM_AUDITED, before)
    return (await team_outs(session, [team]))[0]


async def delete_team(session: AsyncSession, *, principal: Principal, team_id: int) -> None:
    """Remove a team; its agents stay, without a team."""
    team = await _get(session, Team, principal, team_id)
    await _delete(session, principal, team, TEAM_AUDITED)


async def supervised_team_ids(session: AsyncSession, *, user_id: int) -> set[int]:
    """The teams ``user_id`` supervises."""
    rows = await session.execute(
        select(TeamSupervisor.team_id).where(TeamSupervisor.user_id == user_id)
    )
    return set(rows.scalars())


# Agents


async def agent_outs(session: AsyncSession, agents: Sequence[Agent]) -> list[AgentOut]:
    """The API view of ``agents`` with their users' names and SIP accounts."""
    user_ids = [agent.user_id for agent in agents]
    users = {
        user.id: user
        for user in (await session.execute(select(User).where(User.id.in_(user_ids)))).scalars()
    }
    phones: dict[int, list[str]] = {ident: [] for ident in user_ids}
    rows = await session.execute(
        select(SipAccount.user_id, SipAccount.username)
        .where(SipAccount.user_id.in_(user_ids), SipAccount.active.is_(True))
        .order_by(SipAccount.username)
    )
    for user_id, username in rows:
        if user_id is not None:
            phones[user_id].append(username)
    return [
        AgentOut(
            id=agent.id,
            user_id=agent.user_id,
            username=users[agent.user_id].username,
            display_name=users[agent.user_id].display_name,
            team_id=agent.team_id,
            weight=agent.weight,
            region=agent.region,
            enabled=agent.enabled,
            sip_accounts=phones[agent.user_id],
            created_at=agent.created_at,
            updated_at=agent.updated_at,
        )
        for agent in agents
    ]


async def _check_agent(session: AsyncSession, agent: Agent) -> None:
    if agent.team_id is not None:
        with session.no_autoflush:
            team = await session.get(Team, agent.team_id)
        if team is None or team.tenant_id != agent.tenant_id:
            raise invalid("no such team", "unknown_team", "team_id")


async def get_agent_row(session: AsyncSession, *, principal: Principal, agent_id: int) -> Agent:
    """An agent profile of the principal's tenant."""
    return await _get_agent(session, principal.tenant_id, agent_id)


async def _get_agent(session: AsyncSession, tenant_id: int, agent_id: int) -> Agent:
    return await get_owned(session, Agent, agent_id, tenant_id=tenant_id, what="agent")


async def list_agents(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    team_id: int | None,
    enabled: bool | None,
) -> tuple[list[AgentOut], int]:
    """The agent profiles of the principal's tenant."""
    agents, total = await paginate(
        session,
        select(Agent).where(Agent.tenant_id == principal.tenant_id),
        params,
        sortable={"id": Agent.id, "team_id": Agent.team_id, "created_at": Agent.created_at},
        filters={"team_id": (Agent.team_id, team_id), "enabled": (Agent.enabled, enabled)},
        default_sort=(Agent.id,),
    )
    return await agent_outs(session, agents), total


async def get_agent(session: AsyncSession, *, principal: Principal, agent_id: int) -> AgentOut:
    """An agent profile of the principal's tenant."""
    agent = await get_agent_row(session, principal=principal, agent_id=agent_id)
    return (await agent_outs(session, [agent]))[0]


async def create_agent(
    session: AsyncSession, *, tenant_id: int, actor: Principal | None, data: AgentCreate
) -> Agent:
    """The ACD profile of a user of ``tenant_id`` with the agent or supervisor role."""
    user = await session.get(User, data.user_id)
    if user is None or user.tenant_id != tenant_id:
        raise invalid("no such user", "unknown_user", "user_id")
    if user.role not in (Role.AGENT, Role.SUPERVISOR):
        raise invalid(
            f"a {user.role.value} does not take calls", "user_cannot_take_calls", "user_id"
        )
    if (await session.execute(select(Agent.id).where(Agent.user_id == user.id))).first():
        raise Conflict(f"{user.username} has an agent profile", error_id="agent_exists")
    agent = Agent(tenant_id=tenant_id, **data.model_dump())
    await _check_agent(session, agent)
    session.add(agent)
    await _log(session, actor, "create", agent, AGENT_AUDITED)
    return agent


async def update_agent(
    session: AsyncSession, *, principal: Principal, agent_id: int, data: AgentUpdate
) -> AgentOut:
    """Change an agent profile of the principal's tenant."""
    agent = await get_agent_row(session, principal=principal, agent_id=agent_id)
    before = audit.snapshot(agent, AGENT_AUDITED)
    audit.apply_changes(agent, data.model_dump(exclude_unset=True), nullable=AGENT_NULLABLE)
    await _check_agent(session, agent)
    await _log(session, principal, "update", agent, AGENT_AUDITED, before)
    return (await agent_outs(session, [agent]))[0]


async def delete_agent(session: AsyncSession, *, principal: Principal, agent_id: int) -> None:
    """Remove an agent profile (the user stays)."""
    agent = await get_agent_row(session, principal=principal, agent_id=agent_id)
    await _delete(session, principal, agent, AGENT_AUDITED)


async def get_memberships(
    session: AsyncSession, *, tenant_id: int, agent_id: int
) -> list[MembershipOut]:
    """The queues of an agent of ``tenant_id``, lowest penalty and position first."""
    await _get_agent(session, tenant_id, agent_id)
    rows = await session.execute(
        select(Membership, Queue.name)
        .join(Queue, Queue.id == Membership.queue_id)
        .where(Membership.agent_id == agent_id)
        .order_by(Membership.penalty, Membership.position, Queue.name)
    )
    return [
        MembershipOut(queue_id=m.queue_id, queue=name, position=m.position, penalty=m.penalty)
        for m, name in rows
    ]


async def put_memberships(
    session: AsyncSession,
    *,
    tenant_id: int,
    actor: Principal | None,
    agent_id: int,
    data: MembershipsPut,
) -> list[MembershipOut]:
    """Replace the queues of an agent of ``tenant_id``."""
    agent = await _get_agent(session, tenant_id, agent_id)
    wanted = {m.queue_id: m for m in data.memberships}
    if len(wanted) != len(data.memberships):
        raise invalid("a queue is listed twice", "duplicate_queue", "memberships")
    found = await session.execute(
        select(Queue.id).where(Queue.tenant_id == tenant_id, Queue.id.in_(wanted))
    )
    missing = set(wanted) - set(found.scalars())
    if missing:
        raise invalid(f"no queue {min(missing)}", "unknown_queue", "memberships")
    await session.execute(delete(Membership).where(Membership.agent_id == agent.id))
    session.add_all(Membership(agent_id=agent.id, **m.model_dump()) for m in wanted.values())
    await session.flush()
    result = await get_memberships(session, tenant_id=tenant_id, agent_id=agent.id)
    await _record_part(session, actor, agent, "memberships", [m.model_dump() for m in result])
    return result


async def get_agent_skills(session: AsyncSession, *, tenant_id: int, agent_id: int) -> SkillsOut:
    """An agent's skills by name."""
    await _get_agent(session, tenant_id, agent_id)
    rows = await session.execute(
        select(Skill.name, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.agent_id == agent_id)
        .order_by(Skill.name)
    )
    return SkillsOut(skills=dict(rows.all()))


async def put_agent_skills(
    session: AsyncSession,
    *,
    tenant_id: int,
    actor: Principal | None,
    agent_id: int,
    data: SkillsPut,
) -> SkillsOut:
    """Replace an agent's skills; every name must be a skill of the tenant."""
    agent = await _get_agent(session, tenant_id, agent_id)
    ids = await _known_skills(session, tenant_id, data.skills, "skills")
    await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent.id))
    session.add_all(
        AgentSkill(agent_id=agent.id, skill_id=ids[name], level=level)
        for name, level in data.skills.items()
    )
    await session.flush()
    await _record_part(session, actor, agent, "skills", dict(sorted(data.skills.items())))
    return SkillsOut(skills=dict(sorted(data.skills.items())))


async def _record_part(
    session: AsyncSession, actor: Principal | None, agent: Agent, part: str, after: object
) -> None:
    await audit.record(
        session,
        actor=actor,
        tenant_id=agent.tenant_id,
        action="update",
        entity=f"agent_{part}",
        entity_id=agent.id,
        after={part: after},
    )
