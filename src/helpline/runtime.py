"""What one Helpline process shares between its parts: settings, database, event bus.

Nothing here is global: the HTTP app, the SIP service and background jobs receive the
``Runtime`` they run in, so tests build as many as they like and two nodes share only
the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from helpline.config import Settings
from helpline.core import secrets
from helpline.core.events import Event, EventBus
from helpline.core.secrets import Keyring
from helpline.db.engine import create_engine, session_factory

PENDING_EVENTS = "helpline_pending_events"


class ListenerStatus(Protocol):
    """A network service that reports where it listens (the SIP service implements it)."""

    def status(self) -> dict[str, object]:
        """A JSON-ready description for the health endpoint."""
        ...


@dataclass(slots=True)
class Runtime:
    """The shared parts of one process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus = field(default_factory=EventBus)
    listeners: dict[str, ListenerStatus] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """A runtime with an engine for the configured database."""
        engine = create_engine(settings.effective_database_url)
        key = settings.secret_key.get_secret_value() if settings.secret_key else None
        secrets.bind(engine.dialect, Keyring.load(secret_key=key, data_dir=settings.data_dir))
        return cls(settings=settings, engine=engine, sessions=session_factory(engine))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session committed at the end of the block; queued events go out after commit."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                session.info.pop(PENDING_EVENTS, None)
                raise
            for event in session.info.pop(PENDING_EVENTS, []):
                self.bus.publish(event)

    async def close(self) -> None:
        """Release database connections."""
        await self.engine.dispose()


def queue_event(session: AsyncSession, event: Event) -> None:
    """Publish ``event`` once ``session`` commits; dropped if it rolls back."""
    session.info.setdefault(PENDING_EVENTS, []).append(event)
