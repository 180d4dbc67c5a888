"""The demo tenant's ACD: queues "sales" and "support", skills, agents 2001-2004 with
their memberships, the demo team and the not-ready reasons.

Agents 2001 and 2002 answer sales, 2003 and 2004 support, and 2001 helps support
when 2003 and 2004 are busy (a higher penalty).  Both queues announce the caller's
position every 30 seconds, offer a callback on key 1, put VIP (and gold) customers
ahead, and turn callers who waited five minutes into callbacks.  Call it once, after
the demo users and SIP accounts exist and before the unit of work commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd import service
from helpline.acd.models import Strategy
from helpline.acd.schemas import (
    AgentCreate,
    CallbackTarget,
    MembershipIn,
    MembershipsPut,
    QueueCreate,
    ReasonCodeCreate,
    ReasonLabels,
    SkillCreate,
    SkillsPut,
    TeamCreate,
)
from helpline.customers.models import CustomerTier
from helpline.users.models import User

SKILLS = ("sales", "support", "ko", "zh")
REASONS = {
    "break": ReasonLabels(en="Break", zh="休息", ko="휴식"),
    "lunch": ReasonLabels(en="Lunch", zh="午餐", ko="점심"),
    "training": ReasonLabels(en="Training", zh="培训", ko="교육"),
    "missed-offers": ReasonLabels(en="Missed calls", zh="未接来电", ko="부재중 전화"),
}
#: Agent number -> (skills, queue name -> penalty).
AGENTS: dict[str, tuple[dict[str, int], dict[str, int]]] = {
    "2001": ({"sales": 5, "support": 2, "ko": 4}, {"sales": 0, "support": 10}),
    "2002": ({"sales": 4, "zh": 4}, {"sales": 0}),
    "2003": ({"support": 5, "ko": 3}, {"support": 0}),
    "2004": ({"support": 4, "zh": 5}, {"support": 0}),
}


async def load_demo_acd(session: AsyncSession, tenant_id: int) -> None:
    """Create the demo ACD objects in ``tenant_id`` (the demo tenant, freshly made)."""
    for name in SKILLS:
        await service.create_skill(
            session, tenant_id=tenant_id, actor=None, data=SkillCreate(name=name)
        )
    for name, labels in REASONS.items():
        await service.create_reason_code(
            session,
            tenant_id=tenant_id,
            actor=None,
            data=ReasonCodeCreate(name=name, labels=labels),
        )
    queues = {
        name: await service.create_queue(
            session,
            tenant_id=tenant_id,
            actor=None,
            data=QueueCreate(
                name=name,
                strategy=Strategy.LONGEST_IDLE,
                announce_interval=30,
                max_wait_seconds=300,
                fallback=CallbackTarget(),
                callback_enabled=True,
                customer_priority={CustomerTier.VIP: 10, CustomerTier.GOLD: 3},
                recording=True,
            ),
        )
        for name in ("sales", "support")
    }
    users = {
        user.username: user
        for user in (
            await session.execute(select(User).where(User.tenant_id == tenant_id))
        ).scalars()
    }
    team = await service.create_team(
        session,
        tenant_id=tenant_id,
        actor=None,
        data=TeamCreate(name="demo-team", supervisor_ids=[users["supervisor"].id]),
    )
    for number, (skills, memberships) in AGENTS.items():
        agent = await service.create_agent(
            session,
            tenant_id=tenant_id,
            actor=None,
            data=AgentCreate(user_id=users[f"agent{number}"].id, team_id=team.id),
        )
        await service.put_agent_skills(
            session,
            tenant_id=tenant_id,
            actor=None,
            agent_id=agent.id,
            data=SkillsPut(skills=skills),
        )
        places = [
            MembershipIn(queue_id=queues[name].id, penalty=penalty)
            for name, penalty in memberships.items()
        ]
        await service.put_memberships(
            session,
            tenant_id=tenant_id,
            actor=None,
            agent_id=agent.id,
            data=MembershipsPut(memberships=places),
        )
