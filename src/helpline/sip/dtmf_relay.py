"""DTMF relayed in SIP INFO requests: ``application/dtmf-relay`` and ``application/dtmf``.

Theory of operation: phones that do not send RFC 4733 telephone-events put each key in
an INFO body. Two formats are common (neither has an RFC): ``application/dtmf-relay``
with ``Signal=5`` and ``Duration=160`` lines (Cisco, Asterisk, most desk phones), and
``application/dtmf`` whose body is the key alone (some gateways send the event code
``0``-``16`` instead). :func:`parse_info_dtmf` turns either into the key and its
duration in milliseconds, or None when the body is not DTMF (the INFO is still
answered 200: RFC 6086 leaves unknown packages to the application).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DTMF_KEYS", "InfoDigit", "parse_info_dtmf"]

DTMF_KEYS = "0123456789*#ABCD"
DEFAULT_DURATION_MS = 160
_MAX_BODY = 256


@dataclass(frozen=True, slots=True)
class InfoDigit:
    """One key from an INFO body."""

    key: str
    duration_ms: int


def _key(text: str) -> str | None:
    text = text.strip().upper()
    if len(text) == 1 and text in DTMF_KEYS:
        return text
    if text.isdigit() and int(text) < 16:
        return DTMF_KEYS[int(text)]
    if text == "16":
        return None  # flash-hook: not a key
    return None


def _duration(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        return DEFAULT_DURATION_MS
    return value if 0 < value <= 10_000 else DEFAULT_DURATION_MS


def parse_info_dtmf(content_type: str | None, body: bytes) -> InfoDigit | None:
    """The key an INFO carries, or None when its body is not DTMF."""
    if content_type is None or not body or len(body) > _MAX_BODY:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    if media_type == "application/dtmf":
        key = _key(text)
        return None if key is None else InfoDigit(key, DEFAULT_DURATION_MS)
    if media_type != "application/dtmf-relay":
        return None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip().lower()] = value
    signal = fields.get("signal")
    key = None if signal is None else _key(signal)
    if key is None:
        return None
    return InfoDigit(key, _duration(fields.get("duration", "")))
