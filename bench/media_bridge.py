"""Benchmark: N bridged and recorded calls through the embedded media engine on loopback.

Theory of operation
-------------------
A generator process (uvloop, one UDP socket per call leg) plays both parties of N calls:
every 20 ms, on one drift-free timer, it sends one PCMU frame per leg (1 kHz from the
caller, 2 kHz from the agent) and it timestamps every packet the engine sends back. The
engine (a :class:`WorkerPool`, or in-process with ``--workers 0``) holds 2N endpoints,
allocated with the call id as affinity key, bridges each pair and records each bridge
as a stereo WAV file. Measured over ``--seconds``:

* CPU: user+system time of each engine process (and of the generator) from
  ``/proc/PID/stat``, as a percentage of one core;
* loss: packets the generator sent that did not come back out of the other leg, and
  what the engine's receive statistics (RFC 3550 A.3) counted lost on input;
* added jitter: RFC 3550 interarrival jitter of the engine's output measured at the
  generator, next to the generator's own send lateness (what it feeds in).

Run: ``python bench/media_bridge.py --calls 100 --seconds 10`` (omit ``--calls`` for
100, 300 and 500). Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from helpline.media import g711
from helpline.media.backend import MediaBackend, RemoteMedia
from helpline.media.engine import EngineConfig, WorkerPool, create_backend
from helpline.media.rtp import FrameClock, RtpSender
from helpline.media.tones import tone
from helpline.media.wav import check_wav

log = logging.getLogger("bench.media_bridge")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Leg(asyncio.DatagramProtocol):
    """One party: its socket, its sender, and what it received."""

    payload: bytes
    sender: RtpSender = field(default_factory=lambda: RtpSender(rng=random.Random()))
    transport: Any = None
    target: tuple[str, int] = ("127.0.0.1", 0)
    received: int = 0
    jitter: float = 0.0
    transit: float | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or 200 <= data[1] <= 204:
            return
        self.received += 1
        timestamp = int.from_bytes(data[4:8], "big")
        transit = time.monotonic() * 8000 - timestamp
        if self.transit is not None:
            self.jitter += (abs(transit - self.transit) - self.jitter) / 16
        self.transit = transit


def generator_main(conn: Connection, legs: int, seconds: float) -> None:
    """The RTP generator process."""
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        runner.run(_generate(conn, legs, seconds))


async def _generate(conn: Connection, count: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    frames = [g711.encode(tone([hz], 0.02, amplitude=0.3), g711.PCMU) for hz in (1000, 2000)]
    legs = [Leg(frames[i % 2]) for i in range(count)]
    for leg in legs:
        await loop.create_datagram_endpoint(lambda leg=leg: leg, local_addr=("127.0.0.1", 0))
    conn.send([leg.transport.get_extra_info("sockname")[1] for leg in legs])
    ports = await loop.run_in_executor(None, conn.recv)
    for leg, port in zip(legs, ports, strict=True):
        leg.target = ("127.0.0.1", port)
    clock = FrameClock(loop.time())
    total = round(seconds / 0.02)
    lateness: list[float] = []
    done = loop.create_future()
    sent = 0

    def tick(n: int) -> None:
        nonlocal sent
        lateness.append(loop.time() - clock.deadline(n))
        for leg in legs:
            leg.transport.sendto(leg.sender.next_packet(leg.payload).serialize(), leg.target)
        sent += len(legs)
        if n + 1 < total:
            loop.call_at(clock.deadline(n + 1), tick, n + 1)
        else:
            done.set_result(None)

    start_cpu = cpu_seconds(os.getpid())
    tick(0)
    await done
    cpu = cpu_seconds(os.getpid()) - start_cpu
    await asyncio.sleep(0.5)
    conn.send(
        {
            "sent": sent,
            "received": sum(leg.received for leg in legs),
            "jitter_ms": [leg.jitter / 8 for leg in legs],
            "lateness_ms": [1000 * x for x in lateness],
            "cpu": cpu,
        }
    )


def _pids(backend: MediaBackend) -> list[int]:
    return backend.pids if isinstance(backend, WorkerPool) else [os.getpid()]


async def run(
    calls: int, seconds: float, workers: int | None, record_dir: Path | None
) -> dict[str, Any]:
    """Set up ``calls`` bridged, recorded calls, run the generator, return the numbers."""
    config = EngineConfig(port_min=20000, port_max=min(65535, 20000 + 4 * calls * 2 + 400))
    backend = create_backend(config, workers=workers)
    await backend.start()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    generator = context.Process(target=generator_main, args=(child, 2 * calls, seconds))
    generator.start()
    loop = asyncio.get_running_loop()
    peer_ports: list[int] = await loop.run_in_executor(None, parent.recv)
    endpoints: list[str] = []
    engine_ports: list[int] = []
    recordings = []
    for call in range(calls):
        pair = []
        for leg in range(2):
            remote = RemoteMedia(address="127.0.0.1", port=peer_ports[2 * call + leg])
            local = await backend.allocate_endpoint(remote, affinity=f"call-{call}")
            pair.append(local.endpoint)
            engine_ports.append(local.port)
        endpoints.extend(pair)
        bridge = await backend.bridge(*pair)
        if record_dir is not None:
            path = record_dir / f"call-{call}.wav"
            recordings.append((await backend.start_recording(bridge, str(path)), path))
    pids = _pids(backend)
    before = [cpu_seconds(pid) for pid in pids]
    wall = time.monotonic()
    parent.send(engine_ports)
    result: dict[str, Any] = await loop.run_in_executor(None, parent.recv)
    elapsed = time.monotonic() - wall - 0.5
    engine_cpu = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
    lost_in = 0
    for endpoint in endpoints:
        lost_in += max(0, (await backend.stats(endpoint)).packets_lost)
    for recording, _ in recordings:
        await backend.stop_recording(recording)
    durations = [check_wav(path).duration for _, path in recordings[:20]] or [0.0]
    await backend.close()
    generator.join(10)
    expected = result["sent"]
    lateness = result["lateness_ms"]
    return {
        "calls": calls,
        "workers": len(pids) if isinstance(backend, WorkerPool) else 0,
        "engine_cpu_pct": [round(100 * c / elapsed, 1) for c in engine_cpu],
        "generator_cpu_pct": round(100 * result["cpu"] / seconds, 1),
        "sent": result["sent"],
        "received": result["received"],
        "loss_pct": round(100 * max(0, expected - result["received"]) / expected, 3),
        "engine_input_lost": lost_in,
        "jitter_ms_mean": round(statistics.fmean(result["jitter_ms"]), 2),
        "jitter_ms_max": round(max(result["jitter_ms"]), 2),
        "send_lateness_ms_mean": round(statistics.fmean(lateness), 2),
        "send_lateness_ms_p99": round(sorted(lateness)[int(0.99 * len(lateness))], 2),
        "recorded_s_min": round(min(durations), 2),
    }


def main() -> None:
    """Parse arguments and run the benchmark for each call count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, action="append", help="default: 100, 300, 500")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None, help="0: in-process engine")
    parser.add_argument("--no-record", action="store_true", help="bridge without recording")
    parser.add_argument("--record-dir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for calls in args.calls or [100, 300, 500]:
        with tempfile.TemporaryDirectory(prefix="media-bench-", dir=args.record_dir) as tmp:
            record_dir = None if args.no_record else Path(tmp)
            numbers = asyncio.run(run(calls, args.seconds, args.workers, record_dir))
        sys.stdout.write(" ".join(f"{k}={v}" for k, v in numbers.items()) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
