"""Asyncio SIP transports (RFC 3261 §18): the only SIP code that touches sockets.

UDP datagrams, TCP and TLS streams and WebSocket messages are handed as bytes to a
sans-IO ``SipHandler`` with the source address; whatever it returns is written back.
Stream input is framed by the handler's stream framer, so a message split across reads
(or sent a byte at a time) is handled once whole.

A TCP or TLS message for a destination without a connection opens one (§18.1.1, §18.2.2:
a response whose connection has closed goes to a new one), with the same protocol as an
accepted connection, so whatever comes back on it is framed and dispatched alike.
Messages wait in order until it is up. TLS verifies the server certificate (the system
CAs plus ``HELPLINE_SIP_TLS_CA``) against the host name the destination was resolved
from (``Address.name``, e.g. a trunk configured by name), or else against its IP
address (RFC 5922 §7.2); a name is also sent as the server name (SNI, RFC 6066). A connection
that cannot be made (refused, ``CONNECT_TIMEOUT``, TLS handshake) is a transport error:
every message that waited is handed to the ``failed`` callback so that its transaction
fails at once (§8.1.3.1: as a 503) instead of at Timer B. An opened connection without
traffic for ``IDLE_TIMEOUT`` is closed; a connection the peer closed is forgotten, and
the next message opens a new one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import websockets.asyncio.server
from websockets.typing import Subprotocol

from helpline.telephony.wire import Address, Outgoing, Transport

log = logging.getLogger(__name__)

SIP_SUBPROTOCOL = Subprotocol("sip")

#: Seconds to open an outbound connection, TLS handshake included.
CONNECT_TIMEOUT = 5.0
#: Seconds without traffic after which a connection we opened is closed.
IDLE_TIMEOUT = 600.0


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
_Key = tuple[Transport, Address]


def client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A TLS 1.2+ client context verifying servers with the system CAs and ``ca_file``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    return context


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
        connections: dict[_Key, asyncio.Transport],
        kind: Transport,
        sink: Sink,
        on_lost: Callable[[_Tcp], object] | None = None,
    ) -> None:
        self.handler = handler
        self.connections = connections
        self.kind = kind
        self.sink = sink
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.session: StreamSession | None = None
        self.peer: Address | None = None
        self.lost = False
        self.last_activity = asyncio.get_running_loop().time()
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = Address(peer[0], peer[1])
        self.connections[(self.kind, self.peer)] = self.transport
        self.session = self.handler.open_stream(self.peer, self.kind)

    def data_received(self, data: bytes) -> None:
        assert self.session is not None and self.transport is not None
        self.last_activity = now = asyncio.get_running_loop().time()
        for out in self.session.feed(data, now):
            self.sink(out)
        if self.session.closed:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.idle is not None:
            self.idle.cancel()
        if self.peer is not None:
            key = (self.kind, self.peer)
            if self.connections.get(key) is self.transport:
                del self.connections[key]
        if self.on_lost is not None:
            self.on_lost(self)


@dataclass(frozen=True, slots=True)
class ListenConfig:
    """Where to listen: UDP and TCP on ``port``; TLS and WebSocket when their port is set.

    ``client_tls`` verifies the servers of outbound TLS connections (default:
    :func:`client_context`, the system CAs).
    """

    host: str
    port: int
    tls_port: int = 0
    ws_port: int = 0
    tls: ssl.SSLContext | None = None
    client_tls: ssl.SSLContext | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT


class Listeners:
    """The SIP listeners of one node: UDP, TCP, TLS and WebSocket (RFC 7118).

    ``failed`` is called (from the event loop, never from inside :meth:`send`) with
    each message that could not be delivered.
    """

    def __init__(
        self,
        handler: SipHandler,
        config: ListenConfig,
        failed: Callable[[Outgoing], object] | None = None,
    ) -> None:
        self.handler = handler
        self.config = config
        self.failed = failed
        self.host = config.host
        self.port = config.port
        self.udp: asyncio.DatagramTransport | None = None
        self.servers: list[asyncio.Server] = []
        self.ws: websockets.asyncio.server.Server | None = None
        self.connections: dict[tuple[Transport, Address], asyncio.Transport] = {}
        self.websockets: dict[Address, websockets.asyncio.server.ServerConnection] = {}
        self.undeliverable = 0
        self._pending: set[asyncio.Task[None]] = set()
        #: Messages waiting for the outbound connection being opened to their destination.
        self._dialing: dict[_Key, list[Outgoing]] = {}
        #: Connections we opened, by the destination they were opened to.
        self._outbound: dict[_Key, _Tcp] = {}
        self._client_tls = config.client_tls
        self._dials: set[asyncio.Task[None]] = set()
        self._stopping = False

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
        """Send over UDP, or on the connection to ``out.dest``, opening one for TCP/TLS.

        False when the message cannot even be queued (it is then also handed to
        ``failed``); a connection that fails to open reports its messages later.
        """
        if out.transport is Transport.UDP:
            if self.udp is None:
                return False
            self.udp.sendto(out.data, (out.dest.host, out.dest.port))
            return True
        if out.transport in (Transport.WS, Transport.WSS):
            ws = self.websockets.get(out.dest)
            if ws is None:
                return self._undeliverable(out)
            task = asyncio.get_running_loop().create_task(
                ws.send(out.data.decode("utf-8", "replace"))
            )
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return True
        key = (out.transport, out.dest)
        waiting = self._dialing.get(key)
        if waiting is not None:
            waiting.append(out)
            return True
        conn = self.connections.get(key)
        if conn is not None and not conn.is_closing():
            conn.write(out.data)
            opened = self._outbound.get(key)
            if opened is not None:
                opened.last_activity = asyncio.get_running_loop().time()
            return True
        if self.udp is None or self._stopping:
            return self._undeliverable(out)
        self._dialing[key] = [out]
        task = asyncio.get_running_loop().create_task(self._connect(key))
        self._dials.add(task)
        task.add_done_callback(self._dials.discard)
        return True

    @property
    def outbound(self) -> int:
        """Connections this node opened that are up now."""
        return len(self._outbound)

    def _undeliverable(self, out: Outgoing) -> bool:
        self.undeliverable += 1
        if self.failed is not None:
            asyncio.get_running_loop().call_soon(self.failed, out)
        return False

    async def _connect(self, key: _Key) -> None:
        kind, dest = key
        loop = asyncio.get_running_loop()
        tls = None
        if kind is Transport.TLS:
            if self._client_tls is None:
                self._client_tls = client_context()
            tls = self._client_tls
        timeout = self.config.connect_timeout
        protocol: _Tcp | None = None
        try:
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_connection(
                    lambda: _Tcp(self.handler, self.connections, kind, self.send, self._lost),
                    dest.host,
                    dest.port,
                    ssl=tls,
                    server_hostname=(dest.name or dest.host) if tls is not None else None,
                    ssl_handshake_timeout=timeout if tls is not None else None,
                )
        except (OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            log.warning("SIP %s connection to %s:%d failed: %s", kind, dest.host, dest.port, reason)
        waiting = self._dialing.pop(key, [])
        if protocol is None or protocol.lost or protocol.transport is None:
            for out in waiting:
                self._undeliverable(out)
            return
        transport = protocol.transport
        log.debug("SIP %s connection to %s:%d open", kind, dest.host, dest.port)
        self.connections[key] = transport
        self._outbound[key] = protocol
        protocol.last_activity = loop.time()
        self._arm_idle(key, protocol)
        for out in waiting:
            transport.write(out.data)

    def _arm_idle(self, key: _Key, protocol: _Tcp) -> None:
        deadline = protocol.last_activity + self.config.idle_timeout
        protocol.idle = asyncio.get_running_loop().call_at(deadline, self._idle, key, protocol)

    def _idle(self, key: _Key, protocol: _Tcp) -> None:
        if protocol.lost or protocol.transport is None:
            return
        if asyncio.get_running_loop().time() - protocol.last_activity >= self.config.idle_timeout:
            log.debug("SIP %s connection to %s idle: closing", *key)
            protocol.transport.close()
        else:
            self._arm_idle(key, protocol)

    def _lost(self, protocol: _Tcp) -> None:
        for key, opened in tuple(self._outbound.items()):
            if opened is protocol:
                del self._outbound[key]
                if self.connections.get(key) is protocol.transport:
                    del self.connections[key]

    async def stop(self) -> None:
        """Close listeners and connections; connections being opened are abandoned."""
        self._stopping = True
        if self.udp is not None:
            self.udp.close()
        if self.ws is not None:
            self.ws.close()
            await self.ws.wait_closed()
        for server in self.servers:
            server.close()
        for task in tuple(self._dials):
            task.cancel()
        for conn in tuple(self.connections.values()):
            conn.close()
        for server in self.servers:
            await server.wait_closed()
