"""Which coding a text needs, how many SMS parts it takes, and the octets of each part
(3GPP TS 23.038 §6.2.1 alphabet, TS 23.040 §9.2.3.24.1 concatenation).

A text every character of which is in the GSM 7-bit default alphabet (or its extension
table, reached through an escape, so two septets) travels as GSM: 160 septets in one
part, 153 per part once concatenated (the 6-octet user data header takes the rest).
Anything else (Chinese, Korean, emoji ...) travels as UCS-2, in practice UTF-16 big
endian: 70 code units in one part, 67 per part concatenated. A part never ends between
an escape and its character, nor inside a surrogate pair.

SMPP carries GSM text unpacked, one septet per octet (:func:`gsm_encode`). Pure
functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from helpline.sms.models import Coding

GSM_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The default alphabet in code order (0x1B is the escape)."""
GSM_EXTENSION: Final = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
ESCAPE: Final = 0x1B
_BASIC: Final = {c: i for i, c in enumerate(GSM_TABLE) if i != ESCAPE}
_EXTENSION_BACK: Final = {v: k for k, v in GSM_EXTENSION.items()}
GSM_SINGLE: Final = 160
GSM_PART: Final = 153
UCS2_SINGLE: Final = 70
UCS2_PART: Final = 67


@dataclass(frozen=True, slots=True)
class Encoded:
    """How a text travels."""

    coding: Coding
    units: int
    """Septets (GSM) or UTF-16 code units (UCS-2)."""
    parts: int


def is_gsm(text: str) -> bool:
    """Whether ``text`` fits the GSM 7-bit default alphabet and its extension."""
    return all(c in _BASIC or c in GSM_EXTENSION for c in text)


def coding_for(text: str) -> Coding:
    """GSM when the text fits the default alphabet, else UCS-2."""
    return Coding.GSM7 if is_gsm(text) else Coding.UCS2


def encode_info(text: str) -> Encoded:
    """The coding, length and number of parts of ``text``."""
    coding = coding_for(text)
    if coding is Coding.GSM7:
        units, single = len(gsm_encode(text)), GSM_SINGLE
    else:
        units, single = len(text.encode("utf-16-be")) // 2, UCS2_SINGLE
    parts = 1 if units <= single else len(segments(text, coding))
    return Encoded(coding, units, parts)


def gsm_encode(text: str) -> bytes:
    """Unpacked septets of ``text``; ``ValueError`` if a character is not GSM."""
    out = bytearray()
    for c in text:
        if c in _BASIC:
            out.append(_BASIC[c])
        elif c in GSM_EXTENSION:
            out += bytes((ESCAPE, GSM_EXTENSION[c]))
        else:
            raise ValueError(f"{c!r} is not in the GSM 7-bit alphabet")
    return bytes(out)


def gsm_decode(data: bytes) -> str:
    """Text from unpacked septets (unknown escapes read as a space, as 23.038 says)."""
    out: list[str] = []
    escaped = False
    for octet in data:
        septet = octet & 0x7F
        if escaped:
            out.append(_EXTENSION_BACK.get(septet, " "))
            escaped = False
        elif septet == ESCAPE:
            escaped = True
        else:
            out.append(GSM_TABLE[septet])
    return "".join(out)


def decode_ucs2(data: bytes) -> str:
    """Text from UCS-2 / UTF-16BE octets (an odd trailing octet is dropped)."""
    return data[: len(data) // 2 * 2].decode("utf-16-be", errors="replace")


def segments(text: str, coding: Coding) -> list[bytes]:
    """The encoded user data of each part (without headers); one part if it fits."""
    if coding is Coding.GSM7:
        data, single, size = gsm_encode(text), GSM_SINGLE, GSM_PART
        unit = 1
    else:
        data, single, size = text.encode("utf-16-be"), UCS2_SINGLE * 2, UCS2_PART * 2
        unit = 2
    if len(data) <= single:
        return [data]
    parts: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + size, len(data))
        if end < len(data):
            if coding is Coding.GSM7 and data[end - 1] == ESCAPE:
                end -= 1
            elif coding is Coding.UCS2 and 0xD8 <= data[end - unit] <= 0xDB:
                end -= unit
        parts.append(data[start:end])
        start = end
    return parts
