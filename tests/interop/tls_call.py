"""A minimal SIP-over-TLS caller: INVITE echo, ACK the 200, BYE; prints what it got.

Run inside the test namespace: ``python tls_call.py PORT``. Certificate checks are off
(the node uses its generated self-signed certificate).
"""

from __future__ import annotations

import re
import socket
import ssl
import sys

SDP = (
    "v=0\r\no=c 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 16600 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _read(sock: ssl.SSLSocket, buffer: bytearray) -> str:
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(4096)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(rest) < length:
        rest += sock.recv(4096)
    buffer[:] = rest[length:]
    return head.decode()


def _request(method: str, cseq: int, to_tag: str, port: int, local: int, body: str = "") -> bytes:
    to = f"<sip:echo@127.0.0.1:{port}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} sip:echo@127.0.0.1:{port};transport=tls SIP/2.0",
        f"Via: SIP/2.0/TLS 127.0.0.1:{local};branch=z9hG4bK-tls-{method}-{cseq};rport",
        "From: <sip:caller@127.0.0.1>;tag=tlscaller",
        f"To: {to}",
        "Call-ID: tls-call-1@127.0.0.1",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:caller@127.0.0.1:{local};transport=tls>",
        "Max-Forwards: 70",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def main(port: int) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    with context.wrap_socket(raw) as sock:
        local = sock.getsockname()[1]
        buffer = bytearray()
        sock.sendall(_request("INVITE", 1, "", port, local, SDP))
        while True:
            head = _read(sock, buffer)
            status = head.split(" ", 2)[1]
            print("INVITE", status)
            if int(status) >= 200:
                break
        tag = re.search(r"(?im)^to:.*;tag=([^;\s]+)", head).group(1)  # type: ignore[union-attr]
        sock.sendall(_request("ACK", 1, tag, port, local))
        sock.sendall(_request("BYE", 2, tag, port, local))
        head = _read(sock, buffer)
        print("BYE", head.split(" ", 2)[1])


if __name__ == "__main__":
    main(int(sys.argv[1]))
