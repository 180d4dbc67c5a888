"""RFC 3264 offer/answer for one audio stream, with hold and session versions.

Theory of operation:

* Answering (RFC 3264 §6): every offered ``m=`` line gets an answer line in the same
  position. The first audio stream whose profile we speak and that shares a codec with
  us is accepted; every other stream (video, a second audio stream, audio with no common
  codec) is rejected with port 0 and the offered formats (§6). Without an accepted audio
  stream the offer fails with ``NegotiationError`` (SIP 488). The codec is the first
  common one in the offerer's order, or in ours with ``CodecPreference.LOCAL``; it keeps
  the offerer's payload type (§6.1), and so does ``telephone-event`` (RFC 4733 §7.1.1).
* Direction (§6.1): we send only if the offer receives and we want to send; we receive
  only if the offer sends and we want to receive. An offer with ``c=0.0.0.0`` is the
  RFC 2543 hold of §8.4: the offerer receives nothing.
* Offering (§5) lists our codecs in our order, then ``telephone-event``. Processing the
  answer (§7) takes the first answered codec that we offered and the answerer's PTs.
* Hold and resume (§8.4, RFC 6337 §5.3): the re-offer is our last SDP with each active
  stream's receive half removed (sendrecv -> sendonly, recvonly -> inactive), or
  ``inactive`` on request; resume offers sendrecv again.
* ``LocalSession`` owns the ``o=`` line (RFC 3264 §5, §8; RFC 8866 §5.2): the version
  goes up by one for each SDP that differs from the previous one and stays the same for
  an unchanged one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from helpline.sdp.errors import NegotiationError, SdpError
from helpline.sdp.model import (
    AddressType,
    Connection,
    Direction,
    Fmtp,
    MediaDescription,
    Origin,
    RtpMap,
    SessionDescription,
    Timing,
)

TELEPHONE_EVENT = "telephone-event"
DEFAULT_PTIME = 20


class CodecPreference(Enum):
    """Whose codec order decides when several codecs are common."""

    OFFERER = "offerer"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Codec:
    """A codec we support; ``payload_type`` is the one we use in our own offers."""

    name: str
    clock_rate: int
    payload_type: int
    channels: int = 1
    fmtp: str | None = None

    def rtpmap(self, payload_type: int) -> RtpMap:
        """The ``rtpmap`` of this codec under a given payload type."""
        channels = self.channels if self.channels != 1 else None
        return RtpMap(payload_type, self.name, self.clock_rate, channels)


PCMU = Codec("PCMU", 8000, 0)
PCMA = Codec("PCMA", 8000, 8)
G722 = Codec("G722", 8000, 9)
G729 = Codec("G729", 8000, 18, fmtp="annexb=no")
OPUS = Codec("opus", 48000, 111, channels=2, fmtp="useinbandfec=1")


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalCapabilities:
    """What we can do: media address and port, codecs in preference order, DTMF, hold."""

    address: str
    port: int
    codecs: tuple[Codec, ...] = (PCMU, PCMA)
    telephone_event: bool = True
    telephone_event_pt: int = 101
    telephone_events: str = "0-16"
    ptime: int = DEFAULT_PTIME
    direction: Direction = Direction.SENDRECV
    preference: CodecPreference = CodecPreference.OFFERER
    rtcp_mux: bool = True
    protos: tuple[str, ...] = ("RTP/AVP",)

    def __post_init__(self) -> None:
        if not self.codecs:
            raise ValueError("at least one codec is needed")
        if not 0 < self.port <= 65535:
            raise ValueError(f"bad media port {self.port}")
        if not self.protos:
            raise ValueError("at least one transport profile is needed")
        pts = [c.payload_type for c in self.codecs]
        if self.telephone_event:
            pts.append(self.telephone_event_pt)
        if len(set(pts)) != len(pts):
            raise ValueError(f"payload types collide: {pts}")


@dataclass(frozen=True, slots=True)
class NegotiatedCodec:
    """The codec both sides agreed on, with the payload type to put in our RTP."""

    name: str
    payload_type: int
    clock_rate: int
    channels: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class NegotiatedMedia:
    """The outcome for the accepted audio stream, ready for the RTP layer.

    ``send``/``receive`` are from our side. ``remote_hold`` is true when the peer
    receives nothing (sendonly, inactive or ``c=0.0.0.0``): the peer has put us on hold.
    """

    index: int
    remote_address: str
    remote_port: int
    remote_rtcp_port: int
    codec: NegotiatedCodec
    telephone_event_pt: int | None
    ptime: int
    send: bool
    receive: bool
    rtcp_mux: bool
    remote_hold: bool

    @property
    def direction(self) -> Direction:
        """Our direction as an SDP attribute would state it."""
        return Direction.from_flags(send=self.send, receive=self.receive)


@dataclass(frozen=True, slots=True)
class Answer:
    """Our answer SDP and what it means for media."""

    description: SessionDescription
    media: NegotiatedMedia


class LocalSession:
    """Our side of one SDP session: the ``o=`` line and the last SDP we sent.

    ``stamp`` gives each outgoing SDP our origin; the session version increases by one
    whenever the SDP differs from the previous one (RFC 3264 §8).
    """

    __slots__ = ("_last", "_version", "address", "name", "session_id", "username")

    def __init__(
        self,
        *,
        session_id: int,
        address: str,
        username: str = "-",
        version: int | None = None,
        name: str = "-",
    ) -> None:
        if session_id < 0 or (version is not None and version < 0):
            raise ValueError("session id and version must not be negative")
        self.session_id = session_id
        self.address = address
        self.username = username
        self.name = name
        self._version = session_id if version is None else version
        self._last: SessionDescription | None = None

    @property
    def version(self) -> int:
        """The session version of the last stamped SDP (or of the next one)."""
        return self._version

    @property
    def last(self) -> SessionDescription | None:
        """The last SDP we stamped (offer or answer), None before the first."""
        return self._last

    def _origin(self) -> Origin:
        return Origin(
            self.username,
            str(self.session_id),
            self._version,
            self.address,
            AddressType.of(self.address),
        )

    def stamp(self, sdp: SessionDescription) -> SessionDescription:
        """``sdp`` with our origin and session name; bumps the version if it changed."""
        if self._last is not None:
            if replace(sdp, origin=self._last.origin, name=self.name) == self._last:
                return self._last
            self._version += 1
        self._last = replace(sdp, origin=self._origin(), name=self.name)
        return self._last


def is_unchanged(previous: SessionDescription, current: SessionDescription) -> bool:
    """True if ``current`` repeats ``previous``: same origin and same version (§8)."""
    return previous.origin == current.origin


def is_hold(sdp: SessionDescription) -> bool:
    """True if the writer of ``sdp`` receives no audio: it puts its peer on hold.

    Covers sendonly and inactive (RFC 3264 §8.4, RFC 6337 §5.3) and the older
    ``c=0.0.0.0`` (RFC 2543).
    """
    active = [m for m in sdp.media if m.media == "audio" and not m.is_rejected]
    return bool(active) and all(not _peer_receives(sdp, m) for m in active)


def _peer_receives(sdp: SessionDescription, media: MediaDescription) -> bool:
    connection = sdp.connection_of(media)
    null = connection is None or connection.is_null
    return sdp.direction_of(media).receives and not null


@dataclass(frozen=True, slots=True)
class _Match:
    codec: Codec
    offered: RtpMap


@dataclass(frozen=True, slots=True)
class _Accepted:
    answer: MediaDescription
    negotiated: NegotiatedMedia


def _offered_maps(media: MediaDescription) -> Iterable[RtpMap]:
    for pt in media.payload_types:
        rtpmap = media.rtpmap(pt)
        if rtpmap is not None:
            yield rtpmap


def _choose(media: MediaDescription, local: LocalCapabilities) -> _Match | None:
    offered = list(_offered_maps(media))
    pairs = [(c, m) for m in offered for c in local.codecs]
    if local.preference is CodecPreference.LOCAL:
        pairs = [(c, m) for c in local.codecs for m in offered]
    for codec, rtpmap in pairs:
        if rtpmap.matches(codec.name, codec.clock_rate, codec.channels):
            return _Match(codec, rtpmap)
    return None


def _telephone_event(media: MediaDescription, clock_rate: int) -> RtpMap | None:
    events = [m for m in _offered_maps(media) if m.encoding.lower() == TELEPHONE_EVENT]
    same_rate = [m for m in events if m.clock_rate == clock_rate]
    candidates = same_rate or events
    return candidates[0] if candidates else None


def _rtcp_port(media: MediaDescription, rtcp_mux: bool) -> int:
    if rtcp_mux:
        return media.port
    return media.rtcp.port if media.rtcp is not None else media.port + 1


def _remote_address(sdp: SessionDescription, media: MediaDescription) -> str:
    connection = sdp.connection_of(media)
    if connection is None:
        raise SdpError("audio stream has no connection address")
    return connection.address


def _rejected(media: MediaDescription) -> MediaDescription:
    return MediaDescription(media.media, 0, media.proto, media.formats)


def _description(local: LocalCapabilities, media: Iterable[MediaDescription]) -> SessionDescription:
    placeholder = Origin("-", "0", 0, local.address, AddressType.of(local.address))
    return SessionDescription(
        origin=placeholder,
        connection=Connection(local.address, AddressType.of(local.address)),
        timings=(Timing(),),
        media=tuple(media),
    )


def _accept(
    offer: SessionDescription, index: int, match: _Match, local: LocalCapabilities
) -> _Accepted:
    media = offer.media[index]
    offered_direction = offer.direction_of(media)
    peer_receives = _peer_receives(offer, media)
    send = local.direction.sends and peer_receives
    receive = local.direction.receives and offered_direction.sends
    ptime = media.ptime or local.ptime
    if media.maxptime is not None:
        ptime = min(ptime, media.maxptime)
    rtcp_mux = media.rtcp_mux and local.rtcp_mux
    pt = match.offered.payload_type
    rtpmaps = [match.codec.rtpmap(pt)]
    fmtps = [Fmtp(str(pt), match.codec.fmtp)] if match.codec.fmtp else []
    event = _telephone_event(media, match.offered.clock_rate) if local.telephone_event else None
    if event is not None:
        rtpmaps.append(RtpMap(event.payload_type, TELEPHONE_EVENT, event.clock_rate))
        fmtps.append(Fmtp(str(event.payload_type), local.telephone_events))
    answer = MediaDescription(
        media="audio",
        port=local.port,
        proto=media.proto,
        formats=tuple(str(m.payload_type) for m in rtpmaps),
        rtpmaps=tuple(rtpmaps),
        fmtps=tuple(fmtps),
        ptime=ptime,
        direction=Direction.from_flags(send=send, receive=receive),
        rtcp_mux=rtcp_mux,
    )
    negotiated = NegotiatedMedia(
        index=index,
        remote_address=_remote_address(offer, media),
        remote_port=media.port,
        remote_rtcp_port=_rtcp_port(media, rtcp_mux),
        codec=NegotiatedCodec(match.codec.name, pt, match.codec.clock_rate, match.codec.channels),
        telephone_event_pt=event.payload_type if event is not None else None,
        ptime=ptime,
        send=send,
        receive=receive,
        rtcp_mux=rtcp_mux,
        remote_hold=not peer_receives,
    )
    return _Accepted(answer, negotiated)


def answer_offer(
    offer: SessionDescription, local: LocalCapabilities, session: LocalSession
) -> Answer:
    """Answer a remote offer (initial or re-offer) per RFC 3264 §6.

    Raises ``NegotiationError`` (SIP 488) when no audio stream can be accepted.
    """
    answers: list[MediaDescription] = []
    negotiated: NegotiatedMedia | None = None
    for index, media in enumerate(offer.media):
        usable = media.media == "audio" and not media.is_rejected and media.proto in local.protos
        match = _choose(media, local) if usable and negotiated is None else None
        if match is None:
            answers.append(_rejected(media))
            continue
        accepted = _accept(offer, index, match, local)
        negotiated = accepted.negotiated
        answers.append(accepted.answer)
    if negotiated is None:
        raise NegotiationError("no acceptable audio stream in the offer")
    return Answer(session.stamp(_description(local, answers)), negotiated)


def build_offer(
    local: LocalCapabilities, session: LocalSession, *, direction: Direction | None = None
) -> SessionDescription:
    """Our initial offer (RFC 3264 §5): one audio stream with our codecs in our order."""
    rtpmaps = [c.rtpmap(c.payload_type) for c in local.codecs]
    fmtps = [Fmtp(str(c.payload_type), c.fmtp) for c in local.codecs if c.fmtp]
    if local.telephone_event:
        rtpmaps.append(RtpMap(local.telephone_event_pt, TELEPHONE_EVENT, 8000))
        fmtps.append(Fmtp(str(local.telephone_event_pt), local.telephone_events))
    audio = MediaDescription(
        media="audio",
        port=local.port,
        proto=local.protos[0],
        formats=tuple(str(m.payload_type) for m in rtpmaps),
        rtpmaps=tuple(rtpmaps),
        fmtps=tuple(fmtps),
        ptime=local.ptime,
        direction=direction or local.direction,
        rtcp_mux=local.rtcp_mux,
    )
    return session.stamp(_description(local, [audio]))


def process_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedMedia:
    """Read the answer to our ``offer`` (RFC 3264 §7) into the negotiated audio stream.

    The codec is the first one the answer lists that we offered, under the answerer's
    payload type. Raises ``NegotiationError`` if the answer does not match the offer
    or accepts no audio stream.
    """
    if len(answer.media) != len(offer.media):
        raise NegotiationError("answer and offer have different numbers of m= lines")
    for index, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=True)):
        if ours.media != "audio" or ours.is_rejected or theirs.is_rejected:
            continue
        if theirs.media != ours.media or theirs.proto != ours.proto:
            raise NegotiationError(f"answer m= line #{index} does not match the offer")
        codec = _answered_codec(ours, theirs)
        if codec is None:
            raise NegotiationError("the answer accepts none of the codecs we offered")
        event = None
        if _telephone_event(ours, codec.clock_rate) is not None:
            event = _telephone_event(theirs, codec.clock_rate)
        rtcp_mux = ours.rtcp_mux and theirs.rtcp_mux
        peer_receives = _peer_receives(answer, theirs)
        ptime = theirs.ptime or ours.ptime or DEFAULT_PTIME
        return NegotiatedMedia(
            index=index,
            remote_address=_remote_address(answer, theirs),
            remote_port=theirs.port,
            remote_rtcp_port=_rtcp_port(theirs, rtcp_mux),
            codec=codec,
            telephone_event_pt=event.payload_type if event is not None else None,
            ptime=ptime,
            send=offer.direction_of(ours).sends and peer_receives,
            receive=offer.direction_of(ours).receives and answer.direction_of(theirs).sends,
            rtcp_mux=rtcp_mux,
            remote_hold=not peer_receives,
        )
    raise NegotiationError("the answer accepts no audio stream")


def _answered_codec(ours: MediaDescription, theirs: MediaDescription) -> NegotiatedCodec | None:
    offered = [m for m in _offered_maps(ours) if m.encoding.lower() != TELEPHONE_EVENT]
    for rtpmap in _offered_maps(theirs):
        channels = rtpmap.channels or 1
        if any(o.matches(rtpmap.encoding, rtpmap.clock_rate, channels) for o in offered):
            return NegotiatedCodec(
                rtpmap.encoding, rtpmap.payload_type, rtpmap.clock_rate, channels
            )
    return None


def _redirect(session: LocalSession, hold: bool, inactive: bool) -> SessionDescription:
    last = session.last
    if last is None:
        raise ValueError("no SDP has been exchanged yet")
    media = []
    for m in last.media:
        if not m.is_rejected:
            current = last.direction_of(m)
            if hold:
                send = current.sends and not inactive
                m = replace(m, direction=Direction.from_flags(send=send, receive=False))
            else:
                m = replace(m, direction=Direction.SENDRECV)
        media.append(m)
    return session.stamp(replace(last, direction=None, media=tuple(media)))


def hold_offer(session: LocalSession, *, inactive: bool = False) -> SessionDescription:
    """A re-offer putting the peer on hold (RFC 3264 §8.4, RFC 6337 §5.3).

    Based on our last SDP: sendrecv becomes sendonly (we may still play music on
    hold), recvonly becomes inactive; ``inactive=True`` asks for inactive outright.
    """
    return _redirect(session, hold=True, inactive=inactive)


def resume_offer(session: LocalSession) -> SessionDescription:
    """A re-offer taking the peer off hold: every active stream offered sendrecv."""
    return _redirect(session, hold=False, inactive=False)
