"""Who may command a live call (the demo: agents 2001-2004 in the supervisor's team)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.callcontrol import service
from helpline.core.errors import Forbidden
from helpline.runtime import Runtime
from helpline.telephony.cti import CallState, LiveCall, Party, Side
from helpline.tenants.models import Tenant
from helpline.users.models import Role, User


async def _principal(runtime: Runtime, username: str, role: Role | None = None) -> Principal:
    async with runtime.unit_of_work() as db:
        stmt = (
            select(User)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(Tenant.slug == "demo", User.username == username)
        )
        user = (await db.execute(stmt)).scalar_one()
        if role is not None:
            user.role = role
        return Principal(
            user_id=user.id,
            tenant_id=user.tenant_id,
            tenant_slug="demo",
            username=username,
            role=user.role,
            scopes=ALL_SCOPES,
            via=Via.SESSION,
        )


def _call(tenant_id: int, agent: str) -> LiveCall:
    return LiveCall(
        call_id="c1",
        tenant_id=tenant_id,
        state=CallState.TALKING,
        parties=(Party(Side.CUSTOMER, None, "+99955501"), Party(Side.AGENT, agent, agent)),
    )


async def test_the_agent_on_the_call_commands_it_as_its_party(runtime: Runtime) -> None:
    agent = await _principal(runtime, "agent2001")
    call = _call(agent.tenant_id, "2001")
    async with runtime.unit_of_work() as db:
        actor = await service.actor_for(db, principal=agent, call=call)
        assert (actor.username, actor.account) == ("agent2001", "2001")
        with pytest.raises(Forbidden) as refused:
            await service.actor_for(db, principal=agent, call=call, supervision=True)
    assert refused.value.error_id == "not_your_call"


async def test_another_agent_is_refused(runtime: Runtime) -> None:
    other = await _principal(runtime, "agent2002")
    async with runtime.unit_of_work() as db:
        with pytest.raises(Forbidden) as refused:
            await service.actor_for(db, principal=other, call=_call(other.tenant_id, "2001"))
    assert refused.value.error_id == "not_your_call"


async def test_the_teams_supervisor_and_admins_command_without_being_parties(
    runtime: Runtime,
) -> None:
    supervisor = await _principal(runtime, "supervisor")
    admin = await _principal(runtime, "admin")
    call = _call(supervisor.tenant_id, "2001")
    async with runtime.unit_of_work() as db:
        for who in (supervisor, admin):
            actor = await service.actor_for(db, principal=who, call=call, supervision=True)
            assert (actor.username, actor.account) == (who.username, None)


async def test_a_supervisor_of_another_team_is_refused(runtime: Runtime) -> None:
    outsider = await _principal(runtime, "agent2004", role=Role.SUPERVISOR)
    call = _call(outsider.tenant_id, "2001")
    async with runtime.unit_of_work() as db:
        with pytest.raises(Forbidden) as refused:
            await service.actor_for(db, principal=outsider, call=call, supervision=True)
    assert refused.value.error_id == "not_your_team"


async def test_each_sees_the_calls_they_may_command(runtime: Runtime) -> None:
    agent = await _principal(runtime, "agent2001")
    supervisor = await _principal(runtime, "supervisor")
    admin = await _principal(runtime, "admin")
    calls = [_call(agent.tenant_id, "2001"), _call(agent.tenant_id, "2002")]
    nobodys = LiveCall(
        "c3", agent.tenant_id, CallState.CONNECTING, (Party(Side.CUSTOMER, None, "x"),)
    )
    async with runtime.unit_of_work() as db:
        mine = await service.visible_calls(db, principal=agent, calls=calls)
        team = await service.visible_calls(db, principal=supervisor, calls=[*calls, nobodys])
        every = await service.visible_calls(db, principal=admin, calls=[*calls, nobodys])
    assert [c.agent for c in mine] == ["2001"]
    assert [c.agent for c in team] == ["2001", "2002"]
    assert len(every) == 3


async def test_only_own_sip_accounts_ring(runtime: Runtime) -> None:
    agent = await _principal(runtime, "agent2001")
    admin = await _principal(runtime, "admin")
    async with runtime.unit_of_work() as db:
        assert await service.phones_to_ring(db, principal=agent) == ["2001"]
        with pytest.raises(Forbidden):
            await service.phones_to_ring(db, principal=agent, account="2002")
        with pytest.raises(Forbidden) as refused:
            await service.phones_to_ring(db, principal=admin)
    assert refused.value.error_id == "no_sip_account"
