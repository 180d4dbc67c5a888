"""ACD pipeline benchmark: calls through an IVR flow into a queue, answered by SIPp agents.

Everything runs in a private loopback-only network namespace (root needed; otherwise on
the host loopback).  The demo node gets a number (5300) whose service runs an IVR flow
(a ``set`` node, then a ``queue`` node to "sales"), ``--agents`` agents created and
logged in through the API (their SIP accounts bound to one SIPp UAS that answers every
offer at once), and enough lines and IVR ports.  For each rate SIPp
places ``rate * seconds`` calls, each hanging up ``--hold`` ms after Helpline answers
it (the IVR, the wait in the queue, the offer and the talk); the queue has no wrap-up
and rings for 5 s.  Reported per rate: calls placed, calls SIPp completed and failed,
calls an agent answered (their call records), callers who gave up waiting, the time
from the call's start to the agent's answer (p50, p99: IVR, queue and offer), and
Helpline's CPU per call.  A run passes with 0 failed and every call answered by an
agent.  With ``--profile FILE`` the node runs under cProfile (switched on for the first
rate only, with SIGUSR1/SIGUSR2, as ``bench/profile_sip.py --profile`` does), and the
CPU of its main thread, other threads and media worker per call and the main thread's
self time by layer are printed.  Usage::

    .venv/bin/python bench/acd_pipeline.py --rates 5,10,20 --seconds 20 --agents 120
    .venv/bin/python bench/acd_pipeline.py --rates 5 --seconds 30 --profile /tmp/acd.prof
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.profile_sip import LAYERS, process_cpu, split_by_layer, thread_cpu  # noqa: E402
from bench.sip_load import children, cpu_seconds  # noqa: E402
from tests.interop.harness import Namespace, Node, helpline, namespace  # noqa: E402

HERE = Path(__file__).parent
NUMBER = "5300"
PASSWORD = "bench-agent-pass-1"
AGENT_PORT = 5072
FLOW = {
    "start": "tag",
    "nodes": {
        "tag": {"type": "set", "variable": "campaign", "value": "bench", "next": "queue"},
        "queue": {"type": "queue", "queue": "sales"},
    },
}


# Loaded by every Python process started with it on PYTHONPATH: the node profiles its
# main thread and counts its SQL statements between SIGUSR1 and SIGUSR2, then dumps
# them to $BENCH_PROFILE and $BENCH_PROFILE.sql.json.
SITECUSTOMIZE = """
import collections, cProfile, json, os, signal
if os.environ.get("BENCH_PROFILE"):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _out = os.environ["BENCH_PROFILE"]
    _prof = cProfile.Profile()
    _sql = collections.Counter()
    _on = []

    def _count(conn, cursor, statement, *rest):
        if _on:
            _sql[" ".join(statement.split())[:90]] += 1

    def _commit(conn):
        if _on:
            _sql["COMMIT"] += 1

    def _start(*_):
        _on.append(1)
        _prof.enable()

    def _stop(*_):
        _prof.disable()
        _on.clear()
        _prof.dump_stats(_out)
        with open(_out + ".sql.json", "w") as f:
            json.dump(_sql, f)

    event.listen(Engine, "before_cursor_execute", _count)
    event.listen(Engine, "commit", _commit)
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
"""
#: The pipeline's layers, ahead of the SIP stack's (first match wins).
ACD_LAYERS: tuple[tuple[str, str], ...] = (
    ("helpline/telephony/acd", "ACD runtime"),
    ("helpline/acd/presence.py", "ACD database (states, board)"),
    ("helpline/acd/screenpop.py", "ACD database (caller lookup)"),
    ("helpline/customers/", "ACD database (caller lookup)"),
    ("helpline/acd/", "ACD core"),
    ("helpline/calls/", "call records"),
    ("helpline/telephony/calllog.py", "call records"),
    ("helpline/telephony/leases.py", "leases"),
    ("helpline/ivr/", "IVR"),
    ("helpline/telephony/selfservice.py", "IVR"),
    ("helpline/telephony/waiting.py", "queue wait (MOH)"),
    ("helpline/telephony/moh.py", "queue wait (MOH)"),
    ("helpline/telephony/offers.py", "offers, legs"),
    ("helpline/telephony/legs.py", "offers, legs"),
    ("helpline/telephony/fork.py", "offers, legs"),
    ("helpline/telephony/inbound.py", "call control"),
    ("helpline/telephony/services.py", "call control"),
    ("helpline/telephony/config_cache.py", "call control"),
    ("helpline/routing/", "call control"),
    ("helpline/core/events.py", "event bus, fan-out"),
    ("helpline/events/", "event bus, fan-out"),
    ("helpline/webhooks/", "event bus, fan-out"),
    ("helpline/stats/", "statistics"),
    ("pydantic", "pydantic"),
)


@dataclass
class Result:
    rate: int
    calls: int
    ok: int
    failed: int
    answered: int
    abandoned: int
    p50_ms: float
    p99_ms: float
    cpu_ms_per_call: float


def provision(port: int, agents: int) -> None:
    """(Run inside the namespace.) The IVR number, the queue, the agents logged in."""
    import httpx

    base = f"http://127.0.0.1:{port}/api/v1"

    def client(user: str, password: str) -> httpx.Client:
        c = httpx.Client(base_url=base, timeout=30)
        r = c.post("/auth/login", json={"tenant": "demo", "username": user, "password": password})
        r.raise_for_status()
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    def ok(r: httpx.Response) -> Any:
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    admin = client("admin", "demo-web-pass")
    flow = ok(admin.post("/flows", json={"name": "bench", "document": FLOW}))
    ok(admin.post(f"/flows/{flow['id']}/publish"))
    target = {"kind": "flow", "flow_id": flow["id"]}
    service = ok(admin.post("/services", json={"name": "bench", "default_target": target}))
    ok(admin.post("/numbers", json={"number": NUMBER, "service_id": service["id"]}))
    queues = ok(admin.get("/queues"))["items"]
    sales = next(q for q in queues if q["name"] == "sales")
    settings = {
        "strategy": "longest_idle",
        "ring_timeout": 5,
        "wrap_up_seconds": 0,
        "auto_pause_after": 0,
        "announce_interval": 0,
        "callback_enabled": False,
        "max_wait_seconds": None,
        "fallback": None,
    }
    ok(admin.patch(f"/queues/{sales['id']}", json=settings))
    for index in range(agents):
        name, account = f"bench{index:03d}", f"3{index:03d}"
        user = ok(
            admin.post("/users", json={"username": name, "password": PASSWORD, "role": "agent"})
        )
        body = {"username": account, "password": PASSWORD, "user_id": user["id"]}
        ok(admin.post("/sip-accounts", json=body))
        agent = ok(admin.post("/agents", json={"user_id": user["id"]}))
        places = {"memberships": [{"queue_id": sales["id"]}]}
        ok(admin.put(f"/agents/{agent['id']}/memberships", json=places))
        me = client(name, PASSWORD)
        ok(me.post("/agents/me/login", json={}))
        me.close()
    print(json.dumps({"agents": agents, "queue": sales["id"]}))


def set_capacity(data_dir: Path, lines: int) -> None:
    with sqlite3.connect(data_dir / "helpline.db") as db:
        db.execute(
            "UPDATE tenants SET max_lines = ?, max_ivr_ports = ?, max_agents = ?",
            (lines, lines, lines),
        )


def bind_agents(data_dir: Path, agents: int) -> None:
    """Bind every agent's SIP account to the agents' SIPp (127.0.0.1:5072) for an hour,
    as a REGISTER would (SIPp's one process cannot answer a digest challenge per
    account: its ``[authentication]`` takes no per-call username)."""
    now = datetime.now(UTC)
    until = (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(data_dir / "helpline.db") as db:
        rows = db.execute(
            "SELECT id, tenant_id, username FROM sip_accounts WHERE username LIKE '3___'"
        ).fetchall()
        assert len(rows) == agents, rows
        db.executemany(
            "INSERT INTO registrations (tenant_id, sip_account_id, contact, source_host, "
            "source_port, transport, bound_to_source, expires_at, call_id, cseq, user_agent, "
            "created_at, updated_at) VALUES (?, ?, ?, '127.0.0.1', ?, 'UDP', 0, ?, ?, 1, "
            "'bench', ?, ?)",
            [
                (
                    tenant,
                    ident,
                    f"sip:{name}@127.0.0.1:{AGENT_PORT}",
                    AGENT_PORT,
                    until,
                    f"bench-{name}",
                    stamp,
                    stamp,
                )
                for ident, tenant, name in rows
            ],
        )


def start_agents(ns: Namespace, node: Node, work: Path) -> subprocess.Popen[str]:
    """One SIPp UAS answering every offer to any agent at once."""
    return ns.popen(
        [
            "sipp",
            *("-sf", str(HERE / "acd_agent_answer.xml")),
            *("-i", "127.0.0.1", "-p", str(AGENT_PORT), "-mp", "30000"),
            *("-nostdin", "-max_socket", "50000"),
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def place_calls(
    ns: Namespace, node: Node, work: Path, rate: int, seconds: int, hold: int
) -> tuple[int, int, int]:
    argv = [
        "sipp",
        f"127.0.0.1:{node.sip_port}",
        *("-sf", str(HERE / "load_call.xml"), "-s", NUMBER),
        *("-i", "127.0.0.2", "-p", "6070", "-mp", "16000"),
        *("-r", str(rate), "-m", str(rate * seconds), "-d", str(hold)),
        *("-l", str(rate * (hold // 1000 + 10)), "-nostdin", "-max_socket", "50000"),
        *("-timeout", f"{seconds + 120}s", "-trace_stat", "-fd", "1"),
    ]
    proc = ns.popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.communicate(timeout=seconds + 180)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
    good = bad = 0
    for file in work.glob("*_.csv"):
        rows = list(csv.DictReader(file.open(), delimiter=";"))
        if rows:
            good, bad = int(rows[-1]["SuccessfulCall(C)"]), int(rows[-1]["FailedCall(C)"])
    return rate * seconds, good, bad


def outcomes(data_dir: Path, since: str) -> tuple[int, int, list[float]]:
    """Answered and abandoned calls to the number since ``since``; start-to-answer ms."""
    with sqlite3.connect(data_dir / "helpline.db") as db:
        rows = db.execute(
            "SELECT outcome, started_at, answered_at FROM call_records "
            "WHERE called = ? AND started_at >= ? AND open = 0",
            (NUMBER, since),
        ).fetchall()
    answered = [r for r in rows if r[0] == "answered"]
    waits = sorted(
        (datetime.fromisoformat(a) - datetime.fromisoformat(s)).total_seconds() * 1000
        for _, s, a in answered
    )
    abandoned = sum(1 for r in rows if r[0] == "abandoned_queue")
    return len(answered), abandoned, waits


def bench(
    rates: list[int], seconds: int, hold: int, agents: int, profile: Path | None = None
) -> list[Result]:
    results = []
    with (
        namespace() as ns,
        tempfile.TemporaryDirectory() as data,
        tempfile.TemporaryDirectory() as scratch,
        helpline(
            ns,
            Path(data),
            HELPLINE_LOG_LEVEL="WARNING",
            HELPLINE_RTP_TIMEOUT="120",
            HELPLINE_SIP_QUALIFY_SECONDS="0",
            HELPLINE_COOKIE_SECURE="0",
            HELPLINE_DEMO_HISTORY="0",
            **profiled(Path(scratch), profile),
        ) as node,
    ):
        set_capacity(Path(data), 10 * agents)
        made = ns.run(
            [sys.executable, __file__, "--provision", str(node.http_port), str(agents)],
            timeout=900,
        )
        assert made.returncode == 0, made.stderr[-3000:]
        bind_agents(Path(data), agents)
        phones = start_agents(ns, node, Path(scratch))
        try:
            pids = children(node.proc.pid)
            for rate in rates:
                profiling = profile is not None and rate == rates[0]
                with tempfile.TemporaryDirectory() as work:
                    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
                    before = cpu_seconds(pids)
                    threads = thread_cpu(node.proc.pid), process_cpu(pids[1:])
                    if profiling:
                        node.proc.send_signal(signal.SIGUSR1)
                    calls, ok, failed = place_calls(ns, node, Path(work), rate, seconds, hold)
                    if profiling:
                        node.proc.send_signal(signal.SIGUSR2)
                        time.sleep(2)
                    cpu = cpu_seconds(pids) - before
                    if profile is not None:
                        split_cpu(node.proc.pid, pids[1:], threads, ok)
                    if profiling and profile is not None:
                        print_layers(profile, ok)
                time.sleep(2)  # the last records close
                answered, abandoned, waits = outcomes(Path(data), since)
                p50 = waits[len(waits) // 2] if waits else float("nan")
                p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))] if waits else float("nan")
                results.append(
                    Result(
                        rate,
                        calls,
                        ok,
                        failed,
                        answered,
                        abandoned,
                        p50,
                        p99,
                        1000 * cpu / max(ok, 1),
                    )
                )
                time.sleep(3)
        finally:
            phones.kill()
            phones.communicate(timeout=10)
    return results


def profiled(scratch: Path, profile: Path | None) -> dict[str, str]:
    """The environment that makes the node profile itself (see :data:`SITECUSTOMIZE`)."""
    if profile is None:
        return {}
    (scratch / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {"PYTHONPATH": str(scratch), "BENCH_PROFILE": str(profile.resolve())}


def split_cpu(
    pid: int, workers: list[int], before: tuple[tuple[float, float], float], calls: int
) -> None:
    """Print the CPU per call of the main thread, the other threads and the workers."""
    (main0, other0), media0 = before
    (main1, other1), media1 = thread_cpu(pid), process_cpu(workers)
    per = 1000 / max(calls, 1)
    print(f"CPU ms/call: main thread {(main1 - main0) * per:.2f}", file=sys.stderr)
    print(f"             other threads (aiosqlite) {(other1 - other0) * per:.2f}", file=sys.stderr)
    print(f"             media worker {(media1 - media0) * per:.2f}", file=sys.stderr)


def print_layers(profile: Path, calls: int) -> None:
    """Print the main thread's self time by layer and the SQL statements per call (the
    profiled rate's calls)."""
    layers = split_by_layer(profile, ACD_LAYERS + LAYERS)
    whole = sum(layers.values()) or 1.0
    per = 1000 / max(calls, 1)
    print("main thread self time by layer (share of profiled time):", file=sys.stderr)
    for name, value in sorted(layers.items(), key=lambda kv: -kv[1]):
        print(
            f"  {name:30s} {100 * value / whole:5.1f}%  {value * per:6.2f} ms/call (profiled)",
            file=sys.stderr,
        )
    statements: dict[str, int] = json.loads(Path(f"{profile}.sql.json").read_text())
    total = sum(n for sql, n in statements.items() if sql != "COMMIT")
    print(f"SQL statements per call: {total / max(calls, 1):.1f}", file=sys.stderr)
    for sql, n in sorted(statements.items(), key=lambda kv: -kv[1])[:40]:
        print(f"  {n / max(calls, 1):6.2f}  {sql}", file=sys.stderr)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--provision":
        provision(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="5,10,20")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--hold", type=int, default=3000, help="ms from answer to hang-up")
    parser.add_argument("--agents", type=int, default=120)
    parser.add_argument("--profile", type=Path, help="cProfile the node's main thread to here")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    results = bench(rates, args.seconds, args.hold, args.agents, args.profile)
    print(
        "| rate (calls/s) | calls | SIPp ok | failed | answered by an agent | abandoned "
        "| start to agent p50 | p99 | CPU ms/call |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.rate} | {r.calls} | {r.ok} | {r.failed} | {r.answered} | {r.abandoned} "
            f"| {r.p50_ms:.0f} ms | {r.p99_ms:.0f} ms | {r.cpu_ms_per_call:.1f} |"
        )


if __name__ == "__main__":
    main()
