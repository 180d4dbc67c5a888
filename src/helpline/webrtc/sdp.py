"""Recognising and adjusting the SDP of WebRTC peers, without I/O.

Theory of operation
-------------------
* A browser's audio is RTP over ICE (RFC 8445, SDP in RFC 8839) and DTLS-SRTP (RFC 5763,
  RFC 5764), negotiated with the ``UDP/TLS/RTP/SAVPF`` profile (RFC 8829 §5.1.2; older
  stacks write ``RTP/SAVPF``). :func:`is_webrtc` says whether an SDP is of that kind:
  its first active audio stream uses a secure profile *and* carries both a DTLS
  ``a=fingerprint`` and ICE credentials (``a=ice-ufrag``), at media or session level.
  Plain SIP phones offer ``RTP/AVP``; a phone offering SDES-SRTP (``RTP/SAVP`` with
  ``a=crypto`` but no fingerprint) is not WebRTC and stays with call control's own
  offer/answer.
* A phone registered over SIP-over-WebSocket (RFC 7118) is a browser: calls to it are
  offered WebRTC SDP (:func:`is_browser_transport`).
* A browser's re-INVITE (hold, resume) keeps ICE and DTLS as they are, so the answer is
  our previous WebRTC SDP with a new session version and the direction that answers the
  offer (RFC 3264 §6.1): :func:`reanswer`. :func:`directions` gives which way media may
  flow after such an offer, for the media endpoint behind the gateway.
* Our own re-offer on such a leg (the agent holds or resumes a browser caller, RFC 3264
  §8.4) is built the same way: our previous WebRTC SDP, a new session version, and
  ``a=sendonly`` (hold) or ``a=sendrecv`` (resume): :func:`reoffer`. The browser's
  answer says which way media flows then (:func:`answer_directions`).
"""

from __future__ import annotations

from dataclasses import replace

from helpline.sdp import Attribute, Direction, MediaDescription, SdpError, SessionDescription
from helpline.sdp import parse as parse_sdp

SECURE_PROFILES = frozenset({"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP", "RTP/SAVPF"})
"""Profiles of DTLS-SRTP audio (RFC 5764 §8, RFC 8829 §5.1.2)."""

BROWSER_TRANSPORTS = frozenset({"WS", "WSS"})
"""SIP transports only browsers register over (RFC 7118)."""


def _has(name: str, sdp: SessionDescription, media: MediaDescription) -> bool:
    return any(a.name == name for a in media.attributes) or any(
        a.name == name for a in sdp.attributes
    )


def _audio(sdp: SessionDescription) -> MediaDescription | None:
    return next((m for m in sdp.media if m.media == "audio" and m.port != 0), None)


def is_webrtc(sdp: SessionDescription) -> bool:
    """True if the first active audio stream is WebRTC: a DTLS-SRTP profile with a
    fingerprint and ICE credentials."""
    audio = _audio(sdp)
    if audio is None or audio.proto.upper() not in SECURE_PROFILES:
        return False
    return _has("fingerprint", sdp, audio) and _has("ice-ufrag", sdp, audio)


def is_webrtc_body(body: bytes) -> bool:
    """:func:`is_webrtc` for a message body; False for an empty or malformed one."""
    if not body:
        return False
    try:
        return is_webrtc(parse_sdp(body))
    except SdpError:
        return False


def is_browser_transport(transport: str) -> bool:
    """True if a contact registered over this SIP transport is a browser."""
    return transport.upper() in BROWSER_TRANSPORTS


def offer_direction(offer: SessionDescription) -> Direction:
    """The direction of the offer's first active audio stream (sendrecv by default;
    ``inactive`` when there is none)."""
    audio = _audio(offer)
    if audio is None:
        return Direction.INACTIVE
    return audio.direction or offer.direction or Direction.SENDRECV


def directions(offer: SessionDescription) -> tuple[bool, bool]:
    """``(send, receive)`` from our side after answering ``offer``: we send if the
    offerer receives, and receive if it sends (RFC 3264 §6.1)."""
    theirs = offer_direction(offer)
    return theirs.receives, theirs.sends


def reanswer(previous: SessionDescription, offer: SessionDescription) -> SessionDescription:
    """Answer a re-offer on an established WebRTC leg: ``previous`` (our last SDP on the
    leg) with the session version up by one and every active stream's direction the
    reverse of the offer's (ICE and DTLS parameters unchanged)."""
    return reoffer(previous, offer_direction(offer).reversed())


def answer_directions(answer: SessionDescription) -> tuple[bool, bool]:
    """``(send, receive)`` from our side after the browser answered our re-offer with
    ``answer``: we send if it receives, and receive if it sends."""
    theirs = offer_direction(answer)
    return theirs.receives, theirs.sends


def reoffer(previous: SessionDescription, direction: Direction) -> SessionDescription:
    """A new description on an established WebRTC leg: ``previous`` (our last SDP on the
    leg) with the session version up by one and every active stream's direction
    ``direction`` (ICE and DTLS parameters unchanged)."""
    media = tuple(
        m if m.port == 0 else replace(m, direction=direction, attributes=_without_direction(m))
        for m in previous.media
    )
    origin = replace(previous.origin, session_version=previous.origin.session_version + 1)
    return replace(previous, origin=origin, media=media, direction=None)


def _without_direction(media: MediaDescription) -> tuple[Attribute, ...]:
    names = {d.value for d in Direction}
    return tuple(a for a in media.attributes if a.name not in names)
