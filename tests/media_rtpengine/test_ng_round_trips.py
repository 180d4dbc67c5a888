"""NG round trips per bridged call, counted against a real rtpengine (issue 5).

A B2BUA call allocates the caller's endpoint before its SDP is applied and the agent's
before the agent answers, then bridges them. The inner side offers at allocation (the
port for our SDP is all that is needed then) and the peer side answers when the phone's
SDP arrives: one round trip each instead of two re-offers. A repeated SDP is not
re-offered, and the leg being released is not given back to its inner side. Measured
with the backend before this change, the sequence below took 17 commands (12 to set up,
two of them re-offering an unchanged SDP; 5 to tear down); now 9 (6 and 3).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from helpline.media.backend import ToneSource
from helpline.media.engine import EngineConfig, MediaEngine
from helpline.media.rtpengine import HybridBackend, NgClient
from helpline.media.rtpengine.bencode import Decoded
from helpline.media.tones import Cadence
from tests.interop.audio import frequency_of
from tests.media_engine.peer import Peer, tone_frames
from tests.media_rtpengine.daemon import Rtpengine

PeerFactory = Callable[..., Awaitable[Peer]]


class CountingNg(NgClient):
    """An NG client that counts the commands it sends (by name)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.sent: Counter[str] = Counter()

    async def command(self, command: str, **fields: Any) -> dict[str, Decoded]:
        self.sent[command] += 1
        return await super().command(command, **fields)

    def calls(self) -> Counter[str]:
        """Commands of call setup and teardown (not the RTP timeout watch's queries)."""
        return Counter({k: v for k, v in self.sent.items() if k != "query"})


@pytest.fixture
async def counted(daemon: Rtpengine) -> AsyncIterator[tuple[HybridBackend, CountingNg]]:
    base = random.randrange(45000, 59000, 2)
    ng = CountingNg("127.0.0.1", daemon.ng_port)
    engine = MediaEngine(EngineConfig(port_min=base, port_max=base + 199))
    backend = HybridBackend(engine, ng, recording_dir=daemon.spool)
    await backend.start()
    ng.sent.clear()
    yield backend, ng
    await backend.close()


async def test_a_bridged_call_takes_nine_ng_commands_and_still_carries_media(
    counted: tuple[HybridBackend, CountingNg], peers: PeerFactory
) -> None:
    hybrid, ng = counted
    caller, agent = await peers(), await peers()
    a = await hybrid.allocate_endpoint(affinity="call")
    await hybrid.update_endpoint(a.endpoint, caller.remote())
    b = await hybrid.allocate_endpoint(affinity="call")
    await hybrid.update_endpoint(b.endpoint, agent.remote())
    await hybrid.update_endpoint(b.endpoint, agent.remote())  # the same SDP again
    await hybrid.bridge(a.endpoint, b.endpoint)
    assert ng.calls() == Counter(offer=3, answer=3)

    caller.stream(a.port, tone_frames(1000))
    agent.stream(b.port, tone_frames(2000))
    assert abs(frequency_of(agent.pcm(await agent.more(50)), skip=0.2) - 1000) < 15
    assert abs(frequency_of(caller.pcm(await caller.more(50)), skip=0.2) - 2000) < 15
    assert set(caller.sources[-10:]) == {("127.0.0.1", a.port)}

    # The agent hangs up: the caller is given back to the engine, which it hears again.
    agent.stop()
    await hybrid.release_endpoint(b.endpoint)
    caller.stop()
    await hybrid.play(a.endpoint, [ToneSource(Cadence((1400,), 1.0))])
    heard = caller.pcm(await caller.more(60))
    assert abs(frequency_of(heard[-8000:], skip=0.0) - 1400) < 15
    await hybrid.release_endpoint(a.endpoint)
    assert ng.calls() == Counter(offer=4, answer=4, delete=1)


async def test_a_pcma_phone_answering_the_first_offer_hears_the_engine(
    counted: tuple[HybridBackend, CountingNg], peers: PeerFactory
) -> None:
    hybrid, ng = counted
    phone = await peers(payload_type=8)
    local = await hybrid.allocate_endpoint(affinity="pcma")
    await hybrid.update_endpoint(local.endpoint, phone.remote())
    assert ng.calls() == Counter(offer=1, answer=1)
    await hybrid.play(local.endpoint, [ToneSource(Cadence((1400,), 1.0))])
    heard = await phone.more(40)
    assert {p.payload_type for p in heard} == {8}
    assert abs(frequency_of(phone.pcm(heard), skip=0.1) - 1400) < 15
    # A changed SDP (the phone moved) is negotiated again, and media follows it.
    moved = await peers(payload_type=8)
    await hybrid.update_endpoint(local.endpoint, moved.remote())
    assert ng.calls() == Counter(offer=2, answer=2)
    assert abs(frequency_of(moved.pcm(await moved.more(30)), skip=0.1) - 1400) < 15
