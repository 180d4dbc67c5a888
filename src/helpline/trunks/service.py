"""SIP trunks of a tenant: CRUD for the API, frozen views for call control.

The API functions take the tenant from the principal and check, on the whole trunk
after every change, the rules no single field can: an allowlist trunk must admit some
address, digest admission and registration need a username and password, and a fixed
caller ID needs a number.  The password never reaches the audit log (``has_password``
is recorded instead).  The functions for call control (:func:`trunks_for_tenant`,
:func:`all_registering_trunks`, :func:`inbound_candidates`) return
:class:`~helpline.trunks.rules.TrunkConfig` values, never ORM rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.trunks.models import Trunk
from helpline.trunks.rules import CallerIdMode, InboundMode, TrunkConfig, ip_literal
from helpline.trunks.schemas import NULLABLE, TrunkCreate, TrunkUpdate

AUDITED = (
    "name",
    "enabled",
    "host",
    "port",
    "transport",
    "inbound_mode",
    "allowed_sources",
    "username",
    "has_password",
    "auth_realm",
    "register_enabled",
    "register_expires",
    "from_domain",
    "prefixes",
    "strip_digits",
    "prepend",
    "priority",
    "caller_id_mode",
    "caller_id_number",
    "caller_id_name",
    "anonymous",
    "max_channels",
)


def to_config(row: Trunk) -> TrunkConfig:
    """The frozen view of ``row`` that call control works with."""
    return TrunkConfig(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        host=row.host,
        port=row.port,
        transport=row.transport,
        enabled=row.enabled,
        inbound_mode=row.inbound_mode,
        allowed_sources=tuple(str(s) for s in row.allowed_sources),
        username=row.username,
        password=row.password or None,
        auth_realm=row.auth_realm,
        register_enabled=row.register_enabled,
        register_expires=row.register_expires,
        from_domain=row.from_domain,
        prefixes=tuple(str(p) for p in row.prefixes),
        strip_digits=row.strip_digits,
        prepend=row.prepend,
        priority=row.priority,
        caller_id_mode=row.caller_id_mode,
        caller_id_number=row.caller_id_number,
        caller_id_name=row.caller_id_name,
        anonymous=row.anonymous,
        max_channels=row.max_channels,
    )


def _invalid(message: str, error_id: str, field: str) -> ApiError:
    return ApiError(message, error_id=error_id, status_code=422, details={"field": field})


def _check(trunk: Trunk) -> None:
    """Rules spanning several fields, checked on the trunk as it will be stored."""
    if (
        trunk.inbound_mode is InboundMode.ALLOWLIST
        and not trunk.allowed_sources
        and ip_literal(trunk.host) is None
    ):
        raise _invalid(
            "an allowlist trunk whose host is a name needs allowed_sources",
            "trunk_allowlist_empty",
            "allowed_sources",
        )
    needs_credentials = trunk.inbound_mode is InboundMode.DIGEST or trunk.register_enabled
    if needs_credentials and not (trunk.username and trunk.password):
        raise _invalid(
            "digest admission and registration need a username and a password",
            "trunk_credentials_missing",
            "username" if not trunk.username else "password",
        )
    if trunk.caller_id_mode is CallerIdMode.FIXED and not trunk.caller_id_number:
        raise _invalid(
            "a fixed caller ID needs caller_id_number",
            "trunk_caller_id_missing",
            "caller_id_number",
        )


async def _name_free(
    session: AsyncSession, tenant_id: int, name: str, *, own_id: int | None = None
) -> None:
    stmt = select(Trunk.id).where(Trunk.tenant_id == tenant_id, Trunk.name == name)
    if own_id is not None:
        stmt = stmt.where(Trunk.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"trunk {name!r} exists", error_id="trunk_name_taken")


async def list_trunks(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    name: str | None,
    enabled: bool | None,
) -> tuple[list[Trunk], int]:
    """The trunks of the principal's tenant."""
    return await paginate(
        session,
        select(Trunk).where(Trunk.tenant_id == principal.tenant_id),
        params,
        sortable={
            "id": Trunk.id,
            "name": Trunk.name,
            "host": Trunk.host,
            "priority": Trunk.priority,
            "created_at": Trunk.created_at,
        },
        filters={"name": (Trunk.name, name), "enabled": (Trunk.enabled, enabled)},
        default_sort=(Trunk.priority, Trunk.name),
    )


async def get_trunk(session: AsyncSession, *, principal: Principal, trunk_id: int) -> Trunk:
    """A trunk of the principal's tenant."""
    return await get_owned(session, Trunk, trunk_id, tenant_id=principal.tenant_id, what="trunk")


async def create_trunk(session: AsyncSession, *, principal: Principal, data: TrunkCreate) -> Trunk:
    """A new trunk of the principal's tenant."""
    await _name_free(session, principal.tenant_id, data.name)
    fields = data.model_dump()
    trunk = Trunk(tenant_id=principal.tenant_id, **{**fields, "password": data.password or None})
    _check(trunk)
    session.add(trunk)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="trunk",
        obj=trunk,
        fields=AUDITED,
    )
    return trunk


async def update_trunk(
    session: AsyncSession, *, principal: Principal, trunk_id: int, data: TrunkUpdate
) -> Trunk:
    """Change a trunk of the principal's tenant; a ``""`` password removes it."""
    trunk = await get_trunk(session, principal=principal, trunk_id=trunk_id)
    before = audit.snapshot(trunk, AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        await _name_free(session, trunk.tenant_id, changes["name"], own_id=trunk.id)
    if (password := changes.pop("password", None)) is not None:
        trunk.password = password or None
    audit.apply_changes(trunk, changes, nullable=NULLABLE)
    _check(trunk)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=trunk.tenant_id,
        action="update",
        entity="trunk",
        obj=trunk,
        fields=AUDITED,
        before=before,
    )
    return trunk


async def delete_trunk(session: AsyncSession, *, principal: Principal, trunk_id: int) -> None:
    """Remove a trunk of the principal's tenant."""
    trunk = await get_trunk(session, principal=principal, trunk_id=trunk_id)
    before = audit.snapshot(trunk, AUDITED)
    await session.delete(trunk)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=trunk.tenant_id,
        action="delete",
        entity="trunk",
        obj=trunk,
        fields=AUDITED,
        before=before,
    )


async def _configs(session: AsyncSession, stmt: Select[Trunk]) -> list[TrunkConfig]:
    rows = (await session.execute(stmt.order_by(Trunk.priority, Trunk.id))).scalars()
    return [to_config(row) for row in rows]


async def trunks_for_tenant(
    session: AsyncSession, tenant_id: int, *, enabled_only: bool = True
) -> list[TrunkConfig]:
    """The trunks of ``tenant_id`` (only the enabled ones by default), by priority."""
    stmt = select(Trunk).where(Trunk.tenant_id == tenant_id)
    if enabled_only:
        stmt = stmt.where(Trunk.enabled.is_(True))
    return await _configs(session, stmt)


async def all_registering_trunks(session: AsyncSession) -> list[TrunkConfig]:
    """Every enabled trunk of every tenant that registers with its provider."""
    return await _configs(
        session,
        select(Trunk).where(Trunk.enabled.is_(True), Trunk.register_enabled.is_(True)),
    )


async def inbound_candidates(session: AsyncSession) -> list[TrunkConfig]:
    """Every enabled trunk of every tenant, to match a request's source against
    (:func:`helpline.trunks.rules.match_inbound`)."""
    return await _configs(session, select(Trunk).where(Trunk.enabled.is_(True)))
