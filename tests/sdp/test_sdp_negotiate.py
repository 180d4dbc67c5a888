"""RFC 3264 offer/answer: codec choice, DTMF, rejected streams, hold and session versions."""

from __future__ import annotations

import pytest

from helpline.sdp import (
    G722,
    PCMA,
    PCMU,
    Codec,
    CodecPreference,
    Connection,
    Direction,
    LocalCapabilities,
    LocalSession,
    NegotiatedCodec,
    NegotiationError,
    SessionDescription,
    answer_offer,
    build_offer,
    hold_offer,
    is_hold,
    is_unchanged,
    parse,
    process_answer,
    resume_offer,
    serialize,
)
from tests.sdp.sdp_captures import (
    ASTERISK_OFFER,
    BARESIP_OFFER,
    CHROME_OFFER,
    FREESWITCH_OFFER,
    SIPP_OFFER,
)

LOCAL = LocalCapabilities(address="192.0.2.50", port=20000)


def _session() -> LocalSession:
    return LocalSession(session_id=1000, address="192.0.2.50", username="helpline")


def _offer(formats: str, *extra: str, head: str = "") -> SessionDescription:
    lines = [
        "v=0",
        "o=peer 1 1 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        head,
        f"m=audio 30000 RTP/AVP {formats}",
        *extra,
    ]
    return parse("\r\n".join(line for line in lines if line) + "\r\n")


def test_pcmu_only_offer_is_answered_with_pcmu() -> None:
    answer = answer_offer(_offer("0"), LOCAL, _session())
    assert answer.media.codec == NegotiatedCodec("PCMU", 0, 8000)
    assert answer.media.telephone_event_pt is None
    (audio,) = answer.description.media
    assert audio.formats == ("0",)
    assert audio.port == 20000
    assert answer.description.connection == Connection("192.0.2.50")


def test_pcma_only_offer_is_answered_with_pcma() -> None:
    answer = answer_offer(_offer("8"), LOCAL, _session())
    assert answer.media.codec == NegotiatedCodec("PCMA", 8, 8000)


@pytest.mark.parametrize(("formats", "chosen"), [("0 8", "PCMU"), ("8 0", "PCMA")])
def test_offerer_order_decides_by_default(formats: str, chosen: str) -> None:
    assert answer_offer(_offer(formats), LOCAL, _session()).media.codec.name == chosen


@pytest.mark.parametrize("formats", ["0 8", "8 0"])
def test_local_preference_picks_our_first_common_codec(formats: str) -> None:
    local = LocalCapabilities(
        address="192.0.2.50", port=20000, codecs=(PCMA, PCMU), preference=CodecPreference.LOCAL
    )
    assert answer_offer(_offer(formats), local, _session()).media.codec.name == "PCMA"


@pytest.mark.parametrize("pt", [96, 101])
def test_answer_keeps_the_offered_telephone_event_payload_type(pt: int) -> None:
    offer = _offer(f"0 {pt}", f"a=rtpmap:{pt} telephone-event/8000", f"a=fmtp:{pt} 0-15")
    answer = answer_offer(offer, LOCAL, _session())
    assert answer.media.telephone_event_pt == pt
    audio = answer.description.media[0]
    assert audio.formats == ("0", str(pt))
    rtpmap = audio.rtpmap(pt)
    assert rtpmap is not None
    assert rtpmap.encoding == "telephone-event"
    assert audio.fmtp(pt) is not None


def test_no_telephone_event_in_answer_when_we_disable_it() -> None:
    local = LocalCapabilities(address="192.0.2.50", port=20000, telephone_event=False)
    answer = answer_offer(_offer("0 101", "a=rtpmap:101 telephone-event/8000"), local, _session())
    assert answer.media.telephone_event_pt is None
    assert answer.description.media[0].formats == ("0",)


def test_no_common_codec_raises_488() -> None:
    offer = _offer("18 111", "a=rtpmap:111 opus/48000/2")
    with pytest.raises(NegotiationError) as info:
        answer_offer(offer, LOCAL, _session())
    assert info.value.status_code == 488


def test_offer_without_any_audio_raises_488() -> None:
    offer = parse(
        "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n"
        "m=video 30002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
    )
    with pytest.raises(NegotiationError):
        answer_offer(offer, LOCAL, _session())


def test_video_is_rejected_with_port_zero_and_its_formats_while_audio_is_accepted() -> None:
    offer = parse(
        serialize(_offer("0"))
        + "m=video 30002 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\n"
    )
    answer = answer_offer(offer, LOCAL, _session())
    audio, video = answer.description.media
    assert audio.port == 20000
    assert (video.media, video.port, video.proto, video.formats) == (
        "video",
        0,
        "RTP/AVP",
        ("96", "97"),
    )
    assert parse(serialize(answer.description)) == answer.description


def test_audio_without_common_codec_is_rejected_when_a_later_audio_stream_is_accepted() -> None:
    offer = parse(serialize(_offer("18")) + "m=audio 30004 RTP/AVP 8\r\n")
    answer = answer_offer(offer, LOCAL, _session())
    first, second = answer.description.media
    assert (first.port, first.formats) == (0, ("18",))
    assert second.port == 20000
    assert answer.media.index == 1
    assert answer.media.remote_port == 30004


def test_webrtc_offer_is_refused_when_we_only_speak_plain_rtp() -> None:
    with pytest.raises(NegotiationError):
        answer_offer(parse(CHROME_OFFER), LOCAL, _session())


def test_sipp_offer_gives_remote_address_port_and_dtmf() -> None:
    media = answer_offer(parse(SIPP_OFFER), LOCAL, _session()).media
    assert (media.remote_address, media.remote_port, media.remote_rtcp_port) == (
        "127.0.0.1",
        6000,
        6001,
    )
    assert media.codec.name == "PCMU"
    assert media.telephone_event_pt == 96
    assert (media.send, media.receive, media.remote_hold) == (True, True, False)
    assert media.direction is Direction.SENDRECV
    assert not media.rtcp_mux


def test_baresip_offer_gets_pcmu_and_rtcp_mux_or_g722_when_we_support_it() -> None:
    plain = answer_offer(parse(BARESIP_OFFER), LOCAL, _session())
    assert plain.media.codec == NegotiatedCodec("PCMU", 0, 8000)
    assert plain.media.rtcp_mux
    assert plain.media.remote_rtcp_port == 10442
    assert plain.description.media[0].rtcp_mux
    wideband = LocalCapabilities(address="192.0.2.50", port=20000, codecs=(PCMU, PCMA, G722))
    assert answer_offer(parse(BARESIP_OFFER), wideband, _session()).media.codec.name == "G722"


def test_opus_is_matched_with_its_channel_count() -> None:
    opus = Codec("opus", 48000, 111, channels=2)
    local = LocalCapabilities(address="192.0.2.50", port=20000, codecs=(opus, PCMU))
    answer = answer_offer(parse(BARESIP_OFFER), local, _session())
    assert answer.media.codec == NegotiatedCodec("opus", 111, 48000, 2)
    assert answer.media.telephone_event_pt == 101


def test_static_payload_types_negotiate_without_rtpmap_and_rtcp_attribute_is_used() -> None:
    media = answer_offer(parse(FREESWITCH_OFFER), LOCAL, _session()).media
    assert media.codec.name == "PCMU"
    assert media.remote_rtcp_port == 24581


def test_offered_ptime_is_echoed_and_default_is_20() -> None:
    assert answer_offer(_offer("0", "a=ptime:30"), LOCAL, _session()).media.ptime == 30
    answer = answer_offer(_offer("0"), LOCAL, _session())
    assert answer.media.ptime == 20
    assert answer.description.media[0].ptime == 20
    assert answer_offer(_offer("0", "a=maxptime:10"), LOCAL, _session()).media.ptime == 10


@pytest.mark.parametrize(
    ("offered", "answered", "send", "receive"),
    [
        ("sendrecv", Direction.SENDRECV, True, True),
        ("sendonly", Direction.RECVONLY, False, True),
        ("recvonly", Direction.SENDONLY, True, False),
        ("inactive", Direction.INACTIVE, False, False),
    ],
)
def test_answer_direction_follows_rfc3264_section_6_1(
    offered: str, answered: Direction, send: bool, receive: bool
) -> None:
    answer = answer_offer(_offer("0", f"a={offered}"), LOCAL, _session())
    assert answer.description.media[0].direction is answered
    assert (answer.media.send, answer.media.receive) == (send, receive)


def test_session_level_sendonly_is_remote_hold_answered_recvonly() -> None:
    answer = answer_offer(_offer("0", head="a=sendonly"), LOCAL, _session())
    assert answer.description.media[0].direction is Direction.RECVONLY
    assert answer.media.remote_hold


def test_our_own_hold_wish_combines_with_the_offered_direction() -> None:
    holding = LocalCapabilities(address="192.0.2.50", port=20000, direction=Direction.SENDONLY)
    answer = answer_offer(_offer("0"), holding, _session())
    assert answer.description.media[0].direction is Direction.SENDONLY
    answer = answer_offer(_offer("0", "a=sendonly"), holding, _session())
    assert answer.description.media[0].direction is Direction.INACTIVE


def test_old_style_hold_with_null_address_is_detected_and_we_stop_sending() -> None:
    offer = parse(serialize(_offer("0")).replace("c=IN IP4 198.51.100.1", "c=IN IP4 0.0.0.0"))
    assert is_hold(offer)
    answer = answer_offer(offer, LOCAL, _session())
    assert answer.media.remote_hold
    assert not answer.media.send
    assert answer.media.receive
    assert answer.description.media[0].direction is Direction.RECVONLY


def test_is_hold_is_false_for_an_active_offer() -> None:
    assert not is_hold(parse(ASTERISK_OFFER))
    assert is_hold(_offer("0", "a=inactive"))


def test_initial_offer_lists_our_codecs_in_order_then_telephone_event() -> None:
    offer = build_offer(LOCAL, _session())
    (audio,) = offer.media
    assert audio.formats == ("0", "8", "101")
    assert audio.rtpmap(101) is not None
    assert audio.direction is Direction.SENDRECV
    assert audio.ptime == 20
    assert offer.origin.username == "helpline"
    assert offer.origin.session_version == 1000
    assert parse(serialize(offer)) == offer


def _answer_to(body: str) -> SessionDescription:
    """A peer's answer: ``body`` holds its media lines."""
    return parse(
        "v=0\r\no=peer 5 5 IN IP4 198.51.100.9\r\ns=-\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\n" + body
    )


def test_processing_an_answer_picks_its_first_codec_that_we_offered() -> None:
    offer = build_offer(LOCAL, _session())
    answer = _answer_to(
        "m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n",
    )
    media = process_answer(offer, answer)
    assert media.codec == NegotiatedCodec("PCMA", 8, 8000)
    assert media.telephone_event_pt == 101
    assert (media.remote_address, media.remote_port) == ("198.51.100.9", 40000)
    assert media.ptime == 30
    assert (media.send, media.receive) == (True, True)


def test_processing_an_answer_skips_codecs_we_did_not_offer() -> None:
    offer = build_offer(LOCAL, _session())
    media = process_answer(offer, _answer_to("m=audio 40000 RTP/AVP 18 0\r\n"))
    assert media.codec.name == "PCMU"
    assert media.telephone_event_pt is None


def test_answer_with_only_unoffered_codecs_raises() -> None:
    offer = build_offer(LOCAL, _session())
    with pytest.raises(NegotiationError, match="none of the codecs"):
        process_answer(offer, _answer_to("m=audio 40000 RTP/AVP 18\r\n"))


def test_answer_rejecting_audio_or_changing_m_line_count_raises() -> None:
    offer = build_offer(LOCAL, _session())
    with pytest.raises(NegotiationError, match="no audio"):
        process_answer(offer, _answer_to("m=audio 0 RTP/AVP 0\r\n"))
    with pytest.raises(NegotiationError, match="numbers of m= lines"):
        process_answer(offer, _answer_to("m=audio 1 RTP/AVP 0\r\nm=audio 2 RTP/AVP 0\r\n"))


def test_answer_direction_recvonly_to_our_sendrecv_means_we_only_send() -> None:
    offer = build_offer(LOCAL, _session())
    media = process_answer(offer, _answer_to("m=audio 40000 RTP/AVP 0\r\na=recvonly\r\n"))
    assert (media.send, media.receive, media.remote_hold) == (True, False, False)


def test_hold_reoffers_sendonly_with_a_new_version_and_resume_offers_sendrecv() -> None:
    session = _session()
    first = build_offer(LOCAL, session)
    held = hold_offer(session)
    assert held.media[0].direction is Direction.SENDONLY
    assert held.origin.session_version == first.origin.session_version + 1
    assert held.origin.session_id == first.origin.session_id
    answer = _answer_to("m=audio 40000 RTP/AVP 0\r\na=recvonly\r\n")
    media = process_answer(held, answer)
    assert (media.send, media.receive) == (True, False)
    resumed = resume_offer(session)
    assert resumed.media[0].direction is Direction.SENDRECV
    assert resumed.origin.session_version == first.origin.session_version + 2


def test_hold_when_peer_already_holds_us_offers_inactive() -> None:
    session = _session()
    answer_offer(_offer("0", "a=sendonly"), LOCAL, session)
    assert hold_offer(session).media[0].direction is Direction.INACTIVE


def test_hold_can_ask_for_inactive_and_keeps_rejected_streams() -> None:
    session = _session()
    offer = parse(serialize(_offer("0")) + "m=video 30002 RTP/AVP 96\r\n")
    answer_offer(offer, LOCAL, session)
    held = hold_offer(session, inactive=True)
    assert held.media[0].direction is Direction.INACTIVE
    assert held.media[1].port == 0
    assert held.media[1].direction is None


def test_unchanged_sdp_keeps_its_version_and_changed_sdp_increments_it() -> None:
    session = _session()
    first = answer_offer(_offer("0"), LOCAL, session).description
    again = answer_offer(_offer("0"), LOCAL, session).description
    assert again.origin.session_version == first.origin.session_version
    assert is_unchanged(first, again)
    changed = answer_offer(_offer("8"), LOCAL, session).description
    assert changed.origin.session_version == first.origin.session_version + 1
    assert not is_unchanged(first, changed)
    hold_offer(session)
    assert hold_offer(session).origin.session_version == session.version


def test_hold_before_any_sdp_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no SDP"):
        hold_offer(_session())


def test_capabilities_reject_colliding_payload_types() -> None:
    with pytest.raises(ValueError, match="collide"):
        LocalCapabilities(address="h", port=1, telephone_event_pt=0)
