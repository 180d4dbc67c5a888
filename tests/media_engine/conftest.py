"""Fixtures: an in-process engine on a random slice of high ports, and peers."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from helpline.media.engine import EngineConfig, MediaEngine
from tests.media_engine.peer import Peer


def port_range(size: int = 200) -> tuple[int, int]:
    """A random even-aligned slice of high ports (busy ports are skipped anyway)."""
    base = random.randrange(30000, 60000, 2)
    return base, base + size - 1


@pytest.fixture
def config() -> EngineConfig:
    low, high = port_range()
    return EngineConfig(port_min=low, port_max=high, relatch_after=0.2, rtp_timeout=0.3)


@pytest.fixture
async def engine(config: EngineConfig) -> AsyncIterator[MediaEngine]:
    backend = MediaEngine(config)
    await backend.start()
    yield backend
    await backend.close()


@pytest.fixture
async def peers() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    opened: list[Peer] = []

    async def make(payload_type: int = 0) -> Peer:
        peer = await Peer.open(payload_type)
        opened.append(peer)
        return peer

    yield make
    for peer in opened:
        peer.close()
