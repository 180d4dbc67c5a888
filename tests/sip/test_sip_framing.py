"""Stream framing: whole messages from arbitrary chunks, keep-alives, limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from helpline.sip.errors import SipError
from helpline.sip.framing import FramerEvent, KeepAlive, KeepAliveKind, StreamFramer
from helpline.sip.message import Request, Response

OPTIONS = (
    b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    b"To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: f1\r\n"
    b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)
MESSAGE = (
    b"MESSAGE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK2\r\n"
    b"t: <sip:bob@example.com>\r\nf: <sip:a@example.com>;tag=1\r\ni: f2\r\n"
    b"CSeq: 2 MESSAGE\r\nc: text/plain\r\nl: 12\r\n\r\nhello\r\n\r\nyou"
)
OK = (
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nTo: <sip:b@x>;tag=9\r\n"
    b"From: <sip:a@x>;tag=1\r\nCall-ID: f1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)
STREAM = b"\r\n\r\n" + OPTIONS + MESSAGE + b"\r\n\r\n" + OK + b"\r\n" + OPTIONS


def _summary(events: list[FramerEvent]) -> list[object]:
    out: list[object] = []
    for event in events:
        if isinstance(event, SipError):
            out.append(("error", event.status))
        else:
            out.append(event)
    return out


def _feed_all(data: bytes, chunks: list[int] | None = None, **kw: int | bool) -> list[object]:
    framer = StreamFramer(**kw)  # type: ignore[arg-type]
    events: list[FramerEvent] = []
    if chunks is None:
        events += framer.feed(data)
    else:
        pos = 0
        for size in chunks:
            events += framer.feed(data[pos : pos + size])
            pos += size
        events += framer.feed(data[pos:])
    return _summary(events)


def _bytewise(data: bytes, **kw: int | bool) -> list[object]:
    return _feed_all(data, [1] * len(data), **kw)


def test_stream_splits_messages_and_reports_pings() -> None:
    events = _feed_all(STREAM)
    assert [type(e).__name__ for e in events] == [
        "KeepAlive", "Request", "Request", "KeepAlive", "Response", "Request"
    ]  # fmt: skip
    assert events[0] == KeepAlive(KeepAliveKind.PING)
    assert isinstance(events[0], KeepAlive) and events[0].reply == b"\r\n"
    message = events[2]
    assert isinstance(message, Request) and message.body == b"hello\r\n\r\nyou"
    assert isinstance(events[4], Response) and events[4].status == 200


def test_stream_fed_one_byte_at_a_time_gives_same_events() -> None:
    assert _bytewise(STREAM) == _feed_all(STREAM)


def test_client_framer_reports_each_crlf_as_pong() -> None:
    data = b"\r\n" + OK + b"\r\n"
    for events in (_feed_all(data, client=True), _bytewise(data, client=True)):
        assert events[0] == KeepAlive(KeepAliveKind.PONG) == events[2]
        assert KeepAlive(KeepAliveKind.PONG).reply == b""


def test_incomplete_message_waits() -> None:
    framer = StreamFramer()
    assert framer.feed(MESSAGE[:-1]) == []
    assert framer.buffered == len(MESSAGE) - 1
    (event,) = framer.feed(MESSAGE[-1:])
    assert isinstance(event, Request) and framer.buffered == 0


def test_missing_content_length_breaks_the_stream() -> None:
    data = OPTIONS.replace(b"Content-Length: 0\r\n", b"") + OPTIONS
    for events in (_feed_all(data), _bytewise(data)):
        assert events == [("error", 400)]
    framer = StreamFramer()
    framer.feed(data)
    assert framer.failed and framer.feed(OPTIONS) == []


def test_header_section_is_bounded() -> None:
    data = OPTIONS.replace(b"Max-Forwards: 70", b"X-Big: " + b"a" * 5000)
    for events in (_feed_all(data, max_header_size=1024), _bytewise(data, max_header_size=1024)):
        assert events == [("error", 513)]
    endless = b"OPTIONS sip:x SIP/2.0\r\n" + b"X: y\r\n" * 400
    assert _bytewise(endless, max_header_size=1024) == [("error", 513)]


def test_oversized_body_is_refused() -> None:
    data = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 99999999")
    assert _feed_all(data, max_message_size=65536) == [("error", 513)]


def test_unparsable_but_framed_message_is_reported_and_stream_continues() -> None:
    bad = OPTIONS.replace(b"OPTIONS sip:bob@example.com SIP/2.0", b"OPTIONS  sip:x SIP/2.0")
    data = bad + OPTIONS
    for events in (_feed_all(data), _bytewise(data)):
        assert events[0] == ("error", 400) and isinstance(events[1], Request)


def test_stray_cr_breaks_the_stream() -> None:
    assert _bytewise(b"\rX" + OPTIONS) == [("error", 400)]


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.integers(1, 64), max_size=80))
def test_random_chunking_gives_same_messages(chunks: list[int]) -> None:
    assert _feed_all(STREAM, chunks) == _feed_all(STREAM)
