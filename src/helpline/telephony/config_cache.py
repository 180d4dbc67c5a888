"""Configuration read by call control, cached briefly and dropped when it changes.

Theory of operation: call control reads trunks and routing (numbers, services,
blacklist) on every call; reading the database each time would cost a round trip per
INVITE. :class:`ConfigCache` keeps what a loader returned for ``ttl`` seconds per key.
It is a cache, not state: every node reads the same rows. A change made through this
node's API (the ``config.changed`` event of one of ``entities``) empties it at once;
other nodes see the change within ``ttl``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.core.events import ConfigChanged, Event
from helpline.runtime import Runtime

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL = 10.0


class ConfigCache(Generic[K, V]):
    """``load(session, key)`` results, per key, for ``ttl`` seconds."""

    def __init__(
        self,
        runtime: Runtime,
        load: Callable[[AsyncSession, K], Awaitable[V]],
        *,
        entities: frozenset[str],
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.runtime = runtime
        self._load = load
        self._entities = entities
        self._ttl = ttl
        self._values: dict[K, tuple[float, V]] = {}
        self._loop = asyncio.get_running_loop()
        self._changes = runtime.bus.subscribe(self._is_change, maxsize=100)
        self._watcher = self._loop.create_task(self._watch())

    def _is_change(self, event: Event) -> bool:
        return isinstance(event, ConfigChanged) and event.entity in self._entities

    async def _watch(self) -> None:
        async for _event in self._changes:
            self._values.clear()

    async def get(self, key: K) -> V:
        """The value for ``key``, loaded when missing or older than ``ttl``."""
        now = self._loop.time()
        cached = self._values.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.runtime.unit_of_work() as session:
            value = await self._load(session, key)
        self._values[key] = (now + self._ttl, value)
        return value

    async def close(self) -> None:
        """Stop watching for changes."""
        self._changes.close()
        self._watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watcher
