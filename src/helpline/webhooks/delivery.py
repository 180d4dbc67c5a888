"""Sending webhook deliveries: signatures, retries with backoff, the sender task.

Theory of operation: :func:`helpline.webhooks.service.publish` leaves pending rows in
``webhook_deliveries``.  :class:`WebhookSender` takes the due ones (``next_attempt_at``
at or before now), claims each with a conditional update that pushes its
``next_attempt_at`` a lease ahead (so two nodes never send the same attempt), posts the
JSON body with :mod:`httpx` outside any transaction, and records the outcome: a 2xx
answer delivers it; anything else (another status, a timeout, a refused connection) is
retried after :data:`RETRY_DELAYS` until :data:`MAX_ATTEMPTS`, then the delivery is
``failed``.  Redirects are not followed.

Every request carries ``X-Helpline-Event``, ``X-Helpline-Delivery`` (the delivery id,
the same on every retry, for the receiver to drop duplicates) and
``X-Helpline-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256(secret, ``"<t>." + body``); receivers check it with :func:`verify` and reject
old timestamps to stop replays.

:class:`WebhookBridge` forwards the call events of the event bus (the ACD's
``acd.call_offered``, ``acd.call_answered``, ``acd.call_ended``; see :data:`BUS_EVENTS`)
to :func:`~helpline.webhooks.service.publish` as ``call.offered``, ``call.answered`` and
``call.ended``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import httpx
from sqlalchemy import select, update

from helpline.core.events import Event
from helpline.core.passes import claim, run_passes
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.webhooks import service
from helpline.webhooks.models import MAX_ERROR_LENGTH, DeliveryStatus, Webhook, WebhookDelivery
from helpline.webhooks.models import WebhookEvent as WebhookEvent

log = logging.getLogger(__name__)

EVENT_HEADER: Final = "X-Helpline-Event"
DELIVERY_HEADER: Final = "X-Helpline-Delivery"
SIGNATURE_HEADER: Final = "X-Helpline-Signature"
USER_AGENT: Final = "Helpline-Webhooks/1"
#: Waits before the 2nd, 3rd ... attempt; after the last one the delivery fails.
RETRY_DELAYS: Final = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS: Final = len(RETRY_DELAYS) + 1
REQUEST_TIMEOUT: Final = 10.0
LEASE: Final = timedelta(seconds=60)
"""How long a claimed attempt keeps other senders off (longer than the timeout)."""
BATCH: Final = 50
POLL_SECONDS: Final = 5.0
SIGNATURE_TOLERANCE: Final = 300
#: Bus event names forwarded to webhooks, and the webhook event each becomes.
BUS_EVENTS: Final[dict[str, WebhookEvent]] = {
    "acd.call_offered": WebhookEvent.CALL_OFFERED,
    "acd.call_answered": WebhookEvent.CALL_ANSWERED,
    "acd.call_ended": WebhookEvent.CALL_ENDED,
    "call.offered": WebhookEvent.CALL_OFFERED,
    "call.answered": WebhookEvent.CALL_ANSWERED,
    "call.ended": WebhookEvent.CALL_ENDED,
}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, *, now: float, tolerance: int = SIGNATURE_TOLERANCE
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` s of ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance or "v1" not in parts:
        return False
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    return hmac.compare_digest(expected, parts["v1"])


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after ``attempts`` failed attempts; None: give up."""
    if attempts < 1 or attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[attempts - 1]


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body of ``delivery`` (the same bytes on every attempt)."""
    document = {
        "id": delivery.id,
        "event": delivery.event,
        "tenant_id": delivery.tenant_id,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class _Attempt:
    delivery_id: int
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Outcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """Sends due deliveries; one per process, started by the server."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self._client = client or httpx.AsyncClient(timeout=REQUEST_TIMEOUT, follow_redirects=False)
        self._own_client = client is None
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due deliveries now instead of at the next poll."""
        self._wake.set()

    async def _claim(self) -> list[_Attempt]:
        now = self.clock()
        async with self.runtime.unit_of_work() as session:
            rows = (
                await session.execute(
                    select(WebhookDelivery, Webhook)
                    .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                    .where(
                        WebhookDelivery.status == DeliveryStatus.PENDING,
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                    .limit(BATCH)
                )
            ).all()
            attempts: list[_Attempt] = []
            for delivery, hook in rows:
                taken = await claim(
                    session,
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery.id,
                        WebhookDelivery.status == DeliveryStatus.PENDING,
                        WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
                    )
                    .values(next_attempt_at=now + LEASE),
                )
                if not taken:
                    continue
                if not hook.enabled:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.next_attempt_at = None
                    delivery.last_error = "the webhook is disabled"
                    continue
                body = body_of(delivery)
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    EVENT_HEADER: delivery.event,
                    DELIVERY_HEADER: str(delivery.id),
                    SIGNATURE_HEADER: sign(hook.secret, int(now.timestamp()), body),
                }
                attempts.append(_Attempt(delivery.id, hook.url, headers, body))
        return attempts

    async def _post(self, attempt: _Attempt) -> _Outcome:
        try:
            response = await self._client.post(
                attempt.url, content=attempt.body, headers=attempt.headers
            )
        except httpx.HTTPError as exc:
            return _Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
        error = None if response.is_success else f"HTTP {response.status_code}"
        return _Outcome(response.status_code, error)

    async def _record(self, attempt: _Attempt, outcome: _Outcome) -> None:
        now = self.clock()
        async with self.runtime.unit_of_work() as session:
            delivery = await session.get(WebhookDelivery, attempt.delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            if outcome.ok:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                return
            delay = retry_delay(delivery.attempts)
            if delay is None:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                log.warning(
                    "webhook delivery %d to %s failed for good: %s",
                    delivery.id,
                    attempt.url,
                    outcome.error,
                )
            else:
                delivery.next_attempt_at = now + delay
                log.info(
                    "webhook delivery %d to %s failed (%s); retry in %s",
                    delivery.id,
                    attempt.url,
                    outcome.error,
                    delay,
                )

    async def _send(self, attempt: _Attempt) -> None:
        await self._record(attempt, await self._post(attempt))

    async def deliver_due(self) -> int:
        """Attempt every delivery due now (one batch); how many were attempted."""
        attempts = await self._claim()
        await asyncio.gather(*(self._send(a) for a in attempts))
        return len(attempts)

    async def run(self) -> None:
        """Send due deliveries until cancelled, woken by new ones or every few seconds."""
        await run_passes(
            self.runtime.bus,
            lambda e: isinstance(e, service.DeliveriesQueued),
            self.deliver_due,
            self._wake,
            batch=BATCH,
            poll=POLL_SECONDS,
            name="webhook sender",
        )

    async def aclose(self) -> None:
        """Close the HTTP client the sender made."""
        if self._own_client:
            await self._client.aclose()


class WebhookBridge:
    """Publishes the bus's call events to webhooks; one per process, started by the server."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @staticmethod
    def wanted(event: Event) -> bool:
        """Whether ``event`` is a call event of a tenant."""
        return event.tenant_id is not None and event.name in BUS_EVENTS

    async def forward(self, event: Event) -> None:
        """Queue deliveries of ``event`` for its tenant's subscriptions."""
        if not self.wanted(event) or event.tenant_id is None:
            return
        async with self.runtime.unit_of_work() as session:
            await service.publish(
                session, event.tenant_id, BUS_EVENTS[event.name].value, event.to_json()
            )

    async def run(self) -> None:
        """Forward call events until cancelled."""
        sub = self.runtime.bus.subscribe(self.wanted, local_only=True)
        try:
            async for event in sub:
                try:
                    await self.forward(event)
                except Exception:
                    log.exception("webhook bridge could not queue %s", event.name)
        finally:
            sub.close()
