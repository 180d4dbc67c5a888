"""Outbound TCP and TLS connections of the SIP listeners, against peers on loopback.

A message for a TCP/TLS destination without a connection opens one; what comes back on
it goes through the core like inbound traffic; a connection that cannot be made fails
the message's transaction at once with a 503 (refused, handshake failure, timeout);
idle connections are closed and closed ones reopened.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from helpline.sip.ua import LocalAddress, RequestAnswered
from helpline.sip.uri import SipUri
from helpline.telephony.core import SipCore, StreamSession
from helpline.telephony.tls import ensure_self_signed, server_context
from helpline.telephony.transport import ListenConfig, Listeners, client_context
from helpline.telephony.wire import Address, Outgoing, Transport

OPTIONS_FROM_PEER = (
    "OPTIONS sip:helpline@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/{t} 127.0.0.1:{port};branch=z9hG4bK-peer-1\r\n"
    "From: <sip:peer@127.0.0.1>;tag=peer1\r\nTo: <sip:helpline@127.0.0.1>\r\n"
    "Call-ID: peer-options@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)


@dataclass
class Peer:
    """A SIP peer on loopback that records each connection's messages."""

    port: int = 0
    server: asyncio.Server | None = None
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(
        default_factory=asyncio.Queue
    )

    async def start(self, tls: ssl.SSLContext | None = None) -> Peer:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.accepted.put((reader, writer))

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=tls)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(self.accepted.get(), 10)

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        while not self.accepted.empty():
            self.accepted.get_nowait()[1].close()


async def _message(reader: asyncio.StreamReader) -> str:
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode()
    length = re.search(r"(?im)^content-length:\s*(\d+)", head)
    if length is not None and int(length.group(1)):
        await reader.readexactly(int(length.group(1)))
    return head


def _ok(request: str) -> bytes:
    """A 200 to ``request`` with its Via, From, Call-ID and CSeq."""
    keep = [
        line
        for line in request.split("\r\n")
        if line.split(":")[0].lower() in ("via", "from", "call-id", "cseq")
    ]
    to = next(line for line in request.split("\r\n") if line.lower().startswith("to:"))
    lines = ["SIP/2.0 200 OK", *keep, f"{to};tag=peer", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class _Session:
    """A stream session whose input also hands call events to the node."""

    def __init__(self, node: Node, session: StreamSession) -> None:
        self.node = node
        self.session = session

    def feed(self, data: bytes, now: float) -> list[Outgoing]:
        out = self.session.feed(data, now)
        self.node.dispatch()
        return out

    @property
    def closed(self) -> bool:
        return self.session.closed


class Node:
    """A core behind real listeners, wired as the SIP service wires them."""

    def __init__(self, **config: Any) -> None:
        local = {t: LocalAddress("127.0.0.1", 5999) for t in ("UDP", "TCP", "TLS")}
        self.core = SipCore(local)
        self.listeners = Listeners(self, ListenConfig("127.0.0.1", 0, **config), self.failed)
        self.answers: asyncio.Queue[RequestAnswered] = asyncio.Queue()

    def on_datagram(
        self, data: bytes, source: Address, transport: Transport, now: float
    ) -> list[Outgoing]:
        out = self.core.on_datagram(data, source, transport, now)
        self.dispatch()
        return out

    def open_stream(self, source: Address, transport: Transport) -> _Session:
        return _Session(self, self.core.open_stream(source, transport))

    def options(self, port: int, transport: Transport) -> None:
        now = asyncio.get_running_loop().time()
        uri = SipUri("127.0.0.1", "peer", port=port)
        self.core.ua.options(uri, Address("127.0.0.1", port), transport.value, now)
        for out in self.core.outgoing(now):
            self.listeners.send(out)

    def dispatch(self) -> None:
        while (event := self.core.next_event()) is not None:
            if isinstance(event, RequestAnswered):
                self.answers.put_nowait(event)

    def failed(self, out: Outgoing) -> None:
        for again in self.core.send_failed(out, asyncio.get_running_loop().time()):
            self.listeners.send(again)
        self.dispatch()

    async def answer(self) -> RequestAnswered:
        return await asyncio.wait_for(self.answers.get(), 10)


MakeNode = Callable[..., Awaitable[Node]]


@pytest.fixture
async def make_node() -> AsyncIterator[MakeNode]:
    started: list[Node] = []

    async def make(**config: Any) -> Node:
        node = Node(**config)
        await node.listeners.start()
        started.append(node)
        return node

    yield make
    for node in started:
        await node.listeners.stop()


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path / "peer", "127.0.0.1")


async def test_tcp_request_opens_a_connection_and_the_answer_comes_back_on_it(
    make_node: MakeNode,
) -> None:
    peer = await Peer().start()
    node = await make_node()
    node.options(peer.port, Transport.TCP)
    reader, writer = await peer.connection()
    request = await _message(reader)
    assert request.startswith(f"OPTIONS sip:peer@127.0.0.1:{peer.port} SIP/2.0")
    writer.write(_ok(request))
    answer = await node.answer()
    assert answer.status == 200
    assert node.listeners.outbound == 1
    await peer.close()


async def test_messages_sent_while_connecting_wait_and_keep_their_order(
    make_node: MakeNode,
) -> None:
    peer = await Peer().start()
    node = await make_node()
    dest = Address("127.0.0.1", peer.port)
    for n in range(3):
        assert node.listeners.send(Outgoing(f"\r\n\r\nPING{n}".encode(), dest, Transport.TCP))
    reader, _ = await peer.connection()
    assert await reader.readexactly(27) == b"\r\n\r\nPING0\r\n\r\nPING1\r\n\r\nPING2"
    assert peer.accepted.empty()
    await peer.close()


async def test_a_request_from_the_peer_on_an_opened_connection_is_answered_on_it(
    make_node: MakeNode,
) -> None:
    peer = await Peer().start()
    node = await make_node()
    node.options(peer.port, Transport.TCP)
    reader, writer = await peer.connection()
    await _message(reader)
    writer.write(OPTIONS_FROM_PEER.format(t="TCP", port=peer.port).encode())
    answer = await _message(reader)
    assert answer.startswith("SIP/2.0 200 ")
    assert "Call-ID: peer-options@test" in answer
    await peer.close()


async def test_tls_trusts_the_configured_ca_and_names_the_host(
    make_node: MakeNode, cert: tuple[Path, Path]
) -> None:
    peer = await Peer().start(server_context(*cert))
    node = await make_node(client_tls=client_context(cert[0]))
    node.options(peer.port, Transport.TLS)
    reader, writer = await peer.connection()
    request = await _message(reader)
    assert request.startswith(f"OPTIONS sip:peer@127.0.0.1:{peer.port} SIP/2.0")
    assert "Via: SIP/2.0/TLS " in request
    writer.write(_ok(request))
    assert (await node.answer()).status == 200
    await peer.close()


async def test_an_untrusted_tls_server_fails_the_transaction_with_503(
    make_node: MakeNode, cert: tuple[Path, Path]
) -> None:
    peer = await Peer().start(server_context(*cert))
    node = await make_node(client_tls=client_context())
    node.options(peer.port, Transport.TLS)
    answer = await node.answer()
    assert (answer.status, answer.response) == (503, None)
    assert node.listeners.undeliverable == 1
    assert node.listeners.outbound == 0
    await peer.close()


async def test_a_refused_connection_fails_the_transaction_with_503(
    make_node: MakeNode,
) -> None:
    peer = await Peer().start()
    port = peer.port
    await peer.close()
    assert peer.server is not None
    await peer.server.wait_closed()
    node = await make_node()
    node.options(port, Transport.TCP)
    answer = await node.answer()
    assert (answer.status, answer.response) == (503, None)


async def test_a_tls_handshake_that_never_ends_times_out_as_a_transport_error(
    make_node: MakeNode,
) -> None:
    silent = await Peer().start()  # accepts TCP, never speaks TLS
    node = await make_node(connect_timeout=0.2, client_tls=client_context())
    node.options(silent.port, Transport.TLS)
    await silent.connection()
    assert (await node.answer()).status == 503
    await silent.close()


async def test_an_idle_connection_is_closed(
    make_node: MakeNode,
) -> None:
    peer = await Peer().start()
    node = await make_node(idle_timeout=0.05)
    dest = Address("127.0.0.1", peer.port)
    node.listeners.send(Outgoing(b"\r\n\r\n", dest, Transport.TCP))
    reader, _ = await peer.connection()
    assert await reader.readexactly(4) == b"\r\n\r\n"
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by us
    assert node.listeners.outbound == 0
    await peer.close()


async def test_a_connection_closed_by_the_peer_is_reopened_by_the_next_message(
    make_node: MakeNode,
) -> None:
    peer = await Peer().start()
    node = await make_node()
    dest = Address("127.0.0.1", peer.port)
    node.listeners.send(Outgoing(b"\r\n\r\nONE", dest, Transport.TCP))
    reader, writer = await peer.connection()
    assert await reader.readexactly(7) == b"\r\n\r\nONE"
    writer.write_eof()
    # Our side closes in turn, and has forgotten the connection by then.
    assert await asyncio.wait_for(reader.read(), 10) == b""
    assert node.listeners.outbound == 0
    node.listeners.send(Outgoing(b"\r\n\r\nTWO", dest, Transport.TCP))
    reader, _ = await peer.connection()
    assert await reader.readexactly(7) == b"\r\n\r\nTWO"
    await peer.close()
