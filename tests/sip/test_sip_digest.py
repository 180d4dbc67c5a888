"""Digest authentication: challenges, credentials, stateless nonces (RFC 7616)."""

from __future__ import annotations

import pytest

from helpline.sip.digest import (
    DigestAlgorithm,
    DigestChallenge,
    DigestResult,
    NonceState,
    build_authorization,
    check_nonce,
    compute_ha1,
    compute_response,
    make_challenge,
    make_nonce,
    parse_challenge,
    parse_credentials,
    verify,
)
from helpline.sip.errors import SipError

SECRET = b"server-secret"
NOW = 1_700_000_000.0


def test_rfc2617_example_response() -> None:
    ha1 = compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    assert ha1 == "939e7578ed9e3c518a452acee763bce9"
    response = compute_response(
        ha1=ha1,
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_rfc7616_sha256_example_response() -> None:
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", DigestAlgorithm.SHA256)
    response = compute_response(
        ha1=ha1,
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        method="GET",
        uri="/dir/index.html",
        algorithm=DigestAlgorithm.SHA256,
        qop="auth",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_nonce_is_authentic_and_expires() -> None:
    nonce = make_nonce(SECRET, NOW, b"\x01\x02")
    assert check_nonce(nonce, SECRET, NOW + 10) is NonceState.VALID
    assert check_nonce(nonce, SECRET, NOW + 301) is NonceState.STALE
    assert check_nonce(nonce, b"other", NOW) is NonceState.INVALID
    assert check_nonce(nonce.replace("-", "+", 1), SECRET, NOW) is NonceState.INVALID
    assert check_nonce("garbage", SECRET, NOW) is NonceState.INVALID
    assert make_nonce(SECRET, NOW, b"a") != make_nonce(SECRET, NOW, b"b")


@pytest.mark.parametrize("algorithm", list(DigestAlgorithm))
def test_challenge_answer_verify_round_trip(algorithm: DigestAlgorithm) -> None:
    challenge = make_challenge(
        "example.com", secret=SECRET, now=NOW, entropy=b"\x09", algorithm=algorithm, opaque="op"
    )
    header = challenge.header_value()
    assert header.startswith("Digest ") and 'qop="auth"' in header
    parsed = parse_challenge(header)
    assert parsed == challenge
    value = build_authorization(
        parsed, username="alice", password="pw", method="REGISTER", uri="sip:example.com",
        cnonce="c1",
    )  # fmt: skip
    credentials = parse_credentials(value)
    assert credentials is not None and credentials.algorithm is algorithm
    assert credentials.opaque == "op" and credentials.nc == "00000001"
    ha1 = compute_ha1("alice", "example.com", "pw", algorithm)
    kwargs = {"method": "REGISTER", "ha1": ha1, "secret": SECRET, "realm": "example.com"}
    assert verify(credentials, now=NOW + 5, **kwargs) is DigestResult.OK  # type: ignore[arg-type]
    assert verify(credentials, now=NOW + 900, **kwargs) is DigestResult.STALE  # type: ignore[arg-type]
    wrong = compute_ha1("alice", "example.com", "bad", algorithm)
    assert (
        verify(credentials, method="REGISTER", ha1=wrong, secret=SECRET, now=NOW)
        is DigestResult.FAILED
    )
    assert (
        verify(credentials, method="INVITE", ha1=ha1, secret=SECRET, now=NOW) is DigestResult.FAILED
    )
    assert (
        verify(credentials, method="REGISTER", ha1=ha1, secret=SECRET, now=NOW, realm="x")
        is DigestResult.FAILED
    )


def test_stale_challenge_flag() -> None:
    challenge = DigestChallenge("r", "n", stale=True, qop=None)
    assert "stale=true" in challenge.header_value()
    parsed = parse_challenge(challenge.header_value())
    assert parsed is not None and parsed.stale and parsed.qop is None


def test_rfc2069_style_credentials_without_qop() -> None:
    challenge = DigestChallenge("r", make_nonce(SECRET, NOW), qop=None)
    value = build_authorization(challenge, username="u", password="p", method="BYE", uri="sip:x")
    credentials = parse_credentials(value)
    assert credentials is not None and credentials.qop is None
    ha1 = compute_ha1("u", "r", "p")
    assert verify(credentials, method="BYE", ha1=ha1, secret=SECRET, now=NOW) is DigestResult.OK


def test_auth_int_covers_the_body() -> None:
    challenge = DigestChallenge("r", make_nonce(SECRET, NOW), qop="auth-int")
    value = build_authorization(
        challenge, username="u", password="p", method="MESSAGE", uri="sip:x", body=b"hi"
    )
    credentials = parse_credentials(value)
    assert credentials is not None
    ha1 = compute_ha1("u", "r", "p")
    common = {"method": "MESSAGE", "ha1": ha1, "secret": SECRET, "now": NOW}
    assert verify(credentials, body=b"hi", **common) is DigestResult.OK  # type: ignore[arg-type]
    assert verify(credentials, body=b"ho", **common) is DigestResult.FAILED  # type: ignore[arg-type]


def test_other_schemes_are_not_digest() -> None:
    assert parse_credentials("NoOneKnowsThisScheme opaque-data=here") is None
    assert parse_challenge("Basic realm=x") is None


@pytest.mark.parametrize(
    "value",
    [
        'Digest username="u", realm="r"',
        'Digest username="u", realm="r", nonce="n", uri="sip:x", response="0", algorithm=MD7',
        'Digest username="u", realm="r", nonce="n", uri="sip:x", response="0", qop=auth',
        'Digest username="u, realm="r"',
    ],
)
def test_broken_digest_credentials_are_400(value: str) -> None:
    with pytest.raises(SipError) as info:
        parse_credentials(value)
    assert info.value.status == 400
