"""The NG client's retries, timeouts and errors, against a scripted UDP responder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from helpline.media.rtpengine.bencode import encode
from helpline.media.rtpengine.ng import NgClient, NgError, NgTimeout


class Responder(asyncio.DatagramProtocol):
    """Answers each request with ``reply(count)``; None drops the request."""

    def __init__(self, reply: Callable[[int], dict[str, object] | None]) -> None:
        self.reply = reply
        self.received: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        answer = self.reply(len(self.received))
        if answer is not None and self.transport is not None:
            cookie = data.partition(b" ")[0]
            self.transport.sendto(cookie + b" " + encode(answer), addr)  # type: ignore[arg-type]


Reply = Callable[[int], "dict[str, object] | None"]
Serve = Callable[[Reply], Awaitable[tuple[NgClient, Responder]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    opened: list[tuple[asyncio.DatagramTransport, NgClient]] = []

    async def make(reply: Reply) -> tuple[NgClient, Responder]:
        loop = asyncio.get_running_loop()
        responder = Responder(reply)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: responder, local_addr=("127.0.0.1", 0)
        )
        client = NgClient("127.0.0.1", transport.get_extra_info("sockname")[1], timeout=0.6)
        await client.open()
        opened.append((transport, client))
        return client, responder

    yield make
    for transport, client in opened:
        client.close()
        transport.close()


async def test_a_lost_request_is_sent_again_with_the_same_cookie(serve: Serve) -> None:
    client, responder = await serve(lambda n: None if n == 1 else {"result": "pong"})
    assert await client.command("ping") == {"result": b"pong"}
    assert len(responder.received) == 2 and responder.received[0] == responder.received[1]


async def test_no_answer_at_all_times_out_after_every_attempt(serve: Serve) -> None:
    client, responder = await serve(lambda n: None)
    with pytest.raises(NgTimeout):
        await client.command("ping")
    assert len(responder.received) == 3


async def test_an_error_result_raises_with_rtpengines_reason(serve: Serve) -> None:
    client, _ = await serve(lambda n: {"result": "error", "error-reason": "Unknown call-id"})
    with pytest.raises(NgError, match="Unknown call-id"):
        await client.command("delete", call_id="nope")
