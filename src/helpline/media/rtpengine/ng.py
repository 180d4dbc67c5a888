"""A client of rtpengine's NG control protocol: bencoded dictionaries over UDP.

Theory of operation
-------------------
Each request is ``COOKIE SP bencode(dict)`` and its response carries the same cookie
(rtpengine's ``docs/ng_control_protocol.md``). Over UDP a request may be lost, so it is
sent again after ``retry_interval`` seconds, up to ``attempts`` times; rtpengine keeps
recent cookies and answers a duplicate from its cache instead of running the command
twice, so retrying ``offer`` or ``delete`` is safe. A response with ``result: error``
raises :class:`NgError` with rtpengine's ``error-reason``; no response at all raises
:class:`NgTimeout`. :class:`NgCodec` is the pure part (framing and cookies);
:class:`NgClient` is the asyncio transport around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from typing import Any

from helpline.media.backend import MediaBackendError
from helpline.media.rtpengine.bencode import BencodeError, Decoded, decode, encode


class NgError(MediaBackendError):
    """rtpengine refused a command (``result: error``)."""


class NgTimeout(NgError):
    """rtpengine did not answer a command in time."""


class NgCodec:
    """Frames requests with fresh cookies and parses responses (no I/O)."""

    def __init__(self, prefix: str | None = None) -> None:
        self._prefix = prefix or os.urandom(4).hex()
        self._counter = itertools.count(1)

    def request(self, command: str, **fields: Any) -> tuple[bytes, bytes]:
        """``(cookie, datagram)`` for ``command`` with ``fields`` (``_`` in names is ``-``)."""
        cookie = f"{self._prefix}_{next(self._counter)}".encode()
        body: dict[str, Any] = {k.replace("_", "-"): v for k, v in fields.items()}
        body["command"] = command
        return cookie, cookie + b" " + encode(body)

    @staticmethod
    def response(datagram: bytes) -> tuple[bytes, dict[str, Decoded]]:
        """``(cookie, dictionary)`` of a response; raises :class:`NgError` if malformed."""
        cookie, sep, payload = datagram.partition(b" ")
        try:
            value = decode(payload)
        except BencodeError as exc:
            raise NgError(f"malformed NG response: {exc}") from None
        if not sep or not isinstance(value, dict):
            raise NgError("malformed NG response")
        return cookie, {k.decode(): v for k, v in value.items()}


def text(value: Decoded | None) -> str:
    """A decoded byte string as ``str`` (empty for anything else)."""
    return value.decode(errors="replace") if isinstance(value, bytes) else ""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: dict[bytes, asyncio.Future[dict[str, Decoded]]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            cookie, answer = NgCodec.response(data)
        except NgError:
            return
        future = self.waiting.get(cookie)
        if future is not None and not future.done():
            future.set_result(answer)


class NgClient:
    """Sends NG commands to one rtpengine and awaits the answers."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 1.0,
        attempts: int = 3,
    ) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.attempts = attempts
        self._codec = NgCodec()
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol = _Protocol()

    async def open(self) -> None:
        """Open the UDP socket."""
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self._protocol, remote_addr=self.address
        )

    def close(self) -> None:
        """Close the socket; pending commands time out."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def command(self, command: str, **fields: Any) -> dict[str, Decoded]:
        """Run ``command``; the response dictionary, or :class:`NgError`/:class:`NgTimeout`."""
        if self._transport is None:
            raise NgError("the NG client is not open")
        cookie, datagram = self._codec.request(command, **fields)
        future: asyncio.Future[dict[str, Decoded]] = asyncio.get_running_loop().create_future()
        self._protocol.waiting[cookie] = future
        interval = self.timeout / self.attempts
        try:
            for _ in range(self.attempts):
                self._transport.sendto(datagram)
                with contextlib.suppress(TimeoutError):
                    answer = await asyncio.wait_for(asyncio.shield(future), interval)
                    break
            else:
                raise NgTimeout(f"rtpengine at {self.address} did not answer {command!r}")
        finally:
            self._protocol.waiting.pop(cookie, None)
            future.cancel()
        if text(answer.get("result")) == "error":
            raise NgError(f"rtpengine {command}: {text(answer.get('error-reason'))}")
        return answer
