"""Inbound routing data: CRUD for the API, service call slots and blacklist hits for
call control.

The API functions take the tenant from the principal and check, on the whole object
after every change, what no single field can: the time zone and holiday calendars exist,
an announcement has a prompt, a number is free on the whole platform (the number dialed
names the tenant) and leads to a service of the same tenant.

Service call limits are slots in the database, shared by every node: acquiring one is a
single conditional INSERT that counts the slots held and takes one below the limit; on
PostgreSQL the service row is locked first so that two nodes cannot both take the last
slot (SQLite serialises writers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned, utcnow
from helpline.routing.blacklist import BlockAction, BlockKind
from helpline.routing.decide import service_config
from helpline.routing.models import (
    AccessNumber,
    BlacklistEntry,
    OverLimitAction,
    Service,
    ServiceSlot,
)
from helpline.routing.schedule import HolidayRule, Rule, calendar_problem, choose, parse_rules, zone
from helpline.routing.schemas import (
    BLACKLIST_NULLABLE,
    SERVICE_NULLABLE,
    BlacklistCreate,
    BlacklistUpdate,
    NumberCreate,
    NumberUpdate,
    RouteOut,
    ServiceCreate,
    ServiceUpdate,
)
from helpline.tenants.models import Tenant

NUMBER_AUDITED = ("number", "service_id", "enabled")
SERVICE_AUDITED = (
    "name",
    "timezone",
    "max_calls",
    "over_limit_action",
    "over_limit_prompt",
    "rules",
    "default_target",
)
BLACKLIST_AUDITED = ("kind", "number", "action", "prompt", "expires_at", "note")

_Row = AccessNumber | Service | BlacklistEntry
_ENTITY = {AccessNumber: "number", Service: "service", BlacklistEntry: "blacklist_entry"}


def _invalid(message: str, error_id: str, field: str) -> ApiError:
    return ApiError(message, error_id=error_id, status_code=422, details={"field": field})


async def _log(
    session: AsyncSession,
    principal: Principal,
    action: str,
    obj: _Row,
    fields: tuple[str, ...],
    before: dict[str, Any] | None = None,
) -> None:
    await audit.log_change(
        session,
        actor=principal,
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


async def _exists(
    session: AsyncSession,
    id_column: InstrumentedAttribute[int],
    *conditions: ColumnElement[bool],
    own_id: int | None = None,
) -> bool:
    stmt = select(id_column).where(*conditions)
    if own_id is not None:
        stmt = stmt.where(id_column != own_id)
    return (await session.execute(stmt.limit(1))).first() is not None


# Services


def _json_rules(rules: list[Rule]) -> list[Any]:
    return [rule.model_dump(mode="json") for rule in rules]


def _check_service(service: Service) -> None:
    """Rules needing outside knowledge, checked on the service as it will be stored."""
    if service.timezone is not None and zone(service.timezone) is None:
        raise _invalid(f"unknown time zone {service.timezone!r}", "invalid_timezone", "timezone")
    if service.over_limit_action is OverLimitAction.ANNOUNCEMENT and not service.over_limit_prompt:
        raise _invalid(
            "the announcement over the call limit needs over_limit_prompt",
            "service_prompt_missing",
            "over_limit_prompt",
        )
    for index, rule in enumerate(parse_rules(service.rules)):
        if isinstance(rule, HolidayRule):
            problem = calendar_problem(rule.country, rule.subdivision)
            if problem is not None:
                where = rule.subdivision if problem.endswith("subdivision") else rule.country
                raise _invalid(
                    f"no public holiday calendar for {where!r}",
                    problem,
                    f"rules.{index}.{problem.rsplit('_', 1)[1]}",
                )


async def _service_name_free(
    session: AsyncSession, tenant_id: int, name: str, *, own_id: int | None = None
) -> None:
    taken = Service.tenant_id == tenant_id, Service.name == name
    if await _exists(session, Service.id, *taken, own_id=own_id):
        raise Conflict(f"service {name!r} exists", error_id="service_name_taken")


async def list_services(
    session: AsyncSession, *, principal: Principal, params: PageParams, name: str | None
) -> tuple[list[Service], int]:
    """The services of the principal's tenant, by name unless ``sort`` says otherwise."""
    return await paginate(
        session,
        select(Service).where(Service.tenant_id == principal.tenant_id),
        params,
        sortable={"id": Service.id, "name": Service.name, "created_at": Service.created_at},
        filters={"name": (Service.name, name)},
        default_sort=(Service.name, Service.id),
    )


async def get_service(session: AsyncSession, *, principal: Principal, service_id: int) -> Service:
    """A service of the principal's tenant."""
    return await get_owned(
        session, Service, service_id, tenant_id=principal.tenant_id, what="service"
    )


async def create_service(
    session: AsyncSession, *, principal: Principal, data: ServiceCreate
) -> Service:
    """A new service of the principal's tenant."""
    await _service_name_free(session, principal.tenant_id, data.name)
    service = Service(
        tenant_id=principal.tenant_id,
        **data.model_dump(exclude={"rules", "default_target"}),
        rules=_json_rules(data.rules),
        default_target=data.default_target.model_dump(mode="json"),
    )
    _check_service(service)
    session.add(service)
    await _log(session, principal, "create", service, SERVICE_AUDITED)
    return service


async def update_service(
    session: AsyncSession, *, principal: Principal, service_id: int, data: ServiceUpdate
) -> Service:
    """Change a service of the principal's tenant."""
    service = await get_service(session, principal=principal, service_id=service_id)
    before = audit.snapshot(service, SERVICE_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if data.name is not None:
        await _service_name_free(session, service.tenant_id, data.name, own_id=service.id)
    if data.rules is not None:
        changes["rules"] = _json_rules(data.rules)
    if data.default_target is not None:
        changes["default_target"] = data.default_target.model_dump(mode="json")
    audit.apply_changes(service, changes, nullable=SERVICE_NULLABLE)
    _check_service(service)
    await _log(session, principal, "update", service, SERVICE_AUDITED, before)
    return service


async def delete_service(session: AsyncSession, *, principal: Principal, service_id: int) -> None:
    """Remove a service of the principal's tenant that no number leads to."""
    service = await get_service(session, principal=principal, service_id=service_id)
    if await _exists(session, AccessNumber.id, AccessNumber.service_id == service.id):
        raise Conflict(
            "numbers still lead to this service; move or delete them first",
            error_id="service_in_use",
        )
    await _delete(session, principal, service, SERVICE_AUDITED)


async def route_at(
    session: AsyncSession, *, principal: Principal, service_id: int, at: datetime | None
) -> RouteOut:
    """What the service's schedule chooses at ``at``: an aware instant, a naive local
    time in the service's zone, or (None) now."""
    service = await get_service(session, principal=principal, service_id=service_id)
    tenant = await session.get(Tenant, service.tenant_id)
    config = service_config(service, tenant.timezone if tenant else "UTC")
    tz = zone(config.timezone)
    assert tz is not None  # service_config only picks zones that exist
    when = at or utcnow()
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    choice = choose(config.rules, config.default_target, when, tz)
    return RouteOut(
        service_id=service.id,
        at=when.astimezone(UTC),
        timezone=config.timezone,
        local_time=choice.local_time,
        rule_index=choice.rule_index,
        rule_name=choice.rule_name,
        target=choice.target,
    )


# Access numbers


async def _number_checks(
    session: AsyncSession, number: AccessNumber, *, check_number: bool, check_service: bool
) -> None:
    if check_number and await _exists(
        session, AccessNumber.id, AccessNumber.number == number.number, own_id=number.id
    ):
        raise Conflict(f"number {number.number!r} is taken", error_id="number_taken")
    if check_service and not await _exists(
        session,
        Service.id,
        Service.id == number.service_id,
        Service.tenant_id == number.tenant_id,
    ):
        raise _invalid("no such service", "unknown_service", "service_id")


async def list_numbers(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    number: str | None,
    service_id: int | None,
    enabled: bool | None,
) -> tuple[list[AccessNumber], int]:
    """The access numbers of the principal's tenant, by number unless ``sort`` says
    otherwise."""
    return await paginate(
        session,
        select(AccessNumber).where(AccessNumber.tenant_id == principal.tenant_id),
        params,
        sortable={
            "id": AccessNumber.id,
            "number": AccessNumber.number,
            "service_id": AccessNumber.service_id,
            "created_at": AccessNumber.created_at,
        },
        filters={
            "number": (AccessNumber.number, number),
            "service_id": (AccessNumber.service_id, service_id),
            "enabled": (AccessNumber.enabled, enabled),
        },
        default_sort=(AccessNumber.number,),
    )


async def get_number(
    session: AsyncSession, *, principal: Principal, number_id: int
) -> AccessNumber:
    """An access number of the principal's tenant."""
    return await get_owned(
        session, AccessNumber, number_id, tenant_id=principal.tenant_id, what="number"
    )


async def create_number(
    session: AsyncSession, *, principal: Principal, data: NumberCreate
) -> AccessNumber:
    """A new access number of the principal's tenant."""
    number = AccessNumber(tenant_id=principal.tenant_id, **data.model_dump())
    await _number_checks(session, number, check_number=True, check_service=True)
    session.add(number)
    await _log(session, principal, "create", number, NUMBER_AUDITED)
    return number


async def update_number(
    session: AsyncSession, *, principal: Principal, number_id: int, data: NumberUpdate
) -> AccessNumber:
    """Change an access number of the principal's tenant."""
    number = await get_number(session, principal=principal, number_id=number_id)
    before = audit.snapshot(number, NUMBER_AUDITED)
    audit.apply_changes(number, data.model_dump(exclude_unset=True))
    await _number_checks(
        session,
        number,
        check_number=data.number is not None,
        check_service=data.service_id is not None,
    )
    await _log(session, principal, "update", number, NUMBER_AUDITED, before)
    return number


async def delete_number(session: AsyncSession, *, principal: Principal, number_id: int) -> None:
    """Remove an access number of the principal's tenant."""
    number = await get_number(session, principal=principal, number_id=number_id)
    await _delete(session, principal, number, NUMBER_AUDITED)


# Blacklist


async def _check_entry(session: AsyncSession, entry: BlacklistEntry) -> None:
    if entry.kind is BlockKind.ANONYMOUS:
        entry.number = ""
    elif not entry.number:
        raise _invalid(
            f"a {entry.kind.value} entry needs a number", "blacklist_number_missing", "number"
        )
    if entry.action is BlockAction.REJECT_ANNOUNCEMENT and not entry.prompt:
        raise _invalid(
            "rejecting with an announcement needs a prompt", "blacklist_prompt_missing", "prompt"
        )
    same = (
        BlacklistEntry.tenant_id == entry.tenant_id,
        BlacklistEntry.kind == entry.kind,
        BlacklistEntry.number == entry.number,
    )
    if await _exists(session, BlacklistEntry.id, *same, own_id=entry.id):
        raise Conflict("the blacklist has this entry already", error_id="blacklist_entry_exists")


async def list_blacklist(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    kind: BlockKind | None,
    action: BlockAction | None,
    number: str | None,
) -> tuple[list[BlacklistEntry], int]:
    """The blacklist of the principal's tenant with hit counts, newest first unless
    ``sort`` says otherwise."""
    return await paginate(
        session,
        select(BlacklistEntry).where(BlacklistEntry.tenant_id == principal.tenant_id),
        params,
        sortable={
            "id": BlacklistEntry.id,
            "number": BlacklistEntry.number,
            "hit_count": BlacklistEntry.hit_count,
            "last_hit_at": BlacklistEntry.last_hit_at,
            "expires_at": BlacklistEntry.expires_at,
            "created_at": BlacklistEntry.created_at,
        },
        filters={
            "kind": (BlacklistEntry.kind, kind),
            "action": (BlacklistEntry.action, action),
            "number": (BlacklistEntry.number, number),
        },
        default_sort=(BlacklistEntry.id.desc(),),
    )


async def get_blacklist_entry(
    session: AsyncSession, *, principal: Principal, entry_id: int
) -> BlacklistEntry:
    """A blacklist entry of the principal's tenant."""
    return await get_owned(
        session, BlacklistEntry, entry_id, tenant_id=principal.tenant_id, what="blacklist entry"
    )


async def create_blacklist_entry(
    session: AsyncSession, *, principal: Principal, data: BlacklistCreate
) -> BlacklistEntry:
    """A new blacklist entry of the principal's tenant."""
    entry = BlacklistEntry(
        tenant_id=principal.tenant_id, **{**data.model_dump(), "number": data.number or ""}
    )
    await _check_entry(session, entry)
    session.add(entry)
    await _log(session, principal, "create", entry, BLACKLIST_AUDITED)
    return entry


async def update_blacklist_entry(
    session: AsyncSession, *, principal: Principal, entry_id: int, data: BlacklistUpdate
) -> BlacklistEntry:
    """Change a blacklist entry of the principal's tenant (its hits stay)."""
    entry = await get_blacklist_entry(session, principal=principal, entry_id=entry_id)
    before = audit.snapshot(entry, BLACKLIST_AUDITED)
    audit.apply_changes(entry, data.model_dump(exclude_unset=True), nullable=BLACKLIST_NULLABLE)
    await _check_entry(session, entry)
    await _log(session, principal, "update", entry, BLACKLIST_AUDITED, before)
    return entry


async def delete_blacklist_entry(
    session: AsyncSession, *, principal: Principal, entry_id: int
) -> None:
    """Remove a blacklist entry of the principal's tenant."""
    entry = await get_blacklist_entry(session, principal=principal, entry_id=entry_id)
    await _delete(session, principal, entry, BLACKLIST_AUDITED)


# Call control


async def record_hit(session: AsyncSession | AsyncConnection, entry_id: int, now: datetime) -> bool:
    """Count one call the entry turned away at ``now``; whether the entry still exists."""
    result = await session.execute(
        update(BlacklistEntry)
        .where(BlacklistEntry.id == entry_id)
        .values(
            hit_count=BlacklistEntry.hit_count + 1,
            last_hit_at=now,
            updated_at=BlacklistEntry.updated_at,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def acquire_service_slot(
    session: AsyncSession | AsyncConnection,
    *,
    tenant_id: int,
    service_id: int,
    max_calls: int | None,
    ref: str,
    node: str = "",
) -> bool:
    """Take a slot of the service for ``ref`` (a call id) unless ``max_calls`` are held
    (None: no limit); whether it was taken.  ``ref`` must not hold one of this service
    already."""
    bind = session.get_bind() if isinstance(session, AsyncSession) else session
    if max_calls is not None and bind.dialect.name == "postgresql":
        await session.execute(select(Service.id).where(Service.id == service_id).with_for_update())
    columns = ServiceSlot.__table__.c
    values = {
        "tenant_id": tenant_id,
        "service_id": service_id,
        "ref": ref,
        "node": node,
        "acquired_at": utcnow(),
    }
    row = select(*(literal(value, columns[name].type) for name, value in values.items()))
    if max_calls is not None:
        held = select(func.count()).where(ServiceSlot.service_id == service_id)
        row = row.where(held.scalar_subquery() < max_calls)
    result = await session.execute(insert(ServiceSlot).from_select(list(values), row))
    return bool(getattr(result, "rowcount", 0))


async def release_service_slot(
    session: AsyncSession | AsyncConnection, *, service_id: int, ref: str
) -> bool:
    """Free the slot ``ref`` holds in the service; whether there was one."""
    result = await session.execute(
        delete(ServiceSlot).where(ServiceSlot.service_id == service_id, ServiceSlot.ref == ref)
    )
    return bool(getattr(result, "rowcount", 0))


async def release_node_service_slots(session: AsyncSession | AsyncConnection, *, node: str) -> int:
    """Free every slot a node held (on its start after a crash); how many."""
    result = await session.execute(delete(ServiceSlot).where(ServiceSlot.node == node))
    return int(getattr(result, "rowcount", 0))
