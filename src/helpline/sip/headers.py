"""Typed SIP header values, parsed on demand.

Theory of operation: a message keeps its header fields as ordered ``Header(name, value)``
pairs (RFC 3261 §7.3): the name is canonical (compact forms of §7.3.3 and RFC 3515,
3841, 4028, 4474, 6665 mapped; known names get their usual spelling; names compare
case-insensitively) and the value is the unfolded text.  Nothing is parsed further until
somebody asks: the functions here turn one value into a frozen dataclass - name-addr /
addr-spec (§20.10, §25.1), Via (§20.42, RFC 3581 rport), CSeq (§20.16), auth headers
(§20.7, §20.27; RFC 7616), option tags, media types.  List headers (§7.3.1) are split on
commas outside quoted strings and ``<...>``.  Every malformed value raises SipError(400).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum

from helpline.sip.errors import SipError
from helpline.sip.uri import Uri, parse_host_port, parse_uri

__all__ = [
    "LIST_HEADERS",
    "AuthHeader",
    "AuthParam",
    "CSeq",
    "Header",
    "MediaType",
    "NameAddr",
    "Via",
    "Wildcard",
    "canonical_name",
    "is_token",
    "parse_auth",
    "parse_contact",
    "parse_cseq",
    "parse_header_lines",
    "parse_int",
    "parse_media_type",
    "parse_name_addr",
    "parse_params",
    "parse_tokens",
    "parse_via",
    "quote",
    "split_list",
    "unquote",
]

Params = tuple[tuple[str, str | None], ...]

_NAMES = [
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
    "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "Identity",
    "Identity-Info", "In-Reply-To", "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE",
    "Organization", "Path", "Priority", "Proxy-Authenticate", "Proxy-Authorization",
    "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To", "Referred-By",
    "Reject-Contact", "Reply-To", "Request-Disposition", "Require", "Retry-After", "Route",
    "RSeq", "Server", "Service-Route", "Session-Expires", "SIP-ETag", "SIP-If-Match",
    "Subject", "Subscription-State", "Supported", "Timestamp", "To", "Unsupported",
    "User-Agent", "Via", "Warning", "WWW-Authenticate",
]  # fmt: skip
_COMPACT = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
    "v": "Via", "o": "Event", "u": "Allow-Events", "r": "Refer-To", "b": "Referred-By",
    "x": "Session-Expires", "y": "Identity", "a": "Accept-Contact", "j": "Reject-Contact",
    "d": "Request-Disposition", "n": "Identity-Info",
}  # fmt: skip
_CANONICAL: dict[str, str] = {n.lower(): n for n in _NAMES} | _COMPACT

#: Lower-cased names of headers whose values are comma-separated lists (§7.3.1).
LIST_HEADERS = frozenset(
    n.lower()
    for n in (
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info",
        "Allow", "Allow-Events", "Call-Info", "Contact", "Content-Encoding",
        "Content-Language", "Error-Info", "In-Reply-To", "Path", "Proxy-Require",
        "Record-Route", "Reject-Contact", "Request-Disposition", "Require", "Route",
        "Service-Route", "Supported", "Unsupported", "Via", "Warning",
    )
)  # fmt: skip

_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_WS = " \t"


def canonical_name(name: str) -> str:
    """Canonical spelling of a header name (compact forms expanded; unknown kept)."""
    return _CANONICAL.get(name.lower(), name)


def is_token(text: str) -> bool:
    """True when ``text`` is a non-empty RFC 3261 token."""
    return _TOKEN_RE.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class Header:
    """One header field: canonical name and unfolded value text."""

    name: str
    value: str

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


def parse_header_lines(lines: list[str]) -> tuple[Header, ...]:
    """Turn raw header lines into fields, unfolding LWS continuations (§7.3.1)."""
    pairs: list[list[str]] = []
    for line in lines:
        if not line:
            continue
        if line[0] in _WS:
            if not pairs:
                raise SipError(400, "continuation line before first header")
            cont = line.strip(_WS)
            prev = pairs[-1]
            prev[1] = f"{prev[1]} {cont}" if prev[1] and cont else prev[1] + cont
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(_WS)
        if not colon or not _TOKEN_RE.fullmatch(name):
            raise SipError(400, f"malformed header line {line[:60]!r}")
        pairs.append([name, value.strip(_WS)])
    canonical = _CANONICAL.get
    return tuple([Header(canonical(n.lower(), n), v) for n, v in pairs])


def _scan_quoted(text: str, i: int) -> int:
    """Return the index just past the quoted string starting at ``text[i] == '"'``."""
    n = len(text)
    i += 1
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        else:
            i += 1
    raise SipError(400, "unterminated quoted string")


def unquote(text: str) -> str:
    """Strip the quotes of a quoted-string and resolve quoted-pairs; others unchanged."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    inner = text[1:-1]
    if "\\" not in inner:
        return inner
    out: list[str] = []
    i = 0
    while i < len(inner):
        if inner[i] == "\\" and i + 1 < len(inner):
            out.append(inner[i + 1])
            i += 2
        else:
            out.append(inner[i])
            i += 1
    return "".join(out)


def quote(text: str) -> str:
    """Make a quoted-string of ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quoted strings and angle brackets."""
    if '"' not in text and "<" not in text:
        return text.split(sep)
    parts: list[str] = []
    start = 0
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i = _scan_quoted(text, i)
            continue
        if c == "<":
            depth += 1
        elif c == ">" and depth:
            depth -= 1
        elif c == sep and not depth:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def split_list(value: str) -> list[str]:
    """Split a list header value on top-level commas; items are stripped."""
    return [p.strip(_WS) for p in _split(value, ",")]


def parse_params(text: str) -> Params:
    """Parse ``;name[=value]`` generic parameters; values keep their wire form (quotes)."""
    params: list[tuple[str, str | None]] = []
    parts = _split(text, ";")
    if parts and not parts[0].strip(_WS):
        parts = parts[1:]
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip(_WS)
        if not _TOKEN_RE.fullmatch(name):
            raise SipError(400, f"bad parameter {part!r}")
        if not sep:
            params.append((name, None))
            continue
        value = value.strip(_WS)
        if value.startswith('"'):
            if _scan_quoted(value, 0) != len(value):
                raise SipError(400, f"bad quoted parameter {part!r}")
        elif not value or any(c in value for c in ' \t"<>,;'):
            raise SipError(400, f"bad parameter value {part!r}")
        params.append((name, value))
    return tuple(params)


def _find(params: Params, name: str) -> str | None:
    lname = name.lower()
    for key, value in params:
        if key == lname or key.lower() == lname:
            return "" if value is None else unquote(value)
    return None


def _params_text(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def _set_param(params: Params, name: str, value: str | None) -> Params:
    lname = name.lower()
    if any(p[0].lower() == lname for p in params):
        return tuple((p[0], value) if p[0].lower() == lname else p for p in params)
    return (*params, (name, value))


class Wildcard(Enum):
    """The ``Contact: *`` of a REGISTER that removes all bindings (RFC 3261 §10.2.2)."""

    STAR = "*"


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A name-addr or addr-spec with header parameters (From, To, Contact, Route ...)."""

    uri: Uri
    display_name: str | None = None
    params: Params = ()

    def param(self, name: str) -> str | None:
        """Unquoted value of header parameter ``name`` ("" valueless, None absent)."""
        return _find(self.params, name)

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (RFC 3261 §19.3)."""
        return self.param("tag") or None

    @property
    def expires(self) -> int | None:
        """The Contact ``expires`` parameter, None when absent or not a valid number."""
        value = self.param("expires")
        if not value or not value.isdigit() or len(value) > 10:
            return None
        return int(value)

    def with_param(self, name: str, value: str | None) -> NameAddr:
        """Return a copy with parameter ``name`` set (value in wire form)."""
        return NameAddr(self.uri, self.display_name, _set_param(self.params, name, value))

    def with_tag(self, tag: str) -> NameAddr:
        """Return a copy with the given ``tag`` parameter."""
        return self.with_param("tag", tag)

    def __str__(self) -> str:
        display = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{display}<{self.uri}>{_params_text(self.params)}"


def parse_name_addr(value: str) -> NameAddr:
    """Parse ``[display] <uri> *(;param)`` or ``addr-spec *(;param)`` (§20.10).

    Results are cached (To and Contact values repeat from call to call; a NameAddr is
    immutable).
    """
    return _parse_name_addr_cached(value)


@functools.lru_cache(maxsize=4096)
def _parse_name_addr_cached(value: str) -> NameAddr:
    s = value.strip(_WS)
    if not s:
        raise SipError(400, "empty address")
    display: str | None = None
    if s[0] == '"':
        end = _scan_quoted(s, 0)
        display = unquote(s[:end])
        rest = s[end:].lstrip(_WS)
        if not rest.startswith("<"):
            raise SipError(400, f"quoted display name without <uri> in {value!r}")
    else:
        lt = s.find("<")
        if lt < 0:
            semi = s.find(";")
            uri_text = (s if semi < 0 else s[:semi]).rstrip(_WS)
            if any(c in uri_text for c in "?,"):
                raise SipError(400, f"addr-spec with '?' or ',' must be in <> in {value!r}")
            params = parse_params(s[semi:]) if semi >= 0 else ()
            return NameAddr(parse_uri(uri_text), None, params)
        words = s[:lt].split()
        if not all(_TOKEN_RE.fullmatch(w) for w in words):
            raise SipError(400, f"bad display name in {value!r}")
        display = " ".join(words) if words else None
        rest = s[lt:]
    gt = rest.find(">")
    if gt < 0:
        raise SipError(400, f"missing '>' in {value!r}")
    uri = parse_uri(rest[1:gt])
    after = rest[gt + 1 :].strip(_WS)
    if after and after[0] != ";":
        raise SipError(400, f"junk after address in {value!r}")
    return NameAddr(uri, display, parse_params(after) if after else ())


def parse_contact(value: str) -> tuple[NameAddr | Wildcard, ...]:
    """Parse one Contact header value (a list, or ``*``)."""
    if value.strip(_WS) == "*":
        return (Wildcard.STAR,)
    return tuple(parse_name_addr(item) for item in split_list(value))


@dataclass(frozen=True, slots=True)
class Via:
    """One Via header value (RFC 3261 §20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP/2.0"

    def param(self, name: str) -> str | None:
        """Unquoted value of parameter ``name`` ("" valueless, None absent)."""
        return _find(self.params, name)

    @property
    def branch(self) -> str | None:
        """The branch parameter."""
        return self.param("branch") or None

    @property
    def received(self) -> str | None:
        """The ``received`` parameter (§18.2.1)."""
        return self.param("received") or None

    @property
    def maddr(self) -> str | None:
        """The ``maddr`` parameter."""
        return self.param("maddr") or None

    @property
    def ttl(self) -> int | None:
        """The ``ttl`` parameter."""
        value = self.param("ttl")
        return int(value) if value else None

    @property
    def has_rport(self) -> bool:
        """True when ``rport`` is present, with or without a value (RFC 3581)."""
        return self.param("rport") is not None

    @property
    def rport(self) -> int | None:
        """The ``rport`` value, None when absent or valueless."""
        value = self.param("rport")
        return int(value) if value else None

    @property
    def rfc3261_branch(self) -> bool:
        """True when the branch carries the RFC 3261 magic cookie ``z9hG4bK``."""
        branch = self.branch
        return branch is not None and branch.startswith("z9hG4bK")

    def with_param(self, name: str, value: str | None) -> Via:
        """Return a copy with parameter ``name`` set."""
        params = _set_param(self.params, name, value)
        return Via(self.transport, self.host, self.port, params, self.protocol)

    @property
    def sent_by(self) -> str:
        """``host[:port]`` text."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sent_by}{_params_text(self.params)}"


def parse_via(value: str) -> Via:
    """Parse one Via value, tolerating LWS around ``/`` and ``:`` (RFC 4475 §3.1.1.1)."""
    parts = value.split("/", 2)
    if len(parts) != 3:
        raise SipError(400, f"bad Via {value!r}")
    name, version = parts[0].strip(_WS), parts[1].strip(_WS)
    words = parts[2].lstrip(_WS).split(None, 1)
    if len(words) != 2 or not is_token(name) or not is_token(version) or not is_token(words[0]):
        raise SipError(400, f"bad Via {value!r}")
    rest = words[1]
    semi = rest.find(";")
    sent_by = "".join((rest if semi < 0 else rest[:semi]).split())
    host, port = parse_host_port(sent_by)
    params = parse_params(rest[semi:]) if semi >= 0 else ()
    via = Via(words[0].upper(), host, port, params, f"{name.upper()}/{version}")
    ttl = via.param("ttl")
    rport = via.param("rport")
    if ttl is not None and not (ttl.isdigit() and len(ttl) <= 3 and int(ttl) <= 255):
        raise SipError(400, f"bad Via ttl in {value!r}")
    if rport and not (rport.isdigit() and len(rport) <= 5 and int(rport) <= 65535):
        raise SipError(400, f"bad Via rport in {value!r}")
    if via.param("branch") == "":
        raise SipError(400, f"empty Via branch in {value!r}")
    return via


@dataclass(frozen=True, slots=True)
class CSeq:
    """CSeq: sequence number (< 2**31, §8.1.1.5) and method."""

    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_int(value: str, maximum: int, what: str) -> int:
    """Parse a non-negative decimal no greater than ``maximum``; else SipError(400)."""
    text = value.strip(_WS)
    if not text.isdigit() or not text.isascii() or len(text.lstrip("0")) > len(str(maximum)):
        raise SipError(400, f"bad {what} {value!r}")
    number = int(text)
    if number > maximum:
        raise SipError(400, f"{what} out of range: {value!r}")
    return number


def parse_cseq(value: str) -> CSeq:
    """Parse ``number method``; the number must be below 2**31 (§8.1.1.5)."""
    words = value.split()
    if len(words) != 2 or not is_token(words[1]):
        raise SipError(400, f"bad CSeq {value!r}")
    return CSeq(parse_int(words[0], 2**31 - 1, "CSeq number"), words[1])


def parse_tokens(value: str) -> tuple[str, ...]:
    """Parse a comma-separated token list (Require, Supported, Allow ...)."""
    items = [p.strip(_WS) for p in value.split(",")]
    tokens = tuple(p for p in items if p)
    for token in tokens:
        if not _TOKEN_RE.fullmatch(token):
            raise SipError(400, f"bad token {token!r}")
    return tokens


@dataclass(frozen=True, slots=True)
class MediaType:
    """A media type such as ``application/sdp`` with its parameters (§20.15)."""

    type: str
    subtype: str
    params: Params = ()

    @property
    def mime(self) -> str:
        """``type/subtype`` lower-cased."""
        return f"{self.type}/{self.subtype}"

    def param(self, name: str) -> str | None:
        """Unquoted value of parameter ``name``."""
        return _find(self.params, name)

    def matches(self, mime: str) -> bool:
        """True when ``mime`` falls in this (possibly wildcard) range."""
        t, _, s = mime.lower().partition("/")
        return self.type in ("*", t) and self.subtype in ("*", s)

    def __str__(self) -> str:
        return self.mime + _params_text(self.params)


def parse_media_type(value: str) -> MediaType:
    """Parse ``type/subtype *(;param)``."""
    semi = value.find(";")
    head = value if semi < 0 else value[:semi]
    t, slash, s = head.strip(_WS).lower().partition("/")
    t, s = t.strip(_WS), s.strip(_WS)
    if not slash or not is_token(t) or not is_token(s):
        raise SipError(400, f"bad media type {value!r}")
    return MediaType(t, s, parse_params(value[semi:]) if semi >= 0 else ())


@dataclass(frozen=True, slots=True)
class AuthParam:
    """One auth-param; ``quoted`` tells how it is written on the wire."""

    name: str
    value: str
    quoted: bool = True

    def __str__(self) -> str:
        return f"{self.name}={quote(self.value) if self.quoted else self.value}"


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """A challenge or credentials value (WWW-/Proxy-Authenticate, (Proxy-)Authorization)."""

    scheme: str
    params: tuple[AuthParam, ...] = ()
    token68: str | None = None

    def param(self, name: str) -> str | None:
        """Unquoted value of auth-param ``name`` (case-insensitive), None if absent."""
        lname = name.lower()
        for p in self.params:
            if p.name.lower() == lname:
                return p.value
        return None

    def __str__(self) -> str:
        if self.token68 is not None:
            return f"{self.scheme} {self.token68}"
        return f"{self.scheme} " + ", ".join(str(p) for p in self.params)


def parse_auth(value: str) -> AuthHeader:
    """Parse ``scheme auth-param *(, auth-param)`` or ``scheme token68`` (RFC 7235 §2.1)."""
    s = value.strip(_WS)
    words = s.split(None, 1)
    if not words or not is_token(words[0]):
        raise SipError(400, f"bad auth header {value!r}")
    scheme = words[0]
    rest = words[1].strip() if len(words) > 1 else ""
    if rest and _TOKEN68_RE.fullmatch(rest) and "=" not in rest.rstrip("="):
        return AuthHeader(scheme, (), rest)
    params: list[AuthParam] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = rest.find("=", i)
        if eq < 0:
            raise SipError(400, f"bad auth-param in {value!r}")
        name = rest[i:eq].strip(_WS)
        i = eq + 1
        while i < n and rest[i] in _WS:
            i += 1
        if i < n and rest[i] == '"':
            end = _scan_quoted(rest, i)
            params.append(AuthParam(name, unquote(rest[i:end]), True))
            i = end
        else:
            comma = rest.find(",", i)
            end = n if comma < 0 else comma
            params.append(AuthParam(name, rest[i:end].strip(_WS), False))
            i = end
        if not is_token(name):
            raise SipError(400, f"bad auth-param name in {value!r}")
        while i < n and rest[i] in _WS:
            i += 1
        if i < n and rest[i] != ",":
            raise SipError(400, f"junk after auth-param in {value!r}")
    return AuthHeader(scheme, tuple(params))
