"""The plain-RTP half of the WebRTC gateway: G.711 RTP in and out, 20 ms PCM frames.

Theory of operation
-------------------
The gateway sits between a browser (WebRTC) and one media-engine endpoint (plain RTP on
the same host). Both directions meet here as 8 kHz mono 16-bit linear PCM:

* :class:`EngineToBrowser` takes the RTP datagrams the engine endpoint sends to the
  gateway (RFC 3550 §5.1; G.711 µ-law or A-law, RFC 3551 §4.5.14), decodes them and
  queues 20 ms frames; the browser-bound track pulls one frame per 20 ms tick
  (:meth:`EngineToBrowser.next_frame`) and gets silence when nothing is queued (the
  engine sends nothing while it has nothing to play). RTCP multiplexed on the same port
  (RFC 5761 §4: second octet 192-223) and other payload types (telephone-event) are
  dropped. The queue is bounded: when the engine runs ahead of the tick, the oldest
  frames go, so latency stays under ``max_frames * 20 ms``.
* :class:`BrowserToEngine` takes PCM already resampled to 8 kHz mono (whatever the
  browser's codec was, Opus at 48 kHz or G.711), cuts it into 160-sample frames, encodes
  each and wraps it in RTP with an :class:`~helpline.media.rtp.RtpSender` (its own SSRC,
  sequence numbers and timestamps).

Nothing here reads a clock or touches a socket.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from helpline.media import g711
from helpline.media.errors import MediaError
from helpline.media.g711 import PCMA, PCMU
from helpline.media.rtp import SAMPLES_PER_FRAME, RtpPacket, RtpSender

FRAME_BYTES: Final = 2 * SAMPLES_PER_FRAME
"""One 20 ms frame of 8 kHz 16-bit mono PCM."""
SILENCE: Final = bytes(FRAME_BYTES)
MAX_FRAMES: Final = 5


def is_rtcp(data: bytes) -> bool:
    """True for an RTCP packet multiplexed with RTP (RFC 5761 §4)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


class EngineToBrowser:
    """Decodes the engine's G.711 RTP into a bounded queue of 20 ms PCM frames."""

    __slots__ = ("_frames", "_partial", "dropped", "ignored", "max_frames", "received")

    def __init__(self, *, max_frames: int = MAX_FRAMES) -> None:
        if max_frames < 1:
            raise MediaError("the frame queue needs room for at least one frame")
        self.max_frames = max_frames
        self._frames: deque[bytes] = deque()
        self._partial = b""
        self.received = 0
        self.dropped = 0
        """Frames discarded because the queue was full."""
        self.ignored = 0
        """Datagrams that were RTCP, malformed or not G.711."""

    def receive(self, data: bytes) -> None:
        """One datagram from the engine endpoint."""
        if is_rtcp(data):
            self.ignored += 1
            return
        try:
            packet = RtpPacket.parse(data)
        except MediaError:
            self.ignored += 1
            return
        if packet.payload_type not in (PCMU, PCMA):
            self.ignored += 1
            return
        self.received += 1
        pcm = self._partial + g711.decode(packet.payload, packet.payload_type)
        whole = len(pcm) - len(pcm) % FRAME_BYTES
        for start in range(0, whole, FRAME_BYTES):
            self._frames.append(pcm[start : start + FRAME_BYTES])
        self._partial = pcm[whole:]
        while len(self._frames) > self.max_frames:
            self._frames.popleft()
            self.dropped += 1

    @property
    def queued(self) -> int:
        """Frames waiting for the browser."""
        return len(self._frames)

    def next_frame(self) -> bytes:
        """The oldest queued frame, or a frame of silence."""
        return self._frames.popleft() if self._frames else SILENCE


class BrowserToEngine:
    """Turns 8 kHz mono PCM from the browser into 20 ms G.711 RTP datagrams."""

    __slots__ = ("_pending", "sender")

    def __init__(self, sender: RtpSender) -> None:
        if sender.payload_type not in (PCMU, PCMA):
            raise MediaError(f"payload type {sender.payload_type} is not G.711")
        self.sender = sender
        self._pending = b""

    def push(self, pcm: bytes) -> list[bytes]:
        """Add PCM (any length, whole samples); the datagrams of the frames completed."""
        if len(pcm) % 2:
            raise MediaError("16-bit PCM needs an even byte count")
        data = self._pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        out = [
            self.sender.next_datagram(
                g711.encode(data[start : start + FRAME_BYTES], self.sender.payload_type)
            )
            for start in range(0, whole, FRAME_BYTES)
        ]
        self._pending = data[whole:]
        return out
