"""Capture the RTP sent to some UDP ports on the loopback, for a bounded time.

Run inside the test's network namespace (root: an AF_PACKET socket on ``lo``)::

    python rtp_sniff.py OUT.json SECONDS PORT [PORT ...]

Every UDP datagram to one of the ports that looks like RTP version 2 is written to
``OUT.json`` as ``[port, payload_type, ssrc, seq, payload_hex, monotonic_time]``.
Writing starts only when the time is up (or on SIGTERM); "ready" is printed once the
socket is open.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def main() -> None:
    out, seconds, ports = sys.argv[1], float(sys.argv[2]), {int(p) for p in sys.argv[3:]}
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind(("lo", 0))
    sock.settimeout(0.2)
    packets: list[list[object]] = []
    deadline = time.monotonic() + seconds
    stop = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    print("ready", flush=True)
    while not stop and time.monotonic() < deadline:
        try:
            frame, meta = sock.recvfrom(65535)
        except TimeoutError:
            continue
        if meta[2] == socket.PACKET_OUTGOING:
            continue  # loopback shows each packet twice
        ip = frame[14:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        dst = struct.unpack("!H", udp[2:4])[0]
        rtp = udp[8:]
        if dst not in ports or len(rtp) < 12 or rtp[0] >> 6 != 2:
            continue
        seq, _ts, ssrc = struct.unpack("!HII", rtp[2:12])
        header = 12 + 4 * (rtp[0] & 0x0F)
        packets.append([dst, rtp[1] & 0x7F, ssrc, seq, rtp[header:].hex(), time.monotonic()])
    with open(out, "w") as f:
        json.dump(packets, f)


if __name__ == "__main__":
    main()
