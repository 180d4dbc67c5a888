"""Media benchmark through real SIP: N concurrent bridged and recorded calls through
Helpline's B2BUA, side by side with SIPp's own ``-rtp_echo`` in the same run (issue 5).

Theory of operation
-------------------
Everything runs in a private loopback-only network namespace (root needed: the
namespace and the capture). Two targets, each at every ``--calls`` level in turn:

* **helpline**: ``helpline serve`` with the demo (SQLite), call recording on
  (``HELPLINE_RECORD_CALLS=1``: a stereo WAV per bridged call), ``--workers`` media
  worker processes, the demo tenant given enough lines, no qualifying OPTIONS,
  127.0.0.0/8 trusted (no per-source rate limit). One SIPp "agent" phone registers demo
  account 2001 (``tests/interop/scenarios/agent_register.xml``) and answers every INVITE
  at once (``bench/media_agent.xml`` as ``-oocsf``) with ``-rtp_echo``. A SIPp caller
  (``bench/media_caller.xml``) calls 2001 ``N`` times at ``--rate`` calls/s and streams
  PCMU on every call. Each packet goes caller -> Helpline (caller leg) -> bridge ->
  Helpline (agent leg) -> agent, is echoed, and comes back the same way: it crosses the
  media engine twice, and every call is recorded.
* **helpline+rtpengine** (``--backend rtpengine``): the same, with a real rtpengine
  (userspace, ``--table=-1``, pcap recording) started in the namespace and
  ``HELPLINE_MEDIA_BACKEND=rtpengine``: rtpengine faces both SIPp peers and bridges the
  legs itself, the recording is its pcap converted to the stereo WAV when the call ends;
  rtpengine's CPU is sampled next to Helpline's.
* **sipp echo** (baseline): the same caller calls a plain SIPp UAS (the same answer
  scenario as ``-sf``) with ``-rtp_echo``: caller -> SIPp echo -> caller, no Helpline.

Once all ``N`` calls are up (SIPp's CurrentCall) and ``--settle`` seconds have passed,
``dumpcap`` captures the caller's RTP port on ``lo`` (both directions, 64-byte
snapshots) for ``--window`` seconds, while the CPU time of the target (Helpline's main
process and each media worker, or the SIPp UAS; ``/proc/PID/stat``) and of the whole
machine (``/proc/stat``) is sampled over the same window. Then the calls hang up and
the capture is read:

* loss, exactly: the audio file the callers stream carries a frame number in the first
  bytes of every 20 ms frame. Both Helpline (PCMU on both legs: payload copied as is)
  and the echo return the payload unchanged, so each stream coming back is checked for
  frame numbers missing between its first and last one in the window. (The engine
  re-sequences and re-times what it sends, so RTP sequence numbers would not show what
  it dropped.) The frame numbers also give the round-trip delay of each packet.
* jitter: ``tshark -q -z rtp,streams``: RFC 3550 interarrival jitter of each stream
  arriving back at the caller (tshark's per-stream mean and max); p50 and p99 over the
  streams. Added jitter = helpline minus sipp echo at the same level.

Usage (root)::

    .venv/bin/python bench/media_calls.py --calls 100,300,500,1000 --rate 40 --window 10

Linux only. Needs ``sipp`` (3.6, with RTP streaming), ``dumpcap`` and ``tshark``
(``apt-get install -y sip-tester tshark``: for the benchmark, not for CI).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import re
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sip_load import children, set_lines  # noqa: E402
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline, namespace  # noqa: E402
from tests.media_rtpengine.daemon import rtpengine  # noqa: E402

from helpline.media import g711  # noqa: E402
from helpline.media.tones import tone  # noqa: E402

log = logging.getLogger("bench.media_calls")

HERE = Path(__file__).resolve().parent
CALLER_XML = HERE / "media_caller.xml"
AGENT_XML = HERE / "media_agent.xml"
AGENT, AGENT_PASSWORD = "2001", "demo-sip-pass"
CALLER_SIP, AGENT_SIP, UAS_SIP = 6070, 5072, 7060
CALLER_RTP, AGENT_RTP, UAS_RTP = 16000, 30000, 31000
CLK = os.sysconf("SC_CLK_TCK")
FRAME = 160
NUMBERED_FRAMES = 3000
"""Frames in the callers' audio file (60 s, looped); longer than any capture window."""
CHECK = 0xA5A5
STREAM_LINE = re.compile(
    r"^\s*[\d.]+\s+[\d.]+\s+\S+\s+(?P<sport>\d+)\s+\S+\s+(?P<dport>\d+)\s+"
    r"(?P<ssrc>0x[0-9a-fA-F]+)\s+\S+\s+(?P<pkts>\d+)\s+-?\d+\s+\([^)]*\)"
    r"\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(?P<jmean>[\d.]+)\s+(?P<jmax>[\d.]+)"
)


@dataclass
class Stream:
    """One line of ``tshark -z rtp,streams``."""

    src_port: int
    dst_port: int
    ssrc: str
    packets: int
    mean_jitter_ms: float
    max_jitter_ms: float


@dataclass
class Delivery:
    """What the numbered frames say about the streams coming back to the caller."""

    sent: int = 0
    received: int = 0
    missing: int = 0
    duplicated: int = 0
    unnumbered: int = 0
    lossy_streams: int = 0
    """Streams with at least one frame missing."""
    worst_stream_missing: int = 0
    delays_ms: list[float] = field(default_factory=list, repr=False)


@dataclass
class Row:
    """One target at one level."""

    target: str
    calls: int
    failed: int
    streams_back: int
    delivery: Delivery
    capture_dropped: int
    jitter_p50_ms: float
    jitter_p99_ms: float
    jitter_max_p99_ms: float
    cpu: list[float]
    machine_busy: float
    load_average: str
    udp_errors: dict[str, int] = field(default_factory=dict)
    """Datagrams dropped during the window by full socket buffers, per process@port."""

    @property
    def loss(self) -> float:
        """Fraction of the frames due back in the window that never came back."""
        expected = self.delivery.received + self.delivery.missing
        return self.delivery.missing / expected if expected else float("nan")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_ticks(pid: int) -> int:
    """User + system ticks of one process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(stat[11]) + int(stat[12])


def write_numbered_tone(path: Path) -> None:
    """60 s of 1 kHz PCMU, headerless (SIPp's rtp_stream sends the file byte for byte,
    160 bytes a packet); frame i starts with i and i ^ 0xA5A5 (big-endian 16 bits)."""
    frame = g711.encode(tone([1000], FRAME / 8000, amplitude=0.3), g711.PCMU)
    path.write_bytes(
        b"".join(struct.pack("!HH", i, i ^ CHECK) + frame[4:] for i in range(NUMBERED_FRAMES))
    )


def udp_packets(pcap: Path) -> Iterator[tuple[float, int, int, bytes]]:
    """(time, source port, destination port, UDP payload as captured) of each IPv4 UDP
    packet in a classic pcap file captured on ``lo`` (Ethernet framing)."""
    data = pcap.read_bytes()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    scale = 1e-9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e-6
    (linktype,) = struct.unpack(endian + "I", data[20:24])
    if linktype != 1:
        raise RuntimeError(f"unexpected link type {linktype}")
    record = struct.Struct(endian + "IIII")
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, length, _ = record.unpack_from(data, offset)
        packet = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        ip = packet[14:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 15) * 4 :]
        source, destination = struct.unpack_from("!HH", udp)
        yield seconds + fraction * scale, source, destination, udp[8:]


def numbered(payload: bytes) -> tuple[int, int] | None:
    """(SSRC, frame number) of an RTP packet carrying a numbered PCMU frame."""
    if len(payload) < 16 or payload[0] >> 6 != 2 or payload[1] & 0x7F != 0:
        return None
    skip = 12 + 4 * (payload[0] & 15)
    if len(payload) < skip + 4:
        return None
    number, check = struct.unpack_from("!HH", payload, skip)
    if number ^ CHECK != check or number >= NUMBERED_FRAMES:
        return None
    return int.from_bytes(payload[8:12], "big"), number


def read_delivery(pcap: Path, port: int) -> Delivery:
    """Frames missing and round-trip delays of the streams arriving back at ``port``.

    A stream going out is paired with the stream coming back by the far port when only
    one stream goes each way through it (Helpline: one endpoint per call), else by SSRC
    as well (the echo keeps the SSRC; all its calls share one port)."""
    sent: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
    back: dict[tuple[int, int], list[tuple[float, int]]] = defaultdict(list)
    delivery = Delivery()
    for when, source, destination, payload in udp_packets(pcap):
        marked = numbered(payload)
        if source == port:
            if marked is not None:
                sent[(destination, marked[0])][marked[1]] = when
                delivery.sent += 1
        elif destination == port:
            delivery.received += 1
            if marked is None:
                delivery.unnumbered += 1
            else:
                back[(source, marked[0])].append((when, marked[1]))
    out_by_port: dict[int, list[int]] = defaultdict(list)
    for far, ssrc in sent:
        out_by_port[far].append(ssrc)
    back_per_port: dict[int, int] = defaultdict(int)
    for far, _ in back:
        back_per_port[far] += 1
    for (far, ssrc), frames in back.items():
        if len(out_by_port[far]) == 1 and back_per_port[far] == 1:
            times = sent[(far, out_by_port[far][0])]
        else:
            times = sent.get((far, ssrc), {})
        seen: set[int] = set()
        low = high = 0
        first = frames[0][1]
        for when, number in frames:
            half = NUMBERED_FRAMES // 2
            offset = (number - first + half) % NUMBERED_FRAMES - half
            low, high = min(low, offset), max(high, offset)
            if number in seen:
                delivery.duplicated += 1
            seen.add(number)
            if number in times and times[number] <= when:
                delivery.delays_ms.append(1000 * (when - times[number]))
        gaps = high - low + 1 - len(seen)
        delivery.missing += gaps
        delivery.lossy_streams += gaps > 0
        delivery.worst_stream_missing = max(delivery.worst_stream_missing, gaps)
    return delivery


def read_streams(pcap: Path) -> list[Stream]:
    """The RTP streams of a capture, as tshark's ``rtp,streams`` statistics report them."""
    result = subprocess.run(
        ["tshark", "-r", str(pcap), "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    streams = []
    for line in result.stdout.splitlines():
        match = STREAM_LINE.match(line)
        if match:
            streams.append(
                Stream(
                    int(match["sport"]),
                    int(match["dport"]),
                    match["ssrc"],
                    int(match["pkts"]),
                    float(match["jmean"]),
                    float(match["jmax"]),
                )
            )
    return streams


def sipp_counts(work: Path) -> tuple[int, int, int]:
    """(current, successful, failed) calls from the SIPp stat file in ``work``."""
    for file in work.glob("*_.csv"):
        with file.open() as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        if rows:
            last = rows[-1]
            return (
                int(last["CurrentCall"]),
                int(last["SuccessfulCall(C)"]),
                int(last["FailedCall(C)"]),
            )
    return 0, 0, 0


def registered(node: Node, username: str, timeout: float = 15) -> None:
    """Wait until ``username`` has a registered contact."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(node.data_dir / "helpline.db") as db:
            found = db.execute(
                "SELECT count(*) FROM registrations r JOIN sip_accounts a "
                "ON a.id = r.sip_account_id WHERE a.username = ?",
                (username,),
            ).fetchone()[0]
        if found:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{username} did not register")


def idle_node(node: Node, timeout: float = 120) -> None:
    """Wait until Helpline has no call left (between levels)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = json.loads(node.http_get("/api/health"))
        if health["sip"]["calls"] == 0:
            return
        time.sleep(1)
    log.warning("calls still up after %s s", timeout)


@dataclass
class Plan:
    """Timing of the levels."""

    rate: int
    settle: float
    window: float
    work: Path

    def ramp(self, calls: int) -> float:
        """Seconds SIPp takes to place ``calls`` calls."""
        return calls / self.rate

    def hold_ms(self, calls: int) -> int:
        """Call length: the first call stays up past the window's end, with a margin for
        a slow ramp."""
        return int(1000 * (1.2 * self.ramp(calls) + self.settle + self.window + 15))


def run_level(
    ns: Namespace, target: str, port: int, service: str, calls: int, plan: Plan, pids: list[int]
) -> Row:
    """Place ``calls`` calls to ``port``, capture the steady state, then let them end."""
    work = plan.work / f"{target.replace(' ', '-')}-{calls}"
    work.mkdir()
    write_numbered_tone(work / "numbered.ulaw")
    hold = plan.hold_ms(calls)
    argv = [
        *("sipp", f"127.0.0.1:{port}", "-sf", str(CALLER_XML), "-s", service),
        *("-i", "127.0.0.1", "-p", str(CALLER_SIP), "-mi", "127.0.0.1", "-mp", str(CALLER_RTP)),
        *("-r", str(plan.rate), "-m", str(calls), "-l", str(calls), "-d", str(hold)),
        *("-nostdin", "-timeout", f"{hold // 1000 + int(plan.ramp(calls)) + 60}s"),
        *("-trace_stat", "-fd", "1", "-trace_err"),
    ]
    caller = ns.popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 1.2 * plan.ramp(calls) + 10
        while time.monotonic() < deadline and sipp_counts(work)[0] < calls:
            if caller.poll() is not None:
                break
            time.sleep(0.5)
        up = sipp_counts(work)[0]
        if up < calls:
            log.warning("%s %d: only %d calls up", target, calls, up)
        time.sleep(plan.settle)
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        pcap = work / "window.pcap"
        udp0 = udp_counters(ns)
        before = [process_ticks(pid) for pid in pids]
        busy0, total0 = machine_ticks()
        clock0 = time.monotonic()
        capture = ns.run(
            [
                *("dumpcap", "-i", "lo", "-f", f"udp port {CALLER_RTP}", "-s", "64"),
                *("-B", "256", "-a", f"duration:{int(plan.window)}", "-P", "-w", str(pcap)),
            ],
            timeout=plan.window + 30,
        )
        elapsed = time.monotonic() - clock0
        busy1, total1 = machine_ticks()
        after = [process_ticks(pid) for pid in pids]
        udp1 = udp_counters(ns)
        try:
            _, err = caller.communicate(timeout=hold / 1000 + plan.ramp(calls) + 90)
        except subprocess.TimeoutExpired:
            log.warning("%s %d: the caller did not finish in time (killed)", target, calls)
            caller.kill()
            _, err = caller.communicate(timeout=10)
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.communicate(timeout=10)
    _, ok, failed = sipp_counts(work)
    if ok + failed == 0:
        log.warning("caller output: %s", err[-2000:])
    if not pcap.exists():
        raise RuntimeError(f"dumpcap wrote no capture: {capture.stderr[-2000:]}")
    drops = re.findall(r"received/dropped on interface 'lo': \d+/(\d+)", capture.stderr)
    streams = [s for s in read_streams(pcap) if s.dst_port == CALLER_RTP]
    return Row(
        target=target,
        calls=calls,
        failed=failed,
        streams_back=len(streams),
        delivery=read_delivery(pcap, CALLER_RTP),
        capture_dropped=sum(int(d) for d in drops),
        jitter_p50_ms=percentile([s.mean_jitter_ms for s in streams], 0.50),
        jitter_p99_ms=percentile([s.mean_jitter_ms for s in streams], 0.99),
        jitter_max_p99_ms=percentile([s.max_jitter_ms for s in streams], 0.99),
        cpu=[100 * (a - b) / CLK / elapsed for a, b in zip(after, before, strict=True)],
        machine_busy=100 * (busy1 - busy0) / max(total1 - total0, 1),
        load_average=load,
        udp_errors={k: v - udp0.get(k, 0) for k, v in udp1.items() if v > udp0.get(k, 0)},
    )


def udp_counters(ns: Namespace) -> dict[str, int]:
    """Datagrams dropped so far by the namespace's UDP sockets (full receive buffers), per
    owning process and local port, from ``ss -uanmp`` run inside it. The callers' own
    port is expected among them: SIPp streaming a file does not read what comes back,
    so its buffer fills (the capture on ``lo`` sees those packets before the socket)."""
    text = ns.run(["ss", "-uanmp"], timeout=10).stdout
    drops: dict[str, int] = {}
    owner = ""
    for line in text.splitlines():
        if line.startswith("UNCONN") or line.startswith("ESTAB"):
            fields = line.split()
            process = re.search(r'users:\(\("([^"]+)"', line)
            owner = f"{process.group(1) if process else '?'}@{fields[3].rsplit(':', 1)[-1]}"
        elif (found := re.search(r"\bd(\d+)\)", line)) and int(found.group(1)):
            drops[owner] = drops.get(owner, 0) + int(found.group(1))
    return drops


def helpline_pids(node: Node) -> list[int]:
    """The ``helpline serve`` process first, then its media workers."""
    found = []
    for pid in children(node.proc.pid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if pid == node.proc.pid or b"spawn_main" in cmd:
            found.append(pid)
    return found


def stop(proc: subprocess.Popen[str]) -> None:
    """Terminate a SIPp we started, then kill it if it lingers."""
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)


def bench_helpline(
    ns: Namespace,
    levels: list[int],
    plan: Plan,
    workers: int,
    *,
    relay: bool,
    backend: str,
    record: bool = True,
) -> list[Row]:
    """Every level through Helpline's B2BUA (recorded unless ``record`` is False), one
    node for all levels."""
    rows = []
    with contextlib.ExitStack() as stack:
        data = stack.enter_context(tempfile.TemporaryDirectory(dir=plan.work))
        extra: dict[str, str] = {}
        relay_pids: list[int] = []
        if backend == "rtpengine":
            daemon = stack.enter_context(
                rtpengine(
                    ns, Path(data) / "rtpengine", ng_port=22222, port_min=40000, port_max=49999
                )
            )
            relay_pids.append(daemon.proc.pid)
            extra = dict(
                HELPLINE_MEDIA_BACKEND="rtpengine",
                HELPLINE_RTPENGINE_NG=daemon.ng,
                HELPLINE_RTPENGINE_RECORDING_DIR=str(daemon.spool),
            )
        node = stack.enter_context(
            helpline(
                ns,
                Path(data),
                HELPLINE_LOG_LEVEL="WARNING",
                HELPLINE_RECORD_CALLS="1" if record else "0",
                HELPLINE_SIP_QUALIFY_SECONDS="0",
                HELPLINE_SIP_TRUSTED_NETWORKS="127.0.0.0/8",
                HELPLINE_MEDIA_WORKERS=str(workers),
                HELPLINE_MEDIA_RELAY="1" if relay else "0",
                HELPLINE_RTP_PORT_MIN="20000",
                HELPLINE_RTP_PORT_MAX=str(20000 + 4 * max(levels) + 400),
                HELPLINE_RTP_TIMEOUT="60",
                **extra,
            )
        )
        set_lines(Path(data), 2 * max(levels) + 100)
        agent_work = plan.work / "agent"
        agent_work.mkdir()
        agent = ns.popen(
            [
                *("sipp", f"127.0.0.1:{node.sip_port}", "-sf"),
                *(str(SCENARIOS / "agent_register.xml"), "-oocsf", str(AGENT_XML)),
                *("-s", AGENT, "-au", AGENT, "-ap", AGENT_PASSWORD),
                *("-i", "127.0.0.1", "-p", str(AGENT_SIP), "-mi", "127.0.0.1"),
                *("-mp", str(AGENT_RTP), "-rtp_echo", "-d", "3600000", "-m", "1"),
                *("-nostdin", "-trace_err"),
            ],
            cwd=agent_work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            registered(node, AGENT)
            pids = helpline_pids(node) + relay_pids
            log.info("helpline processes (main, workers, rtpengine): %s", pids)
            for calls in levels:
                label = "helpline" if relay else "helpline re-timed"
                if backend == "rtpengine":
                    label = "helpline+rtpengine"
                if not record:
                    label += " unrecorded"
                rows.append(run_level(ns, label, node.sip_port, AGENT, calls, plan, pids))
                log.info("%s", rows[-1])
                idle_node(node)
                time.sleep(2)
        finally:
            stop(agent)
    return rows


def bench_baseline(ns: Namespace, levels: list[int], plan: Plan) -> list[Row]:
    """Every level against a plain SIPp UAS echoing RTP (no Helpline)."""
    rows = []
    uas_work = plan.work / "uas"
    uas_work.mkdir()
    uas = ns.popen(
        [
            *("sipp", "-sf", str(AGENT_XML), "-i", "127.0.0.1", "-p", str(UAS_SIP)),
            *("-mi", "127.0.0.1", "-mp", str(UAS_RTP), "-rtp_echo", "-nostdin", "-trace_err"),
        ],
        cwd=uas_work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1)
        for calls in levels:
            rows.append(run_level(ns, "sipp echo", UAS_SIP, "echo", calls, plan, [uas.pid]))
            log.info("%s", rows[-1])
            time.sleep(3)
    finally:
        stop(uas)
    return rows


def table(rows: list[Row]) -> str:
    """The results as a Markdown table, each Helpline row next to its baseline."""
    base = {r.calls: r for r in rows if r.target == "sipp echo"}
    lines = [
        "| calls | target | streams back / failed calls | target CPU (main / workers [/ relay]) "
        "| machine busy | loss | round trip p50 / p99 | jitter p50 / p99 "
        "| added jitter p50 / p99 | max jitter p99 | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r.calls, r.target == "sipp echo")):
        relayed = r.target.endswith("rtpengine")
        workers = r.cpu[1:-1] if relayed else r.cpu[1:]
        cpu = " / ".join(f"{c:.0f}%" for c in r.cpu[:1])
        if workers:
            cpu += " / " + " + ".join(f"{c:.0f}%" for c in workers)
        if relayed:
            cpu += f" / rtpengine {r.cpu[-1]:.0f}%"
        b = base.get(r.calls)
        added = "-"
        if b is not None and r is not b:
            p50, p99 = r.jitter_p50_ms - b.jitter_p50_ms, r.jitter_p99_ms - b.jitter_p99_ms
            added = f"{p50:+.2f} / {p99:+.2f} ms"
        d = r.delivery
        delays = f"{percentile(d.delays_ms, 0.5):.0f} / {percentile(d.delays_ms, 0.99):.0f} ms"
        lines.append(
            f"| {r.calls} | {r.target} | {r.streams_back} / {r.failed} | {cpu} "
            f"| {r.machine_busy:.0f}% | {100 * r.loss:.2f}% ({d.missing:,} of "
            f"{d.received + d.missing:,}) | {delays} "
            f"| {r.jitter_p50_ms:.2f} / {r.jitter_p99_ms:.2f} ms "
            f"| {added} | {r.jitter_max_p99_ms:.1f} ms | {r.load_average} |"
        )
    return "\n".join(lines)


RMEM_DEFAULT = Path("/proc/sys/net/core/rmem_default")


@contextlib.contextmanager
def receive_buffers(size: int | None) -> Iterator[None]:
    """Sockets created meanwhile get ``size`` bytes of receive buffer by default.

    The agent phone is one SIPp process echoing every call on one socket: at 500 calls
    that is 25,000 packets a second, and with the kernel's default 208 KiB a short
    scheduling delay of SIPp overflows it (its drops show under "socket drops").
    """
    if size is None:
        yield
        return
    before = RMEM_DEFAULT.read_text().strip()
    RMEM_DEFAULT.write_text(str(size))
    try:
        yield
    finally:
        RMEM_DEFAULT.write_text(before)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", default="100,300,500,1000", help="concurrent call levels")
    parser.add_argument("--rate", type=int, default=40, help="call setup rate (calls/s)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the ramp")
    parser.add_argument("--window", type=float, default=10.0, help="capture seconds (< 50)")
    parser.add_argument("--workers", type=int, default=2, help="Helpline media workers")
    parser.add_argument(
        "--target", choices=("both", "helpline", "baseline"), default="both", help="run one side"
    )
    parser.add_argument(
        "--retime",
        action="store_true",
        help="HELPLINE_MEDIA_RELAY=0: bridged audio re-timed on the tick instead of relayed",
    )
    parser.add_argument(
        "--backend",
        choices=("embedded", "rtpengine"),
        default="embedded",
        help="HELPLINE_MEDIA_BACKEND: rtpengine starts a real rtpengine in the namespace",
    )
    parser.add_argument("--keep", type=Path, help="keep captures and SIPp files here")
    parser.add_argument(
        "--no-record", action="store_true", help="Helpline does not record the calls"
    )
    parser.add_argument(
        "--rcvbuf",
        type=int,
        help="net.core.rmem_default (bytes) for the run, restored after: machine-wide, as "
        "a network namespace cannot set it; SIPp cannot size its own echo socket",
    )
    args = parser.parse_args()
    if not 1 <= args.window < 50:
        parser.error("--window must be 1 to 49 s (the numbered audio loops every 60 s)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    levels = [int(c) for c in args.calls.split(",")]
    with tempfile.TemporaryDirectory() as tmp, receive_buffers(args.rcvbuf):
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        plan = Plan(args.rate, args.settle, args.window, work)
        rows: list[Row] = []
        with namespace() as ns:
            if ns.name is None:
                parser.error("needs root: the benchmark runs in its own network namespace")
            if args.target in ("both", "baseline"):
                rows += bench_baseline(ns, levels, plan)
            if args.target in ("both", "helpline"):
                rows += bench_helpline(
                    ns,
                    levels,
                    plan,
                    args.workers,
                    relay=not args.retime,
                    backend=args.backend,
                    record=not args.no_record,
                )
    sys.stdout.write(table(rows) + "\n")
    for r in rows:
        d = r.delivery
        sys.stdout.write(
            f"{r.target} {r.calls}: sent {d.sent:,}, back {d.received:,} "
            f"({d.unnumbered} unnumbered, {d.duplicated} duplicated), "
            f"capture dropped {r.capture_dropped}; streams with loss {d.lossy_streams}, "
            f"worst stream {d.worst_stream_missing} frames; socket drops {r.udp_errors or 'none'}\n"
        )


if __name__ == "__main__":
    main()
