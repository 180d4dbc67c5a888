"""SIP/SIPS/TEL URI parsing, serialization and RFC 3261 §19.1.4 comparison."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.sip.errors import SipError
from helpline.sip.uri import AbsoluteUri, SipUri, TelUri, parse_uri, uri_equivalent


def test_full_sip_uri_is_split_into_components() -> None:
    uri = parse_uri(
        "sips:alice:secret@[2001:db8::1]:5061;transport=TCP;lr;maddr=239.1.1.1?subject=hi&x=%20y"
    )
    assert isinstance(uri, SipUri)
    assert uri.scheme == "sips" and uri.secure
    assert (uri.user, uri.password, uri.host, uri.port) == (
        "alice",
        "secret",
        "[2001:db8::1]",
        5061,
    )
    assert uri.transport == "tcp" and uri.lr and uri.maddr == "239.1.1.1"
    assert uri.headers == (("subject", "hi"), ("x", " y"))


def test_user_escapes_are_decoded_and_reencoded() -> None:
    uri = parse_uri("sip:I%20have%20spaces@example.net")
    assert isinstance(uri, SipUri)
    assert uri.user == "I have spaces"
    assert str(uri) == "sip:I%20have%20spaces@example.net"


def test_user_may_contain_semicolons_and_question_marks() -> None:
    uri = parse_uri("sip:user;par=u%40example.net@example.com")
    assert isinstance(uri, SipUri)
    assert uri.user == "user;par=u@example.net" and uri.host == "example.com" and uri.params == ()


def test_escaped_null_survives_round_trip() -> None:
    uri = parse_uri("sip:null-%00-null@example.com")
    assert isinstance(uri, SipUri) and uri.user == "null-\x00-null"
    assert parse_uri(str(uri)) == uri


def test_invalid_utf8_escape_survives_round_trip() -> None:
    uri = parse_uri("sip:%FF%FE@example.com")
    assert parse_uri(str(uri)) == uri


def test_ipv4_host_and_port() -> None:
    uri = parse_uri("sip:192.0.2.1:5070")
    assert isinstance(uri, SipUri) and (uri.user, uri.host, uri.port) == (None, "192.0.2.1", 5070)


def test_valueless_param_reads_as_empty_string() -> None:
    uri = parse_uri("sip:example.com;lr;user=phone")
    assert isinstance(uri, SipUri)
    assert uri.param("LR") == "" and uri.param("user") == "phone" and uri.param("x") is None
    assert uri.user_param == "phone"


def test_tel_uri() -> None:
    uri = parse_uri("tel:+1-201-555-0123;ext=42")
    assert isinstance(uri, TelUri) and uri.is_global and uri.param("ext") == "42"
    assert uri.equivalent(parse_uri("tel:+1.201.555.0123;EXT=42"))
    assert str(uri) == "tel:+1-201-555-0123;ext=42"


@pytest.mark.parametrize(
    "text",
    ["http://www.example.com", "mailto:a@b.c", "soap.beep://192.0.2.103:3002", "isbn:2983792873"],
)
def test_unknown_schemes_are_kept_opaque(text: str) -> None:
    uri = parse_uri(text)
    assert isinstance(uri, AbsoluteUri)
    assert str(uri) == text


@pytest.mark.parametrize(
    "text",
    [
        "<sip:user@example.com>",
        "sip:user@example.com; lr",
        "sip:",
        "sip:user@",
        "sip:@example.com",
        "sip:user@exa mple.com",
        "sip:host:99999",
        "sip:host:5x",
        "sip:[::1",
        "sip:host;;lr",
        "sip:a%zzb@host",
        "nocolon",
        "1abc:foo",
    ],
)
def test_malformed_uris_raise_400(text: str) -> None:
    with pytest.raises(SipError) as info:
        parse_uri(text)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
        ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
         "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"),
        ("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
         "sip:alice@atlanta.com?priority=urgent&subject=project%20x"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;transport=udp"),
    ],
)  # fmt: skip
def test_rfc3261_equivalent_uris(a: str, b: str) -> None:
    assert uri_equivalent(parse_uri(a), parse_uri(b))
    assert uri_equivalent(parse_uri(b), parse_uri(a))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp;user=phone"),
        ("sip:bob@biloxi.com", "sips:bob@biloxi.com"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;maddr=192.0.2.1"),
        ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
        ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
        ("sip:bob@biloxi.com", "tel:+1234"),
    ],
)
def test_rfc3261_different_uris(a: str, b: str) -> None:
    assert not uri_equivalent(parse_uri(a), parse_uri(b))


_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_host = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.just("[2001:db8::1]"),
)
_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
_ptext = st.text(st.characters(codec="utf-8"), max_size=8)


@given(
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.none() | _text,
    password=st.none() | _ptext,
    host=_host,
    port=st.none() | st.integers(0, 65535),
    params=st.lists(st.tuples(_text, st.none() | _ptext), max_size=3).map(tuple),
    headers=st.lists(st.tuples(_text, _ptext), max_size=3).map(tuple),
)
def test_sip_uri_round_trips(
    scheme: str,
    user: str | None,
    password: str | None,
    host: str,
    port: int | None,
    params: tuple[tuple[str, str | None], ...],
    headers: tuple[tuple[str, str], ...],
) -> None:
    uri = SipUri(host, user, password if user is not None else None, port, params, headers, scheme)
    again = parse_uri(str(uri))
    assert again == uri
    assert again.equivalent(uri)
