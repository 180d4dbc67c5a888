"""The Channel (the real CallPort) over the in-process media engine and an RTP peer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from helpline.ivr.port import CallGone, RecordEnd, TransferTarget
from helpline.media.backend import (
    DtmfReceived,
    PlaybackEnd,
    PlaybackFinished,
    SilenceDetected,
    SilenceSource,
)
from helpline.media.engine import MediaEngine
from helpline.prompts.language import Language
from helpline.prompts.library import PromptLibrary
from helpline.telephony.channel import Channel, Playbacks
from tests.media_engine.conftest import config, engine, peers
from tests.media_engine.peer import Peer, tone_frames

__all__ = ["config", "engine", "peers"]

PeerFactory = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def wired(
    engine: MediaEngine, peers: PeerFactory, tmp_path: Path
) -> AsyncIterator[tuple[Channel, Peer, int]]:
    """A channel on an endpoint talking to a peer, with the engine's events routed to it
    the way call control routes them."""
    peer = await peers()
    local = await engine.allocate_endpoint(peer.remote(telephone_event_pt=101))
    playbacks = Playbacks()
    transfers: list[TransferTarget] = []

    async def transfer(target: TransferTarget) -> None:
        transfers.append(target)

    channel = Channel(
        engine,
        local.endpoint,
        playbacks,
        PromptLibrary(data_dir=tmp_path),
        tenant_id=1,
        language=Language.EN,
        call_id="call-1",
        caller="+99955501",
        called="1000",
        hang_up=lambda: None,
        transfer=transfer,
    )

    async def route() -> None:
        async for event in engine.events():
            if isinstance(event, PlaybackFinished):
                playbacks.finished(event.playback, event.reason)
            elif isinstance(event, DtmfReceived):
                channel.digits.put_nowait(event.digit)
            elif isinstance(event, SilenceDetected):
                channel.silent.set()

    router = asyncio.get_running_loop().create_task(route())
    yield channel, peer, local.port
    router.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await router


async def test_play_waits_for_the_end_and_a_queued_key_skips_an_interruptible_prompt(
    wired: tuple[Channel, Peer, int],
) -> None:
    channel, _peer, _port = wired
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await channel.play([SilenceSource(0.3)]) is PlaybackEnd.COMPLETED
    assert loop.time() - started >= 0.28
    channel.digits.put_nowait("5")
    assert await channel.play([SilenceSource(5)], interruptible=True) is PlaybackEnd.DTMF
    assert await channel.collect(max_digits=3, first_timeout=0.2) == "5"


async def test_prompts_resolve_system_prompts_in_the_language(
    wired: tuple[Channel, Peer, int],
) -> None:
    channel, _peer, _port = wired
    (source,) = channel.prompts(["digits/7"])
    assert "/en/digits/7.wav" in source.path  # type: ignore[union-attr]
    with pytest.raises(LookupError):
        channel.prompts(["no/such-prompt"])


async def test_record_ends_on_silence_after_the_caller_stops(
    wired: tuple[Channel, Peer, int], tmp_path: Path
) -> None:
    channel, peer, port = wired
    peer.stream(port, tone_frames(440))
    asyncio.get_running_loop().call_later(0.6, peer.stop)
    result = await channel.record(tmp_path / "m.wav", max_seconds=5, silence_seconds=0.4)
    assert result.ended_by is RecordEnd.SILENCE
    assert 0.8 <= result.duration <= 1.6, result.duration


async def test_record_ends_on_the_terminator_or_the_maximum(
    wired: tuple[Channel, Peer, int], tmp_path: Path
) -> None:
    channel, _peer, _port = wired
    asyncio.get_running_loop().call_later(0.3, channel.digits.put_nowait, "#")
    keyed = await channel.record(tmp_path / "a.wav", max_seconds=5, silence_seconds=0)
    assert keyed.ended_by is RecordEnd.KEY and keyed.key == "#"
    capped = await channel.record(tmp_path / "b.wav", max_seconds=0.4, silence_seconds=0)
    assert capped.ended_by is RecordEnd.MAX_LENGTH
    assert 0.3 <= capped.duration <= 0.8


async def test_hang_up_ends_waits_with_call_gone_and_keeps_a_recording(
    wired: tuple[Channel, Peer, int], tmp_path: Path
) -> None:
    channel, _peer, _port = wired
    loop = asyncio.get_running_loop()
    loop.call_later(0.5, channel.close)
    result = await channel.record(tmp_path / "c.wav", max_seconds=10, silence_seconds=0)
    assert result.ended_by is RecordEnd.HANGUP and result.duration >= 0.4
    with pytest.raises(CallGone):
        await channel.collect(max_digits=1)
    with pytest.raises(CallGone):
        await channel.play([SilenceSource(1)])
