"""The gateway between two real peers: an aiortc 'browser' and a plain RTP socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aioice.ice
import pytest
from pydantic import ValidationError

from helpline.config import Settings
from helpline.media.backend import LocalMedia
from helpline.webrtc import WebRtcError, ice, is_webrtc_body
from helpline.webrtc.gateway import GatewayConfig, WebRtcGateway
from tests.webrtc.peers import Browser, RtpPhone

LOOPBACK = GatewayConfig(host_addresses=("127.0.0.1",))
TIMEOUT = 15.0


@pytest.fixture
async def gateway() -> AsyncIterator[WebRtcGateway]:
    made = WebRtcGateway(LOOPBACK)
    yield made
    await made.close()
    assert made.legs == 0


@pytest.fixture
async def phone() -> AsyncIterator[RtpPhone]:
    made = RtpPhone(1000)
    yield made
    made.close()


async def _hear_each_other(browser: Browser, phone: RtpPhone) -> None:
    await asyncio.wait_for(
        asyncio.gather(browser.heard.ready.wait(), phone.heard.ready.wait()), TIMEOUT
    )
    assert browser.heard.frequency() == pytest.approx(1000, abs=20)
    assert phone.heard.frequency() == pytest.approx(2000, abs=20)


@pytest.mark.parametrize("codec", ["audio/opus", "audio/PCMU", "audio/PCMA"])
async def test_browser_calling_in_and_rtp_phone_hear_each_other(
    gateway: WebRtcGateway, phone: RtpPhone, codec: str
) -> None:
    port = await phone.open()
    leg = await gateway.open(LocalMedia("ep1", "127.0.0.1", port, port + 1))
    browser = Browser(2000, codec=codec)
    try:
        offer = await browser.offer()
        assert is_webrtc_body(offer.encode())
        answer = await leg.answer_offer(offer)
        assert is_webrtc_body(answer.encode())
        assert "a=candidate:" in answer and " 127.0.0.1 " in answer
        assert codec.split("/")[1] in answer
        await browser.accept(answer)
        phone.start((leg.remote.address, leg.remote.port))
        await _hear_each_other(browser, phone)
        assert leg.connected.is_set()
        # Symmetric RTP: the gateway sends from the port it told the endpoint to use.
        assert phone.sources == {(leg.remote.address, leg.remote.port)}
    finally:
        await browser.close()
        await leg.close()
    assert gateway.legs == 0


async def test_gateway_calling_a_browser_connects_both_ways(
    gateway: WebRtcGateway, phone: RtpPhone
) -> None:
    port = await phone.open()
    leg = await gateway.open(LocalMedia("ep1", "127.0.0.1", port, port + 1))
    browser = Browser(2000)
    try:
        offer = await leg.create_offer()
        assert "UDP/TLS/RTP/SAVPF" in offer and "a=fingerprint:" in offer
        await leg.accept_answer(await browser.answer(offer))
        phone.start((leg.remote.address, leg.remote.port))
        await _hear_each_other(browser, phone)
    finally:
        await browser.close()
        await leg.close()


async def test_an_offer_without_a_common_codec_is_refused(
    gateway: WebRtcGateway, phone: RtpPhone
) -> None:
    port = await phone.open()
    narrow = WebRtcGateway(GatewayConfig(host_addresses=("127.0.0.1",), codecs=("PCMA",)))
    leg = await narrow.open(LocalMedia("ep1", "127.0.0.1", port, port + 1))
    browser = Browser(2000, codec="audio/G722")
    try:
        with pytest.raises(WebRtcError):
            await leg.answer_offer(await browser.offer())
    finally:
        await browser.close()
        await narrow.close()
    assert narrow.legs == 0


async def test_a_re_offer_putting_the_gateway_on_hold_is_answered_recvonly(
    gateway: WebRtcGateway, phone: RtpPhone
) -> None:
    port = await phone.open()
    leg = await gateway.open(LocalMedia("ep1", "127.0.0.1", port, port + 1))
    browser = Browser(2000)
    try:
        offer = await browser.offer()
        first = await leg.answer_offer(offer)
        await browser.accept(first)
        answer, media = leg.reanswer(offer.replace("a=sendrecv", "a=sendonly"))
        assert "a=recvonly" in answer and "a=sendrecv" not in answer
        assert (media.send, media.receive) == (False, True)
        assert (media.address, media.port) == (leg.remote.address, leg.remote.port)
    finally:
        await browser.close()
        await leg.close()


def test_ice_host_addresses_default_to_the_sip_host(tmp_path: Path) -> None:
    def config(**values: str) -> GatewayConfig:
        return GatewayConfig.from_settings(Settings(data_dir=tmp_path, **values))  # type: ignore[arg-type]

    assert config(sip_host="192.0.2.7").host_addresses == ("192.0.2.7",)
    assert config(sip_host="0.0.0.0").host_addresses == ()
    assert config(sip_host="pbx.example.com").host_addresses == ()
    chosen = config(sip_host="0.0.0.0", webrtc_host_addresses="127.0.0.1, ::1")
    assert chosen.host_addresses == ("127.0.0.1", "::1")
    assert config(webrtc_codecs=" PCMU, opus ").codecs == ("PCMU", "opus")
    assert config(webrtc_stun_server="").stun_server == ""
    with pytest.raises(ValidationError):
        config(webrtc_host_addresses="not-an-address")


def test_only_the_configured_addresses_are_gathered() -> None:
    try:
        ice.use_host_addresses(["127.0.0.1", "::1"])
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
        assert ice.host_addresses() == ("127.0.0.1", "::1")
    finally:
        ice.use_host_addresses(LOOPBACK.host_addresses)
    with pytest.raises(ValueError):
        ice.parse_addresses("127.0.0.1,nonsense")


async def test_no_stun_server_unless_configured() -> None:
    assert WebRtcGateway(LOOPBACK).rtc_configuration().iceServers == []
    stun = WebRtcGateway(GatewayConfig(host_addresses=("127.0.0.1",), stun_server="127.0.0.1:3478"))
    servers = stun.rtc_configuration().iceServers
    assert servers is not None and [s.urls for s in servers] == ["stun:127.0.0.1:3478"]


async def test_an_endpoint_named_by_host_name_is_reached_at_its_address(
    gateway: WebRtcGateway, phone: RtpPhone
) -> None:
    port = await phone.open()
    leg = await gateway.open(LocalMedia("ep1", "localhost", port, port + 1))
    try:
        assert leg.remote.address in ("127.0.0.1", "::1")
    finally:
        await leg.close()
