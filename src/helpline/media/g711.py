"""G.711 µ-law (PCMU) and A-law (PCMA) codecs (ITU-T G.711; RTP payload types RFC 3551 §4.5.14).

Linear audio is 16-bit signed PCM in native byte order, as ``audioop`` produces it; one
G.711 byte per sample. Encoding and decoding go through ``audioop``. Transcoding between
the two laws never needs linear samples: each law has 256 codes, so µ-law -> A-law and
back is a 256-entry ``bytes.translate`` table built once at import from ``audioop`` itself.
"""

from __future__ import annotations

from typing import Final

from helpline.media._audioop import audioop
from helpline.media.errors import MediaError

PCMU: Final = 0
"""Static RTP payload type of G.711 µ-law (RFC 3551 table 4)."""
PCMA: Final = 8
"""Static RTP payload type of G.711 A-law (RFC 3551 table 4)."""
CLOCK_RATE: Final = 8000
SAMPLE_WIDTH: Final = 2
ULAW_SILENCE: Final = 0xFF
ALAW_SILENCE: Final = 0xD5

_ALL_CODES = bytes(range(256))
_ULAW_TO_ALAW: Final = audioop.lin2alaw(audioop.ulaw2lin(_ALL_CODES, SAMPLE_WIDTH), SAMPLE_WIDTH)
_ALAW_TO_ULAW: Final = audioop.lin2ulaw(audioop.alaw2lin(_ALL_CODES, SAMPLE_WIDTH), SAMPLE_WIDTH)


def _check_linear(pcm: bytes) -> None:
    if len(pcm) % SAMPLE_WIDTH:
        raise MediaError(f"16-bit linear PCM needs an even byte count, got {len(pcm)}")


def ulaw_encode(pcm: bytes) -> bytes:
    """Encode 16-bit linear PCM to µ-law, one byte per sample."""
    _check_linear(pcm)
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH)


def ulaw_decode(data: bytes) -> bytes:
    """Decode µ-law bytes to 16-bit linear PCM."""
    return audioop.ulaw2lin(data, SAMPLE_WIDTH)


def alaw_encode(pcm: bytes) -> bytes:
    """Encode 16-bit linear PCM to A-law, one byte per sample."""
    _check_linear(pcm)
    return audioop.lin2alaw(pcm, SAMPLE_WIDTH)


def alaw_decode(data: bytes) -> bytes:
    """Decode A-law bytes to 16-bit linear PCM."""
    return audioop.alaw2lin(data, SAMPLE_WIDTH)


def ulaw_to_alaw(data: bytes) -> bytes:
    """Transcode µ-law to A-law (same result as decoding then encoding, without the PCM)."""
    return data.translate(_ULAW_TO_ALAW)


def alaw_to_ulaw(data: bytes) -> bytes:
    """Transcode A-law to µ-law (same result as decoding then encoding, without the PCM)."""
    return data.translate(_ALAW_TO_ULAW)


def encode(pcm: bytes, payload_type: int) -> bytes:
    """Encode 16-bit linear PCM for ``payload_type`` (:data:`PCMU` or :data:`PCMA`)."""
    if payload_type == PCMU:
        return ulaw_encode(pcm)
    if payload_type == PCMA:
        return alaw_encode(pcm)
    raise MediaError(f"payload type {payload_type} is not G.711")


def decode(data: bytes, payload_type: int) -> bytes:
    """Decode a G.711 payload of ``payload_type`` to 16-bit linear PCM."""
    if payload_type == PCMU:
        return ulaw_decode(data)
    if payload_type == PCMA:
        return alaw_decode(data)
    raise MediaError(f"payload type {payload_type} is not G.711")


def transcode(data: bytes, source: int, target: int) -> bytes:
    """Transcode a G.711 payload between payload types; identity when they are equal."""
    if source == target and source in (PCMU, PCMA):
        return data
    if source == PCMU and target == PCMA:
        return ulaw_to_alaw(data)
    if source == PCMA and target == PCMU:
        return alaw_to_ulaw(data)
    raise MediaError(f"cannot transcode payload type {source} to {target}")


def silence(samples: int, payload_type: int) -> bytes:
    """A G.711 payload of ``samples`` samples of silence."""
    if payload_type == PCMU:
        return bytes((ULAW_SILENCE,)) * samples
    if payload_type == PCMA:
        return bytes((ALAW_SILENCE,)) * samples
    raise MediaError(f"payload type {payload_type} is not G.711")
