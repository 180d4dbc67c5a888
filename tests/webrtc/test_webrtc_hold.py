"""Holding a browser's leg from our side (the agent holds a browser caller): the
re-offer is the gateway's own SDP (ICE and DTLS unchanged) with ``a=sendonly`` or
``a=sendrecv``, and the browser's answer sets the engine endpoint's directions. Pure SDP
checks, then a real aiortc peer and the embedded media engine."""

from __future__ import annotations

import asyncio

import pytest

from helpline.media.backend import RemoteMedia
from helpline.media.engine import MediaEngine
from helpline.sdp import Direction, parse, serialize
from helpline.telephony.webrtc_legs import WebRtcLegs
from helpline.webrtc import WebRtcError
from helpline.webrtc.sdp import answer_directions, reoffer
from tests.webrtc.captures import CHROMIUM_OFFER
from tests.webrtc.peers import Browser, Heard, RtpPhone
from tests.webrtc.test_webrtc_legs import engine, legs

__all__ = ["engine", "legs"]  # the fixtures, shared with test_webrtc_legs

TIMEOUT = 15.0


def test_our_hold_re_offer_keeps_ice_and_dtls_and_offers_sendonly() -> None:
    previous = parse(CHROMIUM_OFFER.replace("actpass", "active"))
    held = reoffer(previous, Direction.SENDONLY)
    assert held.origin.session_version == previous.origin.session_version + 1
    assert held.media[0].direction is Direction.SENDONLY
    text = serialize(held)
    for line in ("a=ice-ufrag:a96+", "a=fingerprint:sha-256 B3:08", "a=candidate:1642284624"):
        assert line in text
    assert "a=setup:active" in text and text.count("a=sendonly") == 1
    assert "a=sendrecv" not in text
    resumed = reoffer(held, Direction.SENDRECV)
    assert resumed.media[0].direction is Direction.SENDRECV
    assert resumed.origin.session_version == previous.origin.session_version + 2


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [("recvonly", (True, False)), ("sendrecv", (True, True)), ("inactive", (False, False))],
)
def test_the_browsers_answer_says_which_way_media_flows(
    theirs: str, ours: tuple[bool, bool]
) -> None:
    answer = parse(CHROMIUM_OFFER.replace("a=sendrecv", f"a={theirs}"))
    assert answer_directions(answer) == ours


async def test_a_browser_caller_held_and_resumed_by_us_answers_from_the_same_session(
    engine: MediaEngine, legs: WebRtcLegs
) -> None:
    phone, browser = RtpPhone(1000), Browser(2000)
    try:
        caller = await engine.allocate_endpoint(affinity="call")
        offer = await browser.offer()
        first = (await legs.answer(caller, offer.encode())).decode()
        await browser.accept(first)
        port = await phone.open()
        callee = await engine.allocate_endpoint(affinity="call")
        await engine.update_endpoint(callee.endpoint, RemoteMedia(address="127.0.0.1", port=port))
        phone.start(("127.0.0.1", callee.port))
        await engine.bridge(caller.endpoint, callee.endpoint)
        await asyncio.wait_for(browser.heard.ready.wait(), TIMEOUT)

        held = legs.hold_offer(caller.endpoint, hold=True)
        assert held is not None and b"a=sendonly" in held and b"a=sendrecv" not in held
        for line in ("a=ice-ufrag:", "a=fingerprint:"):
            ours = next(x for x in first.splitlines() if x.startswith(line))
            assert ours.encode() in held, line
        answer = await browser.answer(held.decode())
        assert "a=recvonly" in answer, answer
        await legs.hold_answered(caller.endpoint, answer.encode())
        # held with sendonly, we still send (music on hold would flow): the browser
        # goes on hearing what the endpoint plays
        browser.heard = Heard()
        await asyncio.wait_for(browser.heard.ready.wait(), TIMEOUT)
        assert browser.heard.frequency() == pytest.approx(1000, abs=20)

        resumed = legs.hold_offer(caller.endpoint, hold=False)
        assert resumed is not None and b"a=sendrecv" in resumed
        answer = await browser.answer(resumed.decode())
        assert "a=sendrecv" in answer, answer
        await legs.hold_answered(caller.endpoint, answer.encode())
        phone.heard = Heard()
        await asyncio.wait_for(phone.heard.ready.wait(), TIMEOUT)
        assert phone.heard.frequency() == pytest.approx(2000, abs=20)

        assert legs.hold_offer("w0.nothing", hold=True) is None
        with pytest.raises(WebRtcError):
            await legs.hold_answered("w0.nothing", answer.encode())
    finally:
        phone.close()
        await browser.close()
