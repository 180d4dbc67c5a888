"""The gateway's error, importable without loading aiortc."""

from __future__ import annotations

from helpline.media.backend import MediaBackendError


class WebRtcError(MediaBackendError):
    """The browser's SDP cannot be used (no common codec, bad ICE/DTLS parameters), or
    the gateway has no socket for a leg; call control answers 488 as for any media error."""
