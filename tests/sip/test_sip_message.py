"""Message parsing, serialization, helpers and make_response."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.sip.errors import SipError
from helpline.sip.headers import Header, Wildcard
from helpline.sip.message import (
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from helpline.sip.uri import SipUri

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1, "
    b"SIP/2.0/TCP p2.example.com;branch=z9hG4bK2\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Timestamp: 54\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)


def test_request_fields_and_typed_accessors() -> None:
    req = parse_message(INVITE)
    assert isinstance(req, Request)
    assert req.method == "INVITE" and isinstance(req.uri, SipUri)
    assert req.body == b"v=0\n"
    assert [v.host for v in req.vias] == [
        "pc33.atlanta.example.com", "proxy.example.com", "p2.example.com"
    ]  # fmt: skip
    assert req.top_via.branch == "z9hG4bK776asdhds"
    assert req.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert (req.cseq.number, req.cseq.method) == (314159, "INVITE")
    assert req.from_tag == "1928301774" and req.to_tag is None
    assert req.max_forwards == 70 and req.content_length == 4
    assert req.header("call-id") == req.call_id and req.header("i") == req.call_id
    assert len(req.headers("VIA")) == 3 and len(req.header_lines("v")) == 2
    assert req.header("X-Missing") is None and not req.has_header("X-Missing")
    assert req.content_type is not None and req.content_type.mime == "application/sdp"


def test_serialize_round_trip_keeps_meaning() -> None:
    req = parse_message(INVITE)
    again = parse_message(req.serialize())
    assert again == req
    assert again.serialize() == req.serialize()


def test_serialize_fixes_content_length() -> None:
    req = Request(
        "MESSAGE",
        SipUri("example.com", "bob"),
        (Header("Content-Length", "999"), Header("Content-Type", "text/plain")),
        b"hello",
    )
    data = req.serialize()
    assert b"Content-Length: 5\r\n" in data and b"999" not in data
    assert Response(200, "OK").serialize() == b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"


def test_leading_crlf_is_skipped() -> None:
    assert isinstance(parse_message(b"\r\n\r\n" + INVITE), Request)


def test_datagram_extra_bytes_are_ignored_and_missing_length_takes_rest() -> None:
    req = parse_message(INVITE + b"garbage")
    assert req.body == b"v=0\n"
    no_length = INVITE.replace(b"Content-Length: 4\r\n", b"")
    assert parse_message(no_length + b"more").body == b"v=0\nmore"
    with pytest.raises(SipError) as info:
        parse_message(no_length, stream=True)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (INVITE.replace(b"Content-Length: 4", b"Content-Length: 40"), 400),
        (INVITE.replace(b"Content-Length: 4", b"Content-Length: -4"), 400),
        (INVITE.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), 505),
        (INVITE.replace(b"SIP/2.0\r\n", b"SIP/2.x\r\n", 1), 400),
        (INVITE.replace(b"INVITE sip", b"INVITE  sip", 1), 400),
        (INVITE.replace(b"INVITE sip", b"INV@TE sip", 1), 400),
        (INVITE.replace(b"sip:bob@biloxi.example.com SIP", b"sip:bob@b?x=1 SIP", 1), 400),
        (INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards 70"), 400),
        (INVITE.replace(b"\r\n\r\n", b"\r\n"), 400),
        (INVITE + b" " * 70000, 513),
    ],
)
def test_malformed_requests_raise_with_status(data: bytes, status: int) -> None:
    with pytest.raises(SipError) as info:
        parse_message(data)
    assert info.value.status == status and not info.value.is_response


def test_request_error_keeps_headers_for_an_answer() -> None:
    with pytest.raises(SipError) as info:
        parse_message(INVITE.replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1))
    response = make_error_response(info.value, to_tag="abc")
    assert response is not None and response.status == 505
    assert response.to_tag == "abc" and response.call_id.startswith("a84b4c76")


def test_max_size_is_configurable() -> None:
    with pytest.raises(SipError) as info:
        parse_message(INVITE, max_size=100)
    assert info.value.status == 513
    assert make_error_response(SipError(400)) is None


RESPONSE = (
    b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@x>;tag=2\r\n"
    b"From: <sip:a@x>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
)


def test_response_parse() -> None:
    resp = parse_message(RESPONSE)
    assert isinstance(resp, Response)
    assert (resp.status, resp.reason, resp.to_tag) == (180, "Ringing", "2")
    assert parse_message(resp.serialize()) == resp


@pytest.mark.parametrize(
    "line",
    [b"SIP/2.0 4294967301 Big", b"SIP/2.0 18 Short", b"SIP/2.0 099 Low", b"SIP/2.0 abc X",
     b"SIP/2.0"],
)  # fmt: skip
def test_broken_responses_are_flagged_for_dropping(line: bytes) -> None:
    with pytest.raises(SipError) as info:
        parse_message(RESPONSE.replace(b"SIP/2.0 180 Ringing", line))
    assert info.value.is_response and info.value.drop


def test_response_with_other_version_is_dropped() -> None:
    with pytest.raises(SipError) as info:
        parse_message(RESPONSE.replace(b"SIP/2.0 180", b"SIP/3.0 180"))
    assert info.value.status == 505 and info.value.is_response


def test_make_response_copies_dialog_headers_and_adds_to_tag() -> None:
    req = parse_message(INVITE)
    assert isinstance(req, Request)
    resp = make_response(req, 200, to_tag="xyz")
    assert resp.reason == "OK"
    assert resp.headers("Via") == req.headers("Via")
    assert resp.call_id == req.call_id and resp.cseq == req.cseq
    assert resp.from_ == req.from_ and resp.to_tag == "xyz"
    assert not resp.has_header("Contact") and not resp.has_header("Timestamp")
    trying = make_response(req, 100)
    assert trying.to_tag is None and trying.header("Timestamp") == "54"
    bye = parse_message(
        RESPONSE.replace(b"SIP/2.0 180 Ringing", b"BYE sip:b@x SIP/2.0").replace(b"1 INV", b"1 B")
    )
    assert isinstance(bye, Request)
    assert make_response(bye, 200, to_tag="new").to_tag == "2"


def test_contacts_star() -> None:
    data = INVITE.replace(b"Contact: <sip:alice@pc33.atlanta.example.com>", b"Contact: *")
    assert parse_message(data).contacts == (Wildcard.STAR,)


def test_multiple_instances_of_single_headers_are_reported() -> None:
    req = parse_message(
        INVITE.replace(b"CSeq: 314159 INVITE\r\n", b"CSeq: 1 INVITE\r\nCSeq: 2 INVITE\r\n")
    )
    assert req.duplicated_single_headers() == ("CSeq",)
    with pytest.raises(SipError):
        _ = req.cseq


def test_utf8_and_binary_survive() -> None:
    data = RESPONSE.replace(b"Ringing", "Звонит".encode()).replace(
        b"Content-Length: 0\r\n\r\n", b"Content-Length: 3\r\n\r\n\xff\x00\xfe"
    )
    resp = parse_message(data)
    assert isinstance(resp, Response) and resp.reason == "Звонит" and resp.body == b"\xff\x00\xfe"
    assert resp.serialize() == data


_token = st.from_regex(r"[A-Za-z][A-Za-z0-9\-]{0,10}", fullmatch=True)
_value = st.from_regex(r"[ -~]{0,30}", fullmatch=True).map(str.strip)


@given(
    extra=st.lists(st.tuples(_token.map(lambda t: "X-" + t), _value), max_size=6),
    body=st.binary(max_size=200),
)
def test_parse_serialize_parse_is_stable(extra: list[tuple[str, str]], body: bytes) -> None:
    req = parse_message(INVITE)
    assert isinstance(req, Request)
    built = Request(req.method, req.uri, req.fields + tuple(Header(n, v) for n, v in extra), body)
    once = parse_message(built.serialize())
    assert once.body == body
    twice = parse_message(once.serialize())
    assert twice == once
    assert [(h.name.lower(), h.value) for h in once.fields if h.name.startswith("X-")] == [
        (n.lower(), v) for n, v in extra
    ]
