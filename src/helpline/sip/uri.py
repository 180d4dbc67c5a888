"""SIP, SIPS and TEL URIs: parsing, serialization and comparison.

Theory of operation: :func:`parse_uri` reads one URI (RFC 3261 §19.1, §25.1; RFC 3966
for ``tel:``).  ``sip:``/``sips:`` URIs are split by scan, not by one grand regex:
userinfo ends at the only ``@`` (user may hold ``;`` ``?`` ``/`` per user-unreserved),
then host (name, IPv4 or ``[IPv6]``) and port, ``;`` parameters and ``?`` headers.
Escapes (``%HH``) are decoded once, as UTF-8 with ``surrogateescape`` so that any octet
(even ``%00``, RFC 4475 §3.1.1.4) survives a round trip, and re-escaped on output per
component (§25.1 user/password/param/header character sets).  Any other well-formed
scheme becomes an opaque :class:`AbsoluteUri` so the caller can answer 416 (§8.2.2.1).
:meth:`SipUri.equivalent` implements the comparison rules of §19.1.4; dataclass
equality stays structural.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, replace

from helpline.sip.errors import SipError

__all__ = [
    "AbsoluteUri",
    "SipUri",
    "TelUri",
    "Uri",
    "escape",
    "parse_uri",
    "unescape",
    "uri_equivalent",
]

Params = tuple[tuple[str, str | None], ...]

_ALNUM = string.ascii_letters + string.digits
_UNRESERVED = _ALNUM + "-_.!~*'()"
_USER_SAFE = frozenset(_UNRESERVED + "&=+$,;?/")
_PASSWORD_SAFE = frozenset(_UNRESERVED + "&=+$,")
_PARAM_SAFE = frozenset(_UNRESERVED + "[]/:&+$")
_HEADER_SAFE = frozenset(_UNRESERVED + "[]/?:+$")
_HOST_CHARS = frozenset(_ALNUM + "-._")
_IPV6_CHARS = frozenset(string.hexdigits + ":.")
_SCHEME_CHARS = frozenset(_ALNUM + "+-.")
_HEX = frozenset(string.hexdigits)

_USERINFO_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/:]|%[0-9A-Fa-f]{2})*")
_PARAM_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|%[0-9A-Fa-f]{2})+")
_HEADER_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/?:+$]|%[0-9A-Fa-f]{2})*")
_BAD_CHARS_RE = re.compile(r'[\x00-\x20\x7f<>"]')
_TEL_VISUAL = str.maketrans("", "", "-.()")


def unescape(text: str) -> str:
    """Decode ``%HH`` escapes (UTF-8, undecodable octets kept as surrogates)."""
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    n = len(text)
    while i < n:
        j = text.find("%", i)
        if j < 0:
            out += text[i:].encode("utf-8", "surrogateescape")
            break
        out += text[i:j].encode("utf-8", "surrogateescape")
        hh = text[j + 1 : j + 3]
        if len(hh) != 2 or hh[0] not in _HEX or hh[1] not in _HEX:
            raise SipError(400, f"bad escape in {text!r}")
        out.append(int(hh, 16))
        i = j + 3
    return out.decode("utf-8", "surrogateescape")


def escape(text: str, safe: frozenset[str]) -> str:
    """Escape every character of ``text`` that is not in ``safe`` as ``%HH`` octets."""
    if all(c in safe for c in text):
        return text
    parts: list[str] = []
    for c in text:
        if c in safe:
            parts.append(c)
        else:
            parts.extend(f"%{b:02X}" for b in c.encode("utf-8", "surrogateescape"))
    return "".join(parts)


def _parse_port(text: str) -> int:
    if not text.isdigit() or not text.isascii() or len(text) > 5 or int(text) > 65535:
        raise SipError(400, f"bad port {text!r}")
    return int(text)


def parse_host_port(text: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (host may be ``[IPv6]``); raise SipError(400) if invalid."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not all(c in _IPV6_CHARS for c in text[1:end]) or end == 1:
            raise SipError(400, f"bad IPv6 reference {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, None
        if rest[0] != ":":
            raise SipError(400, f"bad host {text!r}")
        return host, _parse_port(rest[1:])
    host, sep, port = text.partition(":")
    if not host or not all(c in _HOST_CHARS for c in host):
        raise SipError(400, f"bad host {text!r}")
    return host, (_parse_port(port) if sep else None)


def _parse_params(parts: list[str], text: str) -> Params:
    params: list[tuple[str, str | None]] = []
    for part in parts:
        name, sep, value = part.partition("=")
        if not _PARAM_RE.fullmatch(name) or (value and not _PARAM_RE.fullmatch(value)):
            raise SipError(400, f"bad URI parameter {part!r} in {text!r}")
        params.append((unescape(name), unescape(value) if sep else None))
    return tuple(params)


def _find_param(params: Params, name: str) -> str | None:
    lname = name.lower()
    for key, value in params:
        if key.lower() == lname:
            return "" if value is None else value
    return None


def _serialize_params(params: Params) -> str:
    return "".join(
        ";" + escape(k, _PARAM_SAFE) + ("" if v is None else "=" + escape(v, _PARAM_SAFE))
        for k, v in params
    )


@dataclass(frozen=True, slots=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI; user, password, params and headers are unescaped."""

    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    scheme: str = "sip"

    def param(self, name: str) -> str | None:
        """Value of URI parameter ``name`` ("" if valueless, None if absent)."""
        return _find_param(self.params, name)

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased."""
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def lr(self) -> bool:
        """True when the loose-routing ``lr`` parameter is present (RFC 3261 §19.1.1)."""
        return self.param("lr") is not None

    @property
    def maddr(self) -> str | None:
        """The ``maddr`` parameter."""
        return self.param("maddr") or None

    @property
    def user_param(self) -> str | None:
        """The ``user`` parameter (``phone``, ``ip`` ...)."""
        return self.param("user") or None

    @property
    def secure(self) -> bool:
        """True for ``sips:`` URIs."""
        return self.scheme == "sips"

    def with_params(self, *params: tuple[str, str | None]) -> SipUri:
        """Return a copy with ``params`` added or replacing same-named ones."""
        names = {k.lower() for k, _ in params}
        kept = tuple(p for p in self.params if p[0].lower() not in names)
        return replace(self, params=kept + tuple(params))

    def without_headers(self) -> SipUri:
        """Return a copy without the ``?header`` component."""
        return replace(self, headers=())

    def equivalent(self, other: Uri) -> bool:
        """Compare per RFC 3261 §19.1.4."""
        if not isinstance(other, SipUri):
            return False
        if (
            self.scheme != other.scheme
            or self.user != other.user
            or self.password != other.password
            or self.host.lower() != other.host.lower()
            or self.port != other.port
        ):
            return False
        mine = {k.lower(): (v or "").lower() for k, v in self.params}
        theirs = {k.lower(): (v or "").lower() for k, v in other.params}
        for key in mine.keys() | theirs.keys():
            if key in mine and key in theirs:
                if mine[key] != theirs[key]:
                    return False
            elif key in ("user", "ttl", "method", "maddr"):
                return False
        return {(k.lower(), v) for k, v in self.headers} == {
            (k.lower(), v) for k, v in other.headers
        }

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(escape(self.user, _USER_SAFE))
            if self.password is not None:
                out += [":", escape(self.password, _PASSWORD_SAFE)]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        out.append(_serialize_params(self.params))
        if self.headers:
            out.append("?")
            out.append(
                "&".join(
                    escape(k, _HEADER_SAFE) + "=" + escape(v, _HEADER_SAFE) for k, v in self.headers
                )
            )
        return "".join(out)


@dataclass(frozen=True, slots=True)
class TelUri:
    """A ``tel:`` URI (RFC 3966): the number and its parameters."""

    number: str
    params: Params = ()

    @property
    def scheme(self) -> str:
        """Always ``tel``."""
        return "tel"

    @property
    def is_global(self) -> bool:
        """True for a global number (starts with ``+``)."""
        return self.number.startswith("+")

    def param(self, name: str) -> str | None:
        """Value of parameter ``name`` ("" if valueless, None if absent)."""
        return _find_param(self.params, name)

    def equivalent(self, other: Uri) -> bool:
        """Compare per RFC 3966 §4: visual separators and parameter order ignored."""
        if not isinstance(other, TelUri):
            return False
        if (
            self.number.translate(_TEL_VISUAL).lower()
            != other.number.translate(_TEL_VISUAL).lower()
        ):
            return False
        mine = {(k.lower(), (v or "").lower()) for k, v in self.params}
        return mine == {(k.lower(), (v or "").lower()) for k, v in other.params}

    def __str__(self) -> str:
        return "tel:" + escape(self.number, _PARAM_SAFE) + _serialize_params(self.params)


@dataclass(frozen=True, slots=True)
class AbsoluteUri:
    """A URI of a scheme this stack does not interpret, kept opaque (RFC 3261 §19)."""

    scheme: str
    opaque: str

    def equivalent(self, other: Uri) -> bool:
        """Exact comparison (scheme case-insensitive)."""
        return isinstance(other, AbsoluteUri) and (self.scheme, self.opaque) == (
            other.scheme,
            other.opaque,
        )

    def __str__(self) -> str:
        return f"{self.scheme}:{self.opaque}"


Uri = SipUri | TelUri | AbsoluteUri


def uri_equivalent(a: Uri, b: Uri) -> bool:
    """True when ``a`` and ``b`` name the same resource (RFC 3261 §19.1.4, RFC 3966 §4)."""
    return a.equivalent(b)


def _parse_sip(scheme: str, rest: str, text: str) -> SipUri:
    user: str | None = None
    password: str | None = None
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        if not userinfo or not _USERINFO_RE.fullmatch(userinfo):
            raise SipError(400, f"bad userinfo in {text!r}")
        raw_user, sep, raw_password = userinfo.partition(":")
        if not raw_user:
            raise SipError(400, f"empty user in {text!r}")
        user = unescape(raw_user)
        password = unescape(raw_password) if sep else None
    headers: tuple[tuple[str, str], ...] = ()
    q = rest.find("?")
    if q >= 0:
        raw_headers = rest[q + 1 :]
        rest = rest[:q]
        items: list[tuple[str, str]] = []
        for item in raw_headers.split("&"):
            name, _, value = item.partition("=")
            if not name or not _HEADER_RE.fullmatch(name) or not _HEADER_RE.fullmatch(value):
                raise SipError(400, f"bad URI header {item!r} in {text!r}")
            items.append((unescape(name), unescape(value)))
        headers = tuple(items)
    parts = rest.split(";")
    host, port = parse_host_port(parts[0])
    params = _parse_params(parts[1:], text) if len(parts) > 1 else ()
    return SipUri(host, user, password, port, params, headers, scheme)


#: How many distinct URI texts ``parse_uri`` remembers (the same few phones, services
#: and domains appear in every call; the result objects are immutable).
URI_CACHE_SIZE = 4096


def parse_uri(text: str) -> Uri:
    """Parse a URI; raise SipError(400) when malformed.

    ``sip``/``sips``/``tel`` become typed URIs; any other syntactically valid scheme
    becomes an :class:`AbsoluteUri` (the caller decides on 416). Results are cached.
    """
    return _parse_uri_cached(text)


@functools.lru_cache(maxsize=URI_CACHE_SIZE)
def _parse_uri_cached(text: str) -> Uri:
    colon = text.find(":")
    if colon <= 0 or not text[0].isalpha() or not all(c in _SCHEME_CHARS for c in text[:colon]):
        raise SipError(400, f"bad URI {text!r}")
    if _BAD_CHARS_RE.search(text):
        raise SipError(400, f"illegal character in URI {text!r}")
    scheme = text[:colon].lower()
    rest = text[colon + 1 :]
    if not rest:
        raise SipError(400, f"empty URI {text!r}")
    if scheme in ("sip", "sips"):
        return _parse_sip(scheme, rest, text)
    if scheme == "tel":
        parts = rest.split(";")
        if not parts[0]:
            raise SipError(400, f"bad tel URI {text!r}")
        params = _parse_params(parts[1:], text) if len(parts) > 1 else ()
        return TelUri(unescape(parts[0]), params)
    return AbsoluteUri(scheme, rest)
