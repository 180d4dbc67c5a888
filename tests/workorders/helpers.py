"""Shared pieces of the work-order tests: the demo admin as a principal, an API client."""

from __future__ import annotations

from sqlalchemy import select

from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.runtime import Runtime
from helpline.tenants.models import Tenant
from helpline.users.models import Role, User


async def demo_admin(runtime: Runtime) -> Principal:
    """The demo tenant's admin as a principal, for calling services directly."""
    async with runtime.unit_of_work() as session:
        tenant = (await session.execute(select(Tenant).where(Tenant.slug == "demo"))).scalar_one()
        admin = (
            await session.execute(
                select(User).where(User.tenant_id == tenant.id, User.username == "admin")
            )
        ).scalar_one()
        return Principal(
            user_id=admin.id,
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            username=admin.username,
            role=Role.TENANT_ADMIN,
            scopes=ALL_SCOPES,
            via=Via.SESSION,
        )
