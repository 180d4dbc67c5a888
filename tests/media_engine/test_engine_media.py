"""The embedded engine over real UDP on 127.0.0.1: playback, bridging, recording, mixing."""

from __future__ import annotations

import itertools
import struct
import wave
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from helpline.media import g711
from helpline.media._audioop import audioop
from helpline.media.backend import (
    LocalMedia,
    ParticipantMask,
    PlaybackEnd,
    PlaybackFinished,
    RecordingFinished,
    SilenceSource,
    ToneSource,
    WavSource,
    supervision_masks,
)
from helpline.media.engine import EngineConfig, MediaEngine
from helpline.media.mixer import SupervisionMode
from helpline.media.rtp import RtpPacket, RtpSender
from helpline.media.tones import TEST_TONE, Cadence, dominant_frequency, tone, tone_level
from helpline.media.wav import check_wav
from tests.media_engine.peer import Events, Peer, tone_frames

PeerFactory = Callable[..., Awaitable[Peer]]


def write_wav(path: Path, pcm: bytes) -> str:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)
    return str(path)


def assert_continuous(packets: list[RtpPacket]) -> None:
    assert len({p.ssrc for p in packets}) == 1
    for before, after in itertools.pairwise(packets):
        assert after.sequence_number == (before.sequence_number + 1) & 0xFFFF
        assert after.timestamp == (before.timestamp + 160) & 0xFFFFFFFF


async def test_wav_prompt_arrives_as_continuous_rtp_one_packet_per_frame(
    engine: MediaEngine, peers: PeerFactory, tmp_path: Path
) -> None:
    peer = await peers()
    events = Events(engine)
    local = await engine.allocate_endpoint(peer.remote())
    prompt = write_wav(tmp_path / "prompt.wav", tone([1000], 1.0))
    playback = await engine.play(local.endpoint, [WavSource(prompt), SilenceSource(0.1)])
    finished = await events.next(PlaybackFinished)
    assert (finished.playback, finished.reason) == (playback, PlaybackEnd.COMPLETED)
    packets = await peer.wait_packets(55)
    assert packets[0].marker
    assert {p.payload_type for p in packets} == {g711.PCMU}
    assert all(len(p.payload) == 160 for p in packets)
    assert_continuous(packets)
    assert dominant_frequency(peer.pcm(packets[10:15])) == 1000
    assert not any(peer.pcm(packets[51:55]).strip(b"\x00"))
    stats = await engine.stats(local.endpoint)
    assert stats.packets_sent == 55


async def test_playback_queue_plays_in_order_and_loop_runs_until_stopped(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    peer = await peers()
    events = Events(engine)
    local = await engine.allocate_endpoint(peer.remote())
    first = await engine.play(local.endpoint, [ToneSource(Cadence((500,), 1.0), 0.2)])
    looped = await engine.play(local.endpoint, [ToneSource(Cadence((1500,), 1.0), 0.1)], loop=True)
    assert (await events.next(PlaybackFinished)).playback == first
    packets = await peer.wait_packets(40)
    assert dominant_frequency(peer.pcm(packets[2:7])) == 500
    assert dominant_frequency(peer.pcm(packets[30:35])) == 1500
    await engine.stop_playback(looped)
    finished = await events.next(PlaybackFinished)
    assert (finished.playback, finished.reason) == (looped, PlaybackEnd.STOPPED)


async def _bridged(
    engine: MediaEngine, peers: PeerFactory, law_a: int, law_b: int
) -> tuple[Peer, Peer, LocalMedia, LocalMedia, str]:
    caller, agent = await peers(law_a), await peers(law_b)
    a = await engine.allocate_endpoint(caller.remote())
    b = await engine.allocate_endpoint(agent.remote())
    bridge = await engine.bridge(a.endpoint, b.endpoint)
    caller.stream(a.port, tone_frames(1000))
    agent.stream(b.port, tone_frames(2000))
    return caller, agent, a, b, bridge


@pytest.mark.parametrize("relay", [True, False], ids=["relayed", "re-timed"])
async def test_bridged_pcmu_and_pcma_legs_hear_each_other(
    config: EngineConfig, peers: PeerFactory, relay: bool
) -> None:
    engine = MediaEngine(replace(config, relay=relay))
    await engine.start()
    try:
        caller, agent, *_ = await _bridged(engine, peers, g711.PCMU, g711.PCMA)
        heard_by_caller = await caller.more(15)
        heard_by_agent = await agent.more(15)
    finally:
        await engine.close()
    assert {p.payload_type for p in heard_by_caller} == {g711.PCMU}
    assert {p.payload_type for p in heard_by_agent} == {g711.PCMA}
    assert dominant_frequency(caller.pcm(heard_by_caller[-5:])) == 2000
    assert dominant_frequency(agent.pcm(heard_by_agent[-5:])) == 1000
    assert_continuous(heard_by_agent)


async def test_relayed_bridge_forwards_each_packet_as_it_is_with_our_ssrc(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    caller, agent = await peers(), await peers()
    a = await engine.allocate_endpoint(caller.remote())
    b = await engine.allocate_endpoint(agent.remote())
    await engine.bridge(a.endpoint, b.endpoint)
    sender = RtpSender(g711.PCMU, ssrc=1234, initial_sequence=7, initial_timestamp=1000)
    sent = [bytes([n]) * 240 for n in range(1, 4)]  # 30 ms frames: the tick only takes 20 ms
    for payload in sent:
        caller.send(sender.next_packet(payload, samples=240).serialize(), a.port)
    relayed = await agent.wait_packets(3)
    assert [p.payload for p in relayed] == sent
    assert len({p.ssrc for p in relayed}) == 1 and relayed[0].ssrc != 1234
    assert relayed[0].marker and not relayed[1].marker
    for before, after in itertools.pairwise(relayed):
        assert after.sequence_number == (before.sequence_number + 1) & 0xFFFF
        assert after.timestamp == (before.timestamp + 240) & 0xFFFFFFFF


async def test_bridge_relays_again_after_a_prompt_in_one_continuous_stream(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    _caller, agent, _, b, _ = await _bridged(engine, peers, g711.PCMU, g711.PCMU)
    await agent.more(10)
    events = Events(engine)
    await engine.play(b.endpoint, [ToneSource(Cadence((500,), 1.0), 0.3)])
    await events.next(PlaybackFinished)
    heard = await agent.more(20)
    prompt = [p for p in agent.packets if dominant_frequency(agent.pcm([p])) == 500]
    assert len(prompt) >= 10
    assert dominant_frequency(agent.pcm(heard[-5:])) == 1000
    stream = agent.packets
    assert len({p.ssrc for p in stream}) == 1
    for before, after in itertools.pairwise(stream):
        assert after.sequence_number == (before.sequence_number + 1) & 0xFFFF
        assert 0 < (after.timestamp - before.timestamp) & 0xFFFFFFFF < 8000


async def test_stereo_call_recording_has_caller_left_and_agent_right(
    engine: MediaEngine, peers: PeerFactory, tmp_path: Path
) -> None:
    events = Events(engine)
    caller, _agent, _a, _b, bridge = await _bridged(engine, peers, g711.PCMU, g711.PCMA)
    path = tmp_path / "call.wav"
    recording = await engine.start_recording(bridge, str(path), stereo=True)
    await caller.more(70)
    # The header is rewritten every second of audio: a crash now leaves a playable file.
    (data_size,) = struct.unpack("<I", path.read_bytes()[40:44])
    assert data_size >= 8000 * 2 * 2
    await engine.stop_recording(recording)
    finished = await events.next(RecordingFinished)
    assert finished.recording == recording and finished.error is None
    info = check_wav(path)
    assert (info.channels, info.rate) == (2, 8000)
    with wave.open(str(path), "rb") as reader:
        stereo = reader.readframes(reader.getnframes())
    left = audioop.tomono(stereo, 2, 1, 0)
    right = audioop.tomono(stereo, 2, 0, 1)
    middle = len(left) // 2
    assert dominant_frequency(left[middle : middle + 1600]) == 1000
    assert dominant_frequency(right[middle : middle + 1600]) == 2000
    assert tone_level(left[middle : middle + 1600], 2000) < 0.02


async def test_endpoint_recording_of_a_relayed_bridge_has_what_was_relayed_right(
    engine: MediaEngine, peers: PeerFactory, tmp_path: Path
) -> None:
    events = Events(engine)
    caller, _agent, a, _b, _ = await _bridged(engine, peers, g711.PCMU, g711.PCMA)
    path = tmp_path / "leg.wav"
    recording = await engine.start_recording(a.endpoint, str(path), stereo=True)
    await caller.more(40)
    await engine.stop_recording(recording)
    await events.next(RecordingFinished)
    with wave.open(str(path), "rb") as reader:
        stereo = reader.readframes(reader.getnframes())
    middle = len(stereo) // 4
    assert dominant_frequency(audioop.tomono(stereo, 2, 1, 0)[middle : middle + 1600]) == 1000
    assert dominant_frequency(audioop.tomono(stereo, 2, 0, 1)[middle : middle + 1600]) == 2000


async def test_endpoint_recording_keeps_peer_left_and_what_we_sent_right(
    engine: MediaEngine, peers: PeerFactory, tmp_path: Path
) -> None:
    events = Events(engine)
    peer = await peers()
    local = await engine.allocate_endpoint(peer.remote())
    path = tmp_path / "leg.wav"
    recording = await engine.start_recording(local.endpoint, str(path))
    await engine.play(local.endpoint, [ToneSource(Cadence((1500,), 1.0))])
    peer.stream(local.port, tone_frames(500))
    await peer.more(30)
    await engine.stop_recording(recording)
    await events.next(RecordingFinished)
    with wave.open(str(path), "rb") as reader:
        stereo = reader.readframes(reader.getnframes())
    tail = stereo[-4 * 800 :]
    assert dominant_frequency(audioop.tomono(tail, 2, 1, 0)) == 500
    assert dominant_frequency(audioop.tomono(tail, 2, 0, 1)) == 1500


CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 500, 1000, 1500


def _hears(peer: Peer, packets: list[RtpPacket]) -> set[int]:
    pcm = peer.pcm(packets)
    return {hz for hz in (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ) if tone_level(pcm, hz) > 0.05}


async def test_whisper_and_listen_masks_hold_through_the_engine(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    parties = {}
    for name, hz, law in (
        ("caller", CALLER_HZ, g711.PCMU),
        ("agent", AGENT_HZ, g711.PCMA),
        ("supervisor", SUPERVISOR_HZ, g711.PCMU),
    ):
        peer = await peers(law)
        local = await engine.allocate_endpoint(peer.remote())
        parties[name] = (peer, local)
        peer.stream(local.port, tone_frames(hz, 0.2))
    ids = {name: local.endpoint for name, (_, local) in parties.items()}
    conference = await engine.create_conference()
    for endpoint in ids.values():
        await engine.add_participant(conference, endpoint, ParticipantMask())
    expected = {
        SupervisionMode.WHISPER: {
            "caller": {AGENT_HZ},
            "agent": {CALLER_HZ, SUPERVISOR_HZ},
            "supervisor": {CALLER_HZ, AGENT_HZ},
        },
        SupervisionMode.LISTEN: {
            "caller": {AGENT_HZ},
            "agent": {CALLER_HZ},
            "supervisor": {CALLER_HZ, AGENT_HZ},
        },
        SupervisionMode.BARGE: {
            "caller": {AGENT_HZ, SUPERVISOR_HZ},
            "agent": {CALLER_HZ, SUPERVISOR_HZ},
            "supervisor": {CALLER_HZ, AGENT_HZ},
        },
    }
    for mode, hears in expected.items():
        masks = supervision_masks(
            mode, supervisor=ids["supervisor"], caller=ids["caller"], agent=ids["agent"]
        )
        for endpoint, mask in masks.items():
            await engine.update_participant(conference, endpoint, mask)
        for name, (peer, _) in parties.items():
            packets = await peer.more(12)
            assert _hears(peer, packets[-5:]) == hears[name], (mode, name)
    await engine.destroy_conference(conference)


async def test_music_on_hold_is_one_shared_source_for_every_listener(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    await engine.define_moh("default", [ToneSource(TEST_TONE)])
    listeners = [await peers(law) for law in (g711.PCMU, g711.PCMU, g711.PCMA)]
    endpoints = [(await engine.allocate_endpoint(p.remote())).endpoint for p in listeners]
    for endpoint in endpoints:
        await engine.attach_moh(endpoint)
    heard = [await peer.wait_packets(20) for peer in listeners]
    assert [p.payload for p in heard[0]] == [p.payload for p in heard[1]]
    difference = audioop.add(
        listeners[2].pcm(heard[2]), audioop.mul(listeners[0].pcm(heard[0]), 2, -1), 2
    )
    assert audioop.rms(difference, 2) < 400  # same frames in A-law (rms of the tone ~5800)
    assert dominant_frequency(listeners[2].pcm(heard[2][5:10])) == 1000
    (source,) = engine.moh_sources.values()
    assert source.listeners == 3
    sent = [(await engine.stats(e)).packets_sent for e in endpoints]
    assert sent[0] == sent[1] == sent[2] == source.frames_decoded
    for endpoint in endpoints:
        await engine.detach_moh(endpoint)
    assert source.listeners == 0
