"""The SIP listeners with real sockets on loopback: UDP, TCP, TLS and WebSocket."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from helpline.sip.message import Response, parse_message
from helpline.telephony.core import SipCore
from helpline.telephony.tls import ensure_self_signed, server_context
from helpline.telephony.transport import ListenConfig, Listeners

OPTIONS = (
    "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/{t} 127.0.0.1:5999;branch=z9hG4bK-{t}-1;rport\r\n"
    "From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:127.0.0.1>\r\n"
    "Call-ID: transport-{t}@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def listeners(tmp_path: Path) -> AsyncIterator[tuple[Listeners, Path]]:
    cert, key = ensure_self_signed(tmp_path, "127.0.0.1")
    config = ListenConfig(
        "127.0.0.1", 0, tls_port=_port(), ws_port=_port(), tls=server_context(cert, key)
    )
    running = Listeners(SipCore(), config)
    await running.start()
    yield running, cert
    await running.stop()


def _status(data: bytes) -> int:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message.status


async def test_udp_options_is_answered(listeners: tuple[Listeners, Path]) -> None:
    running, _ = listeners
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            answered.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(
        Client, remote_addr=("127.0.0.1", running.port)
    )
    transport.sendto(OPTIONS.format(t="UDP").encode())
    assert _status(await asyncio.wait_for(answered, 10)) == 200
    transport.close()


async def test_tcp_accepts_a_message_sent_byte_by_byte(listeners: tuple[Listeners, Path]) -> None:
    running, _ = listeners
    reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
    for byte in OPTIONS.format(t="TCP").encode():
        writer.write(bytes([byte]))
        await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"SIP/2.0 200 ")
    writer.close()


async def test_tls_with_the_generated_certificate(listeners: tuple[Listeners, Path]) -> None:
    running, cert = listeners
    context = ssl.create_default_context(cafile=str(cert))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", running.config.tls_port, ssl=context, server_hostname="127.0.0.1"
    )
    writer.write(OPTIONS.format(t="TLS").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"SIP/2.0 200 ")
    writer.close()


async def test_websocket_sip_subprotocol_carries_one_message_per_frame(
    listeners: tuple[Listeners, Path],
) -> None:
    running, cert = listeners
    context = ssl.create_default_context(cafile=str(cert))
    url = f"wss://127.0.0.1:{running.config.ws_port}"
    async with websockets.connect(url, subprotocols=["sip"], ssl=context) as ws:  # type: ignore[list-item]
        await ws.send(OPTIONS.format(t="WSS"))
        reply = await asyncio.wait_for(ws.recv(), 10)
    assert _status(reply.encode() if isinstance(reply, str) else reply) == 200
    with pytest.raises((ConnectionClosed, websockets.InvalidStatus)):
        async with websockets.connect(url, ssl=context) as ws:
            await ws.send(OPTIONS.format(t="WSS"))
            await asyncio.wait_for(ws.recv(), 10)
    assert running.transports == ["UDP", "TCP", "TLS", "WSS"]
