"""Multipart message bodies (RFC 2046 §5.1, RFC 5621 for SIP).

Theory of operation: a ``multipart/*`` body is split at ``CRLF--boundary`` delimiters
(the first one may start the body), up to the close delimiter ``--boundary--``.  Each
part has its own header section (possibly empty) and content, kept as raw bytes since
parts may be binary (RFC 4475 §3.1.1.11).  Preamble and epilogue are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.sip.errors import SipError
from helpline.sip.headers import Header, MediaType, parse_header_lines, parse_media_type

__all__ = ["BodyPart", "split_multipart"]


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One part of a multipart body."""

    fields: tuple[Header, ...]
    content: bytes

    @property
    def content_type(self) -> MediaType:
        """The part's Content-Type (``text/plain`` when absent, RFC 2046 §5.1)."""
        for h in self.fields:
            if h.name == "Content-Type":
                return parse_media_type(h.value)
        return MediaType("text", "plain")


def _part(raw: bytes) -> BodyPart:
    if raw.startswith(b"\r\n"):
        return BodyPart((), raw[2:])
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        raise SipError(400, "multipart part without header end")
    lines = raw[:end].decode("utf-8", "surrogateescape").split("\r\n")
    return BodyPart(parse_header_lines(lines), raw[end + 4 :])


def split_multipart(body: bytes, boundary: str) -> tuple[BodyPart, ...]:
    """Split a multipart ``body`` with the given ``boundary``; SipError(400) if broken."""
    delimiter = b"--" + boundary.encode("utf-8", "surrogateescape")
    if body.startswith(delimiter):
        pos = 0
    else:
        pos = body.find(b"\r\n" + delimiter)
        if pos < 0:
            raise SipError(400, "multipart boundary not found")
        pos += 2
    parts: list[BodyPart] = []
    while True:
        pos += len(delimiter)
        if body[pos : pos + 2] == b"--":
            return tuple(parts)
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise SipError(400, "bad multipart delimiter line")
        nxt = body.find(b"\r\n" + delimiter, eol)
        if nxt < 0:
            raise SipError(400, "multipart close delimiter missing")
        parts.append(_part(body[eol + 2 : nxt]))
        pos = nxt + 2
