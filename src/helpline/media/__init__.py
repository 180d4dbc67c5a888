"""The pure media core: RTP/RTCP, G.711, telephone-events, statistics, mixing, tones, WAV.

Everything here except :mod:`helpline.media.wav` is sans-IO: it takes bytes and the
current time and returns packets, frames and events. No sockets, no asyncio, no clock.
"""

from helpline.media.errors import MediaError

__all__ = ["MediaError"]
