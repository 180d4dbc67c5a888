"""SIP call-rate benchmark: SIPp callers against Helpline's echo service, and against a
SIPp UAS in the same run for comparison (issue 4).

Everything runs in a private loopback-only network namespace (root needed; otherwise on
the host loopback). For each rate, SIPp places ``rate * seconds`` calls (bounded) with a
call length of ``--hold`` ms and reports: calls completed and failed, the p99 time from
INVITE to 200 (SIPp response-time repartition), and the target's CPU per call (from
/proc). Usage::

    python bench/sip_load.py --rates 100,300,500 --seconds 10
"""

from __future__ import annotations

import argparse
import csv
import os
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


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK


def _children(pid: int) -> list[int]:
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


def _rtt(path: Path) -> tuple[float, float]:
    values: list[float] = []
    for file in path.glob("*_rtt.csv"):
        with file.open() as f:
            for row in csv.DictReader(f, delimiter=";"):
                value = row.get("response_time_ms")
                if value:
                    values.append(float(value))
    if not values:
        return float("nan"), float("nan")
    values.sort()
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.99))]


def _run_sipp(
    ns: Namespace, port: int, service: str, rate: int, seconds: int, hold: int, workdir: Path
) -> tuple[int, int, int]:
    calls = rate * seconds
    argv = [
        "sipp",
        f"127.0.0.1:{port}",
        "-sf",
        str(SCENARIO),
        "-s",
        service,
        "-i",
        "127.0.0.1",
        "-p",
        "6070",
        "-r",
        str(rate),
        "-m",
        str(calls),
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
        "16000",
        "-max_socket",
        "50000",
    ]
    result = ns.run(argv, timeout=seconds + 120, cwd=workdir)
    ok = failed = 0
    for file in workdir.glob("*_.csv"):
        rows = list(csv.DictReader(file.open(), delimiter=";"))
        if rows:
            ok = int(rows[-1]["SuccessfulCall(C)"])
            failed = int(rows[-1]["FailedCall(C)"])
    if ok + failed == 0:
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    return calls, ok, failed


def bench_helpline(ns: Namespace, rates: list[int], seconds: int, hold: int) -> list[Result]:
    results = []
    with (
        tempfile.TemporaryDirectory() as data,
        helpline(ns, Path(data), HELPLINE_LOG_LEVEL="WARNING", HELPLINE_RTP_TIMEOUT="60") as node,
    ):
        pids = _children(node.proc.pid)
        for rate in rates:
            with tempfile.TemporaryDirectory() as work:
                before = _cpu_seconds(pids)
                calls, ok, failed = _run_sipp(
                    ns, node.sip_port, "echo", rate, seconds, hold, Path(work)
                )
                cpu = _cpu_seconds(pids) - before
                p50, p99 = _rtt(Path(work))
            results.append(
                Result("helpline echo", rate, calls, ok, failed, p50, p99, 1000 * cpu / max(ok, 1))
            )
            time.sleep(2)
    return results


def bench_sipp_uas(ns: Namespace, rates: list[int], seconds: int, hold: int) -> list[Result]:
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
                before = _cpu_seconds(pids)
                calls, ok, failed = _run_sipp(ns, 7060, "service", rate, seconds, hold, Path(work))
                cpu = _cpu_seconds(pids) - before
                p50, p99 = _rtt(Path(work))
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
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    with namespace() as ns:
        results = bench_helpline(ns, rates, args.seconds, args.hold)
        results += bench_sipp_uas(ns, rates, args.seconds, args.hold)
    print("| target | rate (calls/s) | calls | ok | failed | INVITE->200 p50 | p99 | CPU ms/call |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.target} | {r.rate} | {r.calls} | {r.ok} | {r.failed} | "
            f"{r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.cpu_ms_per_call:.2f} |"
        )


if __name__ == "__main__":
    main()
