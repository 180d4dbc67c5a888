"""Who an agent is in the statistics: the phone's SIP account, as call control records.

Theory of operation: call control writes the SIP account username of the phone that
answered (``"2001"``) into ``call_records.agent``, the segments and the queue events;
work orders copy the call's. The per-agent reports key on that name. What is known per
*user* (login sessions, hence staffed time) is put under the user's phone name too:
:func:`agent_name` is the user's first active SIP account (by username), or the web
user name for a user without a phone. :func:`agent_labels` gives people something to
read next to the key: the user's display name (else the account's, else the user
name).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.users.models import SipAccount, User


def agent_name(user: Any = User) -> ColumnElement[str]:
    """The name ``user`` (the ``User`` entity or an alias of it) has in call records."""
    phone = (
        select(func.min(SipAccount.username))
        .where(
            SipAccount.tenant_id == user.tenant_id,
            SipAccount.user_id == user.id,
            SipAccount.active.is_(True),
        )
        .scalar_subquery()
    )
    return func.coalesce(phone, user.username)


async def agent_names(session: AsyncSession, *, tenant_id: int) -> dict[int, str]:
    """User id -> the user's name in the call records (:func:`agent_name`)."""
    rows = await session.execute(select(User.id, agent_name()).where(User.tenant_id == tenant_id))
    return {user_id: name for user_id, name in rows}


async def agent_labels(session: AsyncSession, *, tenant_id: int) -> dict[str, str]:
    """Agent key (SIP account or user name) -> the name to show for it."""
    labels: dict[str, str] = {}
    users = await session.execute(
        select(User.username, User.display_name).where(User.tenant_id == tenant_id)
    )
    for username, display in users:
        labels[username] = display or username
    accounts = await session.execute(
        select(SipAccount.username, SipAccount.display_name, User.display_name, User.username)
        .outerjoin(User, User.id == SipAccount.user_id)
        .where(SipAccount.tenant_id == tenant_id)
    )
    for account, account_display, user_display, username in accounts:
        labels[account] = user_display or account_display or username or account
    return labels
