"""Call control's browser legs with the real embedded media engine: an aiortc 'browser'
and a plain RTP phone bridged through two engine endpoints, the browser's through the
gateway (what ``CallControl`` does at its hook points)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpline.config import Settings
from helpline.media.backend import LocalMedia, RemoteMedia
from helpline.media.engine import EngineConfig, MediaEngine
from helpline.sdp import parse
from helpline.sip.message import Response, parse_message
from helpline.sip.transaction import TransactionKey
from helpline.telephony.webrtc_legs import WebRtcLegs
from helpline.webrtc import WebRtcError
from tests.webrtc.captures import CHROMIUM_OFFER
from tests.webrtc.peers import Browser, RtpPhone

TIMEOUT = 15.0


@pytest.fixture
async def engine() -> AsyncIterator[MediaEngine]:
    low = random.randrange(30000, 60000, 2)
    backend = MediaEngine(EngineConfig(port_min=low, port_max=low + 99))
    await backend.start()
    yield backend
    await backend.close()


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path, sip_host="127.0.0.1", **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def legs(engine: MediaEngine, tmp_path: Path) -> AsyncIterator[WebRtcLegs]:
    made = WebRtcLegs(_settings(tmp_path), engine)
    yield made
    await made.close()
    assert made.open_legs == 0


async def _phone_side(engine: MediaEngine, phone: RtpPhone) -> LocalMedia:
    """An endpoint facing the plain RTP phone (what a SIP phone's leg gets)."""
    port = await phone.open()
    media = await engine.allocate_endpoint(affinity="call")
    await engine.update_endpoint(media.endpoint, RemoteMedia(address="127.0.0.1", port=port))
    phone.start(("127.0.0.1", media.port))
    return media


def _answer(branch: str, sdp: str) -> Response:
    body = sdp.encode()
    head = (
        "SIP/2.0 200 OK\r\n"
        f"Via: SIP/2.0/WSS 127.0.0.1:5066;branch={branch}\r\n"
        "From: <sip:caller@demo>;tag=a\r\nTo: <sip:2001@demo>;tag=b\r\n"
        "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    response = parse_message(head.encode() + body)
    assert isinstance(response, Response)
    return response


async def test_a_browser_calling_in_is_answered_through_the_gateway_and_bridged(
    engine: MediaEngine, legs: WebRtcLegs
) -> None:
    phone, browser = RtpPhone(1000), Browser(2000)
    try:
        caller = await engine.allocate_endpoint(affinity="call")
        offer = await browser.offer()
        assert legs.wants(parse(offer))
        answer = await legs.answer(caller, offer.encode())
        await browser.accept(answer.decode())
        assert legs.carries(caller.endpoint) and legs.open_legs == 1
        callee = await _phone_side(engine, phone)
        await engine.bridge(caller.endpoint, callee.endpoint)
        await asyncio.wait_for(
            asyncio.gather(browser.heard.ready.wait(), phone.heard.ready.wait()), TIMEOUT
        )
        assert browser.heard.frequency() == pytest.approx(1000, abs=20)
        assert phone.heard.frequency() == pytest.approx(2000, abs=20)
        await legs.release(caller.endpoint)
        assert legs.open_legs == 0 and not legs.carries(caller.endpoint)
    finally:
        phone.close()
        await browser.close()


async def test_ringing_two_browsers_keeps_only_the_one_that_answers(
    engine: MediaEngine, legs: WebRtcLegs
) -> None:
    phone, browser = RtpPhone(1000), Browser(2000)
    try:
        callee = await engine.allocate_endpoint(affinity="call")
        assert await legs.offer(callee, "UDP") is None
        first = await legs.offer(callee, "WSS")
        second = await legs.offer(callee, "ws")
        assert first is not None and second is not None and legs.open_legs == 2
        legs.sent(TransactionKey("z9hG4bK-first", "INVITE"), first)
        legs.sent(TransactionKey("z9hG4bK-second", "INVITE"), second)
        sdp = await browser.answer(second.body.decode())
        assert await legs.answered(_answer("z9hG4bK-phone", "v=0\r\n")) is None
        remote = await legs.answered(_answer("z9hG4bK-second", sdp))
        assert remote is not None and legs.open_legs == 1 and legs.carries(callee.endpoint)
        assert await legs.answered(_answer("z9hG4bK-second", sdp)) == remote  # 183, then 200
        await engine.update_endpoint(callee.endpoint, remote)
        caller = await _phone_side(engine, phone)
        await engine.bridge(caller.endpoint, callee.endpoint)
        await asyncio.wait_for(
            asyncio.gather(browser.heard.ready.wait(), phone.heard.ready.wait()), TIMEOUT
        )
        assert browser.heard.frequency() == pytest.approx(1000, abs=20)
        assert phone.heard.frequency() == pytest.approx(2000, abs=20)
    finally:
        phone.close()
        await browser.close()


async def test_a_browsers_hold_is_answered_from_its_leg(
    engine: MediaEngine, legs: WebRtcLegs
) -> None:
    browser = Browser(2000)
    try:
        caller = await engine.allocate_endpoint()
        offer = await browser.offer()
        await browser.accept((await legs.answer(caller, offer.encode())).decode())
        answer = await legs.reoffer(
            caller.endpoint, offer.replace("a=sendrecv", "a=sendonly").encode()
        )
        assert b"a=recvonly" in answer and b"a=fingerprint:" in answer
        with pytest.raises(WebRtcError):
            await legs.reoffer("w0.nothing", offer.encode())
    finally:
        await browser.close()


async def test_a_disabled_gateway_leaves_browsers_to_plain_offer_answer(
    engine: MediaEngine, tmp_path: Path
) -> None:
    legs = WebRtcLegs(_settings(tmp_path, webrtc_enabled=False), engine)
    media = await engine.allocate_endpoint()
    assert not legs.wants(parse(CHROMIUM_OFFER))
    assert await legs.offer(media, "WSS") is None
    assert legs.open_legs == 0
