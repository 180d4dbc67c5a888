"""Asyncio SIP transports (RFC 3261 §18): the only SIP code that touches sockets.

UDP datagrams and TCP streams are handed as bytes to a sans-IO ``SipHandler`` together
with the source address; whatever it returns is written back. TCP input is framed by the
handler's stream framer, so a message split across reads (or sent a byte at a time) is
handled once whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol, cast

from helpline.telephony.wire import Address, Outgoing, Transport

log = logging.getLogger(__name__)


class StreamSession(Protocol):
    """Per-connection state of the handler for stream transports."""

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """Consume received bytes; return bytes to write back on the connection."""
        ...

    @property
    def closed(self) -> bool:
        """Whether the connection must be closed (framing failed)."""
        ...


class SipHandler(Protocol):
    """The sans-IO core the transports drive."""

    def on_datagram(
        self, data: bytes, source: Address, transport: Transport, now: float
    ) -> list[Outgoing]:
        """Handle one datagram; return what to send."""
        ...

    def open_stream(self, source: Address, transport: Transport) -> StreamSession:
        """State for a new stream connection from ``source``."""
        ...


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handler: SipHandler, sink: Callable[[Outgoing], None]) -> None:
        self.handler = handler
        self.sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        now = asyncio.get_running_loop().time()
        for out in self.handler.on_datagram(data, Address(addr[0], addr[1]), Transport.UDP, now):
            self.sink(out)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


class _Tcp(asyncio.Protocol):
    def __init__(self, handler: SipHandler, connections: set[asyncio.Transport]) -> None:
        self.handler = handler
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.session: StreamSession | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.connections.add(self.transport)
        peer = transport.get_extra_info("peername")
        self.session = self.handler.open_stream(Address(peer[0], peer[1]), Transport.TCP)

    def data_received(self, data: bytes) -> None:
        assert self.session is not None and self.transport is not None
        for chunk in self.session.feed(data, asyncio.get_running_loop().time()):
            self.transport.write(chunk)
        if self.session.closed:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.connections.discard(self.transport)


class Listeners:
    """UDP and TCP listeners on one host and port."""

    def __init__(self, handler: SipHandler, host: str, port: int) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: asyncio.Server | None = None
        self.connections: set[asyncio.Transport] = set()

    async def start(self) -> None:
        """Bind both listeners; raises ``OSError`` if the port is taken."""
        loop = asyncio.get_running_loop()
        self.udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self.handler, self.send_udp), local_addr=(self.host, self.port)
        )
        bound = self.udp.get_extra_info("sockname")
        self.port = bound[1]
        self.tcp = await loop.create_server(
            lambda: _Tcp(self.handler, self.connections), self.host, self.port, reuse_address=True
        )

    def send_udp(self, out: Outgoing) -> None:
        """Send one datagram from the listening socket."""
        if self.udp is not None:
            self.udp.sendto(out.data, (out.dest.host, out.dest.port))

    async def stop(self) -> None:
        """Close listeners and connections."""
        if self.udp is not None:
            self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
            for conn in tuple(self.connections):
                conn.close()
            await self.tcp.wait_closed()
