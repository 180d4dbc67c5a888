"""The node's SIP edge core: bytes in, bytes out (no sockets, fake time)."""

from __future__ import annotations

from helpline.sip.message import Response, parse_message
from helpline.telephony.abuse import Edge, EdgePolicy
from helpline.telephony.core import SipCore
from helpline.telephony.wire import Address, Transport

SRC = Address("127.0.0.1", 40000)


def _request(
    method: str,
    *,
    to_tag: str = "",
    ua: str = "test-phone",
    via_host: str = "10.9.9.9",
    extra: str = "",
) -> bytes:
    to = "<sip:svc@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:svc@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {via_host}:5062;branch=z9hG4bK-{method.lower()}-1;rport\r\n"
        f"From: <sip:phone@127.0.0.1>;tag=abc\r\n"
        f"To: {to}\r\n"
        f"Call-ID: call-{method}@test\r\n"
        f"CSeq: 7 {method}\r\n"
        f"Max-Forwards: 70\r\n"
        f"User-Agent: {ua}\r\n"
        f"{extra}"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def _answer(out: list) -> Response:  # type: ignore[type-arg]
    assert len(out) == 1
    message = parse_message(out[0].data)
    assert isinstance(message, Response)
    return message


def test_options_is_answered_200_at_the_observed_source() -> None:
    out = SipCore().on_datagram(_request("OPTIONS"), SRC, Transport.UDP, 0.0)
    response = _answer(out)
    assert response.status == 200
    assert "INVITE" in response.headers("Allow")
    assert response.to_tag
    # rport: the answer goes to where the packet came from, not to the Via's 10.9.9.9:5062.
    assert out[0].dest == SRC


def test_request_for_unknown_dialog_gets_481() -> None:
    core = SipCore()
    assert (
        _answer(core.on_datagram(_request("BYE", to_tag="x1"), SRC, Transport.UDP, 0)).status == 481
    )
    assert (
        _answer(core.on_datagram(_request("INFO", to_tag="x1"), SRC, Transport.UDP, 0)).status
        == 481
    )


def test_ack_and_stray_responses_get_no_answer() -> None:
    core = SipCore()
    assert core.on_datagram(_request("ACK", to_tag="x1"), SRC, Transport.UDP, 0) == []
    stray = (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert core.on_datagram(stray, SRC, Transport.UDP, 0) == []
    assert core.ua.layer.stats.stray_responses == 1


def test_malformed_request_gets_400_and_is_counted() -> None:
    core = SipCore()
    broken = _request("OPTIONS").replace(b"CSeq: 7 OPTIONS", b"CSeq: seven OPTIONS")
    assert _answer(core.on_datagram(broken, SRC, Transport.UDP, 0)).status == 400
    assert core.edge.counters()["malformed"] == 1


def test_unsupported_method_gets_405_with_allow() -> None:
    response = _answer(SipCore().on_datagram(_request("PUBLISH"), SRC, Transport.UDP, 0))
    assert response.status == 405 and "REGISTER" in response.headers("Allow")


def test_scanner_gets_no_answer_at_all() -> None:
    core = SipCore()
    assert core.on_datagram(_request("OPTIONS", ua="friendly-scanner"), SRC, Transport.UDP, 0) == []
    assert core.edge.counters()["scanner"] == 1


def test_flood_from_one_source_is_cut_by_the_rate_limit() -> None:
    core = SipCore(edge=Edge(EdgePolicy(rate=1, burst=3)))
    answers = [core.on_datagram(_request("OPTIONS"), SRC, Transport.UDP, 0.0) for _ in range(5)]
    assert [len(a) for a in answers] == [1, 1, 1, 0, 0]
    assert core.edge.counters()["rate_limited"] == 2


def test_tcp_stream_fed_one_byte_at_a_time_answers_once_and_pongs() -> None:
    session = SipCore().open_stream(SRC, Transport.TCP)
    data = b"\r\n\r\n" + _request("OPTIONS")
    replies = []
    for i in range(len(data)):
        replies += session.feed(data[i : i + 1], 0.0)
    assert replies[0].data == b"\r\n" and replies[0].dest == SRC
    assert len(replies) == 2 and replies[1].transport is Transport.TCP
    response = parse_message(replies[1].data)
    assert isinstance(response, Response) and response.status == 200
    assert not session.closed


def test_stream_without_content_length_is_closed() -> None:
    session = SipCore().open_stream(SRC, Transport.TCP)
    session.feed(_request("OPTIONS").replace(b"Content-Length: 0\r\n", b""), 0.0)
    assert session.closed
