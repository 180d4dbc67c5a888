"""Run a real rtpengine (Sipwise's C media relay) on loopback for tests and benchmarks.

Userspace forwarding only (``--table=-1``: no kernel module), foreground, logging to
stderr, pcap recordings in ``spool``; it is terminated when the block ends.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.interop.harness import Namespace

BINARY = "/usr/bin/rtpengine"
READY = "Startup complete"


@dataclass
class Rtpengine:
    """A running rtpengine: its NG address, spool and last log lines."""

    proc: subprocess.Popen[str]
    ng_port: int
    spool: Path
    output: list[str] = field(default_factory=list)
    dtmf_log_port: int | None = None

    @property
    def ng(self) -> str:
        """``host:port`` for HELPLINE_RTPENGINE_NG."""
        return f"127.0.0.1:{self.ng_port}"

    @property
    def dtmf_log(self) -> str | None:
        """``host:port`` for HELPLINE_RTPENGINE_DTMF_LOG, if rtpengine sends its DTMF log."""
        return None if self.dtmf_log_port is None else f"127.0.0.1:{self.dtmf_log_port}"


def available() -> bool:
    """Whether the rtpengine binary is installed."""
    return shutil.which(BINARY) is not None


@contextlib.contextmanager
def rtpengine(
    ns: Namespace,
    spool: Path,
    *,
    ng_port: int,
    port_min: int,
    port_max: int,
    threads: int = 2,
    log_level: int = 5,
    dtmf_log_port: int | None = None,
) -> Iterator[Rtpengine]:
    """rtpengine in ``ns`` with its NG socket on 127.0.0.1:``ng_port`` (and its DTMF
    log sent to 127.0.0.1:``dtmf_log_port`` if given)."""
    spool.mkdir(parents=True, exist_ok=True)
    dtmf = [] if dtmf_log_port is None else [f"--dtmf-log-dest=127.0.0.1:{dtmf_log_port}"]
    # Its CLI port (2224 by default) would clash between daemons on the host loopback.
    cli_port = ns.free_port(socket.SOCK_STREAM)
    cli = [] if cli_port is None else [f"--listen-cli=127.0.0.1:{cli_port}"]
    proc = ns.popen(
        [
            BINARY,
            "--config-file=none",  # not /etc/rtpengine's listeners (HTTP, CLI ports)
            "--foreground",
            "--table=-1",
            "--interface=127.0.0.1",
            f"--listen-ng=127.0.0.1:{ng_port}",
            f"--port-min={port_min}",
            f"--port-max={port_max}",
            f"--recording-dir={spool}",
            "--recording-method=pcap",
            f"--num-threads={threads}",
            "--delete-delay=0",
            "--log-stderr",
            f"--log-level={log_level}",
            "--log-level-core=6",  # for READY
            *dtmf,
            *cli,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    daemon = Rtpengine(proc, ng_port, spool, dtmf_log_port=dtmf_log_port)
    assert proc.stderr is not None
    for line in proc.stderr:
        daemon.output.append(line.rstrip())
        if READY in line:
            break
    else:
        proc.wait(timeout=10)
        raise AssertionError("rtpengine did not start:\n" + "\n".join(daemon.output))
    drain = threading.Thread(target=_drain, args=(proc, daemon.output), daemon=True)
    drain.start()
    try:
        yield daemon
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        drain.join(timeout=10)


def _drain(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line.rstrip())
        del lines[:-200]
