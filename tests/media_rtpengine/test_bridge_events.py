"""What happens inside an rtpengine bridge reaches Helpline (real rtpengine on loopback):
digits keyed by a bridged phone arrive once, on that phone's endpoint, from rtpengine's
DTMF log; a bridged phone that goes silent ends with ``EndpointTimeout``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from helpline.media.backend import DtmfReceived, EndpointTimeout, LocalMedia
from helpline.media.dtmf import DtmfSender
from helpline.media.rtp import RtpSender
from helpline.media.rtpengine import HybridBackend
from tests.media_engine.peer import Events, Peer, tone_frames
from tests.media_rtpengine.conftest import RTP_TIMEOUT

PeerFactory = Callable[..., Awaitable[Peer]]


async def _press(peer: Peer, local: LocalMedia, key: str, seed: int) -> None:
    """One key press as RFC 4733 packets at their real pace (end packet thrice)."""
    sender = DtmfSender(RtpSender(rng=random.Random(seed)), payload_type=101)
    elapsed = 0.0
    for scheduled in sender.packets(key, 0.1):
        await asyncio.sleep(max(scheduled.offset - elapsed, 0))
        elapsed = scheduled.offset
        peer.send(scheduled.packet.serialize(), local.port)


async def _bridged(
    hybrid: HybridBackend, peers: PeerFactory
) -> tuple[Peer, Peer, LocalMedia, LocalMedia]:
    caller, agent = await peers(), await peers()
    a = await hybrid.allocate_endpoint(None, affinity="call")
    b = await hybrid.allocate_endpoint(None, affinity="call")
    await hybrid.update_endpoint(a.endpoint, caller.remote())
    await hybrid.update_endpoint(b.endpoint, agent.remote())
    assert (await hybrid.bridge(a.endpoint, b.endpoint)).startswith("rtpe-br-")
    return caller, agent, a, b


async def test_digits_keyed_in_an_rtpengine_bridge_arrive_once_on_the_keying_endpoint(
    hybrid: HybridBackend, peers: PeerFactory
) -> None:
    events = Events(hybrid)
    caller, agent, a, b = await _bridged(hybrid, peers)
    agent.stream(b.port, tone_frames(2000))
    caller.stream(a.port, tone_frames(1000))
    await agent.more(10)
    for n, key in enumerate("19#"):
        caller.stop()
        await _press(caller, a, key, seed=n)
        caller.stream(a.port, tone_frames(1000))
        await agent.more(5)
    agent.stop()
    await _press(agent, b, "*", seed=7)
    last = await events.next(DtmfReceived, lambda e: e.digit == "*")
    assert last.endpoint == b.endpoint and last.duration_ms == 100
    # rtpengine forwarded the keys to the other phone itself (not decoded by Python).
    assert any(p.payload_type == 101 for p in agent.packets)
    await asyncio.sleep(0.3)  # a late duplicate would have arrived by now
    digits = [(e.endpoint, e.digit) for e in events.seen if isinstance(e, DtmfReceived)]
    assert digits == [(a.endpoint, "1"), (a.endpoint, "9"), (a.endpoint, "#"), (b.endpoint, "*")]


async def test_a_digit_outside_a_bridge_is_reported_once_by_the_engine(
    hybrid: HybridBackend, peers: PeerFactory
) -> None:
    events = Events(hybrid)
    caller = await peers()
    a = await hybrid.allocate_endpoint(caller.remote(), affinity="solo")
    await _press(caller, a, "5", seed=3)
    assert (await events.next(DtmfReceived)).digit == "5"
    await _press(caller, a, "6", seed=4)
    assert (await events.next(DtmfReceived)).digit == "6"
    await asyncio.sleep(0.3)
    digits = [(e.endpoint, e.digit) for e in events.seen if isinstance(e, DtmfReceived)]
    assert digits == [(a.endpoint, "5"), (a.endpoint, "6")]


async def test_a_bridged_phone_that_goes_silent_times_out_and_the_talking_one_does_not(
    hybrid: HybridBackend, peers: PeerFactory
) -> None:
    events = Events(hybrid)
    caller, agent, a, b = await _bridged(hybrid, peers)
    caller.stream(a.port, tone_frames(1000))
    agent.stream(b.port, tone_frames(2000))
    await caller.more(25)
    caller.stop()
    timeout = await events.next(EndpointTimeout)
    assert timeout.endpoint == a.endpoint
    assert RTP_TIMEOUT <= timeout.silent_for <= 2 * RTP_TIMEOUT
    # The agent kept talking: no timeout for b, and a's is not repeated while silent.
    await asyncio.sleep(RTP_TIMEOUT)
    assert [e.endpoint for e in events.seen if isinstance(e, EndpointTimeout)] == [a.endpoint]
    # RTP resumes, then stops again: reported again.
    caller.stream(a.port, tone_frames(1000))
    await agent.more(50)
    caller.stop()
    again = await events.next(EndpointTimeout)
    assert again.endpoint == a.endpoint


async def test_an_unbridged_endpoint_times_out_through_the_engine_again(
    hybrid: HybridBackend, peers: PeerFactory
) -> None:
    events = Events(hybrid)
    caller, agent, a, b = await _bridged(hybrid, peers)
    agent.stream(b.port, tone_frames(2000))
    await caller.more(10)
    await hybrid.release_endpoint(b.endpoint)
    agent.stop()
    # The caller never sent anything; after the bridge, the engine expects its media.
    timeout = await events.next(EndpointTimeout)
    assert timeout.endpoint == a.endpoint
    assert [e.endpoint for e in events.seen if isinstance(e, EndpointTimeout)] == [a.endpoint]
