"""Request/response validation after parsing (RFC 3261 §8.2, §16.3, §10.3)."""

from __future__ import annotations

import pytest

from helpline.sip.message import Request, Response, parse_message
from helpline.sip.validate import (
    Policy,
    Rejection,
    Role,
    rejection_response,
    validate_request,
    validate_response,
)

BASE = (
    "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
    "To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: v1\r\n"
    "CSeq: 1 {cseq}\r\nMax-Forwards: {mf}\r\n{extra}Content-Length: 0\r\n\r\n"
)


def _req(
    method: str = "OPTIONS",
    *,
    uri: str = "sip:bob@example.com",
    cseq: str | None = None,
    mf: int = 70,
    extra: str = "",
) -> Request:
    text = BASE.format(method=method, uri=uri, cseq=cseq or method, mf=mf, extra=extra)
    msg = parse_message(text.encode())
    assert isinstance(msg, Request)
    return msg


def _status(req: Request, policy: Policy | None = None) -> int | None:
    rejection = validate_request(req, policy or Policy())
    return None if rejection is None else rejection.status


def test_good_request_passes() -> None:
    assert validate_request(_req()) is None


@pytest.mark.parametrize("name", ["To", "From", "Call-ID", "CSeq", "Via"])
def test_missing_mandatory_header_is_400(name: str) -> None:
    req = _req()
    stripped = req.with_fields(tuple(h for h in req.fields if h.name != name))
    assert _status(stripped) == 400


def test_missing_max_forwards_is_fine() -> None:
    req = _req()
    assert (
        _status(req.with_fields(tuple(h for h in req.fields if h.name != "Max-Forwards"))) is None
    )


def test_cseq_method_mismatch_is_400() -> None:
    assert _status(_req("OPTIONS", cseq="INVITE")) == 400


def test_repeated_single_value_header_is_400() -> None:
    assert _status(_req(extra="Call-ID: other\r\n")) == 400


def test_max_forwards_zero_is_483_for_a_proxy_only() -> None:
    req = _req(mf=0)
    assert _status(req) is None
    assert _status(req, Policy(role=Role.PROXY)) == 483


@pytest.mark.parametrize("uri", ["http://example.com/", "nobody:opaque", "mailto:a@b.c"])
def test_unsupported_request_uri_scheme_is_416(uri: str) -> None:
    assert _status(_req(uri=uri)) == 416


def test_tel_uri_is_supported_unless_policy_says_otherwise() -> None:
    req = _req(uri="tel:+15551234")
    assert _status(req) is None
    assert _status(req, Policy(uri_schemes=frozenset({"sip"}))) == 416


def test_unknown_require_is_420_with_unsupported() -> None:
    req = _req(extra="Require: 100rel, foo\r\nProxy-Require: bar\r\n")
    rejection = validate_request(req, Policy(supported_options=frozenset({"100rel"})))
    assert rejection is not None and rejection.status == 420
    response = rejection_response(req, rejection, to_tag="t")
    assert response.header("Unsupported") == "foo" and response.status == 420
    proxied = validate_request(req, Policy(role=Role.PROXY))
    assert proxied is not None and proxied.headers[0].value == "bar"


def test_require_is_ignored_on_cancel_and_ack() -> None:
    assert _status(_req("CANCEL", extra="Require: foo\r\n")) is None
    assert _status(_req("ACK", extra="Require: foo\r\n")) is None


def test_content_length_mismatch_is_400() -> None:
    req = _req()
    assert _status(Request(req.method, req.uri, req.fields, b"extra")) == 400


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ("Contact: *\r\nExpires: 0\r\n", None),
        ("Contact: *\r\nExpires: 10\r\n", 400),
        ("Contact: *\r\n", 400),
        ("Contact: *, <sip:a@b>\r\nExpires: 0\r\n", 400),
        ("Contact: <sip:a@b>;expires=60\r\n", None),
        ("Contact: <sip:a@b\r\n", 400),
        ("Expires: 99999999999\r\n", 400),
    ],
)
def test_register_contact_rules(extra: str, status: int | None) -> None:
    assert _status(_req("REGISTER", extra=extra)) == status


def test_star_contact_outside_register_is_400() -> None:
    assert _status(_req("OPTIONS", extra="Contact: *\r\n")) == 400


def test_method_not_allowed_is_405_with_allow() -> None:
    rejection = validate_request(_req("FOO"), Policy(allowed_methods=frozenset({"INVITE"})))
    assert rejection == Rejection(
        405, "method FOO not allowed", rejection.headers if rejection else ()
    )
    assert rejection is not None and rejection.headers[0].value == "INVITE"


def test_unsupported_body_is_415_and_unacceptable_accept_is_406() -> None:
    req = _req(extra="Content-Type: application/foo\r\n")
    with_body = Request(
        req.method, req.uri, tuple(h for h in req.fields if h.name != "Content-Length"), b"x"
    )
    policy = Policy(accepted_content_types=frozenset({"application/sdp"}))
    assert _status(with_body, policy) == 415
    accept = _req(extra="Accept: text/nothing\r\n")
    policy = Policy(producible_content_types=frozenset({"application/sdp"}))
    assert _status(accept, policy) == 406
    assert _status(_req(extra="Accept: application/*\r\n"), policy) is None


def test_bad_response_is_to_be_dropped() -> None:
    good = parse_message(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@x>;tag=2\r\n"
        b"From: <sip:a@x>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    assert isinstance(good, Response) and validate_response(good) is None
    bad = good.with_fields(tuple(h for h in good.fields if h.name != "Via"))
    error = validate_response(bad)
    assert error is not None and error.is_response
