"""The hybrid backend against a real rtpengine: bridged legs hear each other through
rtpengine alone (one hop), prompts still come from the embedded engine, and a recording has one
direction per channel."""

from __future__ import annotations

import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np

from helpline.media.backend import RecordingFinished, ToneSource
from helpline.media.rtpengine import HybridBackend
from helpline.media.tones import Cadence
from tests.interop.audio import frequency_of
from tests.media_engine.peer import Events, Peer, tone_frames


async def test_bridged_legs_hear_each_other_through_rtpengine(
    hybrid: HybridBackend, peers: Callable[..., Awaitable[Peer]]
) -> None:
    caller, agent = await peers(), await peers()
    a = await hybrid.allocate_endpoint(caller.remote(), affinity="call")
    b = await hybrid.allocate_endpoint(agent.remote(), affinity="call")
    bridge = await hybrid.bridge(a.endpoint, b.endpoint)
    assert bridge.startswith("rtpe-br-")
    caller.stream(a.port, tone_frames(1000))
    agent.stream(b.port, tone_frames(2000))
    heard_by_agent = agent.pcm(await agent.more(50))
    caller_heard = caller.pcm(await caller.more(50))
    assert abs(frequency_of(heard_by_agent, skip=0.2) - 1000) < 15
    assert abs(frequency_of(caller_heard, skip=0.2) - 2000) < 15
    # One hop, phone to phone: each hears the other from the port it sends to, and
    # the embedded engine saw none of it.
    assert set(caller.sources[-10:]) == {("127.0.0.1", a.port)}
    assert set(agent.sources[-10:]) == {("127.0.0.1", b.port)}
    stats = await hybrid.stats(a.endpoint)
    assert stats.packets_received >= 50 and stats.packets_sent >= 50
    assert (await hybrid.inner.stats(a.endpoint)).packets_received == 0


async def test_unbridged_endpoint_hears_the_engines_prompt_through_rtpengine(
    hybrid: HybridBackend, peers: Callable[..., Awaitable[Peer]]
) -> None:
    caller = await peers()
    a = await hybrid.allocate_endpoint(caller.remote(), affinity="call")
    await hybrid.play(a.endpoint, [ToneSource(Cadence((1400,), 1.0), 2.0)])
    heard = caller.pcm(await caller.more(40))
    assert abs(frequency_of(heard, skip=0.1) - 1400) < 15
    assert caller.sources[-1] == ("127.0.0.1", a.port)


async def test_recording_of_a_bridged_call_has_caller_left_and_agent_right(
    hybrid: HybridBackend, peers: Callable[..., Awaitable[Peer]], tmp_path: Path
) -> None:
    events = Events(hybrid)
    caller, agent = await peers(), await peers()
    a = await hybrid.allocate_endpoint(caller.remote(), affinity="call")
    b = await hybrid.allocate_endpoint(agent.remote(), affinity="call")
    await hybrid.bridge(a.endpoint, b.endpoint)
    path = tmp_path / "rec" / "call.wav"
    recording = await hybrid.start_recording(a.endpoint, str(path))
    caller.stream(a.port, tone_frames(1000))
    agent.stream(b.port, tone_frames(2000))
    await caller.more(100)
    await hybrid.stop_recording(recording)
    finished = await events.next(RecordingFinished)
    assert finished.error is None and finished.path == str(path)
    assert 1.5 <= finished.duration <= 4.0, finished.duration
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)
    left, right = (stereo[:, i].copy().tobytes() for i in (0, 1))
    assert abs(frequency_of(left, skip=0.3) - 1000) < 15
    assert abs(frequency_of(right, skip=0.3) - 2000) < 15
    spool = hybrid.recording_dir / "pcaps"
    assert list(spool.glob("*.pcap"))
    await hybrid.release_endpoint(a.endpoint)
    await hybrid.release_endpoint(b.endpoint)
    assert not list(spool.glob("*.pcap"))


async def test_after_unbridging_the_engine_is_heard_again_and_codecs_apart_use_the_engine(
    hybrid: HybridBackend, peers: Callable[..., Awaitable[Peer]]
) -> None:
    caller, agent = await peers(), await peers()
    a = await hybrid.allocate_endpoint(caller.remote(), affinity="call")
    b = await hybrid.allocate_endpoint(agent.remote(), affinity="call")
    bridge = await hybrid.bridge(a.endpoint, b.endpoint)
    agent.stream(b.port, tone_frames(2000))
    await caller.more(20)
    await hybrid.unbridge(bridge)
    agent.stop()
    prompt = await hybrid.play(a.endpoint, [ToneSource(Cadence((1400,), 1.0))])
    heard = caller.pcm(await caller.more(40))
    assert abs(frequency_of(heard[-8000:], skip=0.0) - 1400) < 15
    await hybrid.stop_playback(prompt)
    # A PCMA leg cannot be relayed to a PCMU one unchanged: the engine bridges them.
    other = await peers(payload_type=8)
    c = await hybrid.allocate_endpoint(other.remote(), affinity="call")
    assert not (await hybrid.bridge(a.endpoint, c.endpoint)).startswith("rtpe-br-")
    other.stream(c.port, tone_frames(2000))
    heard = caller.pcm(await caller.more(50))
    assert abs(frequency_of(heard[-8000:], skip=0.0) - 2000) < 15
