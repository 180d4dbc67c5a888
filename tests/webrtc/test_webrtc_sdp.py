"""Recognising WebRTC SDP and answering re-offers, without I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpline.sdp import Attribute, Direction, parse, serialize
from helpline.webrtc.sdp import (
    directions,
    is_browser_transport,
    is_webrtc,
    is_webrtc_body,
    offer_direction,
    reanswer,
)
from tests.webrtc.captures import CHROMIUM_OFFER, SIPP_OFFER


def test_a_chromium_offer_is_webrtc() -> None:
    assert is_webrtc(parse(CHROMIUM_OFFER))
    assert is_webrtc_body(CHROMIUM_OFFER.encode())


def test_a_plain_rtp_offer_is_not_webrtc() -> None:
    assert not is_webrtc(parse(SIPP_OFFER))


def test_sdes_srtp_without_a_fingerprint_is_not_webrtc() -> None:
    sdes = SIPP_OFFER.replace("RTP/AVP", "RTP/SAVP") + (
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
    )
    assert not is_webrtc(parse(sdes))


def test_session_level_fingerprint_and_ice_credentials_count() -> None:
    offer = parse(CHROMIUM_OFFER)
    audio = offer.media[0]
    moved = {"fingerprint", "ice-ufrag", "ice-pwd"}
    session = replace(
        offer,
        attributes=(*offer.attributes, *(a for a in audio.attributes if a.name in moved)),
        media=(
            replace(audio, attributes=tuple(a for a in audio.attributes if a.name not in moved)),
        ),
    )
    assert is_webrtc(session)
    without_ice = replace(
        session, attributes=tuple(a for a in session.attributes if a.name != "ice-ufrag")
    )
    assert not is_webrtc(without_ice)


def test_a_rejected_audio_stream_is_not_webrtc() -> None:
    offer = parse(CHROMIUM_OFFER)
    assert not is_webrtc(replace(offer, media=(replace(offer.media[0], port=0),)))


@pytest.mark.parametrize("body", [b"", b"not sdp at all", SIPP_OFFER.encode()])
def test_other_bodies_are_not_webrtc(body: bytes) -> None:
    assert not is_webrtc_body(body)


@pytest.mark.parametrize(
    ("transport", "browser"),
    [("WS", True), ("wss", True), ("UDP", False), ("TCP", False), ("TLS", False)],
)
def test_contacts_registered_over_websocket_are_browsers(transport: str, browser: bool) -> None:
    assert is_browser_transport(transport) is browser


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        ("sendrecv", (True, True)),
        ("sendonly", (False, True)),
        ("recvonly", (True, False)),
        ("inactive", (False, False)),
    ],
)
def test_directions_after_a_re_offer(theirs: str, ours: tuple[bool, bool]) -> None:
    offer = parse(CHROMIUM_OFFER.replace("a=sendrecv", f"a={theirs}"))
    assert offer_direction(offer) is Direction(theirs)
    assert directions(offer) == ours


def test_reanswer_keeps_ice_and_dtls_and_answers_the_direction() -> None:
    previous = parse(CHROMIUM_OFFER.replace("actpass", "active"))
    hold = parse(CHROMIUM_OFFER.replace("a=sendrecv", "a=sendonly"))
    answer = reanswer(previous, hold)
    assert answer.origin.session_version == previous.origin.session_version + 1
    assert answer.media[0].direction is Direction.RECVONLY
    text = serialize(answer)
    for line in ("a=ice-ufrag:a96+", "a=fingerprint:sha-256 B3:08", "a=candidate:1642284624"):
        assert line in text
    assert "a=setup:active" in text
    assert text.count("a=recvonly") == 1 and "a=sendrecv" not in text
    resumed = reanswer(answer, parse(CHROMIUM_OFFER))
    assert resumed.media[0].direction is Direction.SENDRECV
    assert resumed.origin.session_version == previous.origin.session_version + 2


def test_reanswer_drops_a_direction_kept_as_a_plain_attribute() -> None:
    previous = parse(CHROMIUM_OFFER)
    audio = replace(
        previous.media[0], attributes=(*previous.media[0].attributes, Attribute("sendonly"))
    )
    answer = reanswer(replace(previous, media=(audio,)), parse(CHROMIUM_OFFER))
    assert all(a.name != "sendonly" for a in answer.media[0].attributes)
    assert answer.media[0].direction is Direction.SENDRECV


def test_the_chromium_offer_survives_a_parse_serialize_round_trip() -> None:
    assert parse(serialize(parse(CHROMIUM_OFFER))) == parse(CHROMIUM_OFFER)
