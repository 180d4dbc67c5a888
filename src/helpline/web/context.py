"""What a page needs before its script runs: the signed-in user, their language, and for
the agent desktop the agent's own queues and phones.

The desktop reads the agent's queue memberships, queue wrap-up times, SIP accounts and
registered phones here because the API shows those to supervisors only; the page embeds
them as JSON.  Everything else the pages load themselves through ``/api/v1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import i18n
from helpline.acd import service as acd
from helpline.acd.models import Queue
from helpline.acd.profile import agent_of
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError
from helpline.core.pagination import PageParams
from helpline.registrations import service as registrations
from helpline.users.models import User

LANG_COOKIE = "helpline_lang"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user as the page header shows them."""

    principal: Principal
    display_name: str
    locale: str

    def as_json(self) -> dict[str, Any]:
        """The user for the page's script."""
        p = self.principal
        return {
            "user_id": p.user_id,
            "username": p.username,
            "display_name": self.display_name,
            "tenant": p.tenant_slug,
            "role": p.role.value,
        }


async def viewer(session: AsyncSession, principal: Principal) -> Viewer:
    """The principal with their display name and stored language."""
    user = await session.get(User, principal.user_id)
    name = user.display_name if user is not None and user.display_name else principal.username
    locale = user.locale if user is not None else i18n.DEFAULT
    return Viewer(principal, name, locale)


async def store_language(session: AsyncSession, principal: Principal, lang: str | None) -> None:
    """Keep a signed-in user's explicit language choice on their user, so that it follows
    them to other browsers."""
    if lang not in i18n.LANGUAGES:
        return
    user = await session.get(User, principal.user_id)
    if user is not None and user.tenant_id == principal.tenant_id and user.locale != lang:
        user.locale = lang


def language(
    *, requested: str | None, cookie: str | None, stored: str | None, accept: str | None
) -> str:
    """The page language: the link's choice (stored on a signed-in user), this browser's
    last choice, the user's stored language, then the browser's preference."""
    for choice in (requested, cookie, stored):
        if choice in i18n.LANGUAGES:
            return choice
    return i18n.negotiate(None, accept)


async def desktop(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    """The agent's profile, queues (with wrap-up seconds) and phones with their
    registrations; ``agent`` is None for a user without an agent profile."""
    agent = await agent_of(session, principal)
    if agent is None:
        return {"agent": None, "queues": [], "phones": []}
    memberships = await acd.get_memberships(
        session, tenant_id=principal.tenant_id, agent_id=agent.id
    )
    ids = [m.queue_id for m in memberships]
    queues = {
        q.id: q for q in (await session.execute(select(Queue).where(Queue.id.in_(ids)))).scalars()
    }
    profile = (await acd.agent_outs(session, [agent]))[0]
    phones = []
    for account in profile.sip_accounts:
        try:
            rows, _total = await registrations.list_registrations(
                session,
                principal=principal,
                params=PageParams(limit=20),
                username=account,
                now=datetime.now(UTC),
            )
        except ApiError:
            rows = []
        phones.append(
            {
                "account": account,
                "registrations": [
                    {
                        "contact": r.contact,
                        "user_agent": r.user_agent,
                        "transport": r.transport,
                        "source": f"{r.source_host}:{r.source_port}",
                        "expires_at": r.expires_at.isoformat(),
                    }
                    for r in rows
                ],
            }
        )
    return {
        "agent": {"id": agent.id, "team_id": agent.team_id, "enabled": agent.enabled},
        "queues": [
            {
                "id": m.queue_id,
                "name": m.queue,
                "wrap_up_seconds": queues[m.queue_id].wrap_up_seconds
                if m.queue_id in queues
                else 0,
            }
            for m in memberships
        ],
        "phones": phones,
    }
