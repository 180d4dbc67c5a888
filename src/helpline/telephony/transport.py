"""Asyncio SIP transports (RFC 3261 §18): the only SIP code that touches sockets.

UDP datagrams, TCP and TLS streams and WebSocket messages are handed as bytes to a
sans-IO ``SipHandler`` with the source address; whatever it returns is written back.
Stream input is framed by the handler's stream framer, so a message split across reads
(or sent a byte at a time) is handled once whole.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import websockets.asyncio.server
from websockets.typing import Subprotocol

from helpline.telephony.wire import Address, Outgoing, Transport

log = logging.getLogger(__name__)

SIP_SUBPROTOCOL = Subprotocol("sip")


class StreamSession(Protocol):
    """Per-connection state of the handler for stream transports."""

    def feed(self, data: bytes, now: float) -> list[Outgoing]:
        """Consume received bytes; return what to send."""
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


Sink = Callable[[Outgoing], object]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handler: SipHandler, sink: Sink) -> None:
        self.handler = handler
        self.sink = sink
        self.clock = asyncio.get_running_loop().time

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        sink = self.sink
        source = Address(addr[0], addr[1])
        for out in self.handler.on_datagram(data, source, Transport.UDP, self.clock()):
            sink(out)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


class _Tcp(asyncio.Protocol):
    def __init__(
        self,
        handler: SipHandler,
        connections: dict[tuple[Transport, Address], asyncio.Transport],
        kind: Transport,
        sink: Sink,
    ) -> None:
        self.handler = handler
        self.connections = connections
        self.kind = kind
        self.sink = sink
        self.transport: asyncio.Transport | None = None
        self.session: StreamSession | None = None
        self.peer: Address | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = Address(peer[0], peer[1])
        self.connections[(self.kind, self.peer)] = self.transport
        self.session = self.handler.open_stream(self.peer, self.kind)

    def data_received(self, data: bytes) -> None:
        assert self.session is not None and self.transport is not None
        for out in self.session.feed(data, asyncio.get_running_loop().time()):
            self.sink(out)
        if self.session.closed:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.connections.pop((self.kind, self.peer), None)


@dataclass(frozen=True, slots=True)
class ListenConfig:
    """Where to listen: UDP and TCP on ``port``; TLS and WebSocket when their port is set."""

    host: str
    port: int
    tls_port: int = 0
    ws_port: int = 0
    tls: ssl.SSLContext | None = None


class Listeners:
    """The SIP listeners of one node: UDP, TCP, TLS and WebSocket (RFC 7118)."""

    def __init__(self, handler: SipHandler, config: ListenConfig) -> None:
        self.handler = handler
        self.config = config
        self.host = config.host
        self.port = config.port
        self.udp: asyncio.DatagramTransport | None = None
        self.servers: list[asyncio.Server] = []
        self.ws: websockets.asyncio.server.Server | None = None
        self.connections: dict[tuple[Transport, Address], asyncio.Transport] = {}
        self.websockets: dict[Address, websockets.asyncio.server.ServerConnection] = {}
        self.undeliverable = 0
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def transports(self) -> list[str]:
        """The transports listening now."""
        names = ["UDP", "TCP"] if self.udp is not None else []
        if self.config.tls_port and self.config.tls is not None and self.udp is not None:
            names.append("TLS")
        if self.ws is not None:
            names.append("WSS" if self.config.tls is not None else "WS")
        return names

    async def start(self) -> None:
        """Bind every configured listener; raises ``OSError`` if a port is taken."""
        loop = asyncio.get_running_loop()
        self.udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self.handler, self.send), local_addr=(self.host, self.port)
        )
        self.port = self.udp.get_extra_info("sockname")[1]
        self.servers.append(
            await loop.create_server(
                lambda: _Tcp(self.handler, self.connections, Transport.TCP, self.send),
                self.host,
                self.port,
                reuse_address=True,
            )
        )
        if self.config.tls_port and self.config.tls is not None:
            self.servers.append(
                await loop.create_server(
                    lambda: _Tcp(self.handler, self.connections, Transport.TLS, self.send),
                    self.host,
                    self.config.tls_port,
                    ssl=self.config.tls,
                    reuse_address=True,
                )
            )
        if self.config.ws_port:
            self.ws = await websockets.asyncio.server.serve(
                self._websocket,
                self.host,
                self.config.ws_port,
                subprotocols=[SIP_SUBPROTOCOL],
                ssl=self.config.tls,
            )

    async def _websocket(self, conn: websockets.asyncio.server.ServerConnection) -> None:
        """One browser phone: each WebSocket message is one SIP message (RFC 7118 §5)."""
        if conn.subprotocol != SIP_SUBPROTOCOL:
            await conn.close(1002, "the sip subprotocol is required")
            return
        peer = conn.remote_address
        source = Address(str(peer[0]), int(peer[1]))
        kind = Transport.WSS if self.config.tls is not None else Transport.WS
        loop = asyncio.get_running_loop()
        self.websockets[source] = conn
        try:
            async for message in conn:
                data = message.encode() if isinstance(message, str) else message
                for out in self.handler.on_datagram(data, source, kind, loop.time()):
                    self.send(out)
        finally:
            self.websockets.pop(source, None)

    def send(self, out: Outgoing) -> bool:
        """Send over UDP, or on the connection to ``out.dest``; False if there is none."""
        if out.transport is Transport.UDP:
            if self.udp is None:
                return False
            self.udp.sendto(out.data, (out.dest.host, out.dest.port))
            return True
        if out.transport in (Transport.WS, Transport.WSS):
            ws = self.websockets.get(out.dest)
            if ws is None:
                self.undeliverable += 1
                return False
            task = asyncio.get_running_loop().create_task(
                ws.send(out.data.decode("utf-8", "replace"))
            )
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return True
        conn = self.connections.get((out.transport, out.dest))
        if conn is None or conn.is_closing():
            self.undeliverable += 1
            return False
        conn.write(out.data)
        return True

    async def stop(self) -> None:
        """Close listeners and connections."""
        if self.udp is not None:
            self.udp.close()
        if self.ws is not None:
            self.ws.close()
            await self.ws.wait_closed()
        for server in self.servers:
            server.close()
        for conn in tuple(self.connections.values()):
            conn.close()
        for server in self.servers:
            await server.wait_closed()
