"""The worker pool: endpoints on several processes, routing by id, affinity, events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from helpline.media import g711
from helpline.media.backend import (
    CrossWorkerError,
    DtmfReceived,
    PlaybackFinished,
    ToneSource,
    UnknownIdError,
)
from helpline.media.engine import EngineConfig, WorkerPool, create_backend
from helpline.media.engine.config import worker_of
from helpline.media.tones import TEST_TONE, Cadence, dominant_frequency
from tests.media_engine.conftest import port_range
from tests.media_engine.peer import Events, Peer, tone_frames
from tests.media_engine.test_engine_signalling import digit_packets

PeerFactory = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    low, high = port_range(400)
    backend = create_backend(EngineConfig(port_min=low, port_max=high), workers=2)
    assert isinstance(backend, WorkerPool)
    await backend.start()
    yield backend
    await backend.close()


async def test_pool_spreads_endpoints_and_keeps_a_call_on_one_worker(
    pool: WorkerPool, peers: PeerFactory
) -> None:
    events = Events(pool)
    first = await pool.allocate_endpoint()
    second = await pool.allocate_endpoint()
    assert {worker_of(first.endpoint), worker_of(second.endpoint)} == {0, 1}
    with pytest.raises(CrossWorkerError):
        await pool.bridge(first.endpoint, second.endpoint)

    caller, agent = await peers(g711.PCMA), await peers(g711.PCMU)
    a = await pool.allocate_endpoint(caller.remote(), affinity="call-42")
    b = await pool.allocate_endpoint(agent.remote(), affinity="call-42")
    assert worker_of(a.endpoint) == worker_of(b.endpoint)
    await pool.bridge(a.endpoint, b.endpoint)
    caller.stream(a.port, tone_frames(1000))
    agent.stream(b.port, tone_frames(2000))
    assert dominant_frequency(caller.pcm((await caller.more(15))[-5:])) == 2000
    assert dominant_frequency(agent.pcm((await agent.more(15))[-5:])) == 1000

    for data in digit_packets("3", seed=5):
        caller.send(data, a.port)
    digit = await events.next(DtmfReceived)
    assert (digit.endpoint, digit.digit) == (a.endpoint, "3")
    stats = await pool.stats(a.endpoint)
    assert stats.packets_received > 0 and stats.dtmf_packets > 0


async def test_pool_routes_playback_events_and_errors_back_from_workers(
    pool: WorkerPool, peers: PeerFactory
) -> None:
    events = Events(pool)
    listeners = [await peers() for _ in range(2)]
    endpoints = [(await pool.allocate_endpoint(p.remote())).endpoint for p in listeners]
    assert {worker_of(e) for e in endpoints} == {0, 1}
    playbacks = [await pool.play(e, [ToneSource(Cadence((1500,), 1.0), 0.1)]) for e in endpoints]
    finished = {(await events.next(PlaybackFinished)).playback for _ in playbacks}
    assert finished == set(playbacks)
    for peer in listeners:
        assert len(await peer.wait_packets(5)) == 5

    await pool.define_moh("default", [ToneSource(TEST_TONE)])
    for endpoint in endpoints:
        await pool.attach_moh(endpoint)
    for peer in listeners:
        assert dominant_frequency(peer.pcm((await peer.more(10))[-5:])) == 1000
    with pytest.raises(UnknownIdError):
        await pool.release_endpoint(endpoints[0] + "9999")
    for endpoint in endpoints:
        await pool.release_endpoint(endpoint)
