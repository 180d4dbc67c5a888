"""rtpengine's pcap recordings turned into the WAV files call control expects.

Theory of operation
-------------------
With ``--recording-method=pcap`` rtpengine appends every packet of a recorded call to
``RECORDING_DIR/pcaps/CALLID-RANDOM.pcap`` (libpcap format, raw IPv4 link type, as
received: the source is the sender, the destination rtpengine's local port). An
endpoint's call has two local ports: packets arriving on the *peer* port are what the
peer says (left channel), packets arriving on the *inner* port are what is sent to the
peer (right channel: the other leg of a bridge, or prompts from the embedded engine).

Which packets belong to the recording is the caller's to say: the ports whose packets
make the left channel and those that make the right one (an rtpengine call holds every
leg of a Helpline call, e.g. a consultation's third party); the rest is skipped.

G.711 payloads are decoded and placed on the call's timeline by RTP timestamp, each
SSRC anchored at the arrival time of its first packet (a new SSRC, e.g. the agent
taking over from a prompt, is anchored again), so gaps and reordering in the network
neither stretch nor shift the audio. Telephone-events and other payload types are
skipped. Only packets captured between ``start`` and ``stop`` (wall-clock seconds, as
in the pcap) are used, so one pcap can serve successive recordings of the same call.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpline.media._audioop import audioop
from helpline.media.errors import MediaError
from helpline.media.wav import WavWriter, interleave

RATE = 8000
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
_LINK_RAW, _LINK_ETHERNET, _LINK_RAW_IPV4 = 101, 1, 228
_DECODE = {0: audioop.ulaw2lin, 8: audioop.alaw2lin}
_MAX_SKEW = 2 * RATE
"""Samples an RTP timestamp may run ahead of arrival before the SSRC is anchored again."""


@dataclass(frozen=True, slots=True)
class Packet:
    """One UDP datagram of the capture."""

    time: float
    dst_port: int
    payload: bytes


def read_packets(path: Path) -> Iterator[Packet]:
    """The UDP packets of a libpcap file (raw or Ethernet link type, IPv4)."""
    data = path.read_bytes()
    if len(data) < _GLOBAL.size:
        return
    magic, _, _, _, _, _, link = _GLOBAL.unpack_from(data)
    if magic != 0xA1B2C3D4:
        raise MediaError(f"{path} is not a little-endian microsecond pcap")
    pos = _GLOBAL.size
    while pos + _RECORD.size <= len(data):
        sec, usec, length, _ = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        frame = data[pos : pos + length]
        pos += length
        if len(frame) < length:
            break
        ip = frame[14:] if link == _LINK_ETHERNET else frame
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        (dst_port,) = struct.unpack_from("!H", ip, ihl + 2)
        yield Packet(sec + usec / 1e6, dst_port, ip[ihl + 8 :])


def _rtp(payload: bytes) -> tuple[int, int, int, bytes] | None:
    """``(payload type, timestamp, ssrc, audio)`` of an RTP packet, or None."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return None
    pt = payload[1] & 0x7F
    timestamp, ssrc = struct.unpack_from("!II", payload, 4)
    start = 12 + 4 * (payload[0] & 0x0F)
    if payload[0] & 0x10:
        if len(payload) < start + 4:
            return None
        start += 4 + 4 * struct.unpack_from("!H", payload, start + 2)[0]
    end = len(payload)
    if payload[0] & 0x20 and end > start:
        end -= payload[-1]
    return pt, timestamp, ssrc, payload[start:end]


class _Channel:
    """One direction's audio, placed by RTP timestamp."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.pcm = bytearray()
        self.anchors: dict[int, tuple[int, int]] = {}

    def add(self, arrival: float, timestamp: int, ssrc: int, pcm: bytes) -> None:
        due = round((arrival - self.origin) * RATE)
        anchor = self.anchors.get(ssrc)
        if anchor is None:
            anchor = self.anchors[ssrc] = (due, timestamp)
        sample = anchor[0] + ((timestamp - anchor[1]) & 0xFFFFFFFF)
        if abs(sample - due) > _MAX_SKEW:
            self.anchors[ssrc] = (due, timestamp)
            sample = due
        offset = max(sample, 0) * 2
        if len(self.pcm) < offset + len(pcm):
            self.pcm.extend(bytes(offset + len(pcm) - len(self.pcm)))
        self.pcm[offset : offset + len(pcm)] = pcm


def pcap_to_wav(
    pcaps: list[Path],
    wav: Path,
    *,
    left_ports: set[int],
    right_ports: set[int],
    start: float,
    stop: float,
    stereo: bool = True,
) -> float:
    """Write the recording between ``start`` and ``stop`` to ``wav`` (left: packets to
    ``left_ports``, right: packets to ``right_ports``; mono mixes them); its duration in
    seconds."""
    left = right = None
    for path in pcaps:
        for packet in read_packets(path):
            if not start <= packet.time <= stop:
                continue
            if packet.dst_port in left_ports:
                left_side = True
            elif packet.dst_port in right_ports:
                left_side = False
            else:
                continue
            parsed = _rtp(packet.payload)
            if parsed is None or parsed[0] not in _DECODE:
                continue
            pt, timestamp, ssrc, audio = parsed
            if left is None or right is None:
                left, right = _Channel(start), _Channel(start)
            channel = left if left_side else right
            channel.add(packet.time, timestamp, ssrc, _DECODE[pt](audio, 2))
    a = bytes(left.pcm) if left else b""
    b = bytes(right.pcm) if right else b""
    size = max(len(a), len(b))
    a, b = a.ljust(size, b"\x00"), b.ljust(size, b"\x00")
    wav.parent.mkdir(parents=True, exist_ok=True)
    with WavWriter(str(wav), channels=2 if stereo else 1) as writer:
        if size:
            writer.write(interleave(a, b) if stereo else audioop.add(a, b, 2))
    return size / 2 / RATE
