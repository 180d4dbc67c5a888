"""Persistence of registrar bindings and the look-ups the SIP layer needs.

Theory of operation: the sans-IO :class:`helpline.sip.registrar.Registrar` decides a
REGISTER (RFC 3261 §10.3; digest per RFC 7616; NAT source per RFC 3581) from values this
module loads, and returns the bindings to remove and to upsert.  One unit of work per
REGISTER: :func:`get_credentials` and :func:`load_bindings` (``lock=True`` takes a row
lock on the SIP account, so nodes sharing PostgreSQL apply REGISTERs of one AOR one at a
time), ``Registrar.handle``, then :func:`apply_outcome`; the caller commits.  Bindings
are rows, so a restart keeps phones reachable; expired rows are ignored by every read
and deleted by :func:`purge_expired` (and by the next REGISTER of that account).
Functions never commit.  Times are UTC datetimes here and epoch seconds in the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from helpline.auth.principal import Principal
from helpline.browserphone import service as browserphone
from helpline.core.errors import NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.registrations.models import Registration
from helpline.sip.registrar import AccountCredentials, Aor, Binding, RegisterOutcome, Verdict
from helpline.sip.routing import Address
from helpline.tenants.models import Tenant
from helpline.users.models import SipAccount

__all__ = [
    "active_bindings",
    "apply_outcome",
    "contacts_for",
    "get_credentials",
    "get_registration",
    "list_registrations",
    "load_bindings",
    "purge_expired",
    "tenant_id_for_realm",
]


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _binding(row: Registration, username: str) -> Binding:
    return Binding(
        aor=Aor(row.tenant_id, username),
        contact=row.contact,
        source=Address(row.source_host, row.source_port),
        transport=row.transport,
        expires_at=_epoch(row.expires_at),
        call_id=row.call_id,
        cseq=row.cseq,
        bound_to_source=row.bound_to_source,
        user_agent=row.user_agent,
        instance_id=row.instance_id,
        reg_id=row.reg_id,
    )


def _with_account() -> Select[Registration]:
    return (
        select(Registration)
        .join(Registration.sip_account)
        .options(contains_eager(Registration.sip_account))
    )


async def tenant_id_for_realm(session: AsyncSession, *, realm: str) -> int | None:
    """The active tenant whose SIP realm (the Request-URI domain) is ``realm``."""
    return (
        await session.execute(
            select(Tenant.id).where(Tenant.sip_realm == realm, Tenant.active.is_(True))
        )
    ).scalar_one_or_none()


async def get_credentials(
    session: AsyncSession, *, tenant_id: int, username: str, now: datetime | None = None
) -> AccountCredentials | None:
    """The digest credentials of an active SIP account, None when there is none; the
    HA1s of its browser-phone credentials unexpired at ``now`` are alternates."""
    account = (
        await session.execute(
            select(SipAccount).where(
                SipAccount.tenant_id == tenant_id,
                SipAccount.username == username,
                SipAccount.active.is_(True),
            )
        )
    ).scalar_one_or_none()
    if account is None:
        return None
    return AccountCredentials(
        tenant_id=account.tenant_id,
        username=account.username,
        realm=account.realm,
        ha1_md5=account.ha1_md5,
        ha1_sha256=account.ha1_sha256,
        alternates=await browserphone.alternate_ha1s(
            session, sip_account_id=account.id, now=now or datetime.now(UTC)
        ),
    )


async def load_bindings(
    session: AsyncSession, *, tenant_id: int, username: str, lock: bool = False
) -> tuple[Binding, ...]:
    """Every stored binding of the account, expired ones included (the registrar drops
    them); ``lock`` row-locks the account until the unit of work ends."""
    account_q = select(SipAccount.id).where(
        SipAccount.tenant_id == tenant_id, SipAccount.username == username
    )
    if lock:
        account_q = account_q.with_for_update()
    account_id = (await session.execute(account_q)).scalar_one_or_none()
    if account_id is None:
        return ()
    rows = (
        await session.execute(
            select(Registration)
            .where(Registration.sip_account_id == account_id)
            .order_by(Registration.id)
        )
    ).scalars()
    return tuple(_binding(row, username) for row in rows)


async def apply_outcome(session: AsyncSession, *, outcome: RegisterOutcome, now: datetime) -> None:
    """Persist a registrar decision: delete ``removed``, insert or update ``upserted``.

    Does nothing unless the verdict is REGISTERED.  Runs in the caller's unit of work,
    so the change is atomic with whatever else it commits.
    """
    if outcome.verdict is not Verdict.REGISTERED or not (outcome.removed or outcome.upserted):
        return
    aor = (outcome.upserted or outcome.removed)[0].aor
    account_id = (
        await session.execute(
            select(SipAccount.id).where(
                SipAccount.tenant_id == aor.tenant_id, SipAccount.username == aor.username
            )
        )
    ).scalar_one_or_none()
    if account_id is None:
        return  # the account was deleted meanwhile; its bindings went with it
    if outcome.removed:
        await session.execute(
            delete(Registration).where(
                Registration.sip_account_id == account_id,
                Registration.contact.in_([b.contact for b in outcome.removed]),
            )
        )
    if not outcome.upserted:
        return
    existing = {
        row.contact: row
        for row in (
            await session.execute(
                select(Registration).where(
                    Registration.sip_account_id == account_id,
                    Registration.contact.in_([b.contact for b in outcome.upserted]),
                )
            )
        ).scalars()
    }
    for binding in outcome.upserted:
        row = existing.get(binding.contact)
        if row is None:
            row = Registration(
                tenant_id=aor.tenant_id,
                sip_account_id=account_id,
                contact=binding.contact,
                created_at=now,
            )
            session.add(row)
        _fill(row, binding, now)
    await session.flush()


def _fill(row: Registration, binding: Binding, now: datetime) -> None:
    row.source_host = binding.source.host
    row.source_port = binding.source.port
    row.transport = binding.transport
    row.bound_to_source = binding.bound_to_source
    row.expires_at = _datetime(binding.expires_at)
    row.call_id = binding.call_id
    row.cseq = binding.cseq
    row.user_agent = binding.user_agent
    row.instance_id = binding.instance_id
    row.reg_id = binding.reg_id
    row.updated_at = now


async def purge_expired(
    session: AsyncSession, *, now: datetime, tenant_id: int | None = None
) -> int:
    """Delete bindings that expired by ``now`` (of one tenant, or all); how many."""
    stmt = delete(Registration).where(Registration.expires_at <= now)
    if tenant_id is not None:
        stmt = stmt.where(Registration.tenant_id == tenant_id)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def _bindings(session: AsyncSession, stmt: Select[Registration]) -> tuple[Binding, ...]:
    rows = (await session.execute(stmt.order_by(SipAccount.username, Registration.id))).scalars()
    return tuple(_binding(row, row.sip_account.username) for row in rows)


async def active_bindings(
    session: AsyncSession, *, tenant_id: int | None, now: datetime
) -> tuple[Binding, ...]:
    """Unexpired bindings of the tenant, or of every tenant (for qualifying phones)."""
    stmt = _with_account().where(Registration.expires_at > now)
    if tenant_id is not None:
        stmt = stmt.where(Registration.tenant_id == tenant_id)
    return await _bindings(session, stmt)


async def contacts_for(
    session: AsyncSession, *, tenant_id: int, username: str, now: datetime
) -> tuple[Binding, ...]:
    """Unexpired bindings of one account: where a call to that user forks to."""
    return await _bindings(
        session,
        _with_account().where(
            Registration.tenant_id == tenant_id,
            SipAccount.username == username,
            SipAccount.active.is_(True),
            Registration.expires_at > now,
        ),
    )


async def list_registrations(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    username: str | None,
    now: datetime,
) -> tuple[Sequence[Registration], int]:
    """Unexpired registrations of the principal's tenant, one page."""
    return await paginate(
        session,
        _with_account().where(
            Registration.tenant_id == principal.tenant_id, Registration.expires_at > now
        ),
        params,
        sortable={
            "id": Registration.id,
            "username": SipAccount.username,
            "expires_at": Registration.expires_at,
            "updated_at": Registration.updated_at,
        },
        filters={"username": (SipAccount.username, username)},
        default_sort=(SipAccount.username, Registration.id),
    )


async def get_registration(
    session: AsyncSession, *, principal: Principal, registration_id: int
) -> Registration:
    """One registration of the principal's tenant (expired or not, until purged)."""
    row = (
        await session.execute(
            _with_account().where(
                Registration.id == registration_id,
                Registration.tenant_id == principal.tenant_id,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such registration")
    return row
