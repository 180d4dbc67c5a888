"""SIP call-rate benchmark: SIPp callers against Helpline's echo service, and against a
SIPp UAS in the same run for comparison (issue 4).

Everything runs in a private loopback-only network namespace (root needed; otherwise on
the host loopback). For each rate, SIPp places ``rate * seconds`` calls (bounded) with a
call length of ``--hold`` ms and reports: calls completed and failed, the p99 time from
INVITE to 200 (SIPp response-time repartition), and the target's CPU per call (from
/proc). ``--sources N`` spreads the callers over N source addresses (the edge admits
200 messages/s per address); ``--lines N`` gives the demo tenant N lines (16 by
default; a call beyond them gets 503). Usage::

    python bench/sip_load.py --rates 100,300,500 --seconds 10 [--sources 8 --lines 500]
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.interop.harness import Namespace, helpline, namespace  # noqa: E402

SCENARIO = Path(__file__).with_name("load_call.xml")
CLK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    target: str
    rate: int
    calls: int
    ok: int
    failed: int
    p50_ms: float
    p99_ms: float
    cpu_ms_per_call: float


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU seconds of ``pids`` so far (from /proc)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK


def children(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) in found:
                found.append(int(entry.name))
    return found


def rtt(path: Path) -> tuple[float, float]:
    """p50 and p99 INVITE->200 times (ms) from the SIPp rtt traces in ``path``."""
    values: list[float] = []
    for file in path.rglob("*_rtt.csv"):
        with file.open() as f:
            for row in csv.DictReader(f, delimiter=";"):
                value = row.get("response_time_ms")
                if value:
                    values.append(float(value))
    if not values:
        return float("nan"), float("nan")
    values.sort()
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.99))]


def run_sipp(
    ns: Namespace,
    port: int,
    service: str,
    rate: int,
    seconds: int,
    hold: int,
    workdir: Path,
    sources: int = 1,
) -> tuple[int, int, int]:
    """Place ``rate * seconds`` calls with SIPp; (calls, ok, failed).

    With ``sources`` > 1 the rate is split over that many SIPp callers on 127.0.0.1,
    127.0.0.2 ... (the edge limits each source address to ``EdgePolicy.rate`` messages
    per second, about 66 calls/s of INVITE + ACK + BYE).
    """
    shares = [rate // sources + (1 if i < rate % sources else 0) for i in range(sources)]
    runs = []
    for index, share in enumerate(s for s in shares if s > 0):
        work = workdir / f"caller{index}"
        work.mkdir()
        argv = _sipp_argv(port, service, index, share, seconds, hold)
        proc = ns.popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        runs.append((work, proc, share * seconds))
    calls = ok = failed = 0
    for work, proc, placed in runs:
        try:
            out, err = proc.communicate(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=10)
        good = bad = 0
        for file in work.glob("*_.csv"):
            rows = list(csv.DictReader(file.open(), delimiter=";"))
            if rows:
                good = int(rows[-1]["SuccessfulCall(C)"])
                bad = int(rows[-1]["FailedCall(C)"])
        if good + bad == 0:
            print(out[-2000:], err[-2000:], file=sys.stderr)
        calls, ok, failed = calls + placed, ok + good, failed + bad
    return calls, ok, failed


def _sipp_argv(
    port: int, service: str, index: int, rate: int, seconds: int, hold: int
) -> list[str]:
    return [
        "sipp",
        f"127.0.0.1:{port}",
        "-sf",
        str(SCENARIO),
        "-s",
        service,
        "-i",
        f"127.0.0.{index + 1}",
        "-p",
        "6070",
        "-r",
        str(rate),
        "-m",
        str(rate * seconds),
        "-d",
        str(hold),
        "-l",
        str(rate * (hold // 1000 + 4)),
        "-nostdin",
        "-timeout",
        f"{seconds + 60}s",
        "-trace_stat",
        "-trace_rtt",
        "-rtt_freq",
        "1",
        "-fd",
        "1",
        "-mp",
        str(16000 + 1000 * index),
        "-max_socket",
        "50000",
    ]


def set_lines(data_dir: Path, lines: int) -> None:
    """Give every tenant of the node's SQLite database ``lines`` lines (max_lines)."""
    with sqlite3.connect(data_dir / "helpline.db") as db:
        db.execute("UPDATE tenants SET max_lines = ? WHERE max_lines > 0", (lines,))


def bench_helpline(
    ns: Namespace,
    rates: list[int],
    seconds: int,
    hold: int,
    sources: int = 1,
    lines: int | None = None,
) -> list[Result]:
    results = []
    with (
        tempfile.TemporaryDirectory() as data,
        helpline(ns, Path(data), HELPLINE_LOG_LEVEL="WARNING", HELPLINE_RTP_TIMEOUT="60") as node,
    ):
        if lines is not None:
            set_lines(Path(data), lines)
        pids = children(node.proc.pid)
        for rate in rates:
            with tempfile.TemporaryDirectory() as work:
                before = cpu_seconds(pids)
                calls, ok, failed = run_sipp(
                    ns, node.sip_port, "echo", rate, seconds, hold, Path(work), sources
                )
                cpu = cpu_seconds(pids) - before
                p50, p99 = rtt(Path(work))
            results.append(
                Result("helpline echo", rate, calls, ok, failed, p50, p99, 1000 * cpu / max(ok, 1))
            )
            time.sleep(2)
    return results


def bench_sipp_uas(
    ns: Namespace, rates: list[int], seconds: int, hold: int, sources: int = 1
) -> list[Result]:
    results = []
    uas = ns.popen(
        ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", "7060", "-nostdin", "-bg"], stdout=None
    )
    uas.wait(timeout=10)
    time.sleep(0.5)
    pid_line = ns.run(["pgrep", "-f", "sipp -sn uas"], timeout=10).stdout.split()
    pids = [int(p) for p in pid_line]
    try:
        for rate in rates:
            with tempfile.TemporaryDirectory() as work:
                before = cpu_seconds(pids)
                calls, ok, failed = run_sipp(
                    ns, 7060, "service", rate, seconds, hold, Path(work), sources
                )
                cpu = cpu_seconds(pids) - before
                p50, p99 = rtt(Path(work))
            results.append(
                Result("sipp uas", rate, calls, ok, failed, p50, p99, 1000 * cpu / max(ok, 1))
            )
    finally:
        ns.run(["pkill", "-f", "sipp -sn uas"], timeout=10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="100,300,500")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--hold", type=int, default=0, help="call length in ms")
    parser.add_argument(
        "--sources",
        type=int,
        default=1,
        help="SIPp callers on 127.0.0.1, .2 ... sharing the rate (the edge rate-limits "
        "each source address to 200 messages/s: about 66 calls/s)",
    )
    parser.add_argument(
        "--lines",
        type=int,
        help="lines of the demo tenant (default 16: a call over 16 at once gets 503)",
    )
    args = parser.parse_args()
    # a timeout's SIGTERM unwinds too: the node, SIPp and the namespace are cleaned up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rates = [int(r) for r in args.rates.split(",")]
    with namespace() as ns:
        results = bench_helpline(ns, rates, args.seconds, args.hold, args.sources, args.lines)
        results += bench_sipp_uas(ns, rates, args.seconds, args.hold, args.sources)
    print("| target | rate (calls/s) | calls | ok | failed | INVITE->200 p50 | p99 | CPU ms/call |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.target} | {r.rate} | {r.calls} | {r.ok} | {r.failed} | "
            f"{r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.cpu_ms_per_call:.2f} |"
        )


if __name__ == "__main__":
    main()
