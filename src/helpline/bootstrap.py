"""First start and the demo: the system tenant, the platform admin, the demo tenant.

Passwords not given by configuration are generated and reported once to the caller
(the CLI prints them); only their hashes are stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.demo import load_demo_acd
from helpline.config import Settings
from helpline.core.passwords import generate_password, hash_password
from helpline.customers.demo import load_demo_customers
from helpline.db.base import utcnow
from helpline.demo.content import load_content
from helpline.kb.demo import load_demo_articles
from helpline.stats.demo import load_demo_history
from helpline.tenants import service as tenants
from helpline.tenants.models import SYSTEM_TENANT, Tenant, Tier
from helpline.tenants.schemas import TenantCreate
from helpline.users import service as users
from helpline.users.models import Role, User
from helpline.users.schemas import SipAccountCreate, UserCreate

log = logging.getLogger(__name__)

DEMO_TENANT = "demo"
DEMO_AGENTS = ("2001", "2002", "2003", "2004")
ADMIN_USERNAME = "admin"


@dataclass(slots=True)
class Credentials:
    """Accounts created in this run whose passwords were generated, to print once."""

    lines: list[str] = field(default_factory=list)

    def add(self, what: str, password: str) -> None:
        """Remember one account and its password."""
        self.lines.append(f"{what}: {password}")


async def ensure_platform_admin(session: AsyncSession, settings: Settings) -> Credentials:
    """Create the system tenant and its platform admin on first start."""
    created = Credentials()
    system = await tenants.by_slug(session, SYSTEM_TENANT)
    if system is None:
        system = await tenants.create_tenant(
            session,
            data=TenantCreate(
                slug=SYSTEM_TENANT,
                name="Platform",
                tier=Tier.CUSTOM,
                max_lines=0,
                max_agents=0,
                max_ivr_ports=0,
            ),
            actor=None,
        )
    has_admin = await session.execute(
        select(User.id).where(User.tenant_id == system.id, User.role == Role.PLATFORM_ADMIN)
    )
    if has_admin.first() is None:
        given = settings.admin_password.get_secret_value() if settings.admin_password else None
        password = given or generate_password()
        await users.create_user(
            session,
            tenant_id=system.id,
            data=UserCreate(username=ADMIN_USERNAME, password=password, role=Role.PLATFORM_ADMIN),
            actor=None,
        )
        if not given:
            created.add(f"platform admin (tenant {SYSTEM_TENANT}, user {ADMIN_USERNAME})", password)
    return created


async def load_demo(session: AsyncSession, settings: Settings) -> Credentials:
    """The demo tenant: an admin, a supervisor and four agents with SIP accounts 2001-2004,
    and its self-service content (:mod:`helpline.demo.content`).

    Does nothing if the demo tenant exists already.
    """
    created = Credentials()
    if await tenants.by_slug(session, DEMO_TENANT) is not None:
        return created
    tenant: Tenant = await tenants.create_tenant(
        session,
        data=TenantCreate(slug=DEMO_TENANT, name="Demo Company", tier=Tier.SMALL),
        actor=None,
    )
    people = [
        (ADMIN_USERNAME, Role.TENANT_ADMIN, "Demo Admin"),
        ("supervisor", Role.SUPERVISOR, "Demo Supervisor"),
    ]
    people += [(f"agent{n}", Role.AGENT, f"Agent {n}") for n in DEMO_AGENTS]
    given_web = settings.demo_password.get_secret_value() if settings.demo_password else None
    web_password = given_web or generate_password()
    if not given_web:
        created.add(
            f"demo web users (tenant {DEMO_TENANT}: admin, supervisor, agent2001-agent2004)",
            web_password,
        )
    given = settings.demo_sip_password.get_secret_value() if settings.demo_sip_password else None
    sip_password = given or generate_password()
    if not given:
        created.add("demo SIP accounts 2001-2004", sip_password)
    shared_hash = hash_password(web_password)
    for username, role, name in people:
        user = await users.create_user(
            session,
            tenant_id=tenant.id,
            password_hash=shared_hash,
            data=UserCreate(username=username, password=web_password, role=role, display_name=name),
            actor=None,
        )
        if role is Role.AGENT:
            await users.create_sip_account(
                session,
                tenant_id=tenant.id,
                data=SipAccountCreate(
                    username=username.removeprefix("agent"),
                    password=sip_password,
                    user_id=user.id,
                    display_name=name,
                ),
                actor=None,
            )
    await load_content(session, settings=settings, tenant=tenant)
    await load_demo_acd(session, tenant.id)
    await load_demo_articles(session, tenant.id)
    await load_demo_customers(session, tenant.id)
    if settings.demo_history:
        await load_demo_history(session, tenant_id=tenant.id, now=utcnow())
    log.info("demo tenant %r loaded", DEMO_TENANT)
    return created
