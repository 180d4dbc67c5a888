"""E-mail notification of work-order changes to the people concerned.

Theory of operation: the service queues a :class:`WorkOrderChanged` event (sent on the
bus after commit) naming the staff to tell: the assignee, the department's members and
mailbox, the watchers, never the person who made the change.  :class:`WorkOrderNotifier`
subscribes to the bus and sends each e-mail through the tenant's own SMTP server when it
has one (:mod:`helpline.mailsettings`), else the voicemail notifier's node-wide settings
and sender (:class:`helpline.voicemail.notify.SmtpConfig`, :func:`send_email`) in a worker
thread, so a slow SMTP server never delays a request.  Failures are logged, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, ClassVar

from helpline.core.events import Audience, Event, EventBus
from helpline.voicemail.notify import SmtpConfig, send_email

log = logging.getLogger(__name__)

Resolver = Callable[[int | None], Awaitable[SmtpConfig | None]]
"""The SMTP server of a tenant's e-mail (its own, else the node's; None for none)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrderChanged(Event):
    """A work order was created or changed; ``recipients`` are the staff to e-mail."""

    name: ClassVar[str] = "workorder.changed"
    audience: ClassVar[Audience] = Audience.AGENT
    work_order_id: int
    title: str
    status: str
    priority: str
    action: str
    """``created``, ``updated``, ``status``, ``assigned``, ``comment``, ``note`` ..."""
    actor: str
    summary: str
    recipients: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The event for the event stream, without the recipients' addresses."""
        body = Event.to_json(self)
        body.pop("recipients", None)
        return body


def build_email(event: WorkOrderChanged, *, sender: str) -> EmailMessage:
    """The notification e-mail of ``event``; the subject carries ``[WO-<id>]`` so that
    replies thread back to the work order."""
    email = EmailMessage()
    email["Subject"] = f"[WO-{event.work_order_id}] {event.title} ({event.action})"
    email["From"] = sender
    email["To"] = ", ".join(event.recipients)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email.set_content(
        f"Work order {event.work_order_id}: {event.title}\n"
        f"Status: {event.status}   Priority: {event.priority}\n"
        f"Change by {event.actor}: {event.summary}\n"
    )
    return email


class WorkOrderNotifier:
    """Sends work-order e-mails in the background; one per process, started by the server."""

    def __init__(self, config: SmtpConfig | None, *, resolve: Resolver | None = None) -> None:
        self.config = config
        self.resolve = resolve
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, event: WorkOrderChanged) -> None:
        """Send the e-mail of ``event`` in the background (nothing without recipients or
        an SMTP server)."""
        if (self.config is None and self.resolve is None) or not event.recipients:
            return
        task = asyncio.get_running_loop().create_task(self._send(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, event: WorkOrderChanged) -> None:
        config = self.config if self.resolve is None else await self.resolve(event.tenant_id)
        if config is None:
            return

        def deliver() -> None:
            send_email(config, build_email(event, sender=config.sender))

        try:
            await asyncio.to_thread(deliver)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            log.warning("work order %d e-mail failed: %s", event.work_order_id, exc)

    async def run(self, bus: EventBus) -> None:
        """E-mail every :class:`WorkOrderChanged` on ``bus`` until cancelled."""
        sub = bus.subscribe(lambda e: isinstance(e, WorkOrderChanged), local_only=True)
        try:
            async for event in sub:
                if isinstance(event, WorkOrderChanged):
                    self.submit(event)
        finally:
            sub.close()

    async def drain(self) -> None:
        """Wait for every e-mail under way."""
        while self._tasks:
            await asyncio.gather(*self._tasks)
