"""SIP requests and responses: parsing from bytes and canonical serialization.

Theory of operation: :func:`parse_message` reads one message (RFC 3261 §7): leading
CRLFs are skipped (§7.5), the header section ends at the first empty line, header lines
are unfolded (§7.3.1) into ordered :class:`~helpline.sip.headers.Header` fields and the
start line is checked strictly (single SP separators, §7.1 and RFC 4475 §3.1.2.8-10;
3-digit status codes; SIP-Version 2.0 else 505, §8.2.5 ... RFC 4475 §3.1.2.16).  The
body length follows Content-Length (§18.3, §20.14): on a datagram extra octets are
discarded and a short body is a 400; a missing Content-Length means "rest of the
datagram" and is an error on a stream.  Header values stay text until read through a
typed accessor (``vias``, ``cseq``, ``to`` ...), which parses and caches them; a
request re-stamped with :meth:`Request.with_top_via` and a response from
:func:`make_response` inherit the parsed values of the fields they copy unchanged, so
each header of a call is parsed once.
:func:`make_response` builds a response per §8.2.6.  Broken responses raise SipError
flagged ``is_response`` so that they are dropped (§18.1.2).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from helpline.sip.errors import SipError, reason_phrase
from helpline.sip.headers import (
    LIST_HEADERS,
    AuthHeader,
    CSeq,
    Header,
    MediaType,
    NameAddr,
    Via,
    Wildcard,
    canonical_name,
    is_token,
    parse_auth,
    parse_contact,
    parse_cseq,
    parse_header_lines,
    parse_int,
    parse_media_type,
    parse_name_addr,
    parse_tokens,
    parse_via,
    split_list,
)
from helpline.sip.uri import SipUri, Uri, parse_uri

__all__ = [
    "DEFAULT_MAX_SIZE",
    "Message",
    "Request",
    "Response",
    "make_error_response",
    "make_response",
    "parse_message",
]

#: Default largest message accepted (64 KiB, the UDP limit; §18.1.1 would say 513).
DEFAULT_MAX_SIZE = 65536
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
_SINGLE = ("to", "from", "call-id", "cseq", "max-forwards", "content-length", "content-type")
_T = TypeVar("_T")


@functools.lru_cache(maxsize=512)
def _key(name: str) -> str:
    """The index key of header ``name`` (canonical, lower-cased)."""
    return canonical_name(name).lower()


class _MessageBase:
    """Header helpers shared by requests and responses."""

    __slots__ = ()
    fields: tuple[Header, ...]
    body: bytes
    version: str
    _cache: dict[str, object]

    def _index(self) -> dict[str, list[str]]:
        index = self._cache.get("")
        if index is None:
            built: dict[str, list[str]] = {}
            for h in self.fields:
                built.setdefault(h.name.lower(), []).append(h.value)
            self._cache[""] = index = built
        return index  # type: ignore[return-value]

    def _typed(self, key: str, parse: Callable[[], _T]) -> _T:
        try:
            return self._cache[key]  # type: ignore[return-value]
        except KeyError:
            value = parse()
            self._cache[key] = value
            return value

    def header_lines(self, name: str) -> tuple[str, ...]:
        """Values of every ``name`` header field, unsplit, in order."""
        return tuple(self._index().get(_key(name), ()))

    def headers(self, name: str) -> tuple[str, ...]:
        """All values of header ``name``; list headers are split on commas (§7.3.1)."""
        key = _key(name)
        lines = self._index().get(key, ())
        if key not in LIST_HEADERS:
            return tuple(lines)
        return tuple(item for line in lines for item in split_list(line) if item)

    def header(self, name: str) -> str | None:
        """First value of header ``name``, or None."""
        values = self.headers(name)
        return values[0] if values else None

    def has_header(self, name: str) -> bool:
        """True when at least one ``name`` header field is present."""
        return _key(name) in self._index()

    def _single(self, name: str) -> str | None:
        lines = self._index().get(name.lower())
        if not lines:
            return None
        if len(lines) > 1:
            raise SipError(400, f"more than one {name} header")
        return lines[0]

    def _required(self, name: str) -> str:
        value = self._single(name)
        if value is None:
            raise SipError(400, f"missing {name} header")
        return value

    @property
    def vias(self) -> tuple[Via, ...]:
        """All Via values, top first."""
        vias = self._cache.get("via")
        if vias is None:
            vias = self._cache["via"] = tuple(parse_via(v) for v in self.headers("Via"))
        return vias  # type: ignore[return-value]

    @property
    def top_via(self) -> Via:
        """The topmost Via; SipError(400) when there is none."""
        vias = self.vias
        if not vias:
            raise SipError(400, "missing Via header")
        return vias[0]

    @property
    def call_id(self) -> str:
        """The Call-ID."""
        value = self._cache.get("call-id")
        if value is None:
            value = self._required("Call-ID")
            if not value or " " in value or "\t" in value:
                raise SipError(400, f"bad Call-ID {value!r}")
            self._cache["call-id"] = value
        return value  # type: ignore[return-value]

    @property
    def cseq(self) -> CSeq:
        """The CSeq."""
        value = self._cache.get("cseq")
        if value is None:
            value = self._cache["cseq"] = parse_cseq(self._required("CSeq"))
        return value  # type: ignore[return-value]

    @property
    def from_(self) -> NameAddr:
        """The From address."""
        value = self._cache.get("from")
        if value is None:
            value = self._cache["from"] = parse_name_addr(self._required("From"))
        return value  # type: ignore[return-value]

    @property
    def to(self) -> NameAddr:
        """The To address."""
        value = self._cache.get("to")
        if value is None:
            value = self._cache["to"] = parse_name_addr(self._required("To"))
        return value  # type: ignore[return-value]

    @property
    def from_tag(self) -> str | None:
        """The From tag."""
        cache = self._cache
        if "from-tag" not in cache:
            cache["from-tag"] = self.from_.tag
        return cache["from-tag"]  # type: ignore[return-value]

    @property
    def to_tag(self) -> str | None:
        """The To tag."""
        cache = self._cache
        if "to-tag" not in cache:
            cache["to-tag"] = self.to.tag
        return cache["to-tag"]  # type: ignore[return-value]

    @property
    def contacts(self) -> tuple[NameAddr | Wildcard, ...]:
        """All Contact values (``Wildcard.STAR`` for ``*``)."""
        return self._typed(
            "contact",
            lambda: tuple(c for v in self.header_lines("Contact") for c in parse_contact(v)),
        )

    @property
    def routes(self) -> tuple[NameAddr, ...]:
        """The Route set, in order."""
        return self._typed("route", lambda: self._addresses("Route"))

    @property
    def record_routes(self) -> tuple[NameAddr, ...]:
        """The Record-Route values, in order."""
        return self._typed("record-route", lambda: self._addresses("Record-Route"))

    def _addresses(self, name: str) -> tuple[NameAddr, ...]:
        return tuple(parse_name_addr(v) for v in self.headers(name))

    def _int(self, name: str, maximum: int) -> int | None:
        value = self._single(name)
        return None if value is None else parse_int(value, maximum, name)

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0-255), None when absent."""
        return self._int("Max-Forwards", 255)

    @property
    def expires(self) -> int | None:
        """Expires in seconds (0 .. 2**32-1), None when absent."""
        return self._int("Expires", 2**32 - 1)

    @property
    def content_length(self) -> int | None:
        """The Content-Length header value, None when absent."""
        return self._int("Content-Length", 2**32 - 1)

    @property
    def content_type(self) -> MediaType | None:
        """The Content-Type, None when absent."""
        value = self._single("Content-Type")
        return None if value is None else parse_media_type(value)

    def option_tags(self, name: str) -> tuple[str, ...]:
        """Tokens of a Require/Proxy-Require/Supported/Unsupported/Allow header."""
        return tuple(t for v in self.header_lines(name) for t in parse_tokens(v))

    def auth(self, name: str) -> tuple[AuthHeader, ...]:
        """Parsed values of an Authorization/WWW-Authenticate/Proxy-* header."""
        return tuple(parse_auth(v) for v in self.header_lines(name))

    def duplicated_single_headers(self) -> tuple[str, ...]:
        """Names of single-valued headers (To, From, CSeq ...) that occur more than once."""
        index = self._index()
        return tuple(canonical_name(n) for n in _SINGLE if len(index.get(n, ())) > 1)

    def _head(self, start_line: str) -> bytes:
        lines = [start_line]
        wrote_length = False
        for h in self.fields:
            if h.name.lower() == "content-length":
                if wrote_length:
                    continue
                lines.append(f"Content-Length: {len(self.body)}")
                wrote_length = True
            else:
                lines.append(f"{h.name}: {h.value}")
        if not wrote_length:
            lines.append(f"Content-Length: {len(self.body)}")
        lines += ("", "")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Request(_MessageBase):
    """A SIP request.  ``fields`` are the header fields in wire order."""

    method: str
    uri: Uri
    fields: tuple[Header, ...] = ()
    body: bytes = b""
    version: str = "SIP/2.0"
    _cache: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def serialize(self) -> bytes:
        """Canonical bytes with a correct Content-Length."""
        return self._head(f"{self.method} {self.uri} {self.version}") + self.body

    def with_fields(self, fields: tuple[Header, ...]) -> Request:
        """Return a copy with the given header fields."""
        return replace(self, fields=fields)

    def with_top_via(self, via: Via) -> Request:
        """Return a copy whose topmost Via value is ``via``.

        Only the Via header changes, so the values already parsed from the other
        header fields (To, From, CSeq, Contact ...) are carried over, not parsed again.
        """
        fields = list(self.fields)
        replaced = False
        for i, h in enumerate(fields):
            if h.name == "Via":
                others = split_list(h.value)[1:]
                fields[i] = Header("Via", ", ".join([str(via), *others]))
                replaced = True
                break
        copy = Request(self.method, self.uri, tuple(fields), self.body, self.version)
        cache = copy._cache
        for key, value in self._cache.items():
            if key and key != "via":
                cache[key] = value
        vias = self._cache.get("via")
        if replaced and isinstance(vias, tuple) and vias:
            cache["via"] = (via, *vias[1:])
        return copy


@dataclass(frozen=True, slots=True)
class Response(_MessageBase):
    """A SIP response.  ``fields`` are the header fields in wire order."""

    status: int
    reason: str
    fields: tuple[Header, ...] = ()
    body: bytes = b""
    version: str = "SIP/2.0"
    _cache: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def serialize(self) -> bytes:
        """Canonical bytes with a correct Content-Length."""
        return self._head(f"{self.version} {self.status} {self.reason}") + self.body

    def with_fields(self, fields: tuple[Header, ...]) -> Response:
        """Return a copy with the given header fields."""
        return replace(self, fields=fields)


Message = Request | Response


def _body(fields: tuple[Header, ...], rest: bytes, stream: bool, is_response: bool) -> bytes:
    lengths = [h.value for h in fields if h.name == "Content-Length"]
    if len(lengths) > 1:
        raise SipError(400, "more than one Content-Length", is_response=is_response)
    if not lengths:
        if stream:
            raise SipError(400, "Content-Length required on streams", is_response=is_response)
        return rest
    try:
        length = parse_int(lengths[0], 2**32 - 1, "Content-Length")
    except SipError as exc:
        raise SipError(400, exc.detail, is_response=is_response) from None
    if len(rest) < length:
        raise SipError(400, "body shorter than Content-Length", is_response=is_response)
    return rest[:length]


def parse_message(
    data: bytes, *, max_size: int = DEFAULT_MAX_SIZE, stream: bool = False
) -> Request | Response:
    """Parse one SIP message from ``data``; raise SipError with the implied status.

    ``stream`` is true for TCP/TLS/WS framing (Content-Length then required); for a
    datagram, octets beyond Content-Length are ignored (§18.3).  Messages longer than
    ``max_size`` give 513.  Errors in responses are flagged ``is_response`` (drop).
    """
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    is_response = data.startswith(b"SIP/", start)
    if len(data) - start > max_size:
        raise SipError(513, f"message exceeds {max_size} octets", is_response=is_response)
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise SipError(400, "no empty line after the headers", is_response=is_response)
    lines = data[start:end].decode("utf-8", "surrogateescape").split("\r\n")
    try:
        fields = parse_header_lines(lines[1:])
    except SipError as exc:
        raise SipError(400, exc.detail, is_response=is_response) from None
    rest = data[end + 4 :]
    if is_response:
        return _parse_response(lines[0], fields, rest, stream)
    try:
        return _parse_request(lines[0], fields, rest, stream)
    except SipError as exc:
        raise exc.with_request_headers(fields) from None


def _parse_response(line: str, fields: tuple[Header, ...], rest: bytes, stream: bool) -> Response:
    parts = line.split(" ", 2)
    code = parts[1] if len(parts) > 1 else ""
    if len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] not in "123456":
        raise SipError(400, f"bad status line {line[:80]!r}", is_response=True)
    if not _VERSION_RE.fullmatch(parts[0]):
        raise SipError(400, f"bad SIP-Version {parts[0]!r}", is_response=True)
    if parts[0].upper() != "SIP/2.0":
        raise SipError(505, f"unsupported version {parts[0]!r}", is_response=True)
    reason = parts[2] if len(parts) > 2 else ""
    body = _body(fields, rest, stream, True)
    return Response(int(code), reason, fields, body, "SIP/2.0")


def _parse_request(line: str, fields: tuple[Header, ...], rest: bytes, stream: bool) -> Request:
    parts = line.split(" ")
    if len(parts) != 3:
        raise SipError(400, f"bad request line {line[:80]!r}")
    method, uri_text, version = parts
    if not is_token(method):
        raise SipError(400, f"bad method {method!r}")
    if not _VERSION_RE.fullmatch(version):
        raise SipError(400, f"bad SIP-Version {version!r}")
    if version.upper() != "SIP/2.0":
        raise SipError(505, f"unsupported version {version!r}")
    uri = parse_uri(uri_text)
    if isinstance(uri, SipUri) and uri.headers:
        raise SipError(400, "headers are not allowed in a Request-URI (§19.1.1)")
    return Request(method, uri, fields, _body(fields, rest, stream, False), "SIP/2.0")


_COPIED = frozenset(("via", "from", "call-id", "cseq"))


def _response_fields(
    fields: tuple[Header, ...], status: int, to_tag: str | None, to: NameAddr | None = None
) -> tuple[Header, ...]:
    out: list[Header] = []
    for h in fields:
        key = h.name.lower()
        if key in _COPIED or (key == "timestamp" and status == 100):
            out.append(h)
        elif key == "to":
            value = h.value
            if to_tag is not None and (to.tag is None if to is not None else _lacks_tag(value)):
                value = f"{value};tag={to_tag}"
            out.append(Header("To", value))
    return tuple(out)


def _seed(response: Response, request: Request, to: NameAddr | None, to_tag: str | None) -> None:
    """Give ``response`` the parsed values of the header fields copied from ``request``."""
    parsed = request._cache
    cache = response._cache
    for key in ("via", "from", "cseq"):
        value = parsed.get(key)
        if value is not None:
            cache[key] = value
    if to is None:
        return
    if to_tag is None or to.tag is not None:
        cache["to"] = to
    elif to.param("tag") is None and is_token(to_tag):
        cache["to"] = to.with_param("tag", to_tag)


def _lacks_tag(value: str) -> bool:
    try:
        return parse_name_addr(value).tag is None
    except SipError:
        return False  # an unreadable To is echoed untouched


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    to_tag: str | None = None,
    *,
    extra: tuple[Header, ...] = (),
    body: bytes = b"",
) -> Response:
    """Build a response to ``request`` per RFC 3261 §8.2.6.

    Via (all, in order), From, To, Call-ID and CSeq are copied; ``to_tag`` is added to
    To when the request has none (§8.2.6.2); Timestamp is echoed in a 100 (§8.2.6.1).
    """
    to = request._cache.get("to")
    known = to if isinstance(to, NameAddr) else None
    fields = _response_fields(request.fields, status, to_tag, known) + extra
    response = Response(status, reason or reason_phrase(status), fields, body)
    _seed(response, request, known, to_tag)
    return response


def make_error_response(error: SipError, to_tag: str | None = None) -> Response | None:
    """Build the response a broken request deserves, or None when it cannot be answered.

    No answer is possible for broken responses, or when Via, From, To, Call-ID or CSeq
    could not be read.
    """
    if error.is_response or not error.request_headers:
        return None
    names = {h.name.lower() for h in error.request_headers}
    if not {"via", "from", "to", "call-id", "cseq"} <= names:
        return None
    try:
        fields = _response_fields(error.request_headers, error.status, to_tag)
    except SipError:
        return None
    return Response(error.status, error.reason, fields)
