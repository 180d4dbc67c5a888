"""Who may command a live call, and the lookups that decide it.

The agent on a call (one of the user's SIP accounts is a party of it) may command it.
Otherwise a tenant admin may, and a supervisor may for the calls of agents in a team
they supervise (``not_your_team``); everybody else gets ``not_your_call``. Supervision
(joining, intercepting) is for supervisors and admins only, under the same team rule.
The live calls themselves are held by the node's SIP service
(:class:`~helpline.telephony.commands.CallCommands`); a command on a call another node
holds is relayed to that node by the router (:mod:`helpline.cluster.forward`), which
decides there with these same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.models import Agent
from helpline.acd.service import supervised_team_ids
from helpline.auth.principal import Principal
from helpline.core.errors import Forbidden
from helpline.runtime import Runtime
from helpline.telephony.cti import Actor, LiveCall
from helpline.users.models import Role, SipAccount, User

if TYPE_CHECKING:
    from helpline.telephony.commands import CallCommands

#: The name the SIP service is registered under in ``Runtime.listeners``.
SIP_LISTENER = "sip"


@runtime_checkable
class CommandNode(Protocol):
    """A node service that carries out commands on its live calls (the SIP service)."""

    @property
    def commands(self) -> CallCommands | None:
        """The node's CTI commands, None until it runs."""
        ...


def live_calls(runtime: Runtime) -> CallCommands | None:
    """This node's CTI commands, if its SIP service runs."""
    node = runtime.listeners.get(SIP_LISTENER)
    return node.commands if isinstance(node, CommandNode) else None


async def account_user(session: AsyncSession, *, tenant_id: int, account: str) -> int | None:
    """The user a SIP account belongs to."""
    stmt = select(SipAccount.user_id).where(
        SipAccount.tenant_id == tenant_id, SipAccount.username == account
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def user_accounts(session: AsyncSession, *, principal: Principal) -> list[str]:
    """The principal's active SIP accounts, by name."""
    stmt = (
        select(SipAccount.username)
        .where(
            SipAccount.tenant_id == principal.tenant_id,
            SipAccount.user_id == principal.user_id,
            SipAccount.active.is_(True),
        )
        .order_by(SipAccount.username)
    )
    return list((await session.execute(stmt)).scalars())


async def phones_to_ring(
    session: AsyncSession, *, principal: Principal, account: str | None = None
) -> list[str]:
    """The principal's SIP accounts whose phones a command rings (``account`` only,
    when given); 403 ``no_sip_account`` when the principal has none (or not that one)."""
    mine = await user_accounts(session, principal=principal)
    if account is not None:
        mine = [a for a in mine if a == account]
    if not mine:
        raise Forbidden(
            "you have no SIP account to ring" if account is None else "not your SIP account",
            error_id="no_sip_account",
        )
    return mine


async def account_teams(
    session: AsyncSession, *, tenant_id: int, accounts: Iterable[str]
) -> dict[str, int | None]:
    """The ACD team of the agent each SIP account belongs to (absent: no agent)."""
    names = sorted(set(accounts))
    if not names:
        return {}
    stmt = (
        select(SipAccount.username, Agent.team_id)
        .join(User, User.id == SipAccount.user_id)
        .join(Agent, Agent.user_id == User.id)
        .where(SipAccount.tenant_id == tenant_id, SipAccount.username.in_(names))
    )
    return {name: team for name, team in (await session.execute(stmt)).all()}


async def _supervises(session: AsyncSession, principal: Principal, call: LiveCall) -> bool:
    if principal.has(Role.TENANT_ADMIN):
        return True
    if not principal.has(Role.SUPERVISOR):
        return False
    agents = [a for a in (call.agent,) if a]
    teams = await account_teams(session, tenant_id=principal.tenant_id, accounts=agents)
    mine = await supervised_team_ids(session, user_id=principal.user_id)
    return any(teams.get(agent) in mine for agent in agents)


async def actor_for(
    session: AsyncSession, *, principal: Principal, call: LiveCall, supervision: bool = False
) -> Actor:
    """Who gives a command on ``call``: the agent on it, or a supervisor of the agent's
    team, or an admin; 403 otherwise. ``supervision`` commands (join, intercept) are
    never the agent's own."""
    if not supervision:
        mine = await user_accounts(session, principal=principal)
        party = next((a for a in mine if a in call.accounts), None)
        if party is not None:
            return Actor(principal.username, party)
    if await _supervises(session, principal, call):
        return Actor(principal.username)
    if principal.has(Role.SUPERVISOR):
        raise Forbidden("this agent is not in a team you supervise", error_id="not_your_team")
    raise Forbidden("this is not your call", error_id="not_your_call")


async def visible_calls(
    session: AsyncSession, *, principal: Principal, calls: Sequence[LiveCall]
) -> list[LiveCall]:
    """The calls ``principal`` may see: an admin every one, a supervisor those of the
    agents of their teams and their own, an agent their own."""
    if principal.has(Role.TENANT_ADMIN):
        return list(calls)
    mine = set(await user_accounts(session, principal=principal))
    own = [c for c in calls if c.accounts & mine]
    if not principal.has(Role.SUPERVISOR):
        return own
    agents = {c.agent for c in calls if c.agent}
    teams = await account_teams(session, tenant_id=principal.tenant_id, accounts=agents)
    supervised = await supervised_team_ids(session, user_id=principal.user_id)
    return [
        c for c in calls if c in own or (c.agent is not None and teams.get(c.agent) in supervised)
    ]
