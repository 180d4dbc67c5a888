"""The SMS sender task: queued messages out, reports and inbound SMPP messages in.

Theory of operation: :func:`helpline.sms.service.send_sms` leaves ``queued`` rows.
:class:`SmsSender` takes the due ones (``next_attempt_at`` at or before now), claims
each with a conditional update that pushes ``next_attempt_at`` a lease ahead (so two
nodes never send the same attempt) and, for Kannel, stores the random reference the
``dlr-url`` will carry before anything is sent, so even an instant report finds its
message. Outside any transaction it hands the message to its gateway's
:class:`~helpline.sms.transport.Transport` and records the outcome: ``sent`` with the
gateway's id; a permanent refusal fails the message; anything else is retried after
:data:`RETRY_DELAYS`, then the message fails.

Transports are made per gateway and remade when the gateway changes. SMPP sessions are
kept bound while their gateway is enabled (inbound messages arrive on them), and the
sender is their :class:`~helpline.sms.transport.IncomingSink`. An SMSC may send a
receipt before the ``submit_sm_resp`` has been recorded; such a report waits in memory
and is applied again after each recorded submit (for :data:`UNMATCHED_TTL`).

Each pass also sends the customer-event reminders that are due
(:func:`helpline.sms.reminders.send_due_reminders`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import httpx
from sqlalchemy import select, update

from helpline.core.passes import claim, run_passes
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.sms import service
from helpline.sms.kannel import REQUEST_TIMEOUT, KannelTransport
from helpline.sms.models import (
    MAX_ERROR_LENGTH,
    GatewayKind,
    MessageStatus,
    SmsGateway,
    SmsMessage,
)
from helpline.sms.reminders import send_due_reminders
from helpline.sms.schemas import KannelSettings, SmppSettings
from helpline.sms.smpp import SmppTransport
from helpline.sms.transport import (
    Inbound,
    Outgoing,
    Report,
    Submitted,
    Transport,
    TransportError,
)

log = logging.getLogger(__name__)

RETRY_DELAYS: Final = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
)
MAX_ATTEMPTS: Final = len(RETRY_DELAYS) + 1
LEASE: Final = timedelta(seconds=60)
BATCH: Final = 50
POLL_SECONDS: Final = 5.0
UNMATCHED_TTL: Final = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class _Job:
    outgoing: Outgoing
    gateway_id: int


@dataclass(slots=True)
class _Link:
    fingerprint: str
    transport: Transport


def _fingerprint(gateway: SmsGateway) -> str:
    return json.dumps(
        [gateway.kind.value, gateway.settings, gateway.password], sort_keys=True, default=str
    )


class SmsSender:
    """Sends due messages and keeps gateway sessions; one per process."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        reminders: bool = True,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.reminders = reminders
        self._client = client or httpx.AsyncClient(timeout=REQUEST_TIMEOUT, follow_redirects=False)
        self._own_client = client is None
        self._links: dict[int, _Link] = {}
        self._wake = asyncio.Event()
        self._unmatched: list[tuple[Report, datetime]] = []

    def wake(self) -> None:
        """Look for due messages now instead of at the next poll."""
        self._wake.set()

    # -- transports ----------------------------------------------------------------------

    def _make(self, gateway: SmsGateway) -> Transport:
        if gateway.kind is GatewayKind.KANNEL:
            return KannelTransport(
                settings=KannelSettings.model_validate(gateway.settings),
                password=gateway.password,
                public_url=self.runtime.settings.effective_public_url,
                client=self._client,
            )
        return SmppTransport(
            gateway_id=gateway.id,
            settings=SmppSettings.model_validate(gateway.settings),
            password=gateway.password,
            sink=self,
        )

    async def transport(self, gateway: SmsGateway) -> Transport:
        """The transport of ``gateway``, made again if its settings changed."""
        fingerprint = _fingerprint(gateway)
        link = self._links.get(gateway.id)
        if link is not None and link.fingerprint == fingerprint:
            return link.transport
        if link is not None:
            await link.transport.close()
        made = self._make(gateway)
        self._links[gateway.id] = _Link(fingerprint, made)
        return made

    async def keep_sessions(self) -> None:
        """Bind the SMPP sessions of enabled gateways; close those of the others."""
        async with self.runtime.unit_of_work() as session:
            gateways = list(
                (
                    await session.execute(
                        select(SmsGateway).where(
                            SmsGateway.kind == GatewayKind.SMPP, SmsGateway.enabled.is_(True)
                        )
                    )
                ).scalars()
            )
        wanted = {g.id for g in gateways}
        for gateway_id in [g for g in self._links if g not in wanted]:
            link = self._links.get(gateway_id)
            if link is not None and isinstance(link.transport, SmppTransport):
                del self._links[gateway_id]
                await link.transport.close()
        for gateway in gateways:
            made = await self.transport(gateway)
            if isinstance(made, SmppTransport):
                try:
                    await made.ensure()
                except TransportError as exc:
                    log.warning("SMS gateway %d: %s", gateway.id, exc)

    # -- sending -------------------------------------------------------------------------

    async def _claim(self) -> list[tuple[_Job, SmsGateway]]:
        now = self.clock()
        async with self.runtime.unit_of_work() as session:
            rows = (
                await session.execute(
                    select(SmsMessage, SmsGateway)
                    .outerjoin(SmsGateway, SmsGateway.id == SmsMessage.gateway_id)
                    .where(
                        SmsMessage.status == MessageStatus.QUEUED,
                        SmsMessage.next_attempt_at <= now,
                    )
                    .order_by(SmsMessage.next_attempt_at, SmsMessage.id)
                    .limit(BATCH)
                )
            ).all()
            jobs: list[tuple[_Job, SmsGateway]] = []
            for message, gateway in rows:
                taken = await claim(
                    session,
                    update(SmsMessage)
                    .where(
                        SmsMessage.id == message.id,
                        SmsMessage.status == MessageStatus.QUEUED,
                        SmsMessage.next_attempt_at == message.next_attempt_at,
                    )
                    .values(next_attempt_at=now + LEASE),
                )
                if not taken:
                    continue
                if gateway is None or not gateway.enabled:
                    why = "the SMS gateway was removed or disabled"
                    await service.advance(session, message, MessageStatus.FAILED, at=now, error=why)
                    continue
                if message.remote_id is None:
                    message.remote_id = service.new_reference()
                outgoing = Outgoing(
                    message_id=message.id,
                    to=message.number,
                    sender=gateway.sender,
                    text=message.body,
                    coding=message.coding,
                    reference=message.remote_id,
                )
                jobs.append((_Job(outgoing, gateway.id), gateway))
        return jobs

    async def _record(self, job: _Job, result: Submitted | TransportError) -> None:
        now = self.clock()
        async with self.runtime.unit_of_work() as session:
            message = await session.get(SmsMessage, job.outgoing.message_id)
            if message is None:
                return
            message.attempts += 1
            if isinstance(result, Submitted):
                message.remote_id = result.remote_id
                await service.record_parts(
                    session, message, gateway_id=job.gateway_id, part_ids=result.part_ids
                )
                await service.advance(session, message, MessageStatus.SENT, at=now)
                return
            error = str(result)[:MAX_ERROR_LENGTH]
            delay = None if result.permanent else _retry_delay(message.attempts)
            if delay is None:
                log.warning("SMS %d to %s failed: %s", message.id, message.number, result)
                await service.advance(session, message, MessageStatus.FAILED, at=now, error=error)
            else:
                message.error = error
                message.next_attempt_at = now + delay
                log.info("SMS %d failed (%s); retry in %s", message.id, result, delay)

    async def _send(self, job: _Job, gateway: SmsGateway) -> None:
        try:
            transport = await self.transport(gateway)
            result: Submitted | TransportError = await transport.submit(job.outgoing)
        except TransportError as exc:
            result = exc
        await self._record(job, result)
        if isinstance(result, Submitted) and self._unmatched:
            await self._retry_unmatched()

    async def deliver_due(self) -> int:
        """Send every message due now (one batch); how many were attempted."""
        jobs = await self._claim()
        for job, gateway in jobs:
            await self._send(job, gateway)
        return len(jobs)

    # -- what comes back -----------------------------------------------------------------

    async def report(self, report: Report) -> None:
        """Store a delivery report an SMPP session received."""
        async with self.runtime.unit_of_work() as session:
            found = await service.record_report(
                session,
                gateway_id=report.gateway_id,
                remote_id=report.remote_id,
                outcome=report.outcome,
                code=report.code,
                detail=report.detail,
                now=self.clock(),
            )
        if found is None:
            self._unmatched.append((report, self.clock() + UNMATCHED_TTL))

    async def _retry_unmatched(self) -> None:
        now = self.clock()
        waiting = [(r, until) for r, until in self._unmatched if until > now]
        self._unmatched = []
        for report, until in waiting:
            async with self.runtime.unit_of_work() as session:
                found = await service.record_report(
                    session,
                    gateway_id=report.gateway_id,
                    remote_id=report.remote_id,
                    outcome=report.outcome,
                    code=report.code,
                    detail=report.detail,
                    now=now,
                )
            if found is None:
                self._unmatched.append((report, until))

    async def inbound(self, message: Inbound) -> None:
        """Store an inbound message an SMPP session received."""
        async with self.runtime.unit_of_work() as session:
            gateway = await session.get(SmsGateway, message.gateway_id)
            if gateway is None:
                log.warning("inbound SMS for a removed gateway %d dropped", message.gateway_id)
                return
            await service.receive(
                session,
                gateway=gateway,
                sender=message.sender,
                recipient=message.recipient,
                text=message.text,
                coding=message.coding,
                now=self.clock(),
            )

    # -- the task ------------------------------------------------------------------------

    async def pass_once(self) -> int:
        """One pass: sessions, due reminders, due messages; how many were attempted."""
        await self.keep_sessions()
        if self.reminders:
            async with self.runtime.unit_of_work() as session:
                await send_due_reminders(session, now=self.clock())
        return await self.deliver_due()

    async def run(self) -> None:
        """Send until cancelled, woken by new messages or every few seconds."""
        await run_passes(
            self.runtime.bus,
            lambda e: isinstance(e, service.SmsQueued),
            self.pass_once,
            self._wake,
            batch=BATCH,
            poll=POLL_SECONDS,
            name="SMS sender",
        )

    async def aclose(self) -> None:
        """Close every gateway session and the HTTP client the sender made."""
        links, self._links = self._links, {}
        for link in links.values():
            await link.transport.close()
        if self._own_client:
            await self._client.aclose()


def _retry_delay(attempts: int) -> timedelta | None:
    if attempts < 1 or attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[attempts - 1]
