"""A remote RTP peer for engine tests: a plain UDP socket on 127.0.0.1 and the pure core.

The peer records every RTP packet it receives and can stream tone frames at 20 ms pace
(one timer, deadlines from the frame number) in PCMU or PCMA. Tests wait for packet
counts and events with bounded timeouts; nothing asserts on wall-clock durations.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

from helpline.media import g711
from helpline.media.backend import MediaBackend, MediaEvent, RemoteMedia
from helpline.media.rtp import FrameClock, RtpPacket, RtpSender
from helpline.media.tones import tone

TIMEOUT = 10.0
E = TypeVar("E")


def tone_frames(hz: float, amplitude: float = 0.3) -> Callable[[int], bytes]:
    """Frame ``n`` of a continuous tone as 16-bit PCM."""
    return lambda n: tone([hz], 0.02, amplitude=amplitude, start_sample=160 * n)


@dataclass(eq=False)
class Peer(asyncio.DatagramProtocol):
    """One remote party: receives RTP, streams audio."""

    payload_type: int = g711.PCMU
    packets: list[RtpPacket] = field(default_factory=list)
    sources: list[tuple[str, int]] = field(default_factory=list)
    other: list[bytes] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None
    _waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)
    _stream: asyncio.TimerHandle | None = None

    @classmethod
    async def open(cls, payload_type: int = g711.PCMU) -> Peer:
        """A peer bound to an ephemeral port on 127.0.0.1."""
        loop = asyncio.get_running_loop()
        peer = cls(payload_type)
        await loop.create_datagram_endpoint(lambda: peer, local_addr=("127.0.0.1", 0))
        return peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def remote(self, **options: object) -> RemoteMedia:
        """What an SDP from this peer would say."""
        fields: dict[str, object] = {"payload_type": self.payload_type}
        fields.update(options)
        return RemoteMedia(address="127.0.0.1", port=self.port, **fields)  # type: ignore[arg-type]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) > 1 and 200 <= data[1] <= 204:
            self.other.append(data)
            return
        self.packets.append(RtpPacket.parse(data))
        self.sources.append(addr)
        for count, waiter in list(self._waiters):
            if len(self.packets) >= count and not waiter.done():
                waiter.set_result(None)

    async def wait_packets(self, count: int) -> list[RtpPacket]:
        """Wait until ``count`` packets in total have arrived."""
        if len(self.packets) < count:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((count, waiter))
            await asyncio.wait_for(waiter, TIMEOUT)
        return self.packets[:count]

    async def more(self, count: int) -> list[RtpPacket]:
        """Wait for ``count`` packets beyond those already received."""
        start = len(self.packets)
        await self.wait_packets(start + count)
        return self.packets[start : start + count]

    def send(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", port))

    def stream(self, port: int, frame: Callable[[int], bytes]) -> None:
        """Send frame ``n`` every 20 ms to ``port`` until :meth:`stop`."""
        loop = asyncio.get_running_loop()
        clock = FrameClock(loop.time())
        sender = RtpSender(self.payload_type, rng=random.Random(self.port))
        n = 0

        def tick() -> None:
            nonlocal n
            payload = g711.encode(frame(n), self.payload_type)
            self.send(sender.next_packet(payload).serialize(), port)
            n += 1
            self._stream = loop.call_at(clock.deadline(n), tick)

        tick()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    def close(self) -> None:
        self.stop()
        if self.transport is not None:
            self.transport.close()

    def pcm(self, packets: list[RtpPacket]) -> bytes:
        """The received audio of ``packets`` as 16-bit PCM."""
        return b"".join(g711.decode(p.payload, p.payload_type) for p in packets)


class Events:
    """Reads a backend's events, keeping what it has seen."""

    def __init__(self, backend: MediaBackend) -> None:
        self._iterator: AsyncIterator[MediaEvent] = backend.events()
        self.seen: list[MediaEvent] = []

    async def next(self, kind: type[E], where: Callable[[E], bool] = lambda e: True) -> E:
        """The next event of ``kind`` matching ``where`` (others are kept in ``seen``)."""

        async def find() -> E:
            while True:
                event = await self._iterator.__anext__()
                self.seen.append(event)
                if isinstance(event, kind) and where(event):
                    return event

        return await asyncio.wait_for(find(), TIMEOUT)
