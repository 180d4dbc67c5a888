"""Where the CPU of a SIP call goes: SIPp load against ``helpline serve``, split by layer.

Runs the real node (demo on SQLite, the built-in ``echo`` service) in a private
loopback-only network namespace (root; otherwise the host loopback), places a bounded
number of calls with SIPp (``bench/load_call.xml``) and reports:

* CPU ms per completed call of the node's main thread (event loop), its other threads
  (aiosqlite's database thread) and the media worker process, from /proc;
* with ``--profile``, a cProfile of the main thread over the load only (switched on
  and off with SIGUSR1/SIGUSR2), its self time grouped by layer (parse, transactions,
  UA, call control, SDP, database, media IPC, asyncio ...). Time in generic code
  (builtins, dataclasses, enum, re ...) is charged to the layers that called it. The
  profiler slows everything down, so read the split as shares of the unprofiled total.

Usage::

    sudo .venv/bin/python bench/profile_sip.py --calls 2000 --rate 50
    sudo .venv/bin/python bench/profile_sip.py --calls 2000 --rate 50 --profile
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pstats
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sip_load import children, run_sipp, set_lines  # noqa: E402
from tests.interop.harness import READY, Namespace, namespace  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")

# Installs SIGUSR1 (start profiling) and SIGUSR2 (stop and dump to argv[1]), then serves.
BOOT = """
import cProfile, signal, sys
out = sys.argv.pop(1)
prof = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
signal.signal(signal.SIGUSR2, lambda *_: (prof.disable(), prof.dump_stats(out)))
from helpline.cli import main
sys.exit(main())
"""

LAYERS: tuple[tuple[str, str], ...] = (
    ("helpline/sip/message.py", "parse"),
    ("helpline/sip/headers.py", "parse"),
    ("helpline/sip/uri.py", "parse"),
    ("helpline/sip/framing.py", "parse"),
    ("helpline/sip/body.py", "parse"),
    ("helpline/sip/validate.py", "validate"),
    ("helpline/sip/errors.py", "parse"),
    ("helpline/sip/transaction.py", "transactions"),
    ("helpline/sip/transaction_layer.py", "transactions"),
    ("helpline/sip/timers.py", "transactions"),
    ("helpline/sip/", "UA"),
    ("helpline/telephony/core.py", "edge+core"),
    ("helpline/telephony/abuse.py", "edge+core"),
    ("helpline/telephony/transport.py", "transport"),
    ("helpline/telephony/wire.py", "transport"),
    ("helpline/telephony/service.py", "service (timers, dispatch)"),
    ("helpline/telephony/calls.py", "call control"),
    ("helpline/sdp/", "SDP"),
    ("helpline/tenants/", "database"),
    ("helpline/registrations/", "database"),
    ("helpline/db/", "database"),
    ("helpline/runtime.py", "database"),
    ("sqlalchemy/", "database"),
    ("aiosqlite/", "database"),
    ("helpline/media/", "media IPC"),
    ("multiprocessing/", "media IPC"),
    ("asyncio/", "asyncio"),
    ("uvloop/", "asyncio"),
    ("selectors.py", "asyncio"),
    ("logging/", "logging"),
)
GENERIC = "(generic)"


def _layer(func: tuple[str, int, str], layers: tuple[tuple[str, str], ...] = LAYERS) -> str:
    filename, _, name = func
    if filename == "~":
        if "_pickle" in name or "send_bytes" in name or "recv_bytes" in name:
            return "media IPC"
        if "sendto" in name or "uvloop" in name:
            return "asyncio"
        return GENERIC
    for fragment, layer in layers:
        if fragment in filename:
            return layer
    return GENERIC


def split_by_layer(path: Path, layers: tuple[tuple[str, str], ...] = LAYERS) -> dict[str, float]:
    """Self time (s) per layer (``layers``: file fragment -> layer, first match wins);
    generic functions are charged to their callers' layers."""
    stats: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    memo: dict[Any, dict[str, float]] = {}

    def shares(func: Any, depth: int) -> dict[str, float]:
        layer = _layer(func, layers)
        if layer != GENERIC or depth > 12:
            return {layer: 1.0}
        if func in memo:
            return memo[func]
        memo[func] = {GENERIC: 1.0}  # cycles
        callers = stats[func][4]
        total = sum(c[3] for c in callers.values()) or sum(c[1] for c in callers.values())
        out: dict[str, float] = defaultdict(float)
        for caller, c in callers.items():
            weight = (c[3] if total else c[1]) / (total or 1)
            if caller not in stats:
                out[GENERIC] += weight
                continue
            for name, share in shares(caller, depth + 1).items():
                out[name] += weight * share
        memo[func] = dict(out) or {GENERIC: 1.0}
        return memo[func]

    totals: dict[str, float] = defaultdict(float)
    for func, (_, _, tottime, _, _) in stats.items():
        for name, share in shares(func, 0).items():
            totals[name] += tottime * share
    return dict(totals)


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the main thread and of the other threads of ``pid`` (the process
    total counts threads that have exited too, so "other" never goes down)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    main = (int(fields[11]) + int(fields[12])) / CLK
    return main, process_cpu([pid]) - main


def process_cpu(pids: list[int]) -> float:
    """User+system CPU seconds of ``pids``."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLK
    return total


@contextlib.contextmanager
def node(
    ns: Namespace, data: Path, profile: Path | None
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``helpline serve`` (demo, SQLite, one media worker), optionally under the profiler."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    env.update(
        HELPLINE_DATA_DIR=str(data),
        HELPLINE_HTTP_PORT=str(ns.free_port(socket.SOCK_STREAM) or 8080),
        HELPLINE_SIP_PORT=str(ns.free_port() or 5060),
        HELPLINE_SIP_TLS_PORT=str(ns.free_port(socket.SOCK_STREAM) or 5061),
        HELPLINE_SIP_WS_PORT=str(ns.free_port(socket.SOCK_STREAM) or 5066),
        HELPLINE_DEMO="1",
        HELPLINE_DEMO_PASSWORD="demo-web-pass",
        HELPLINE_DEMO_SIP_PASSWORD="demo-sip-pass",
        HELPLINE_ADMIN_PASSWORD="admin-pass-1",
        HELPLINE_MEDIA_WORKERS="1",
        HELPLINE_RTP_TIMEOUT="60",
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_LOG_LEVEL="WARNING",
    )
    if profile is None:
        argv = [sys.executable, "-m", "helpline", "serve"]
    else:
        argv = [sys.executable, "-c", BOOT, str(profile), "serve"]
    proc = ns.popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(READY):
            break
    else:
        raise SystemExit("helpline did not start:\n" + "".join(lines))
    drain = threading.Thread(target=lambda: [None for _ in proc.stdout or ()], daemon=True)
    drain.start()
    try:
        yield proc, int(env["HELPLINE_SIP_PORT"])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


INVITE = (
    "INVITE sip:echo@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:6070;branch=z9hG4bK-{i}-1-0;rport\r\n"
    'From: "Caller" <sip:caller@127.0.0.1:6070>;tag={i}EC1\r\n'
    "To: <sip:echo@127.0.0.1:5060>\r\n"
    "Call-ID: {i}-bench@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:caller@127.0.0.1:6070;transport=UDP>\r\n"
    "Max-Forwards: 70\r\n"
    "User-Agent: sipp-caller\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: {length}\r\n\r\n{sdp}"
)
IN_DIALOG = (
    "{method} sip:echo@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:6070;branch=z9hG4bK-{i}-{n}-0;rport\r\n"
    'From: "Caller" <sip:caller@127.0.0.1:6070>;tag={i}EC1\r\n'
    "To: {to}\r\n"
    "Call-ID: {i}-bench@127.0.0.1\r\n"
    "CSeq: {n} {method}\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)
OFFER = (
    "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
)
ANSWER = OFFER.replace("caller", "helpline").replace("6000", "20000").encode()


def sip_only(calls: int, profile: Path | None) -> None:
    """The SIP stack alone, in process: SIPp's INVITE, ACK, BYE through ``SipCore``.

    Call control is replaced by 180 and 200 (with a canned SDP answer) sent as soon as
    the call arrives; the clock is fake (50 calls/s), so transaction timers fire too.
    """
    import cProfile
    import re

    from helpline.sip.ua import IncomingCall, LocalAddress
    from helpline.telephony.core import SipCore
    from helpline.telephony.wire import Address, Transport

    core = SipCore({"UDP": LocalAddress("127.0.0.1", 5060)})
    peer = Address("127.0.0.1", 6070)
    to_re = re.compile(rb"\r\nTo: ([^\r]*)")
    prof = cProfile.Profile() if profile is not None else None
    now = 1000.0
    sent = 0
    invites = [INVITE.format(i=i, length=len(OFFER), sdp=OFFER).encode() for i in range(calls)]

    def feed(data: bytes) -> list[bytes]:
        nonlocal sent
        out = [o.data for o in core.on_datagram(data, peer, Transport.UDP, now)]
        while (event := core.next_event()) is not None:
            if isinstance(event, IncomingCall):
                core.ua.respond(event.call, 180, now)
                core.ua.respond(event.call, 200, now, body=ANSWER, content_type="application/sdp")
                out += [o.data for o in core.outgoing(now)]
        deadline = core.get_timer()
        if deadline is not None and deadline <= now:
            out += [o.data for o in core.handle_timer(now)]
        sent += len(out)
        return out

    start = time.process_time()
    if prof is not None:
        prof.enable()
    for i in range(calls):
        replies = feed(invites[i])
        match = to_re.search(replies[-1])
        assert match is not None
        to = match.group(1).decode()
        feed(IN_DIALOG.format(method="ACK", i=i, n=1, to=to).encode())
        feed(IN_DIALOG.format(method="BYE", i=i, n=2, to=to).encode())
        now += 0.02
    if prof is not None:
        prof.disable()
    cpu = time.process_time() - start
    print(f"SIP stack only: {calls} calls, {sent} datagrams out, {1000 * cpu / calls:.3f} ms/call")
    if prof is not None and profile is not None:
        prof.dump_stats(str(profile))
        layers = split_by_layer(profile)
        whole = sum(layers.values()) or 1.0
        for name, value in sorted(layers.items(), key=lambda kv: -kv[1]):
            print(f"  {name:28s} {100 * value / whole:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the main thread")
    parser.add_argument("--stats", type=Path, help="keep the cProfile output here")
    parser.add_argument("--sources", type=int, default=1, help="SIPp callers (addresses)")
    parser.add_argument("--lines", type=int, help="lines of the demo tenant (default 16)")
    parser.add_argument(
        "--sip-only", action="store_true", help="the SIP stack alone, in process, no I/O"
    )
    args = parser.parse_args()
    # a timeout's SIGTERM unwinds too: the node, SIPp and the namespace are cleaned up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.sip_only:
        with tempfile.TemporaryDirectory() as tmp:
            stats = args.stats or Path(tmp) / "sip.prof"
            sip_only(args.calls, stats if args.profile else None)
        return
    seconds = max(1, args.calls // args.rate)
    with namespace() as ns, tempfile.TemporaryDirectory() as tmp:
        out = args.stats or Path(tmp) / "main.prof"
        with node(ns, Path(tmp) / "data", out if args.profile else None) as (proc, port):
            if args.lines is not None:
                set_lines(Path(tmp) / "data", args.lines)
            pids = children(proc.pid)
            workers = [p for p in pids if p != proc.pid]
            with tempfile.TemporaryDirectory() as work:
                run_sipp(ns, port, "echo", min(args.rate, 20), 1, 0, Path(work))  # warm up
            time.sleep(1)
            main0, other0 = thread_cpu(proc.pid)
            media0 = process_cpu(workers)
            if args.profile:
                proc.send_signal(signal.SIGUSR1)
            with tempfile.TemporaryDirectory() as work:
                calls, ok, failed = run_sipp(
                    ns, port, "echo", args.rate, seconds, 0, Path(work), args.sources
                )
            if args.profile:
                proc.send_signal(signal.SIGUSR2)
                time.sleep(2)
            main1, other1 = thread_cpu(proc.pid)
            media1 = process_cpu(workers)
        per = 1000 / max(ok, 1)
        print(f"calls {calls} ok {ok} failed {failed} at {args.rate}/s")
        print(f"CPU ms/call: main thread {(main1 - main0) * per:.2f}")
        print(f"             other threads (aiosqlite) {(other1 - other0) * per:.2f}")
        print(f"             media worker {(media1 - media0) * per:.2f}")
        total = (main1 - main0 + other1 - other0 + media1 - media0) * per
        print(f"             total {total:.2f}")
        if args.profile:
            layers = split_by_layer(out)
            whole = sum(layers.values()) or 1.0
            print("main thread self time by layer (share of profiled time):")
            for name, value in sorted(layers.items(), key=lambda kv: -kv[1]):
                print(
                    f"  {name:28s} {100 * value / whole:5.1f}%  "
                    f"{value * per:6.2f} ms/call (profiled)"
                )


if __name__ == "__main__":
    main()
