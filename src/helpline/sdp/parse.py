"""SDP text <-> ``SessionDescription``.

Theory of operation: an SDP body is ``<type>=<value>`` lines (RFC 8866 §5). The parser
accepts CRLF or bare LF, ignores blank lines and trailing whitespace, splits the body at
each ``m=`` into the session part and media sections (§5.14), and types the lines the
model knows. It is liberal where real peers deviate harmlessly (session-level lines out
of order, a missing ``s=`` or ``t=`` get the defaults ``-`` and ``0 0``) and strict where
meaning is at stake: an unknown line type (§5: a parser MUST reject it), a bad number,
a duplicated single-valued line or attribute, an RTP format that is not a payload type,
or an active stream with no connection address (§5.7) raises ``SdpError``.

``rtpmap`` and ``fmtp`` lines are kept in the order of the ``m=`` formats. The
serializer writes CRLF line endings and the canonical order of RFC 8866 §5: session
lines, then for each medium ``m i c b k`` and its attributes (``rtpmap``/``fmtp`` pairs,
``ptime``, ``maxptime``, ``rtcp``, ``rtcp-mux``, direction, then the opaque ones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from helpline.sdp.errors import SdpError
from helpline.sdp.model import (
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
    SessionDescription,
    Timing,
    is_rtp,
)

__all__ = ["parse", "serialize", "serialize_bytes"]

_DIRECTIONS = {d.value: d for d in Direction}
_SESSION_ONCE = frozenset("vosiuczk")
_MEDIA_ONCE = frozenset("mick")


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    kind: str
    value: str


def parse(data: str | bytes) -> SessionDescription:
    """Parse an SDP body (str, or UTF-8 bytes as carried in a SIP message).

    Raises ``SdpError`` (SIP 400) when the body is malformed.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SdpError("SDP is not valid UTF-8") from exc
    lines = list(_split_lines(data))
    if not lines:
        raise SdpError("empty SDP")
    if lines[0].kind != "v":
        raise SdpError("SDP must start with v=", line=lines[0].number)
    blocks: list[list[_Line]] = [[]]
    for line in lines:
        if line.kind == "m":
            blocks.append([])
        blocks[-1].append(line)
    media = tuple(_parse_media(block) for block in blocks[1:])
    session = _parse_session(blocks[0], media)
    for index, medium in enumerate(session.media):
        if not medium.is_rejected and session.connection_of(medium) is None:
            raise SdpError(f"media #{index} ({medium.media}) has no c= line")
    return session


def _split_lines(text: str) -> Iterable[_Line]:
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise SdpError(f"not a <type>=<value> line: {line[:40]!r}", line=number)
        yield _Line(number, line[0], line[2:])


def _int(text: str, line: _Line, what: str, *, low: int = 0, high: int | None = None) -> int:
    if not text.isascii() or not text.isdigit():
        raise SdpError(f"{what} is not a number: {text!r}", line=line.number)
    value = int(text)
    if value < low or (high is not None and value > high):
        raise SdpError(f"{what} out of range: {value}", line=line.number)
    return value


def _fields(line: _Line, count: int, what: str) -> list[str]:
    parts = line.value.split()
    if len(parts) != count:
        raise SdpError(f"{what} needs {count} fields: {line.value!r}", line=line.number)
    return parts


def _address_type(text: str, line: _Line) -> AddressType:
    try:
        return AddressType(text)
    except ValueError:
        raise SdpError(f"unsupported address type {text!r}", line=line.number) from None


def _connection(parts: list[str], line: _Line) -> Connection:
    net_type, addr_type, address = parts
    if net_type != "IN":
        raise SdpError(f"unsupported network type {net_type!r}", line=line.number)
    return Connection(address, _address_type(addr_type, line))


def _parse_origin(line: _Line) -> Origin:
    username, session_id, version, net_type, addr_type, address = _fields(line, 6, "o=")
    if net_type != "IN":
        raise SdpError(f"unsupported network type {net_type!r}", line=line.number)
    return Origin(
        username,
        session_id,
        _int(version, line, "session version"),
        address,
        _address_type(addr_type, line),
    )


def _parse_bandwidth(line: _Line) -> Bandwidth:
    bwtype, sep, value = line.value.partition(":")
    if not sep or not bwtype:
        raise SdpError(f"b= needs <bwtype>:<bandwidth>: {line.value!r}", line=line.number)
    return Bandwidth(bwtype, _int(value.strip(), line, "bandwidth"))


def _check_once(lines: list[_Line], once: frozenset[str]) -> None:
    seen: set[str] = set()
    for line in lines:
        if line.kind in once:
            if line.kind in seen:
                raise SdpError(f"duplicate {line.kind}= line", line=line.number)
            seen.add(line.kind)


def _split_attribute(line: _Line) -> Attribute:
    name, sep, value = line.value.partition(":")
    if not name or name != name.strip():
        raise SdpError(f"bad attribute {line.value!r}", line=line.number)
    return Attribute(name, value if sep else None)


def _parse_session(lines: list[_Line], media: tuple[MediaDescription, ...]) -> SessionDescription:
    _check_once(lines, _SESSION_ONCE)
    texts: dict[str, str] = {}
    connection: Connection | None = None
    emails: list[str] = []
    phones: list[str] = []
    bandwidths: list[Bandwidth] = []
    timings: list[Timing] = []
    attributes: list[Attribute] = []
    direction: Direction | None = None
    origin: Origin | None = None
    version = 0
    for line in lines:
        kind, value = line.kind, line.value
        if kind == "v":
            version = _int(value.strip(), line, "v=", high=0)
        elif kind == "o":
            origin = _parse_origin(line)
        elif kind in "siuzk":
            texts[kind] = value
        elif kind == "e":
            emails.append(value)
        elif kind == "p":
            phones.append(value)
        elif kind == "c":
            connection = _connection(_fields(line, 3, "c="), line)
        elif kind == "b":
            bandwidths.append(_parse_bandwidth(line))
        elif kind == "t":
            start, stop = _fields(line, 2, "t=")
            timings.append(Timing(_int(start, line, "start"), _int(stop, line, "stop")))
        elif kind == "r":
            if not timings:
                raise SdpError("r= without t=", line=line.number)
            timings[-1] = replace(timings[-1], repeats=(*timings[-1].repeats, value))
        elif kind == "a":
            attribute = _split_attribute(line)
            if attribute.name in _DIRECTIONS:
                if direction is not None or attribute.value is not None:
                    raise SdpError("duplicate or malformed direction", line=line.number)
                direction = _DIRECTIONS[attribute.name]
            else:
                attributes.append(attribute)
        else:
            raise SdpError(f"{kind}= is not a session-level line", line=line.number)
    if origin is None:
        raise SdpError("SDP has no o= line")
    return SessionDescription(
        origin=origin,
        name=texts.get("s", "-"),
        info=texts.get("i"),
        uri=texts.get("u"),
        emails=tuple(emails),
        phones=tuple(phones),
        connection=connection,
        bandwidths=tuple(bandwidths),
        timings=tuple(timings) or (Timing(),),
        zone=texts.get("z"),
        key=texts.get("k"),
        direction=direction,
        attributes=tuple(attributes),
        media=media,
        version=version,
    )


@dataclass(slots=True)
class _MediaAttributes:
    """Accumulates one media section's attributes while parsing (private, mutable)."""

    rtpmaps: list[RtpMap] = field(default_factory=list)
    fmtps: list[Fmtp] = field(default_factory=list)
    ptime: int | None = None
    maxptime: int | None = None
    direction: Direction | None = None
    rtcp: Rtcp | None = None
    rtcp_mux: bool = False
    opaque: list[Attribute] = field(default_factory=list)


def _parse_rtpmap(value: str, line: _Line) -> RtpMap:
    pt_text, _, encoding = value.partition(" ")
    parts = encoding.strip().split("/")
    if len(parts) not in (2, 3) or not parts[0]:
        raise SdpError(f"bad rtpmap {value!r}", line=line.number)
    channels = _int(parts[2], line, "channels", low=1) if len(parts) == 3 else None
    return RtpMap(
        _int(pt_text, line, "payload type", high=127),
        parts[0],
        _int(parts[1], line, "clock rate", low=1),
        channels,
    )


def _parse_rtcp(value: str, line: _Line) -> Rtcp:
    parts = value.split()
    if len(parts) not in (1, 4):
        raise SdpError(f"bad rtcp attribute {value!r}", line=line.number)
    port = _int(parts[0], line, "rtcp port", high=65535)
    return Rtcp(port, _connection(parts[1:], line) if len(parts) == 4 else None)


def _media_attribute(acc: _MediaAttributes, line: _Line) -> None:
    attribute = _split_attribute(line)
    name, value = attribute.name, attribute.value
    if name in _DIRECTIONS or name == "rtcp-mux":
        if value is not None:
            raise SdpError(f"a={name} takes no value", line=line.number)
        if name == "rtcp-mux":
            if acc.rtcp_mux:
                raise SdpError("duplicate attribute rtcp-mux", line=line.number)
            acc.rtcp_mux = True
        else:
            _require_unset(acc.direction, line)
            acc.direction = _DIRECTIONS[name]
        return
    if name not in ("rtpmap", "fmtp", "ptime", "maxptime", "rtcp"):
        acc.opaque.append(attribute)
        return
    if not value:
        raise SdpError(f"a={name} needs a value", line=line.number)
    if name == "rtpmap":
        rtpmap = _parse_rtpmap(value, line)
        _require_unset(
            next((m for m in acc.rtpmaps if m.payload_type == rtpmap.payload_type), None), line
        )
        acc.rtpmaps.append(rtpmap)
    elif name == "fmtp":
        fmt, _, parameters = value.partition(" ")
        _require_unset(next((f for f in acc.fmtps if f.format == fmt), None), line)
        acc.fmtps.append(Fmtp(fmt, parameters.strip()))
    elif name == "rtcp":
        _require_unset(acc.rtcp, line)
        acc.rtcp = _parse_rtcp(value, line)
    elif name == "ptime":
        _require_unset(acc.ptime, line)
        acc.ptime = _int(value.strip(), line, "ptime", low=1)
    else:
        _require_unset(acc.maxptime, line)
        acc.maxptime = _int(value.strip(), line, "maxptime", low=1)


def _require_unset(current: object, line: _Line) -> None:
    if current is not None:
        raise SdpError(f"duplicate attribute {line.value.partition(':')[0]}", line=line.number)


def _parse_media(lines: list[_Line]) -> MediaDescription:
    _check_once(lines, _MEDIA_ONCE)
    m_line = lines[0]
    parts = m_line.value.split()
    if len(parts) < 4:
        raise SdpError(
            f"m= needs media, port, proto and formats: {m_line.value!r}", line=m_line.number
        )
    media, port_text, proto, *formats = parts
    port_part, sep, count_part = port_text.partition("/")
    port = _int(port_part, m_line, "port", high=65535)
    port_count = _int(count_part, m_line, "port count", low=1) if sep else None
    if is_rtp(proto):
        for fmt in formats:
            _int(fmt, m_line, "payload type", high=127)
    acc = _MediaAttributes()
    values: dict[str, str] = {}
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = []
    for line in lines[1:]:
        if line.kind == "a":
            _media_attribute(acc, line)
        elif line.kind == "c":
            connection = _connection(_fields(line, 3, "c="), line)
        elif line.kind == "b":
            bandwidths.append(_parse_bandwidth(line))
        elif line.kind in "ik":
            values[line.kind] = line.value
        else:
            raise SdpError(f"{line.kind}= is not a media-level line", line=line.number)
    order = _format_order(formats)
    return MediaDescription(
        media=media,
        port=port,
        proto=proto,
        formats=tuple(formats),
        port_count=port_count,
        title=values.get("i"),
        connection=connection,
        bandwidths=tuple(bandwidths),
        key=values.get("k"),
        rtpmaps=tuple(sorted(acc.rtpmaps, key=lambda m: order(str(m.payload_type)))),
        fmtps=tuple(sorted(acc.fmtps, key=lambda f: order(f.format))),
        ptime=acc.ptime,
        maxptime=acc.maxptime,
        direction=acc.direction,
        rtcp=acc.rtcp,
        rtcp_mux=acc.rtcp_mux,
        attributes=tuple(acc.opaque),
    )


def _format_order(formats: list[str]) -> Callable[[str], int]:
    positions = {fmt: index for index, fmt in reversed(list(enumerate(formats)))}
    return lambda fmt: positions.get(fmt, len(formats))


def _attribute_line(attribute: Attribute) -> str:
    if attribute.value is None:
        return f"a={attribute.name}"
    return f"a={attribute.name}:{attribute.value}"


def _connection_text(connection: Connection) -> str:
    return f"IN {connection.address_type.value} {connection.address}"


def _fmtp_line(fmtp: Fmtp) -> str:
    if fmtp.parameters:
        return f"a=fmtp:{fmtp.format} {fmtp.parameters}"
    return f"a=fmtp:{fmtp.format}"


def _media_lines(media: MediaDescription) -> Iterable[str]:
    port = f"{media.port}/{media.port_count}" if media.port_count is not None else str(media.port)
    yield " ".join(("m=" + media.media, port, media.proto, *media.formats))
    if media.title is not None:
        yield f"i={media.title}"
    if media.connection is not None:
        yield f"c={_connection_text(media.connection)}"
    yield from (f"b={b.bwtype}:{b.bandwidth}" for b in media.bandwidths)
    if media.key is not None:
        yield f"k={media.key}"
    written: set[str] = set()
    for rtpmap in media.rtpmaps:
        channels = f"/{rtpmap.channels}" if rtpmap.channels is not None else ""
        yield f"a=rtpmap:{rtpmap.payload_type} {rtpmap.encoding}/{rtpmap.clock_rate}{channels}"
        fmtp = media.fmtp(rtpmap.payload_type)
        if fmtp is not None:
            written.add(fmtp.format)
            yield _fmtp_line(fmtp)
    yield from (_fmtp_line(f) for f in media.fmtps if f.format not in written)
    if media.ptime is not None:
        yield f"a=ptime:{media.ptime}"
    if media.maxptime is not None:
        yield f"a=maxptime:{media.maxptime}"
    if media.rtcp is not None:
        address = f" {_connection_text(media.rtcp.connection)}" if media.rtcp.connection else ""
        yield f"a=rtcp:{media.rtcp.port}{address}"
    if media.rtcp_mux:
        yield "a=rtcp-mux"
    if media.direction is not None:
        yield f"a={media.direction.value}"
    yield from (_attribute_line(a) for a in media.attributes)


def _session_lines(sdp: SessionDescription) -> Iterable[str]:
    o = sdp.origin
    yield f"v={sdp.version}"
    yield (
        f"o={o.username} {o.session_id} {o.session_version} IN {o.address_type.value} {o.address}"
    )
    yield f"s={sdp.name}"
    if sdp.info is not None:
        yield f"i={sdp.info}"
    if sdp.uri is not None:
        yield f"u={sdp.uri}"
    yield from (f"e={e}" for e in sdp.emails)
    yield from (f"p={p}" for p in sdp.phones)
    if sdp.connection is not None:
        yield f"c={_connection_text(sdp.connection)}"
    yield from (f"b={b.bwtype}:{b.bandwidth}" for b in sdp.bandwidths)
    for timing in sdp.timings:
        yield f"t={timing.start} {timing.stop}"
        yield from (f"r={r}" for r in timing.repeats)
    if sdp.zone is not None:
        yield f"z={sdp.zone}"
    if sdp.key is not None:
        yield f"k={sdp.key}"
    if sdp.direction is not None:
        yield f"a={sdp.direction.value}"
    yield from (_attribute_line(a) for a in sdp.attributes)
    for media in sdp.media:
        yield from _media_lines(media)


def serialize(sdp: SessionDescription) -> str:
    """The SDP text of a session description, with CRLF line endings."""
    return "".join(line + "\r\n" for line in _session_lines(sdp))


def serialize_bytes(sdp: SessionDescription) -> bytes:
    """The SDP as UTF-8 bytes, ready to be a SIP message body."""
    return serialize(sdp).encode("utf-8")
