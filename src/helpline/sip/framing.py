"""Message framing on stream transports (TCP, TLS, WebSocket-carried streams).

Theory of operation: on a stream, a message ends after its header section (first empty
line) plus Content-Length octets, and Content-Length is mandatory (RFC 3261 §18.3,
§20.14).  :class:`StreamFramer` buffers bytes until a whole message is present and then
hands it to :func:`~helpline.sip.message.parse_message`; it never depends on how the
bytes were chunked, so feeding one octet at a time gives the same events.  CRLFs between
messages are skipped (§7.5); a double CRLF is the RFC 5626 §4.4.1 keep-alive ping (the
transport answers with a single CRLF pong, §3.5.1).  Client-side framers report every
CRLF as a pong.  A message that cannot be framed (no or bad Content-Length, header
section over ``max_header_size``, message over ``max_message_size``) breaks the stream:
an error is reported, ``failed`` becomes true and the transport should close.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from helpline.sip.errors import SipError
from helpline.sip.headers import parse_header_lines, parse_int
from helpline.sip.message import Request, Response, parse_message

__all__ = ["FramerEvent", "KeepAlive", "KeepAliveKind", "StreamFramer"]


class KeepAliveKind(Enum):
    """RFC 5626 §4.4.1 keep-alive kinds."""

    PING = "ping"
    PONG = "pong"


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """A keep-alive was received; on PING the transport sends ``b"\\r\\n"`` back."""

    kind: KeepAliveKind

    @property
    def reply(self) -> bytes:
        """Bytes to send in answer (a CRLF pong for a ping, nothing for a pong)."""
        return b"\r\n" if self.kind is KeepAliveKind.PING else b""


FramerEvent = Request | Response | SipError | KeepAlive
_PING = KeepAlive(KeepAliveKind.PING)
_PONG = KeepAlive(KeepAliveKind.PONG)


class StreamFramer:
    """Split a byte stream into SIP messages and keep-alives."""

    __slots__ = (
        "_buf",
        "_client",
        "_failed",
        "_max_header",
        "_max_message",
        "_need",
        "_scan",
    )

    def __init__(
        self,
        *,
        max_header_size: int = 16384,
        max_message_size: int = 1 << 20,
        client: bool = False,
    ) -> None:
        self._buf = bytearray()
        self._client = client
        self._failed = False
        self._max_header = max_header_size
        self._max_message = max_message_size
        self._need = -1
        self._scan = 0

    @property
    def failed(self) -> bool:
        """True once framing was lost; the connection should be closed."""
        return self._failed

    @property
    def buffered(self) -> int:
        """Number of octets held waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[FramerEvent]:
        """Add received bytes; return the complete messages, errors and keep-alives."""
        if self._failed:
            return []
        self._buf += data
        events: list[FramerEvent] = []
        while not self._failed:
            if self._need < 0 and not self._frame_header(events):
                break
            if len(self._buf) < self._need:
                break
            raw = bytes(self._buf[: self._need])
            del self._buf[: self._need]
            self._need = -1
            self._scan = 0
            try:
                events.append(parse_message(raw, max_size=self._max_message, stream=True))
            except SipError as exc:
                events.append(exc)
        return events

    def _fail(self, events: list[FramerEvent], status: int, detail: str) -> bool:
        self._failed = True
        self._buf.clear()
        events.append(SipError(status, detail))
        return False

    def _frame_header(self, events: list[FramerEvent]) -> bool:
        buf = self._buf
        while buf[:1] == b"\r":
            if len(buf) < 2:
                return False
            if buf[1:2] != b"\n":
                return self._fail(events, 400, "stray CR before start line")
            if self._client:
                del buf[:2]
                events.append(_PONG)
            elif buf[:4] == b"\r\n\r\n":
                del buf[:4]
                events.append(_PING)
            elif b"\r\n\r\n".startswith(bytes(buf[:4])):
                return False
            else:
                del buf[:2]
        if not buf:
            return False
        end = buf.find(b"\r\n\r\n", self._scan)
        if end < 0:
            if len(buf) > self._max_header:
                return self._fail(events, 513, "header section too large")
            self._scan = max(0, len(buf) - 3)
            return False
        if end + 4 > self._max_header:
            return self._fail(events, 513, "header section too large")
        head = bytes(buf[:end]).decode("utf-8", "surrogateescape").split("\r\n")
        try:
            fields = parse_header_lines(head[1:])
        except SipError as exc:
            return self._fail(events, 400, exc.detail)
        lengths = [h.value for h in fields if h.name == "Content-Length"]
        if len(lengths) != 1:
            return self._fail(events, 400, "stream message needs exactly one Content-Length")
        try:
            length = parse_int(lengths[0], 2**32 - 1, "Content-Length")
        except SipError as exc:
            return self._fail(events, 400, exc.detail)
        if end + 4 + length > self._max_message:
            return self._fail(events, 513, "message too large")
        self._need = end + 4 + length
        return True
