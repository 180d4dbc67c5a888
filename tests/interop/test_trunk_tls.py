"""Calls out through TLS and TCP trunks: Helpline opens the connection to the provider.

The provider is a small Python SIP server in the test namespace (Debian's SIPp has no
TLS), with a self-signed certificate the node trusts through ``HELPLINE_SIP_TLS_CA``.
A phone (SIPp over UDP) dials out; Helpline connects to the provider, verifies its
certificate, sends the INVITE on the new connection and the ACK and BYE on the same
one. A TLS trunk nobody listens on is tried first: the refused connection fails its
INVITE at once (503) and the call fails over long before Timer B (32 s) would fire.

Run as ``python -m tests.interop.test_trunk_tls HOST PORT LOG [CERT KEY]`` (from the
repository root) this module is that provider: it answers one call and exits.
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.telephony.tls import ensure_self_signed
from tests.interop.harness import Namespace, Node, helpline, sipp

ADMIN = ("demo", "admin", "demo-web-pass")
PHONE, PHONE_PASSWORD = "2001", "demo-sip-pass"
PROVIDER = "127.0.0.3"  # not 127.0.0.1, where the phone calls from
REPO = Path(__file__).resolve().parents[2]
READY = "provider ready"

SDP = (
    "v=0\r\no=provider 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
    "m=audio 17000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "l": "content-length"}


# -- the provider (runs in the namespace) -----------------------------------------------


def _read(sock: socket.socket, buffer: bytearray) -> str:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the connection closed")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
    length = int(found.group(1)) if found else 0
    while len(rest) < length:
        rest += sock.recv(4096)
    buffer[:] = rest[length:]
    return head.decode()


def _fields(head: str, name: str) -> list[str]:
    lines = head.split("\r\n")[1:]
    return [
        line.split(":", 1)[1].strip()
        for line in lines
        if _COMPACT.get(line.split(":", 1)[0].strip().lower(), line.split(":")[0].lower()) == name
    ]


def _response(request: str, status: str, contact: str = "", body: str = "") -> bytes:
    to = _fields(request, "to")[0]
    lines = [f"SIP/2.0 {status}"]
    lines += [f"Via: {via}" for via in _fields(request, "via")]
    lines += [
        f"From: {_fields(request, 'from')[0]}",
        f"To: {to}" if ";tag=" in to or status.startswith("100") else f"To: {to};tag=prv1",
        f"Call-ID: {_fields(request, 'call-id')[0]}",
        f"CSeq: {_fields(request, 'cseq')[0]}",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def provide(host: str, port: int, log: Path, cert: str = "", key: str = "") -> None:
    """Answer one call on ``host:port`` (TLS when given a certificate); log what came."""
    listener = socket.create_server((host, port))
    listener.settimeout(40)
    print(READY, flush=True)
    raw, _ = listener.accept()
    raw.settimeout(40)
    sock: socket.socket = raw
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        sock = context.wrap_socket(raw, server_side=True)
    scheme = "tls" if cert else "tcp"
    contact = f"<sip:provider@{host}:{port};transport={scheme}>"
    buffer = bytearray()
    seen: list[str] = []
    try:
        while True:
            request = _read(sock, buffer)
            seen.append(request)
            method = request.split(" ", 1)[0]
            if method == "INVITE":
                sock.sendall(_response(request, "100 Trying"))
                sock.sendall(_response(request, "200 OK", contact, SDP.format(host=host)))
            elif method == "BYE":
                sock.sendall(_response(request, "200 OK"))
                break
            elif method != "ACK":
                sock.sendall(_response(request, "200 OK"))
    finally:
        log.write_text("\r\n\r\n".join(seen))
        sock.close()
        listener.close()


# -- the tests --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provider_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path_factory.mktemp("provider-tls"), PROVIDER)


@pytest.fixture(scope="module")
def node(
    ns: Namespace, tmp_path_factory: pytest.TempPathFactory, provider_cert: tuple[Path, Path]
) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("trunk-tls"),
        HELPLINE_COOKIE_SECURE="0",
        HELPLINE_SIP_TLS_CA=str(provider_cert[0]),
        HELPLINE_RTP_TIMEOUT="10",  # the provider sends no RTP
    ) as n:
        yield n


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "tone1000.ulaw").write_bytes(b"\xff" * 16000)  # u-law silence
    return tmp_path


def _trunk(node: Node, **fields: object) -> None:
    status, answer = node.api("POST", "/api/v1/trunks", fields, login=ADMIN)
    assert status == 201, answer


def _provider(ns: Namespace, port: int, log: Path, *tls: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "tests.interop.test_trunk_tls", PROVIDER, str(port), str(log)]
    proc = ns.popen(
        [*argv, *map(str, tls)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == READY, line + proc.stdout.read()
    return proc


def _call(ns: Namespace, node: Node, work: Path, number: str) -> None:
    result = sipp(
        ns,
        node,
        "phone_outbound.xml",
        *("-s", number, "-au", PHONE, "-ap", PHONE_PASSWORD),
        *("-mi", "127.0.0.1", "-mp", "16000", "-d", "2000", "-m", "1"),
        cwd=work,
        timeout=25,  # below Timer B: a refused trunk must fail over at once
    )
    assert result.returncode == 0, result.stdout[-3000:] + "\n".join(node.output[-30:])


def _done(proc: subprocess.Popen[str]) -> None:
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out[-3000:]


def test_call_out_through_a_tls_trunk_after_a_refused_one(
    ns: Namespace, node: Node, work: Path, provider_cert: tuple[Path, Path]
) -> None:
    port = ns.free_port(socket.SOCK_STREAM) or 5091
    common = dict(transport="TLS", port=port, prefixes=["+998"])
    _trunk(node, name="tls-down", host="127.0.0.4", priority=1, **common)
    _trunk(node, name="tls-provider", host=PROVIDER, priority=2, **common)
    log = work / "provider.log"
    provider = _provider(ns, port, log, *provider_cert)
    try:
        _call(ns, node, work, "+99855501")
        _done(provider)
    finally:
        if provider.poll() is None:
            provider.kill()
    seen = log.read_text()
    assert f"INVITE sip:+99855501@{PROVIDER}:{port};transport=tls SIP/2.0" in seen
    assert "Via: SIP/2.0/TLS " in seen
    assert seen.index("INVITE sip:") < seen.index("ACK sip:") < seen.index("BYE sip:")
    assert f"connection to 127.0.0.4:{port} failed" in "\n".join(node.output)


def test_call_out_through_a_tcp_trunk(ns: Namespace, node: Node, work: Path) -> None:
    port = ns.free_port(socket.SOCK_STREAM) or 5092
    _trunk(node, name="tcp-provider", host=PROVIDER, port=port, transport="TCP", prefixes=["+997"])
    log = work / "provider.log"
    provider = _provider(ns, port, log)
    try:
        _call(ns, node, work, "+99755501")
        _done(provider)
    finally:
        if provider.poll() is None:
            provider.kill()
    seen = log.read_text()
    assert f"INVITE sip:+99755501@{PROVIDER}:{port};transport=tcp SIP/2.0" in seen
    assert "Via: SIP/2.0/TCP " in seen
    assert seen.index("INVITE sip:") < seen.index("ACK sip:") < seen.index("BYE sip:")


if __name__ == "__main__":
    host, port, log, *tls = sys.argv[1:]
    provide(host, int(port), Path(log), *tls)
