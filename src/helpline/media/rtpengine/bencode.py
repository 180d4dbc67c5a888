"""Bencode, the encoding of rtpengine's NG control protocol.

Theory of operation
-------------------
Four types (BEP 3): integers ``i42e``, byte strings ``4:spam``, lists ``l...e`` and
dictionaries ``d...e`` with byte-string keys in sorted order. :func:`encode` accepts
``str`` (UTF-8) and ``bytes`` alike and :func:`decode` returns ``bytes`` for strings
(NG values are ASCII except SDP bodies, which stay bytes). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

Value: TypeAlias = (
    "int | bytes | str | Sequence[Value] | Mapping[str, Value] | Mapping[bytes, Value]"
)
Decoded: TypeAlias = "int | bytes | list[Decoded] | dict[bytes, Decoded]"


class BencodeError(ValueError):
    """Malformed bencode, or a value bencode cannot carry."""


def encode(value: Value) -> bytes:
    """The bencoding of ``value`` (``str`` is encoded as UTF-8 bytes)."""
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: Value, out: list[bytes]) -> None:
    if isinstance(value, bool):
        raise BencodeError("bencode has no booleans")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, str | bytes):
        raw = value.encode() if isinstance(value, str) else value
        out.append(b"%d:" % len(raw))
        out.append(raw)
    elif isinstance(value, list | tuple):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, Mapping):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        out.append(b"d")
        previous = None
        for key, item in items:
            if key == previous:
                raise BencodeError(f"duplicate key {key!r}")
            previous = key
            _encode(key, out)
            _encode(item, out)
        out.append(b"e")
    else:
        raise BencodeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes) -> Decoded:
    """The one value encoded in ``data``; raises :class:`BencodeError` on any excess."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise BencodeError(f"trailing bytes at {end}")
    return value


def _decode(data: bytes, pos: int) -> tuple[Decoded, int]:
    if pos >= len(data):
        raise BencodeError("truncated")
    lead = data[pos : pos + 1]
    if lead == b"i":
        end = data.find(b"e", pos)
        if end < 0:
            raise BencodeError("unterminated integer")
        text = data[pos + 1 : end]
        if (
            not text
            or text in (b"-", b"-0")
            or (text.lstrip(b"-")[:1] == b"0" and len(text.lstrip(b"-")) > 1)
        ):
            raise BencodeError(f"bad integer {text!r}")
        try:
            return int(text), end + 1
        except ValueError:
            raise BencodeError(f"bad integer {text!r}") from None
    if lead == b"l":
        items: list[Decoded] = []
        pos += 1
        while data[pos : pos + 1] != b"e":
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos + 1
    if lead == b"d":
        mapping: dict[bytes, Decoded] = {}
        pos += 1
        while data[pos : pos + 1] != b"e":
            key, pos = _decode(data, pos)
            if not isinstance(key, bytes):
                raise BencodeError("dictionary key is not a string")
            mapping[key], pos = _decode(data, pos)
        return mapping, pos + 1
    if lead.isdigit():
        colon = data.find(b":", pos)
        if colon < 0 or not data[pos:colon].isdigit():
            raise BencodeError("bad string length")
        start = colon + 1
        end = start + int(data[pos:colon])
        if end > len(data):
            raise BencodeError("truncated string")
        return data[start:end], end
    raise BencodeError(f"unexpected {lead!r} at {pos}")
