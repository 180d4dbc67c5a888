"""Run Helpline and real SIP peers (SIPp, baresip) inside a private network namespace.

The namespace has only a loopback interface: nothing a test sends can leave the machine,
and fixed ports (5060, 8080) never clash with anything else on the host. Without root
(``ip netns`` unavailable) the same commands run on the host loopback with free ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

SCENARIOS = Path(__file__).with_name("scenarios")
READY = "Helpline on http://"


@dataclass
class Namespace:
    """A command prefix that runs programs inside the test namespace (or on the host)."""

    name: str | None

    @property
    def prefix(self) -> list[str]:
        """``ip netns exec NAME`` or nothing."""
        return ["ip", "netns", "exec", self.name] if self.name else []

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to completion inside the namespace, bounded by ``timeout``."""
        return subprocess.run(
            [*self.prefix, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=env,
            check=False,
        )

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[str]:
        """Start ``argv`` inside the namespace."""
        return subprocess.Popen([*self.prefix, *argv], text=True, **kwargs)  # type: ignore[call-overload, no-any-return]

    def free_port(self, kind: socket.SocketKind = socket.SOCK_DGRAM) -> int:
        """A fixed port inside a namespace; a free one on the shared host loopback."""
        if self.name:
            return 0
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


@contextlib.contextmanager
def namespace() -> Iterator[Namespace]:
    """A fresh loopback-only network namespace, removed afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        yield Namespace(None)
        return
    name = f"hl-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield Namespace(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@dataclass
class Node:
    """A running ``helpline serve``."""

    ns: Namespace
    proc: subprocess.Popen[str]
    http_port: int
    sip_port: int
    data_dir: Path
    output: list[str] = field(default_factory=list)

    def http_get(self, path: str) -> str:
        """GET a URL of the node from inside the namespace."""
        code = (
            "import sys, urllib.request as u;"
            f"sys.stdout.write(u.urlopen('http://127.0.0.1:{self.http_port}{path}', "
            "timeout=10).read().decode())"
        )
        result = self.ns.run([sys.executable, "-c", code], timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def api(
        self, method: str, path: str, body: object, *, login: tuple[str, str, str]
    ) -> tuple[int, Any]:
        """Call the JSON API from inside the namespace, logged in as (tenant, user,
        password); the status and the decoded answer. Needs HELPLINE_COOKIE_SECURE=0."""
        code = f"""
import http.cookiejar, json, sys, urllib.error, urllib.request as u
base = "http://127.0.0.1:{self.http_port}"
opener = u.build_opener(u.HTTPCookieProcessor(http.cookiejar.CookieJar()))
def call(method, path, body, headers):
    data = None if body is None else json.dumps(body).encode()
    req = u.Request(base + path, data=data, method=method,
                    headers={{"Content-Type": "application/json", **headers}})
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
tenant, user, password = {login!r}
status, raw = call("POST", "/api/v1/auth/login",
                   {{"tenant": tenant, "username": user, "password": password}}, {{}})
assert status == 200, raw
csrf = json.loads(raw)["csrf_token"]
status, raw = call({method!r}, {path!r}, {body!r}, {{"X-CSRF-Token": csrf}})
sys.stdout.write(json.dumps([status, json.loads(raw) if raw else None]))
"""
        result = self.ns.run([sys.executable, "-c", code], timeout=30)
        assert result.returncode == 0, result.stderr
        status, answer = json.loads(result.stdout)
        return int(status), answer

    def wait_health(self, ready: Callable[[dict[str, Any]], bool], timeout: float = 15) -> None:
        """Poll /api/health until ``ready(health)`` holds (an AssertionError after
        ``timeout`` seconds) - e.g. until a call is up, instead of sleeping."""
        deadline = time.monotonic() + timeout
        while True:
            health = json.loads(self.http_get("/api/health"))
            if ready(health):
                return
            assert time.monotonic() < deadline, f"health never got ready: {health}"
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)


@contextlib.contextmanager
def helpline(ns: Namespace, data_dir: Path, **env_extra: str) -> Iterator[Node]:
    """``helpline serve`` with the demo inside ``ns``, until the block ends."""
    http_port = ns.free_port(socket.SOCK_STREAM) or 8080
    sip_port = ns.free_port() or 5060
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    defaults = dict(
        HELPLINE_DATA_DIR=str(data_dir),
        HELPLINE_HTTP_PORT=str(http_port),
        HELPLINE_SIP_PORT=str(sip_port),
        HELPLINE_SIP_TLS_PORT=str(ns.free_port(socket.SOCK_STREAM) or 5061),
        HELPLINE_SIP_WS_PORT=str(ns.free_port(socket.SOCK_STREAM) or 5066),
        HELPLINE_DEMO="1",
        HELPLINE_DEMO_PASSWORD="demo-web-pass",
        HELPLINE_DEMO_SIP_PASSWORD="demo-sip-pass",
        HELPLINE_ADMIN_PASSWORD="admin-pass-1",
        HELPLINE_MEDIA_WORKERS="1",
        # SIPp answers only the first challenge and knows only MD5.
        HELPLINE_SIP_DIGEST_ALGORITHMS="MD5,SHA-256",
        HELPLINE_RTP_TIMEOUT="3",
        HELPLINE_SIP_QUALIFY_SECONDS="2",
    )
    env.update(defaults, **env_extra)
    proc = ns.popen(
        [sys.executable, "-m", "helpline", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    node = Node(ns, proc, http_port, sip_port, data_dir)
    assert proc.stdout is not None
    for line in proc.stdout:
        node.output.append(line.rstrip())
        if line.startswith(READY):
            break
    else:
        raise AssertionError("helpline did not start:\n" + "\n".join(node.output))
    # Keep reading its output so that a full pipe never blocks the server.
    drain = threading.Thread(target=_drain, args=(proc.stdout, node.output), daemon=True)
    drain.start()
    try:
        yield node
    finally:
        code = node.stop()
        drain.join(timeout=10)
        proc.stdout.close()
    assert code == 0, f"helpline exited with {code} on SIGTERM:\n" + "\n".join(node.output[-20:])


def _drain(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip())
        del lines[:-200]


def sipp(
    ns: Namespace,
    node: Node,
    scenario: str,
    *args: str,
    cwd: Path,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a SIPp scenario from ``scenarios/`` against ``node``; bounded in time."""
    local_port = ns.free_port() or 5070
    argv = [
        "sipp",
        f"127.0.0.1:{node.sip_port}",
        "-sf",
        str(SCENARIOS / scenario),
        "-i",
        "127.0.0.1",
        "-p",
        str(local_port),
        "-nostdin",
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        *args,
    ]
    return ns.run(argv, timeout=timeout + 15, cwd=cwd)
