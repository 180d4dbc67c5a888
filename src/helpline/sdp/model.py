"""The SDP data model: immutable values for one session description.

Theory of operation: a session description (RFC 8866 §5, formerly RFC 4566) is a
session part followed by zero or more media descriptions, each opened by an ``m=`` line.
The lines the offer/answer model (RFC 3264) and RTP need are typed here: origin (§5.2),
connection data (§5.7), bandwidth (§5.8), timing (§5.9), media (§5.14), and the
attributes ``rtpmap``, ``fmtp``, ``ptime``, ``maxptime`` (§6.4-6.6, §6.15), the direction
attributes (§6.7) and ``rtcp`` / ``rtcp-mux`` (RFC 3605, RFC 5761). Every other
attribute (ICE, DTLS, ``ssrc``, ``mid``...) is kept as an opaque ``Attribute`` in its
original order, so that ``serialize(parse(x))`` keeps the meaning of ``x``.

Direction is resolved as RFC 8866 §6.7 says: a media-level attribute overrides the
session-level one, and the default is ``sendrecv``. Payload types without ``rtpmap`` are
looked up in the static table of RFC 3551 §6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType


class Direction(Enum):
    """The media direction attribute, seen from the side that wrote the SDP."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        """True if the writer of the SDP sends media."""
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        """True if the writer of the SDP wants to receive media."""
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def from_flags(cls, *, send: bool, receive: bool) -> Direction:
        """The direction whose ``sends``/``receives`` are the given flags."""
        if send:
            return cls.SENDRECV if receive else cls.SENDONLY
        return cls.RECVONLY if receive else cls.INACTIVE

    def reversed(self) -> Direction:
        """The same stream seen from the other side (sendonly <-> recvonly)."""
        return Direction.from_flags(send=self.receives, receive=self.sends)


class AddressType(Enum):
    """The address type of ``c=``, ``o=`` and ``a=rtcp`` (network type is always IN)."""

    IP4 = "IP4"
    IP6 = "IP6"

    @classmethod
    def of(cls, address: str) -> AddressType:
        """IP6 for an address with a colon, else IP4 (FQDNs count as IP4)."""
        return cls.IP6 if ":" in address else cls.IP4


NULL_ADDRESSES = frozenset({"0.0.0.0", "::"})


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=IN <addrtype> <address>``; ``address`` keeps any multicast ``/ttl/count``."""

    address: str
    address_type: AddressType = AddressType.IP4

    @property
    def is_null(self) -> bool:
        """True for 0.0.0.0 (or ::): RFC 2543 style hold, RFC 3264 §8.4."""
        return self.address.split("/", 1)[0] in NULL_ADDRESSES


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> IN <addrtype> <address>`` (RFC 8866 §5.2)."""

    username: str
    session_id: str
    session_version: int
    address: str
    address_type: AddressType = AddressType.IP4


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (RFC 8866 §5.8), e.g. ``AS`` in kbit/s."""

    bwtype: str
    bandwidth: int


@dataclass(frozen=True, slots=True)
class Timing:
    """``t=<start> <stop>`` with its ``r=`` repeat lines kept as text (RFC 8866 §5.9-5.10)."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Attribute:
    """An opaque ``a=<name>[:<value>]``; ``value`` None is a property attribute."""

    name: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`` (RFC 8866 §6.6)."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    def matches(self, encoding: str, clock_rate: int, channels: int = 1) -> bool:
        """Same codec: encoding names compare case-insensitively, channels default 1."""
        return (
            self.encoding.lower() == encoding.lower()
            and self.clock_rate == clock_rate
            and (self.channels or 1) == channels
        )


@dataclass(frozen=True, slots=True)
class Fmtp:
    """``a=fmtp:<format> <parameters>`` with the parameters kept as written (§6.15)."""

    format: str
    parameters: str

    @property
    def parameter_map(self) -> Mapping[str, str]:
        """``key=value;...`` parameters as a mapping; bare tokens map to ``""``."""
        result: dict[str, str] = {}
        for item in self.parameters.split(";"):
            key, _, value = item.strip().partition("=")
            if key:
                result[key.strip()] = value.strip()
        return result


@dataclass(frozen=True, slots=True)
class Rtcp:
    """``a=rtcp:<port> [IN <addrtype> <address>]`` (RFC 3605)."""

    port: int
    connection: Connection | None = None


def _static(*maps: RtpMap) -> Mapping[int, RtpMap]:
    return MappingProxyType({m.payload_type: m for m in maps})


STATIC_PAYLOAD_TYPES: Mapping[int, RtpMap] = _static(
    RtpMap(0, "PCMU", 8000),
    RtpMap(3, "GSM", 8000),
    RtpMap(4, "G723", 8000),
    RtpMap(5, "DVI4", 8000),
    RtpMap(6, "DVI4", 16000),
    RtpMap(7, "LPC", 8000),
    RtpMap(8, "PCMA", 8000),
    RtpMap(9, "G722", 8000),
    RtpMap(10, "L16", 44100, 2),
    RtpMap(11, "L16", 44100),
    RtpMap(12, "QCELP", 8000),
    RtpMap(13, "CN", 8000),
    RtpMap(14, "MPA", 90000),
    RtpMap(15, "G728", 8000),
    RtpMap(16, "DVI4", 11025),
    RtpMap(17, "DVI4", 22050),
    RtpMap(18, "G729", 8000),
    RtpMap(26, "JPEG", 90000),
    RtpMap(31, "H261", 90000),
    RtpMap(32, "MPV", 90000),
    RtpMap(33, "MP2T", 90000),
    RtpMap(34, "H263", 90000),
)
"""RFC 3551 §6 payload types usable without an ``rtpmap`` (G722 is 8000 by §4.5.2)."""


def is_rtp(proto: str) -> bool:
    """True for RTP profiles (RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF...): formats are PTs."""
    return "RTP/" in proto.upper()


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section with its typed and opaque lines (RFC 8866 §5.14)."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    title: str | None = None
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    key: str | None = None
    rtpmaps: tuple[RtpMap, ...] = ()
    fmtps: tuple[Fmtp, ...] = ()
    ptime: int | None = None
    maxptime: int | None = None
    direction: Direction | None = None
    rtcp: Rtcp | None = None
    rtcp_mux: bool = False
    attributes: tuple[Attribute, ...] = ()

    @property
    def is_rejected(self) -> bool:
        """Port 0: the stream is rejected or removed (RFC 3264 §6, §8.2)."""
        return self.port == 0

    @property
    def payload_types(self) -> tuple[int, ...]:
        """The formats as RTP payload type numbers (empty for non-RTP media)."""
        if not is_rtp(self.proto):
            return ()
        return tuple(int(f) for f in self.formats)

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The explicit ``rtpmap`` for a payload type, else its static RFC 3551 mapping."""
        for rtpmap in self.rtpmaps:
            if rtpmap.payload_type == payload_type:
                return rtpmap
        return STATIC_PAYLOAD_TYPES.get(payload_type)

    def fmtp(self, fmt: str | int) -> Fmtp | None:
        """The ``fmtp`` line of a format, if any."""
        for fmtp in self.fmtps:
            if fmtp.format == str(fmt):
                return fmtp
        return None

    def attribute_values(self, name: str) -> tuple[str | None, ...]:
        """The values of every opaque attribute called ``name``, in order."""
        return tuple(a.value for a in self.attributes if a.name == name)


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole SDP body: session-level lines and the media descriptions in order."""

    origin: Origin
    name: str = "-"
    info: str | None = None
    uri: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    timings: tuple[Timing, ...] = (Timing(),)
    zone: str | None = None
    key: str | None = None
    direction: Direction | None = None
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    version: int = 0

    def direction_of(self, media: MediaDescription) -> Direction:
        """Effective direction: media level, else session level, else sendrecv (§6.7)."""
        return media.direction or self.direction or Direction.SENDRECV

    def connection_of(self, media: MediaDescription) -> Connection | None:
        """Effective connection: media-level ``c=`` overrides the session one (§5.7)."""
        return media.connection or self.connection

    def attribute_values(self, name: str) -> tuple[str | None, ...]:
        """The values of every opaque session-level attribute called ``name``, in order."""
        return tuple(a.value for a in self.attributes if a.name == name)
