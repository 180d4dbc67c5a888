"""The cluster event bus: this node's bus events to the other nodes and theirs to this
node's bus, over PostgreSQL LISTEN/NOTIFY.

Theory of operation: the bridge holds one asyncpg connection of its own (outside the
SQLAlchemy pool, which recycles connections and would drop the LISTEN) and LISTENs on
the deployment's channel. It subscribes to the local bus ``local_only``, so it sees only
events published on this node and never sends back what it received. Each event that
travels (:func:`helpline.cluster.wire.travels`) goes out as one NOTIFY whose payload
names this node; an event too large for a payload is stored in ``cluster_events`` and
the notification carries the row id (rows older than :data:`KEEP_SECONDS` are pruned
whenever one is stored). Notifications arrive on the connection's callback, are queued,
and one task turns them back into events, in order, and publishes them on the local bus
with ``remote=True``; notifications from this node itself are dropped.

Delivery is at most once and best effort, like the in-process bus: durable state lives
in the database, and consumers that must not miss anything reload from it. A lost
connection is retried with doubling back-off (:data:`RETRY_MIN` to :data:`RETRY_MAX`);
events published meanwhile wait in the bounded subscription queue (the one being sent
when the connection broke goes first after reconnecting, once: an event that breaks the
connection twice is dropped), notifications from the other nodes meanwhile are lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg
from sqlalchemy.engine import make_url

from helpline.cluster import wire
from helpline.core.events import Event, EventBus, UnknownEvent, event_from_json

log = logging.getLogger(__name__)

KEEP_SECONDS = 60
"""How long a stored large event stays readable."""
RETRY_MIN = 0.5
RETRY_MAX = 30.0
QUEUE_SIZE = 10_000
SEND_ATTEMPTS = 2
"""Connections an event may break while being sent before it is given up."""

_CONNECTION_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class ConnectionLost(Exception):
    """The bridge's PostgreSQL connection ended."""


def asyncpg_dsn(database_url: str) -> str | None:
    """The asyncpg DSN of a SQLAlchemy PostgreSQL URL; None for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class EventBridge:
    """Forwards bus events between this node and the others on one NOTIFY channel."""

    def __init__(self, bus: EventBus, *, node: str, dsn: str, channel: str) -> None:
        self.bus = bus
        self.node = node
        self.channel = channel
        self._dsn = dsn
        self._outgoing = bus.subscribe(wire.travels, maxsize=QUEUE_SIZE, local_only=True)
        self._incoming: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self._lock = asyncio.Lock()
        self.connected = asyncio.Event()
        """Set while the connection is up and listening."""
        self.sent = 0
        self.received = 0
        self.lost = 0
        """Events not sent, and notifications that could not be read back or decoded."""
        self._unsent: Event | None = None
        self._attempts = 0

    @property
    def application_name(self) -> str:
        """How the bridge's connection shows in ``pg_stat_activity``."""
        return f"helpline-cluster {self.node}"[:63]

    def status(self) -> dict[str, object]:
        """A JSON-ready description for the health endpoint."""
        return {
            "connected": self.connected.is_set(),
            "channel": self.channel,
            "sent": self.sent,
            "received": self.received,
            "lost": self.lost + self._outgoing.dropped,
        }

    async def run(self) -> None:
        """Connect, forward both ways, reconnect after a lost connection; until cancelled."""
        delay = RETRY_MIN
        try:
            while True:
                try:
                    conn = await asyncpg.connect(
                        self._dsn, server_settings={"application_name": self.application_name}
                    )
                except _CONNECTION_ERRORS as exc:
                    log.warning("cluster bus: cannot connect (%s); retry in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                delay = RETRY_MIN
                try:
                    await self._serve(conn)
                except (*_CONNECTION_ERRORS, ConnectionLost) as exc:
                    log.warning("cluster bus: connection lost (%s); reconnecting", exc)
                finally:
                    self.connected.clear()
                    await _close(conn)
                await asyncio.sleep(delay)
        finally:
            self._outgoing.close()

    async def _serve(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(self.channel, self._notified)
        self.connected.set()
        log.info("cluster bus: listening on %r as %r", self.channel, self.node)
        loop = asyncio.get_running_loop()
        tasks = {
            loop.create_task(self._send_loop(conn)),
            loop.create_task(self._receive_loop(conn)),
            loop.create_task(lost.wait()),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if (exc := task.exception()) is not None:
                raise exc
        raise ConnectionLost("the server ended the connection")

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            self._incoming.put_nowait(str(payload))
        except asyncio.QueueFull:
            self.lost += 1

    async def _send_loop(self, conn: asyncpg.Connection) -> None:
        while True:
            if self._unsent is None:
                self._unsent, self._attempts = await self._outgoing.get(), 0
            self._attempts += 1
            if self._attempts > SEND_ATTEMPTS:
                log.warning(
                    "cluster bus: %s dropped after %d tries", self._unsent.name, SEND_ATTEMPTS
                )
                self.lost += 1
            else:
                await self._send(conn, self._unsent)
            self._unsent = None

    async def _send(self, conn: asyncpg.Connection, event: Event) -> None:
        payload = wire.envelope(event, self.node)
        async with self._lock:
            if not wire.fits(payload):
                async with conn.transaction():
                    row_id = await conn.fetchval(
                        "INSERT INTO cluster_events (origin, payload, created_at) "
                        "VALUES ($1, $2, now()) RETURNING id",
                        self.node,
                        payload,
                    )
                    await conn.execute(
                        "DELETE FROM cluster_events WHERE created_at < now() - $1::interval",
                        timedelta(seconds=KEEP_SECONDS),
                    )
                payload = wire.stored_notice(self.node, int(row_id))
            await conn.execute("SELECT pg_notify($1, $2)", self.channel, payload)
        self.sent += 1

    async def _receive_loop(self, conn: asyncpg.Connection) -> None:
        while True:
            payload = await self._incoming.get()
            event = await self._decode(conn, payload)
            if event is not None:
                self.received += 1
                self.bus.publish(event, remote=True)

    async def _decode(self, conn: asyncpg.Connection, payload: str) -> Event | None:
        try:
            notice = wire.parse(payload)
            if notice.origin == self.node:
                return None
            if isinstance(notice, wire.Stored):
                async with self._lock:
                    stored = await conn.fetchval(
                        "SELECT payload FROM cluster_events WHERE id = $1", notice.row_id
                    )
                if stored is None:
                    raise wire.WireError(f"stored event {notice.row_id} is gone")
                notice = wire.parse(str(stored))
            if not isinstance(notice, wire.Inline):
                raise wire.WireError("a stored notice points at another notice")
            return event_from_json(notice.body)
        except (wire.WireError, UnknownEvent) as exc:
            self.lost += 1
            log.warning("cluster bus: notification dropped: %s", exc)
            return None


async def _close(conn: asyncpg.Connection) -> None:
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), 2)
    except (*_CONNECTION_ERRORS, TimeoutError):
        conn.terminate()
