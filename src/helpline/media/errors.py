"""Errors raised by the media core.

A malformed packet or an impossible argument raises :class:`MediaError`; the I/O layer
logs it and drops the datagram. Media errors never imply a SIP status by themselves.
"""

from __future__ import annotations


class MediaError(ValueError):
    """A malformed RTP/RTCP/telephone-event packet or an invalid media argument."""
