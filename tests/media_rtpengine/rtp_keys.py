"""A caller's media for a SIPp call: talks and presses keys as RFC 4733 telephone-events.

``python rtp_keys.py PORT KEYS SECONDS``: binds 127.0.0.1:PORT (the port the caller's
SDP announces; SIPp handles the signalling only), waits for the first packet from
Helpline's media relay and answers that address symmetrically: a 1 kHz PCMU tone, and
every second one key of ``KEYS`` (payload type 101, 100 ms, audio muted meanwhile),
until SECONDS have passed since the first packet. Prints ``ready`` once bound.
"""

from __future__ import annotations

import random
import socket
import sys
import time

from helpline.media import g711
from helpline.media.dtmf import DtmfSender
from helpline.media.rtp import RtpSender
from helpline.media.tones import tone

FRAME = 0.02


def main(port: int, keys: str, seconds: float) -> None:
    """Talk and press ``keys`` towards whoever sends to ``port`` first."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(30)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    _, relay = sock.recvfrom(2048)
    rtp = RtpSender(0, rng=random.Random(port))
    dtmf = DtmfSender(rtp, payload_type=101)
    start = time.monotonic()
    pending = list(keys)
    n = 0
    while n * FRAME < seconds:
        if pending and n and n % 50 == 0:
            key = pending.pop(0)
            base = time.monotonic()
            for scheduled in dtmf.packets(key, 0.1):
                time.sleep(max(base + scheduled.offset - time.monotonic(), 0))
                sock.sendto(scheduled.packet.serialize(), relay)
            start += time.monotonic() - base
        frame = tone([1000], FRAME, amplitude=0.3, start_sample=160 * n)
        sock.sendto(rtp.next_packet(g711.encode(frame, 0)).serialize(), relay)
        n += 1
        time.sleep(max(start + n * FRAME - time.monotonic(), 0))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
