"""The loop of a background sender: run a pass; run again at once while a pass fills a
whole batch; otherwise wait until an event on the bus wakes it or ``poll`` seconds pass.
A failing pass is logged and the loop goes on. :func:`claim` takes one due row for a
pass when several nodes' passes race for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import CursorResult, Update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.core.events import Event, EventBus

log = logging.getLogger(__name__)


async def run_passes(
    bus: EventBus,
    wakes: Callable[[Event], bool],
    one_pass: Callable[[], Awaitable[int]],
    wake: asyncio.Event,
    *,
    batch: int,
    poll: float,
    name: str,
) -> None:
    """Run ``one_pass`` (returning how many items it handled) until cancelled."""
    queued = bus.subscribe(wakes)

    async def wake_on_events() -> None:
        async for _event in queued:
            wake.set()

    waker = asyncio.get_running_loop().create_task(wake_on_events())
    try:
        while True:
            wake.clear()
            try:
                if await one_pass() == batch:
                    continue
            except Exception:
                log.exception("%s pass failed", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), poll)
    finally:
        waker.cancel()
        queued.close()


async def claim(session: AsyncSession, statement: Update) -> bool:
    """Run ``statement``, a conditional UPDATE of one due row (its WHERE repeats what
    made the row due); True when this pass took it, False when another pass was first."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return isinstance(result, CursorResult) and result.rowcount == 1
