"""The typed in-process event bus.

Call control and services publish frozen dataclass events; subscribers (the WebSocket
fan-out, call records, statistics, webhooks) receive them in order on their own asyncio
queues, so a slow subscriber never blocks a publisher. Every event names its tenant, so
consumers filter by tenant before anything leaves the process. A bus spanning several
nodes (PostgreSQL LISTEN/NOTIFY or NATS) can sit behind the same ``publish``/``subscribe``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

log = logging.getLogger(__name__)


class Audience(StrEnum):
    """Who may see an event: the lowest role that receives it."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "tenant-admin"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events. ``tenant_id`` None means platform-wide (platform admins only)."""

    name: ClassVar[str] = "event"
    audience: ClassVar[Audience] = Audience.SUPERVISOR
    tenant_id: int | None
    at: datetime = field(default_factory=_now)
    user_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict with its name."""
        body: dict[str, Any] = {"event": self.name}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            body[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChanged(Event):
    """A configuration object was created, changed or deleted (mirrors the audit log)."""

    name: ClassVar[str] = "config.changed"
    audience: ClassVar[Audience] = Audience.ADMIN
    entity: str
    entity_id: str
    action: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserLoggedIn(Event):
    """A user opened a session."""

    name: ClassVar[str] = "user.logged_in"
    audience: ClassVar[Audience] = Audience.SUPERVISOR
    username: str


class Subscription:
    """One subscriber's bounded queue; events beyond ``maxsize`` are dropped and counted."""

    __slots__ = ("_bus", "_queue", "accept", "dropped")

    def __init__(self, bus: EventBus, accept: Callable[[Event], bool], maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.accept = accept
        self.dropped = 0

    def offer(self, event: Event) -> None:
        """Queue ``event`` if this subscriber wants it."""
        if not self.accept(event):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def get(self) -> Event:
        """The next event, waiting for one."""
        return await self._queue.get()

    def close(self) -> None:
        """Stop receiving events."""
        self._bus.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self._queue.get()


class EventBus:
    """Fan-out of typed events to subscribers; one per process, owned by the app."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every interested subscriber without waiting."""
        for sub in tuple(self._subscribers):
            sub.offer(event)

    def subscribe(
        self, accept: Callable[[Event], bool] = lambda _e: True, *, maxsize: int = 1000
    ) -> Subscription:
        """A new subscription receiving the events ``accept`` lets through."""
        sub = Subscription(self, accept, maxsize)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove ``sub``; unknown subscriptions are ignored."""
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)
