"""DTMF in and out, latching, dead-call detection and RTCP through the embedded engine."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from helpline.media.backend import (
    DtmfReceived,
    EndpointTimeout,
    MediaBackendError,
    PlaybackEnd,
    PlaybackFinished,
    RemoteLatched,
    SilenceDetected,
    ToneSource,
)
from helpline.media.dtmf import DtmfReceiver, DtmfSender
from helpline.media.engine import MediaEngine
from helpline.media.rtcp import ReceiverReport, ReportBlock, build_compound
from helpline.media.rtp import RtpPacket, RtpSender
from helpline.media.tones import TEST_TONE
from tests.media_engine.peer import Events, Peer, tone_frames

PeerFactory = Callable[..., Awaitable[Peer]]


def digit_packets(key: str, seed: int) -> list[bytes]:
    """The telephone-event packets of one key press from a fresh SSRC (as SIPp sends)."""
    sender = DtmfSender(RtpSender(rng=random.Random(seed)), payload_type=101)
    return [p.packet.serialize() for p in sender.packets(key, 0.1)]


def filler(payload_type: int, seed: int) -> bytes:
    sender = RtpSender(payload_type, rng=random.Random(seed))
    return sender.next_packet(b"\x00" * 4).serialize()


async def test_digits_with_a_new_ssrc_each_and_unknown_payload_types_give_exact_digits(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    peer = await peers()
    events = Events(engine)
    local = await engine.allocate_endpoint(peer.remote(telephone_event_pt=101))
    for n, key in enumerate("12#9"):
        peer.send(filler(13, n), local.port)  # comfort noise, not negotiated
        for data in digit_packets(key, seed=n):
            peer.send(data, local.port)
            peer.send(filler(96, 100 + n), local.port)  # an unknown dynamic type
    digits = [(await events.next(DtmfReceived)).digit for _ in range(4)]
    assert digits == ["1", "2", "#", "9"]
    peer.send(b"\x80", local.port)  # malformed: ignored
    for data in digit_packets("5", seed=99):
        peer.send(data, local.port)
    assert (await events.next(DtmfReceived)).digit == "5"
    assert [e.digit for e in events.seen if isinstance(e, DtmfReceived)] == list("12#95")
    stats = await engine.stats(local.endpoint)
    assert stats.unknown_packets >= 8


async def test_a_digit_interrupts_an_interruptible_prompt(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    peer = await peers()
    events = Events(engine)
    local = await engine.allocate_endpoint(peer.remote())
    playback = await engine.play(local.endpoint, [ToneSource(TEST_TONE)], interruptible=True)
    await peer.wait_packets(3)
    for data in digit_packets("7", seed=1):
        peer.send(data, local.port)
    finished = await events.next(PlaybackFinished)
    assert (finished.playback, finished.reason) == (playback, PlaybackEnd.DTMF)
    assert any(isinstance(e, DtmfReceived) and e.digit == "7" for e in events.seen)


async def test_digits_sent_arrive_as_telephone_events(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    peer = await peers()
    local = await engine.allocate_endpoint(peer.remote(telephone_event_pt=101))
    await engine.send_dtmf(local.endpoint, "4*")
    receiver = DtmfReceiver(101)
    digits: list[str] = []
    while len(digits) < 2:
        (packet,) = await peer.more(1)
        receiver.receive(packet, 0.0)
        while (digit := receiver.next_event()) is not None:
            digits.append(digit.key)
    assert digits == ["4", "*"]


async def test_sending_latches_to_where_rtp_comes_from_and_moves_after_silence(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    advertised, first, second = await peers(), await peers(), await peers()
    events = Events(engine)
    local = await engine.allocate_endpoint(advertised.remote())
    await engine.play(local.endpoint, [ToneSource(TEST_TONE)])
    await advertised.wait_packets(2)  # before any RTP arrives: the SDP address
    first.stream(local.port, lambda n: bytes(320))
    latched = await events.next(RemoteLatched)
    assert latched.port == first.port
    await first.wait_packets(5)
    first.stop()
    second.stream(local.port, lambda n: bytes(320))
    moved = await events.next(RemoteLatched, lambda e: e.port == second.port)
    assert moved.address == "127.0.0.1"
    await second.wait_packets(5)
    assert set(second.sources) == {("127.0.0.1", local.port)}
    stats = await engine.stats(local.endpoint)
    assert stats.latched_port == second.port


async def test_endpoint_without_rtp_reports_a_timeout_once(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    peer = await peers()
    events = Events(engine)
    local = await engine.allocate_endpoint(peer.remote())
    timeout = await events.next(EndpointTimeout)
    assert timeout.endpoint == local.endpoint
    assert timeout.silent_for >= 0.3


async def test_rtcp_receiver_reports_become_statistics(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    peer = await peers()
    local = await engine.allocate_endpoint(peer.remote())
    await engine.play(local.endpoint, [ToneSource(TEST_TONE)])
    packets: list[RtpPacket] = await peer.wait_packets(5)
    block = ReportBlock(packets[0].ssrc, 64, 3, packets[-1].sequence_number, 80)
    peer.send(build_compound(ReceiverReport(1234, (block,)), "peer"), local.rtcp_port)
    peer.send(build_compound(ReceiverReport(1234, (block,)), "peer"), local.port)  # rtcp-mux
    await peer.more(5)
    stats = await engine.stats(local.endpoint)
    assert stats.rtcp_received == 2
    assert stats.remote_loss_fraction == 0.25
    assert stats.remote_cumulative_lost == 3
    assert stats.remote_jitter_ms == 10.0


async def test_silence_is_reported_once_the_caller_stops_talking(
    engine: MediaEngine, peers: PeerFactory
) -> None:
    peer = await peers()
    events = Events(engine)
    local = await engine.allocate_endpoint(peer.remote())
    peer.stream(local.port, tone_frames(440))
    await engine.watch_silence(local.endpoint, 0.4)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.8)  # talking: no report however long it lasts
    peer.stop()
    stopped = loop.time()
    silence = await events.next(SilenceDetected)
    assert silence.endpoint == local.endpoint and silence.seconds == 0.4
    assert loop.time() - stopped >= 0.35
    with pytest.raises(MediaBackendError):
        await engine.watch_silence(local.endpoint, -1)
