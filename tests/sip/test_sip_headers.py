"""Typed header values: name-addr, Via, CSeq, auth, lists, compact names."""

from __future__ import annotations

import pytest

from helpline.sip.errors import SipError
from helpline.sip.headers import (
    Header,
    NameAddr,
    Wildcard,
    canonical_name,
    parse_auth,
    parse_contact,
    parse_cseq,
    parse_header_lines,
    parse_int,
    parse_media_type,
    parse_name_addr,
    parse_params,
    parse_tokens,
    parse_via,
    quote,
    split_list,
    unquote,
)
from helpline.sip.uri import AbsoluteUri, SipUri


@pytest.mark.parametrize(
    ("compact", "name"),
    [("i", "Call-ID"), ("m", "Contact"), ("e", "Content-Encoding"), ("l", "Content-Length"),
     ("c", "Content-Type"), ("f", "From"), ("s", "Subject"), ("k", "Supported"), ("t", "To"),
     ("v", "Via"), ("o", "Event"), ("u", "Allow-Events"), ("r", "Refer-To"),
     ("b", "Referred-By"), ("x", "Session-Expires"), ("y", "Identity"), ("a", "Accept-Contact"),
     ("I", "Call-ID"), ("cSEQ", "CSeq"), ("www-authenticate", "WWW-Authenticate")],
)  # fmt: skip
def test_compact_and_odd_case_names_are_canonical(compact: str, name: str) -> None:
    assert canonical_name(compact) == name


def test_unknown_header_names_keep_their_spelling() -> None:
    assert canonical_name("X-Custom-Thing") == "X-Custom-Thing"


def test_header_lines_unfold_continuations() -> None:
    fields = parse_header_lines(["Subject: hello", "  world", "\tagain", "TO :  sip:a@b"])
    assert fields == (Header("Subject", "hello world again"), Header("To", "sip:a@b"))


@pytest.mark.parametrize("lines", [[" leading continuation"], ["no colon here"], ["bad name: x"]])
def test_malformed_header_lines_raise_400(lines: list[str]) -> None:
    with pytest.raises(SipError) as info:
        parse_header_lines(lines)
    assert info.value.status == 400


def test_name_addr_with_quoted_display_name_and_escapes() -> None:
    addr = parse_name_addr('"J Rosenberg \\\\\\""  <sip:jdrosen@example.com> ; tag = 98asjd8')
    assert addr.display_name == 'J Rosenberg \\"'
    assert addr.tag == "98asjd8"
    assert isinstance(addr.uri, SipUri) and addr.uri.user == "jdrosen"
    assert parse_name_addr(str(addr)) == addr


def test_name_addr_token_display_name_without_space() -> None:
    addr = parse_name_addr("caller<sip:caller@example.com>;tag=323")
    assert addr.display_name == "caller" and addr.tag == "323"


def test_addr_spec_params_belong_to_the_header() -> None:
    addr = parse_name_addr("sip:+19725552222@gw1.example.net;unknownparam")
    assert isinstance(addr.uri, SipUri) and addr.uri.params == ()
    assert addr.params == (("unknownparam", None),)
    inner = parse_name_addr("<sip:+19725552222@gw1.example.net;unknownparam>")
    assert isinstance(inner.uri, SipUri) and inner.uri.params == (("unknownparam", None),)
    assert inner.params == ()


def test_quoted_param_value_is_unquoted_on_read() -> None:
    addr = parse_name_addr('<sip:a@b>;x="a;b, c";tag=1')
    assert addr.param("x") == "a;b, c" and addr.tag == "1"


def test_with_tag_adds_or_replaces() -> None:
    addr = parse_name_addr("<sip:a@b>;foo=1").with_tag("t1")
    assert str(addr) == "<sip:a@b>;foo=1;tag=t1"
    assert addr.with_tag("t2").tag == "t2"


@pytest.mark.parametrize(
    "value",
    [
        '"Mr. J. User <sip:j.user@example.com>',
        "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
        "< sip:t.watson@example.org >",
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
        '"Joe" <sip:joe@example.org>;;;;',
        "<sip:a@b",
        "<sip:a@b> junk",
        "",
    ],
)
def test_malformed_addresses_raise_400(value: str) -> None:
    with pytest.raises(SipError) as info:
        parse_name_addr(value)
    assert info.value.status == 400


def test_contact_list_and_star() -> None:
    assert parse_contact(" * ") == (Wildcard.STAR,)
    contacts = parse_contact('"A, B" <sip:a@x>;q=0.5, <sip:b@y>;expires=60, sip:c@z')
    assert len(contacts) == 3
    first, second, _ = contacts
    assert isinstance(first, NameAddr) and first.display_name == "A, B"
    assert isinstance(second, NameAddr) and second.expires == 60


def test_contact_with_unknown_scheme() -> None:
    (contact,) = parse_contact("<name:John_Smith>")
    assert isinstance(contact, NameAddr) and contact.uri == AbsoluteUri("name", "John_Smith")


def test_split_list_respects_quotes_and_angle_brackets() -> None:
    value = '"a,b" <sip:x@y;p=1,2>;q=1, <sip:z@w>'
    assert split_list(value) == ['"a,b" <sip:x@y;p=1,2>;q=1', "<sip:z@w>"]


def test_via_with_lws_everywhere() -> None:
    via = parse_via(
        "SIP  /   2.0 /UDP   192.0.2.2 : 5070 ;  branch  = z9hG4bK1 ; rport ;received=1.2.3.4"
    )
    assert (via.protocol, via.transport, via.host, via.port) == (
        "SIP/2.0",
        "UDP",
        "192.0.2.2",
        5070,
    )
    assert via.branch == "z9hG4bK1" and via.rfc3261_branch
    assert via.has_rport and via.rport is None and via.received == "1.2.3.4"
    assert parse_via(str(via)) == via


def test_via_ipv6_rport_value_maddr_ttl() -> None:
    via = parse_via(
        "SIP/2.0/tls [2001:db8::9]:5061;branch=z9hG4bKx;rport=4000;maddr=224.2.0.1;ttl=16"
    )
    assert via.transport == "TLS" and via.host == "[2001:db8::9]" and via.port == 5061
    assert via.rport == 4000 and via.maddr == "224.2.0.1" and via.ttl == 16
    assert via.sent_by == "[2001:db8::9]:5061"


@pytest.mark.parametrize(
    "value",
    [
        "SIP/2.0/UDP",
        "SIP/2.0 UDP host",
        "SIP/2.0/UDP 192.0.2.15;;",
        "SIP/2.0/UDP host;ttl=300",
        "SIP/2.0/UDP host;rport=x",
        "SIP/2.0/UDP host;branch=",
        "SIP/2.0/UDP host:port",
    ],
)
def test_malformed_via_raises_400(value: str) -> None:
    with pytest.raises(SipError) as info:
        parse_via(value)
    assert info.value.status == 400


def test_cseq_range_is_enforced() -> None:
    assert parse_cseq("0009\t INVITE") == parse_cseq("9 INVITE")
    assert str(parse_cseq(f"{2**31 - 1} BYE")) == f"{2**31 - 1} BYE"
    for bad in (f"{2**31} INVITE", "-1 INVITE", "1", "1 INVITE x", "36893488147419103232 REGISTER"):
        with pytest.raises(SipError):
            parse_cseq(bad)


def test_parse_int_rejects_signs_and_overflow() -> None:
    assert parse_int(" 0068 ", 255, "Max-Forwards") == 68
    for bad in ("-1", "+1", "256", "1e3", "", "１"):
        with pytest.raises(SipError):
            parse_int(bad, 255, "Max-Forwards")


def test_option_tags() -> None:
    assert parse_tokens("100rel, timer ,,replaces") == ("100rel", "timer", "replaces")
    with pytest.raises(SipError):
        parse_tokens("bad tag")


def test_digest_auth_header_parses_quoted_params() -> None:
    auth = parse_auth(
        'Digest username="bob", realm="biloxi.com", nonce="dcd98,b7102dd2f0e8b11d0f600bfb0c093",'
        ' uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b",'
        ' response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert auth.scheme == "Digest"
    assert auth.param("NONCE") == "dcd98,b7102dd2f0e8b11d0f600bfb0c093"
    assert auth.param("qop") == "auth" and auth.param("nc") == "00000001"
    assert parse_auth(str(auth)) == auth


def test_unknown_auth_scheme_and_token68() -> None:
    assert parse_auth("NoOneKnowsThisScheme opaque-data=here").param("opaque-data") == "here"
    assert parse_auth("Basic QWxhZGRpbjpvcGVu==").token68 == "QWxhZGRpbjpvcGVu=="


def test_media_type() -> None:
    media = parse_media_type("Multipart/Mixed ; boundary=7a9c")
    assert media.mime == "multipart/mixed" and media.param("boundary") == "7a9c"
    assert parse_media_type("application/*").matches("application/sdp")


def test_quote_round_trip() -> None:
    for text in ['a "b" \\c', "", "plain"]:
        assert unquote(quote(text)) == text


def test_params_with_quoted_semicolon() -> None:
    assert parse_params(';a="x;y";b') == (("a", '"x;y"'), ("b", None))
