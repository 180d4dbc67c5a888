"""What call control does with an inbound call: blocked, or routed to a target.

Theory of operation: on an INVITE for a dialed number, call control gets the number's
:class:`RoutingConfig` from :func:`load_routing` (frozen values it may cache briefly;
None means the number is unknown or disabled: 404) and asks :func:`decide` with the
caller's number, the time and whether the caller is anonymous
(:func:`helpline.routing.blacklist.is_anonymous`).  The answer is

* :class:`Blocked`: the blacklist entry, its action and prompt; call control counts the
  hit (:func:`helpline.routing.service.record_hit`) and answers 486, plays the prompt,
  or ignores the INVITE, before any media port is allocated;
* :class:`Routed`: the service, the target its schedule chooses now, and what to do
  when the service is full: call control takes a slot
  (:func:`helpline.routing.service.acquire_service_slot`) and, refused, answers 486 or
  plays ``over_limit_prompt``; the slot is released when the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.routing.blacklist import BlockAction, BlockEntry, match, normalize_number
from helpline.routing.models import AccessNumber, BlacklistEntry, OverLimitAction, Service
from helpline.routing.schedule import Rule, Target, choose, parse_rules, parse_target, zone
from helpline.tenants.models import Tenant

__all__ = [
    "BUSY_HERE",
    "Blocked",
    "Decision",
    "Routed",
    "RoutingConfig",
    "ServiceConfig",
    "decide",
    "load_routing",
    "service_config",
    "service_zone",
]

#: The SIP status of busy rejections (RFC 3261 §21.4.24).
BUSY_HERE = 486


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """A service as call control sees it (never an ORM row)."""

    id: int
    tenant_id: int
    name: str
    timezone: str
    """The effective zone: the service's own, else the tenant's."""
    rules: tuple[Rule, ...]
    default_target: Target
    max_calls: int | None = None
    over_limit_action: OverLimitAction = OverLimitAction.BUSY
    over_limit_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """Everything needed to decide a call to one number."""

    number_id: int
    number: str
    tenant_id: int
    service: ServiceConfig
    blacklist: tuple[BlockEntry, ...]
    """The tenant's entries, expired ones included (:func:`decide` skips them)."""


@dataclass(frozen=True, slots=True)
class Blocked:
    """The caller is on the blacklist."""

    entry_id: int
    action: BlockAction
    prompt: str | None

    @property
    def sip_status(self) -> int | None:
        """The final response to send: 486 for busy, None when a prompt is played or
        nothing is answered at all."""
        return BUSY_HERE if self.action is BlockAction.REJECT_BUSY else None


@dataclass(frozen=True, slots=True)
class Routed:
    """The call goes to ``target`` of the service, within its call limit."""

    tenant_id: int
    service_id: int
    target: Target
    rule_index: int | None
    """The schedule rule that chose ``target``; None for the default target."""
    max_calls: int | None
    over_limit_action: OverLimitAction
    over_limit_prompt: str | None


Decision = Blocked | Routed


def service_zone(service: Service, tenant_timezone: str) -> str:
    """The zone a service's schedule runs in: its own, else the tenant's, else UTC."""
    for name in (service.timezone, tenant_timezone):
        if name and zone(name) is not None:
            return name
    return "UTC"


def service_config(service: Service, tenant_timezone: str) -> ServiceConfig:
    """The frozen view of ``service``."""
    return ServiceConfig(
        id=service.id,
        tenant_id=service.tenant_id,
        name=service.name,
        timezone=service_zone(service, tenant_timezone),
        rules=parse_rules(service.rules),
        default_target=parse_target(service.default_target),
        max_calls=service.max_calls,
        over_limit_action=service.over_limit_action,
        over_limit_prompt=service.over_limit_prompt,
    )


def _entry(row: BlacklistEntry) -> BlockEntry:
    return BlockEntry(
        id=row.id,
        kind=row.kind,
        number=row.number,
        action=row.action,
        prompt=row.prompt,
        expires_at=row.expires_at,
    )


def _alternate(number: str) -> str:
    return number[1:] if number.startswith("+") else f"+{number}"


async def load_routing(session: AsyncSession, dialed: str) -> RoutingConfig | None:
    """The routing of the dialed number, or None when no enabled number of an active
    tenant matches.  ``dialed`` is normalized; when it is not found as given, it is
    tried with the leading ``+`` added or removed."""
    number = normalize_number(dialed)
    if not number:
        return None
    stmt = (
        select(AccessNumber, Service, Tenant.timezone)
        .join(Service, Service.id == AccessNumber.service_id)
        .join(Tenant, Tenant.id == AccessNumber.tenant_id)
        .where(AccessNumber.enabled.is_(True), Tenant.active.is_(True))
    )
    row = None
    for candidate in (number, _alternate(number)):
        row = (await session.execute(stmt.where(AccessNumber.number == candidate))).first()
        if row is not None:
            break
    if row is None:
        return None
    access, service, tenant_timezone = row
    entries = await session.execute(
        select(BlacklistEntry)
        .where(BlacklistEntry.tenant_id == access.tenant_id)
        .order_by(BlacklistEntry.id)
    )
    return RoutingConfig(
        number_id=access.id,
        number=access.number,
        tenant_id=access.tenant_id,
        service=service_config(service, tenant_timezone),
        blacklist=tuple(_entry(e) for e in entries.scalars()),
    )


def decide(
    config: RoutingConfig, caller: str | None, now: datetime, *, anonymous: bool
) -> Decision:
    """Blocked when an entry in force at ``now`` (aware) blocks ``caller``; else the
    target the service's schedule chooses at ``now``."""
    entry = match(config.blacklist, caller, now, anonymous=anonymous)
    if entry is not None:
        return Blocked(entry_id=entry.id, action=entry.action, prompt=entry.prompt)
    service = config.service
    choice = choose(service.rules, service.default_target, now, ZoneInfo(service.timezone))
    return Routed(
        tenant_id=config.tenant_id,
        service_id=service.id,
        target=choice.target,
        rule_index=choice.rule_index,
        max_calls=service.max_calls,
        over_limit_action=service.over_limit_action,
        over_limit_prompt=service.over_limit_prompt,
    )
