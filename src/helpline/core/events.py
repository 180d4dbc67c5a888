"""The typed in-process event bus.

Call control and services publish frozen dataclass events; subscribers (the WebSocket
fan-out, call records, statistics, webhooks) receive them in order on their own asyncio
queues, so a slow subscriber never blocks a publisher. Every event names its tenant, so
consumers filter by tenant before anything leaves the process.

Several nodes share one bus through :mod:`helpline.cluster.bridge`: it forwards the
events published here to the other nodes and publishes theirs here with ``remote=True``.
Every subscriber sees remote events too (desktops, the ACD leader, caches) unless it
subscribes ``local_only`` - the consumers with a side effect that must happen once in the
cluster (webhook deliveries, e-mails, survey links), and the bridge itself, which must
not send an event back where it came from. Every concrete event class is registered by
``name`` so that :func:`event_from_json` can rebuild what :meth:`Event.to_json` wrote.
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

from pydantic import TypeAdapter, ValidationError

log = logging.getLogger(__name__)

_EVENT_TYPES: dict[str, type[Event]] = {}
_ADAPTERS: dict[type[Event], TypeAdapter[Event]] = {}


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

    def __init_subclass__(cls) -> None:
        # Classes naming themselves are registered. ``dataclass(slots=True)`` builds a
        # second class (so no zero-argument super() here); created last, it wins.
        if "name" in cls.__dict__:
            _EVENT_TYPES[cls.name] = cls

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict with its name."""
        body: dict[str, Any] = {"event": self.name}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            body[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return body


class UnknownEvent(ValueError):
    """A serialized event whose name no loaded event class has, or whose fields do not fit."""


def event_type(name: str) -> type[Event] | None:
    """The event class registered under ``name``, if its module is loaded."""
    return _EVENT_TYPES.get(name)


def event_from_json(body: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_json`'s output (``UnknownEvent`` if it
    cannot); fields the class leaves out of ``to_json`` get their defaults."""
    cls = _EVENT_TYPES.get(str(body.get("event", "")))
    if cls is None:
        raise UnknownEvent(f"no event class named {body.get('event')!r}")
    fields = {f.name for f in dataclasses.fields(cls)}
    data = {k: v for k, v in body.items() if k in fields}
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    try:
        event = adapter.validate_python(data)
    except ValidationError as exc:
        raise UnknownEvent(f"{cls.name}: {exc.error_count()} invalid field(s)") from exc
    return event


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionsEnded(Event):
    """Browser sessions of ``user_id`` ended (password change, logout): event streams
    opened with them close. ``keep`` survives (the session that changed the password);
    ``only`` names the one session that ended (logout), None for all of the user's."""

    name: ClassVar[str] = "auth.sessions_ended"
    audience: ClassVar[Audience] = Audience.ADMIN
    keep: int | None = None
    only: int | None = None


class Subscription:
    """One subscriber's bounded queue; events beyond ``maxsize`` are dropped and counted."""

    __slots__ = ("_bus", "_queue", "accept", "dropped", "local_only")

    def __init__(
        self,
        bus: EventBus,
        accept: Callable[[Event], bool],
        maxsize: int,
        *,
        local_only: bool = False,
    ) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.accept = accept
        self.dropped = 0
        self.local_only = local_only

    def offer(self, event: Event, *, remote: bool = False) -> None:
        """Queue ``event`` if this subscriber wants it (``remote``: it was published on
        another node, which local-only subscribers skip)."""
        if remote and self.local_only:
            return
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

    def publish(self, event: Event, *, remote: bool = False) -> None:
        """Deliver ``event`` to every interested subscriber without waiting; ``remote``
        when another node published it first (the cluster bridge does that)."""
        for sub in tuple(self._subscribers):
            sub.offer(event, remote=remote)

    def subscribe(
        self,
        accept: Callable[[Event], bool] = lambda _e: True,
        *,
        maxsize: int = 1000,
        local_only: bool = False,
    ) -> Subscription:
        """A new subscription receiving the events ``accept`` lets through; with
        ``local_only`` only those published on this node."""
        sub = Subscription(self, accept, maxsize, local_only=local_only)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove ``sub``; unknown subscriptions are ignored."""
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)
