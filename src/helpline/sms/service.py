"""Sending and receiving SMS: the outbox, delivery reports, inbound messages.

:func:`send_sms` is what the rest of the system calls to send a text (the desktop
through :func:`send_from_desktop`, reminders, survey links, flows): it checks the
number, picks the gateway, writes a ``queued`` message in the caller's transaction and
asks the sender (:class:`helpline.sms.sender.SmsSender`) to look once that commits. It
never waits for the network.

:func:`record_report` applies a delivery report to its message without ever moving it
back (see :data:`~helpline.sms.models.STATUS_RANK`); :func:`receive` stores an inbound
message against the customer whose number sent it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict, NotFound
from helpline.core.events import Audience, Event
from helpline.core.pagination import PageParams, paginate
from helpline.customers.lookup import caller_e164, lookup_by_number, tenant_region
from helpline.customers.models import Customer
from helpline.db.base import get_owned, utcnow
from helpline.runtime import queue_event
from helpline.sms import admin
from helpline.sms.encoding import encode_info
from helpline.sms.models import (
    MAX_ERROR_LENGTH,
    MAX_NUMBER_LENGTH,
    MAX_REMOTE_ID_LENGTH,
    MAX_TEXT_LENGTH,
    STATUS_RANK,
    Coding,
    Direction,
    GatewayKind,
    MessageStatus,
    SmsDeliveryReport,
    SmsGateway,
    SmsMessage,
    SmsPart,
)
from helpline.sms.schemas import SendRequest

REFERENCE_BYTES = 18


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsQueued(Event):
    """New outbound messages were committed; the sender wakes up for them."""

    name: ClassVar[str] = "sms.queued"
    audience: ClassVar[Audience] = Audience.ADMIN
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsStatusChanged(Event):
    """An outbound message was sent, delivered or failed."""

    name: ClassVar[str] = "sms.status"
    audience: ClassVar[Audience] = Audience.AGENT
    message_id: int
    status: str
    customer_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsReceived(Event):
    """An inbound message arrived (agents' desktops show it)."""

    name: ClassVar[str] = "sms.received"
    audience: ClassVar[Audience] = Audience.AGENT
    message_id: int
    number: str
    customer_id: int | None


def _invalid(message: str, error_id: str, **details: object) -> ApiError:
    return ApiError(message, error_id=error_id, status_code=422, details=details or None)


async def send_sms(
    session: AsyncSession,
    *,
    tenant_id: int,
    to: str,
    text: str,
    created_by: str = "system",
    purpose: str = "manual",
    customer_id: int | None = None,
    template_id: int | None = None,
    gateway_id: int | None = None,
    now: datetime | None = None,
) -> SmsMessage:
    """Queue ``text`` to ``to`` (any spelling of a phone number of the tenant's region);
    it goes out after ``session`` commits.

    422 ``sms_invalid_number`` for a number that is not one, ``sms_empty`` /
    ``sms_too_long`` for the text; 409 ``sms_no_gateway`` when the tenant has no
    (enabled) gateway. ``customer_id`` is not checked: pass one of the tenant's.
    """
    region = await tenant_region(session, tenant_id)
    number = caller_e164(to, region)
    if number is None:
        raise _invalid(f"{to!r} is not a phone number", "sms_invalid_number", to=to)
    if not text.strip():
        raise _invalid("the message is empty", "sms_empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise _invalid(f"the message is longer than {MAX_TEXT_LENGTH} characters", "sms_too_long")
    gateway = await admin.pick_gateway(session, tenant_id=tenant_id, gateway_id=gateway_id)
    info = encode_info(text)
    message = SmsMessage(
        tenant_id=tenant_id,
        direction=Direction.OUTBOUND,
        status=MessageStatus.QUEUED,
        gateway_id=gateway.id,
        customer_id=customer_id,
        number=number,
        own_number=gateway.sender,
        body=text,
        coding=info.coding,
        parts=info.parts,
        template_id=template_id,
        purpose=purpose[:50],
        created_by=created_by[:100],
        attempts=0,
        next_attempt_at=now or utcnow(),
    )
    session.add(message)
    await session.flush()
    queue_event(session, SmsQueued(tenant_id=tenant_id, count=1))
    return message


async def send_from_desktop(
    session: AsyncSession, *, principal: Principal, data: SendRequest
) -> SmsMessage:
    """Send what an agent asked for: to a number or a customer's first number, a text
    or a template (in the asked language, else the customer's)."""
    tenant_id = principal.tenant_id
    customer: Customer | None = None
    if data.customer_id is not None:
        customer = await get_owned(
            session, Customer, data.customer_id, tenant_id=tenant_id, what="customer"
        )
    to = data.to
    if to is None:
        assert customer is not None
        if not customer.phones:
            raise Conflict("the customer has no phone number", error_id="sms_customer_no_number")
        to = customer.phones[0].e164
    if customer is None:
        region = await tenant_region(session, tenant_id)
        found = await lookup_by_number(session, tenant_id, to, region=region)
        customer = await session.get(Customer, found.id) if found is not None else None
    text = data.text
    if data.template_id is not None:
        template = await admin.get_template(
            session, tenant_id=tenant_id, template_id=data.template_id
        )
        language = (data.language.value if data.language else None) or (
            customer.language if customer else None
        )
        variables = {"customer.name": customer.name} if customer else {}
        text, _used = admin.render_template(
            template, language=language, variables={**variables, **data.variables}
        )
    assert text is not None
    return await send_sms(
        session,
        tenant_id=tenant_id,
        to=to,
        text=text,
        created_by=principal.display,
        purpose="manual",
        customer_id=customer.id if customer else None,
        template_id=data.template_id,
        gateway_id=data.gateway_id,
    )


def new_reference() -> str:
    """A random, URL-safe message reference (Kannel's ``dlr-url`` carries it)."""
    return secrets.token_urlsafe(REFERENCE_BYTES)


async def advance(
    session: AsyncSession,
    message: SmsMessage,
    status: MessageStatus,
    *,
    at: datetime,
    error: str | None = None,
) -> bool:
    """Move ``message`` to ``status`` unless it is already as far, and announce it after
    commit; whether it moved. The database decides (one conditional ``UPDATE``), so a
    report and the sender, or two reports, racing each other never move it back."""
    await session.flush()
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    values: dict[str, Any] = {"status": status, "next_attempt_at": None, "error": error}
    if status in (MessageStatus.SENT, MessageStatus.DELIVERED):
        values["sent_at"] = func.coalesce(SmsMessage.sent_at, at)
    if status is MessageStatus.DELIVERED:
        values["delivered_at"] = at
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message.id, SmsMessage.status.in_(lower))
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    await session.refresh(message)
    if result.rowcount != 1:
        return False
    queue_event(
        session,
        SmsStatusChanged(
            tenant_id=message.tenant_id,
            message_id=message.id,
            status=status.value,
            customer_id=message.customer_id,
        ),
    )
    return True


async def record_parts(
    session: AsyncSession, message: SmsMessage, *, gateway_id: int, part_ids: tuple[str, ...]
) -> None:
    """Remember the SMSC's id of each part of ``message`` (sent in several), replacing
    those of an earlier attempt."""
    await session.execute(delete(SmsPart).where(SmsPart.message_id == message.id))
    session.add_all(
        SmsPart(
            tenant_id=message.tenant_id,
            message_id=message.id,
            gateway_id=gateway_id,
            seq=seq,
            remote_id=remote_id[:MAX_REMOTE_ID_LENGTH],
            status=MessageStatus.SENT,
        )
        for seq, remote_id in enumerate(part_ids, start=1)
    )
    await session.flush()


async def _part_outcome(
    session: AsyncSession, gateway_id: int, remote_id: str, outcome: MessageStatus
) -> tuple[SmsMessage, MessageStatus] | None:
    """Record a part's report; its message and what the message's status becomes
    (``sent`` while parts are still out). None when no part has that id."""
    part = (
        await session.execute(
            select(SmsPart)
            .where(SmsPart.gateway_id == gateway_id, SmsPart.remote_id == remote_id)
            .order_by(SmsPart.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if part is None:
        return None
    # The message row is locked so that two parts' reports are counted one after the
    # other, each seeing the other's status.
    message = await session.get(SmsMessage, part.message_id, with_for_update=True)
    if message is None:
        return None
    if STATUS_RANK[outcome] > STATUS_RANK[part.status]:
        part.status = outcome
    statuses = list(
        (
            await session.execute(select(SmsPart.status).where(SmsPart.message_id == message.id))
        ).scalars()
    )
    if MessageStatus.FAILED in statuses:
        return message, MessageStatus.FAILED
    if all(status is MessageStatus.DELIVERED for status in statuses):
        return message, MessageStatus.DELIVERED
    return message, MessageStatus.SENT


async def record_report(
    session: AsyncSession,
    *,
    gateway_id: int | None,
    remote_id: str,
    outcome: MessageStatus,
    code: str,
    detail: str = "",
    via: GatewayKind | None = None,
    now: datetime | None = None,
) -> SmsMessage | None:
    """Apply a delivery report to the outbound message it names (by ``remote_id``, of
    ``gateway_id`` or of a ``via`` gateway when given); ``None`` if there is none. A
    report about one part of a message sent in several (:func:`record_parts`) moves
    the message only when every part is delivered, or any part failed."""
    parted = (
        await _part_outcome(session, gateway_id, remote_id, outcome)
        if gateway_id is not None
        else None
    )
    if parted is not None:
        whole, status = parted
        await _store_report(session, whole, outcome, code, detail, now)
        if status is not MessageStatus.SENT:
            await _advance_reported(session, whole, status, code, detail, now)
        return whole
    stmt = select(SmsMessage).where(
        SmsMessage.remote_id == remote_id, SmsMessage.direction == Direction.OUTBOUND
    )
    if gateway_id is not None:
        stmt = stmt.where(SmsMessage.gateway_id == gateway_id)
    if via is not None:
        stmt = stmt.join(SmsGateway, SmsGateway.id == SmsMessage.gateway_id).where(
            SmsGateway.kind == via
        )
    message = (await session.execute(stmt.limit(1))).scalar_one_or_none()
    if message is None:
        return None
    await _store_report(session, message, outcome, code, detail, now)
    await _advance_reported(session, message, outcome, code, detail, now)
    return message


async def _store_report(
    session: AsyncSession,
    message: SmsMessage,
    outcome: MessageStatus,
    code: str,
    detail: str,
    now: datetime | None,
) -> None:
    session.add(
        SmsDeliveryReport(
            tenant_id=message.tenant_id,
            message_id=message.id,
            received_at=now or utcnow(),
            outcome=outcome,
            code=code[:50],
            detail=detail[:MAX_ERROR_LENGTH],
        )
    )


async def _advance_reported(
    session: AsyncSession,
    message: SmsMessage,
    status: MessageStatus,
    code: str,
    detail: str,
    now: datetime | None,
) -> None:
    error = None
    if status is MessageStatus.FAILED:
        error = f"delivery report: {code} {detail}".strip()[:MAX_ERROR_LENGTH]
    await advance(session, message, status, at=now or utcnow(), error=error)


async def receive(
    session: AsyncSession,
    *,
    gateway: SmsGateway,
    sender: str,
    recipient: str,
    text: str,
    coding: Coding,
    now: datetime | None = None,
) -> SmsMessage:
    """Store an inbound message of ``gateway``'s tenant, attached to the customer whose
    number sent it (the lowest id when several share it)."""
    tenant_id = gateway.tenant_id
    region = await tenant_region(session, tenant_id)
    number = caller_e164(sender, region) or sender.strip()[:MAX_NUMBER_LENGTH]
    found = await lookup_by_number(session, tenant_id, number, region=region)
    at = now or utcnow()
    message = SmsMessage(
        tenant_id=tenant_id,
        direction=Direction.INBOUND,
        status=MessageStatus.RECEIVED,
        gateway_id=gateway.id,
        customer_id=found.id if found else None,
        number=number,
        own_number=recipient[:MAX_NUMBER_LENGTH],
        body=text[:MAX_TEXT_LENGTH],
        coding=coding,
        parts=encode_info(text).parts,
        purpose="inbound",
        created_by=number,
        attempts=0,
        created_at=at,
    )
    session.add(message)
    await session.flush()
    queue_event(
        session,
        SmsReceived(
            tenant_id=tenant_id,
            message_id=message.id,
            number=number,
            customer_id=message.customer_id,
        ),
    )
    return message


async def list_messages(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    customer_id: int | None = None,
    direction: Direction | None = None,
    status: MessageStatus | None = None,
    number: str | None = None,
) -> tuple[list[SmsMessage], int]:
    """The tenant's messages, newest first by default."""
    return await paginate(
        session,
        select(SmsMessage).where(SmsMessage.tenant_id == principal.tenant_id),
        params,
        sortable={
            "id": SmsMessage.id,
            "created_at": SmsMessage.created_at,
            "status": SmsMessage.status,
        },
        filters={
            "customer_id": (SmsMessage.customer_id, customer_id),
            "direction": (SmsMessage.direction, direction),
            "status": (SmsMessage.status, status),
            "number": (SmsMessage.number, number),
        },
        default_sort=(SmsMessage.id.desc(),),
    )


async def get_message(
    session: AsyncSession, *, principal: Principal, message_id: int
) -> tuple[SmsMessage, list[SmsDeliveryReport]]:
    """A message of the tenant and its delivery reports, oldest first."""
    message = await session.get(SmsMessage, message_id)
    if message is None or message.tenant_id != principal.tenant_id:
        raise NotFound("no such SMS message")
    reports = (
        await session.execute(
            select(SmsDeliveryReport)
            .where(SmsDeliveryReport.message_id == message.id)
            .order_by(SmsDeliveryReport.received_at, SmsDeliveryReport.id)
        )
    ).scalars()
    return message, list(reports)
