"""Errors raised by the SDP parser and the offer/answer logic.

Each carries the SIP status a SIP layer should answer with: a body that cannot be parsed
is a 400 (Bad Request, RFC 3261 §21.4.1); a well-formed offer we cannot accept is a 488
(Not Acceptable Here, RFC 3261 §21.4.26, RFC 3264 §6).
"""

from __future__ import annotations


class SdpError(Exception):
    """Malformed or unusable SDP; ``status_code`` is the SIP status it implies."""

    status_code: int = 400

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.message = message
        self.line = line


class NegotiationError(SdpError):
    """A well-formed offer or answer with no acceptable audio stream (SIP 488)."""

    status_code = 488
