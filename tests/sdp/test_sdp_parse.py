"""SDP parsing and serialization: captures round-trip with their meaning intact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.sdp import (
    AddressType,
    Attribute,
    Bandwidth,
    Connection,
    Direction,
    Fmtp,
    MediaDescription,
    Origin,
    Rtcp,
    RtpMap,
    SdpError,
    SessionDescription,
    Timing,
    parse,
    serialize,
    serialize_bytes,
)
from tests.sdp.sdp_captures import (
    ALL,
    ASTERISK_OFFER,
    BARESIP_OFFER,
    CARRIER_IPV6_OFFER,
    CHROME_OFFER,
    FREESWITCH_OFFER,
    SIPP_OFFER,
)


def _sections(text: str) -> list[list[str]]:
    """Lines grouped by section (session, then each m=), each group sorted."""
    sections: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            sections.append([])
        if line:
            sections[-1].append(line)
    return [sorted(section) for section in sections]


@pytest.mark.parametrize("name", sorted(ALL))
def test_capture_serializes_back_to_the_same_lines_in_each_section(name: str) -> None:
    assert _sections(serialize(parse(ALL[name]))) == _sections(ALL[name])


@pytest.mark.parametrize("name", sorted(ALL))
def test_capture_reparses_to_an_equal_description(name: str) -> None:
    sdp = parse(ALL[name])
    assert parse(serialize(sdp)) == sdp
    assert serialize(parse(serialize(sdp))) == serialize(sdp)


def test_sipp_offer_is_typed() -> None:
    sdp = parse(SIPP_OFFER)
    assert sdp.origin == Origin("user1", "53655765", 2353687637, "127.0.0.1")
    assert sdp.connection == Connection("127.0.0.1", AddressType.IP4)
    assert sdp.timings == (Timing(0, 0),)
    (audio,) = sdp.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 6000, "RTP/AVP")
    assert audio.payload_types == (0, 96)
    assert audio.rtpmap(96) == RtpMap(96, "telephone-event", 8000)
    assert audio.fmtp(96) == Fmtp("96", "0-15")
    assert sdp.direction_of(audio) is Direction.SENDRECV


def test_baresip_offer_keeps_opus_channels_rtcp_mux_and_opaque_attributes() -> None:
    sdp = parse(BARESIP_OFFER)
    audio = sdp.media[0]
    assert audio.rtpmap(111) == RtpMap(111, "opus", 48000, 2)
    opus_fmtp = audio.fmtp(111)
    assert opus_fmtp is not None
    assert opus_fmtp.parameter_map == {"stereo": "1", "sprop-stereo": "1"}
    assert audio.rtcp_mux
    assert audio.ptime == 20
    assert audio.bandwidths == (Bandwidth("AS", 128),)
    assert audio.attribute_values("label") == ("1",)
    assert sdp.attribute_values("tool") == ("baresip 3.10.1",)


def test_chrome_offer_keeps_ice_and_dtls_attributes_opaque_and_in_order() -> None:
    sdp = parse(CHROME_OFFER)
    audio, video, data = sdp.media
    assert audio.proto == "UDP/TLS/RTP/SAVPF"
    assert audio.connection == Connection("0.0.0.0")
    assert audio.rtcp == Rtcp(9, Connection("0.0.0.0"))
    names = [a.name for a in audio.attributes]
    assert names[:4] == ["ice-ufrag", "ice-pwd", "ice-options", "fingerprint"]
    assert Attribute("setup", "actpass") in audio.attributes
    assert sdp.attribute_values("msid-semantic") == (" WMS 5f1b9a1c",)
    assert video.direction is Direction.RECVONLY
    assert video.attribute_values("rtcp-fb") == ("96 goog-remb", "96 nack", "96 nack pli")
    assert data.formats == ("webrtc-datachannel",)
    assert data.payload_types == ()


def test_static_payload_types_are_known_without_rtpmap() -> None:
    audio = parse(FREESWITCH_OFFER).media[0]
    assert audio.rtpmap(18) == RtpMap(18, "G729", 8000)
    assert audio.rtpmap(0) == RtpMap(0, "PCMU", 8000)
    assert audio.rtpmap(8) == RtpMap(8, "PCMA", 8000)
    assert audio.rtpmap(13) == RtpMap(13, "CN", 8000)
    assert audio.rtpmap(9) == RtpMap(9, "G722", 8000)
    assert audio.rtpmap(3) == RtpMap(3, "GSM", 8000)
    assert audio.fmtp(18) == Fmtp("18", "annexb=no")
    assert audio.rtcp == Rtcp(24581, Connection("198.51.100.7"))


def test_asterisk_maxptime_and_ipv6_carrier_are_typed() -> None:
    assert parse(ASTERISK_OFFER).media[0].maxptime == 150
    carrier = parse(CARRIER_IPV6_OFFER)
    assert carrier.connection == Connection("2001:db8::10", AddressType.IP6)
    assert carrier.origin.address_type is AddressType.IP6
    assert carrier.bandwidths == (Bandwidth("AS", 84),)
    assert carrier.direction is Direction.SENDRECV
    assert carrier.media[0].ptime == 30


def test_media_direction_overrides_session_direction() -> None:
    text = SIPP_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n")
    sdp = parse(text + "m=audio 6002 RTP/AVP 8\r\na=inactive\r\n")
    assert sdp.direction_of(sdp.media[0]) is Direction.SENDONLY
    assert sdp.direction_of(sdp.media[1]) is Direction.INACTIVE


def test_lf_line_endings_and_bytes_are_accepted_and_output_is_crlf() -> None:
    sdp = parse(SIPP_OFFER.replace("\r\n", "\n").encode())
    assert sdp == parse(SIPP_OFFER)
    out = serialize_bytes(sdp)
    assert out.endswith(b"\r\n")
    assert b"\n" not in out.replace(b"\r\n", b"")


def test_missing_session_name_and_timing_get_defaults() -> None:
    sdp = parse("v=0\no=- 1 1 IN IP4 10.0.0.1\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\n")
    assert sdp.name == "-"
    assert sdp.timings == (Timing(0, 0),)


def test_rejected_stream_needs_no_connection() -> None:
    sdp = parse("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 31\r\n")
    assert sdp.media[0].is_rejected


def test_multicast_connection_and_port_count_round_trip() -> None:
    text = (
        "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 224.2.1.1/127/3\r\nt=0 0\r\n"
        "r=604800 3600 0 90000\r\nm=video 49170/2 RTP/AVP 31\r\n"
    )
    sdp = parse(text)
    assert sdp.media[0].port_count == 2
    assert sdp.timings[0].repeats == ("604800 3600 0 90000",)
    assert serialize(sdp) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("o=- 1 1 IN IP4 h\r\n", "must start with v="),
        ("v=1\r\no=- 1 1 IN IP4 h\r\n", "out of range"),
        ("v=0\r\ns=-\r\n", "no o= line"),
        ("v=0\r\no=- 1 1 IN IP4\r\n", "needs 6 fields"),
        ("v=0\r\no=- 1 x IN IP4 h\r\n", "not a number"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nx=1\r\n", "not a session-level line"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nhello\r\n", "not a <type>=<value>"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IPX h\r\n", "address type"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=ATM NSAP h\r\n", "network type"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\ns=a\r\ns=b\r\n", "duplicate s="),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 9 RTP/AVP 0\r\n", "no c= line"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 9 RTP/AVP\r\n", "m= needs"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 70000 RTP/AVP 0\r\n", "range"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 9 RTP/AVP abc\r\n", "payload"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 9 RTP/AVP 128\r\n", "range"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 9 RTP/AVP 0\r\nt=0 0\r\n", "media"),
    ],
)
def test_malformed_sdp_raises_sdp_error_with_status_400(text: str, reason: str) -> None:
    with pytest.raises(SdpError, match=reason) as info:
        parse(text)
    assert info.value.status_code == 400


@pytest.mark.parametrize(
    "attribute",
    [
        "a=rtpmap:96 opus",
        "a=rtpmap:x opus/48000",
        "a=rtpmap:96 opus/0",
        "a=rtpmap",
        "a=ptime:abc",
        "a=ptime:0",
        "a=sendrecv:1",
        "a=rtcp:9 IN IP4",
        "a=rtcp-mux:yes",
        "a=:novalue",
    ],
)
def test_malformed_typed_attribute_raises_sdp_error(attribute: str) -> None:
    with pytest.raises(SdpError):
        parse(SIPP_OFFER + attribute + "\r\n")


@pytest.mark.parametrize(
    "attribute",
    [
        "a=rtpmap:0 PCMU/8000",
        "a=fmtp:96 0-16",
        "a=ptime:20\r\na=ptime:30",
        "a=sendonly\r\na=inactive",
    ],
)
def test_duplicated_single_valued_attribute_raises_sdp_error(attribute: str) -> None:
    with pytest.raises(SdpError, match="duplicate"):
        parse(SIPP_OFFER + attribute + "\r\n")


def test_non_utf8_body_raises_sdp_error() -> None:
    with pytest.raises(SdpError, match="UTF-8"):
        parse(b"v=0\r\ns=\xff\r\n")


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=12)
_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-./ :;=", max_size=20).map(str.strip)
_connection = st.builds(Connection, _token, st.sampled_from(AddressType))
_typed_names = {"rtpmap", "fmtp", "ptime", "maxptime", "rtcp", "rtcp-mux"} | {
    d.value for d in Direction
}
_attribute = st.builds(
    Attribute,
    _token.filter(lambda n: n not in _typed_names),
    st.none() | _text,
)


@st.composite
def _media(draw: st.DrawFn) -> MediaDescription:
    pts = draw(st.lists(st.integers(0, 127), min_size=1, max_size=6, unique=True))
    mapped = draw(st.lists(st.sampled_from(pts), unique=True))
    rtpmaps = tuple(
        RtpMap(pt, draw(_token), draw(st.integers(1, 96000)), draw(st.none() | st.integers(1, 8)))
        for pt in pts
        if pt in mapped
    )
    with_fmtp = draw(st.lists(st.sampled_from(pts), unique=True))
    fmtps = tuple(Fmtp(str(pt), draw(_text)) for pt in pts if pt in with_fmtp)
    rtcp = st.builds(Rtcp, st.integers(0, 65535), st.none() | _connection)
    return MediaDescription(
        media=draw(st.sampled_from(["audio", "video", "text"])),
        port=draw(st.integers(1, 65535)),
        proto=draw(st.sampled_from(["RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF"])),
        formats=tuple(str(pt) for pt in pts),
        port_count=draw(st.none() | st.integers(1, 4)),
        connection=draw(st.none() | _connection),
        bandwidths=tuple(draw(st.lists(st.builds(Bandwidth, _token, st.integers(0, 10**6))))),
        rtpmaps=rtpmaps,
        fmtps=fmtps,
        ptime=draw(st.none() | st.integers(1, 200)),
        maxptime=draw(st.none() | st.integers(1, 200)),
        direction=draw(st.none() | st.sampled_from(Direction)),
        rtcp=draw(st.none() | rtcp),
        rtcp_mux=draw(st.booleans()),
        attributes=tuple(draw(st.lists(_attribute, max_size=5))),
    )


_session = st.builds(
    SessionDescription,
    origin=st.builds(
        Origin,
        _token,
        st.integers(0, 2**64).map(str),
        st.integers(0, 2**64),
        _token,
        st.sampled_from(AddressType),
    ),
    name=_text.filter(bool),
    info=st.none() | _text,
    connection=_connection,
    timings=st.lists(
        st.builds(Timing, st.integers(0, 2**40), st.integers(0, 2**40)), min_size=1
    ).map(tuple),
    direction=st.none() | st.sampled_from(Direction),
    attributes=st.lists(_attribute, max_size=5).map(tuple),
    media=st.lists(_media(), max_size=3).map(tuple),
)


@given(_session)
def test_any_description_survives_serialize_then_parse(sdp: SessionDescription) -> None:
    assert parse(serialize(sdp)) == sdp


@given(st.sampled_from(sorted(ALL)), st.sampled_from(["\r\n", "\n"]))
def test_captures_parse_the_same_with_either_line_ending(name: str, ending: str) -> None:
    assert parse(ALL[name].replace("\r\n", ending)) == parse(ALL[name])
