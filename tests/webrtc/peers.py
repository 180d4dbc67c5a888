"""Real peers for the gateway tests: an aiortc 'browser' and a plain RTP socket."""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, AudioResampler
from av.frame import Frame

from helpline.media import g711
from helpline.media.g711 import PCMU
from helpline.media.rtp import FrameClock, RtpPacket, RtpSender
from helpline.media.tones import Cadence, ToneGenerator, dominant_frequency
from helpline.webrtc.tracks import to_pcm

WINDOW = 1600
"""Bytes of 8 kHz PCM that dominant_frequency looks at (100 ms)."""


class ToneTrack(MediaStreamTrack):
    """A microphone that plays a continuous tone (8 kHz mono, 20 ms frames)."""

    kind = "audio"

    def __init__(self, frequency: int) -> None:
        super().__init__()
        self._tone = ToneGenerator(Cadence((frequency,), 1.0), amplitude=0.5)
        self._clock: FrameClock | None = None
        self._sent = 0

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._clock is None:
            self._clock = FrameClock(loop.time())
        await asyncio.sleep(max(0.0, self._clock.deadline(self._sent) - loop.time()))
        frame = AudioFrame(format="s16", layout="mono", samples=160)
        frame.planes[0].update(self._tone.next_frame())
        frame.sample_rate = 8000
        frame.time_base = fractions.Fraction(1, 8000)
        frame.pts = self._sent * 160
        self._sent += 1
        return frame


class Heard:
    """What one side received, as 8 kHz PCM; ``ready`` is set once ``enough`` bytes of
    sound (not silence) arrived after ``skip`` bytes of warm-up."""

    def __init__(self, *, skip: int = 8000, enough: int = 2 * WINDOW) -> None:
        self.pcm = b""
        self.ready = asyncio.Event()
        self._skip = skip
        self._enough = enough

    def add(self, pcm: bytes) -> None:
        if self._skip > 0:
            self._skip -= len(pcm)
            return
        if any(pcm):
            self.pcm += pcm
        if len(self.pcm) >= self._enough:
            self.ready.set()

    def frequency(self) -> float:
        return dominant_frequency(self.pcm[-WINDOW:])


class Browser:
    """An aiortc peer connection standing in for a browser: it sends a tone and records
    what it hears."""

    def __init__(self, frequency: int, *, codec: str = "audio/opus") -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.heard = Heard()
        self.track = ToneTrack(frequency)
        transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
        codecs = RTCRtpSender.getCapabilities("audio").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType == codec])
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._listen(track)))

    async def _listen(self, track: MediaStreamTrack) -> None:
        resampler = AudioResampler(format="s16", layout="mono", rate=8000)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, AudioFrame)
            self.heard.add(to_pcm(resampler, frame))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        from aiortc import RTCSessionDescription

        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def answer(self, offer: str) -> str:
        from aiortc import RTCSessionDescription

        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_datagram(data, addr)


class RtpPhone:
    """A plain RTP peer on loopback (what the media engine's endpoint is to the
    gateway): sends a PCMU tone every 20 ms to ``target`` and records what it gets."""

    def __init__(self, frequency: int) -> None:
        self.frequency = frequency
        self.heard = Heard()
        self.sources: set[tuple[str, int]] = set()
        self.transport: asyncio.DatagramTransport | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> int:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Socket(self._received), local_addr=("127.0.0.1", 0)
        )
        return int(self.transport.get_extra_info("sockname")[1])

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sources.add((addr[0], addr[1]))
        packet = RtpPacket.parse(data)
        self.heard.add(g711.decode(packet.payload, packet.payload_type))

    def start(self, target: tuple[str, int]) -> None:
        self._task = asyncio.ensure_future(self._send(target))

    async def _send(self, target: tuple[str, int]) -> None:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        clock = FrameClock(loop.time())
        sender = RtpSender(PCMU)
        tone = ToneGenerator(Cadence((self.frequency,), 1.0), amplitude=0.5)
        n = 0
        while True:
            await asyncio.sleep(max(0.0, clock.deadline(n) - loop.time()))
            self.transport.sendto(
                sender.next_datagram(g711.encode(tone.next_frame(), PCMU)), target
            )
            n += 1

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.transport is not None:
            self.transport.close()
