"""The WebRTC media gateway: a browser's ICE + DTLS-SRTP audio to plain RTP and back.

Theory of operation
-------------------
Call control gives every browser leg an ordinary media-engine endpoint (plain G.711
RTP), so prompts, bridges, conferences and recordings work on it as on any phone's. The
gateway stands between that endpoint and the browser, one :class:`WebRtcLeg` per
browser leg:

* a UDP socket on the engine's own host (loopback when the engine binds every
  interface) faces the endpoint; :attr:`WebRtcLeg.remote` is the
  :class:`~helpline.media.backend.RemoteMedia` the endpoint must send to (PCMU, RTCP
  multiplexed and ignored). Only datagrams from the endpoint's address and port count.
* an aiortc ``RTCPeerConnection`` faces the browser: ICE (RFC 8445) on the configured
  host addresses (:mod:`helpline.webrtc.ice`; no STUN server unless one is configured),
  DTLS-SRTP (RFC 5764), and the audio codec chosen from ``codecs`` in our order of
  preference (Opus, PCMU, PCMA by default). Its outgoing track is
  :class:`~helpline.webrtc.tracks.EngineTrack` (the endpoint's RTP, decoded and paced);
  its incoming track is resampled to 8 kHz mono and sent to the endpoint as 20 ms PCMU
  RTP (:class:`~helpline.webrtc.audio.BrowserToEngine`).

SDP offer/answer with the browser follows JSEP (RFC 8829) without trickle ICE: every
local description is complete once its candidates are gathered, as a SIP body must
be. A call *to* a browser uses :meth:`WebRtcLeg.create_offer` then
:meth:`WebRtcLeg.accept_answer`; a call *from* one :meth:`WebRtcLeg.answer_offer`. A
later re-offer (hold, resume) keeps ICE and DTLS and is answered by
:meth:`WebRtcLeg.reanswer`; our own (the agent holds the browser) is
:meth:`WebRtcLeg.reoffer`, its answer :meth:`WebRtcLeg.accept_reanswer`.
:meth:`WebRtcLeg.close` ends both sides; closing the gateway closes every leg still
open.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from dataclasses import dataclass

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamTrack

from helpline.config import Settings
from helpline.media.backend import LocalMedia, RemoteMedia
from helpline.media.g711 import PCMU
from helpline.media.rtp import RtpSender
from helpline.sdp import Direction, SdpError, SessionDescription, serialize
from helpline.sdp import parse as parse_sdp
from helpline.webrtc import ice
from helpline.webrtc.audio import BrowserToEngine, EngineToBrowser
from helpline.webrtc.errors import WebRtcError
from helpline.webrtc.sdp import answer_directions, directions, reanswer, reoffer
from helpline.webrtc.tracks import EngineTrack, pump

log = logging.getLogger(__name__)

DEFAULT_CODECS = ("opus", "PCMU", "PCMA")
_FAILURES = (InvalidAccessError, InvalidStateError, OperationError, ValueError, KeyError)


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayConfig:
    """How the gateway meets browsers."""

    host_addresses: tuple[str, ...] = ()
    """ICE host candidate addresses; empty: every interface but loopback."""
    stun_server: str = ""
    """``host:port`` of a STUN server for server-reflexive candidates; empty: none."""
    codecs: tuple[str, ...] = DEFAULT_CODECS
    """Audio codecs toward the browser, most preferred first (opus, PCMU, PCMA, G722)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayConfig:
        """The ``webrtc_*`` settings; host addresses default to the SIP host unless
        that is a wildcard."""
        addresses = ice.parse_addresses(settings.webrtc_host_addresses)
        if not addresses and _is_specific(settings.sip_host):
            addresses = (settings.sip_host,)
        codecs = tuple(c.strip() for c in settings.webrtc_codecs.split(",") if c.strip())
        return cls(
            host_addresses=addresses,
            stun_server=settings.webrtc_stun_server,
            codecs=codecs or DEFAULT_CODECS,
        )


def _is_specific(host: str) -> bool:
    """True for an IP address other than a wildcard (a host name is not one)."""
    try:
        return not ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


async def _engine_host(address: str) -> str:
    """The address to reach an endpoint advertised as ``address`` from this host: the
    loopback address for a wildcard, the first address of a host name."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(address, None, type=socket.SOCK_DGRAM)
        if not infos:
            raise WebRtcError(f"cannot resolve the media address {address!r}") from None
        return str(infos[0][4][0])
    if ip.is_unspecified:
        return "::1" if ip.version == 6 else "127.0.0.1"
    return str(ip)


class _EngineSide(asyncio.DatagramProtocol):
    def __init__(self, source: EngineToBrowser, engine: tuple[str, int]) -> None:
        self.source = source
        self.engine = engine

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if (addr[0], addr[1]) == self.engine:
            self.source.receive(data)


class WebRtcLeg:
    """One browser leg: a peer connection to the browser, a socket to one endpoint."""

    def __init__(
        self,
        gateway: WebRtcGateway,
        local: LocalMedia,
        transport: asyncio.DatagramTransport,
        source: EngineToBrowser,
        codecs: list[RTCRtpCodecCapability],
        engine: tuple[str, int],
    ) -> None:
        self.gateway = gateway
        self.endpoint = local.endpoint
        self.source = source
        self.sink = BrowserToEngine(RtpSender(PCMU))
        self.connected = asyncio.Event()
        """Set once ICE and DTLS are up with the browser."""
        self.closed = False
        self._transport = transport
        self._engine = engine
        self._track = EngineTrack(source)
        self._pumps: list[asyncio.Task[None]] = []
        self._last: SessionDescription | None = None
        self.pc = RTCPeerConnection(gateway.rtc_configuration())
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)
        transceiver = self.pc.addTransceiver(self._track, direction="sendrecv")
        transceiver.setCodecPreferences(codecs)

    @property
    def remote(self) -> RemoteMedia:
        """Where the engine endpoint must send: the gateway's socket, PCMU."""
        host, port = self._transport.get_extra_info("sockname")[:2]
        return RemoteMedia(address=host, port=port, payload_type=PCMU, rtcp_mux=True)

    @property
    def description(self) -> SessionDescription | None:
        """Our last complete SDP toward the browser (offer or answer)."""
        return self._last

    async def create_offer(self) -> str:
        """Our WebRTC offer (for a call to a browser), candidates included."""
        try:
            await self.pc.setLocalDescription(await self.pc.createOffer())
        except _FAILURES as exc:
            raise WebRtcError(f"cannot make a WebRTC offer: {exc}") from exc
        return self._local()

    async def accept_answer(self, sdp: str) -> None:
        """Apply the browser's answer to our offer; media starts once ICE connects."""
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except _FAILURES as exc:
            raise WebRtcError(f"WebRTC answer refused: {exc}") from exc

    async def answer_offer(self, sdp: str) -> str:
        """Our answer to the browser's offer (a call from a browser)."""
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except _FAILURES as exc:
            raise WebRtcError(f"WebRTC offer refused: {exc}") from exc
        return self._local()

    def reanswer(self, sdp: str) -> tuple[str, RemoteMedia]:
        """Answer a re-offer on the established leg (hold, resume, refresh): our SDP with
        the answering direction, and the endpoint's media with the new directions."""
        if self._last is None:
            raise WebRtcError("no WebRTC session to renegotiate")
        try:
            offer = parse_sdp(sdp)
        except SdpError as exc:
            raise WebRtcError(f"bad re-offer: {exc}") from exc
        self._last = reanswer(self._last, offer)
        return serialize(self._last), self._directed(*directions(offer))

    def reoffer(self, *, hold: bool) -> str:
        """Our re-offer on the established leg: ``a=sendonly`` to hold the browser,
        ``a=sendrecv`` to resume it (ICE and DTLS unchanged)."""
        if self._last is None:
            raise WebRtcError("no WebRTC session to renegotiate")
        self._last = reoffer(self._last, Direction.SENDONLY if hold else Direction.SENDRECV)
        return serialize(self._last)

    def accept_reanswer(self, sdp: str) -> RemoteMedia:
        """The browser's answer to :meth:`reoffer`: the endpoint's media with the
        directions it agreed to."""
        try:
            answer = parse_sdp(sdp)
        except SdpError as exc:
            raise WebRtcError(f"bad answer to our re-offer: {exc}") from exc
        return self._directed(*answer_directions(answer))

    def _directed(self, send: bool, receive: bool) -> RemoteMedia:
        remote = self.remote
        return RemoteMedia(
            address=remote.address,
            port=remote.port,
            payload_type=remote.payload_type,
            rtcp_mux=True,
            send=send,
            receive=receive,
        )

    async def close(self) -> None:
        """End the peer connection and the socket (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.gateway.forget(self)
        self._transport.close()
        for task in self._pumps:
            task.cancel()
        await self.pc.close()
        self._track.stop()
        for task in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _local(self) -> str:
        text = self.pc.localDescription.sdp
        try:
            self._last = parse_sdp(text)
        except SdpError as exc:
            raise WebRtcError(f"unusable local SDP: {exc}") from exc
        return text

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and not self.closed:
            task = asyncio.ensure_future(pump(track, self._deliver))
            task.add_done_callback(self._pump_done)
            self._pumps.append(task)

    def _pump_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning("WebRTC leg of %s: browser audio lost: %r", self.endpoint, task.exception())

    def _on_state(self) -> None:
        state = self.pc.connectionState
        log.debug("WebRTC leg of %s: %s", self.endpoint, state)
        if state == "connected":
            self.connected.set()

    def _deliver(self, pcm: bytes) -> None:
        if self.closed:
            return
        for datagram in self.sink.push(pcm):
            self._transport.sendto(datagram, self._engine)


class WebRtcGateway:
    """Opens and tracks the WebRTC legs of one node."""

    def __init__(self, config: GatewayConfig | None = None) -> None:
        self.config = config or GatewayConfig()
        self._legs: set[WebRtcLeg] = set()
        ice.use_host_addresses(self.config.host_addresses)

    @property
    def legs(self) -> int:
        """Legs open now."""
        return len(self._legs)

    def rtc_configuration(self) -> RTCConfiguration:
        """No ICE server unless configured (aiortc would otherwise use a public one)."""
        servers = []
        if self.config.stun_server:
            servers.append(RTCIceServer(urls=f"stun:{self.config.stun_server}"))
        return RTCConfiguration(iceServers=servers)

    def codec_preferences(self) -> list[RTCRtpCodecCapability]:
        """aiortc's audio codecs in the configured order (unknown names are skipped)."""
        available = RTCRtpSender.getCapabilities("audio").codecs
        wanted = [f"audio/{name.lower()}" for name in self.config.codecs]
        chosen = [c for mime in wanted for c in available if c.mimeType.lower() == mime]
        if not chosen:
            raise WebRtcError(f"no supported codec among {', '.join(self.config.codecs)}")
        return chosen

    async def open(self, local: LocalMedia) -> WebRtcLeg:
        """A leg toward the engine endpoint ``local``; send the endpoint to its
        :attr:`~WebRtcLeg.remote`."""
        codecs = self.codec_preferences()
        source = EngineToBrowser()
        loop = asyncio.get_running_loop()
        try:
            engine = (await _engine_host(local.address), local.port)
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _EngineSide(source, engine), local_addr=(engine[0], 0)
            )
        except OSError as exc:
            raise WebRtcError(f"no socket for the WebRTC leg: {exc}") from exc
        leg = WebRtcLeg(self, local, transport, source, codecs, engine)
        self._legs.add(leg)
        return leg

    def forget(self, leg: WebRtcLeg) -> None:
        """Drop a closed leg from the count."""
        self._legs.discard(leg)

    async def close(self) -> None:
        """Close every leg still open."""
        for leg in list(self._legs):
            await leg.close()
