"""Shared steps of the ACD interop tests: a node whose number 5200 reaches the queue
"sales", SIPp phones and callers on fixed loopback ports, agents logging in and out
through the API, and bounded waits on the live view (``GET /acd/realtime``)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpline.media.tones import tone_level
from helpline.prompts.library import SYSTEM_DIR
from tests.interop.audio import correlation, read_wav, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node

ADMIN = ("demo", "admin", "demo-web-pass")
NUMBER = "5200"
CALLER_RTP = 16000
SIP_PASSWORD = "demo-sip-pass"
#: Each account always registers from the same port, so a new registration replaces
#: the last one (no stale contact of an earlier test rings).
PHONE_PORTS = {"2001": (5072, 17200), "2002": (5078, 17400), "2003": (5076, 17600)}


def api(
    node: Node, method: str, path: str, body: object, *, login: tuple[str, str, str]
) -> tuple[int, Any]:
    """``node.api``, once more when the fresh session was not seen yet (401
    ``session_expired`` under load: the login's commit raced the request)."""
    status, answer = node.api(method, path, body, login=login)
    if status == 401:
        status, answer = node.api(method, path, body, login=login)
    return status, answer


def web(account: str) -> tuple[str, str, str]:
    """The web login of the agent whose SIP account is ``account``."""
    return ("demo", f"agent{account}", "demo-web-pass")


def make_number(node: Node) -> None:
    """Number 5200 -> a service whose target is the queue "sales"."""
    body = {"name": "sales-line", "default_target": {"kind": "queue", "queue": "sales"}}
    status, service = api(node, "POST", "/api/v1/services", body, login=ADMIN)
    assert status == 201, service
    body = {"number": NUMBER, "service_id": service["id"]}
    status, answer = api(node, "POST", "/api/v1/numbers", body, login=ADMIN)
    assert status == 201, answer


def make_tones(work: Path) -> Path:
    """Headerless G.711 tones for SIPp's rtp_stream: 1 kHz PCMU, 2 kHz PCMA."""
    (work / "audio").mkdir(exist_ok=True)
    for freq, encoding, ext in ((1000, "u-law", "ulaw"), (2000, "a-law", "alaw")):
        sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-t", "raw")
        target = str(work / "audio" / f"tone{freq}.{ext}")
        subprocess.run([*sox, target, "synth", "60", "sine", str(freq), "vol", "0.4"], check=True)
    return work


def queue_ids(node: Node) -> dict[str, int]:
    status, queues = api(node, "GET", "/api/v1/queues", None, login=ADMIN)
    assert status == 200, queues
    return {q["name"]: q["id"] for q in queues["items"]}


def configure(node: Node, queue: str = "sales", **settings: Any) -> None:
    """Change a queue's settings (the runtime reloads it)."""
    status, answer = api(
        node, "PATCH", f"/api/v1/queues/{queue_ids(node)[queue]}", settings, login=ADMIN
    )
    assert status == 200, answer


def login(node: Node, account: str, queue: str = "sales") -> None:
    """The agent logs in to ``queue`` and is available (a paused agent resumes)."""
    body = {"queue_ids": [queue_ids(node)[queue]]}
    status, me = api(node, "POST", "/api/v1/agents/me/login", body, login=web(account))
    assert status == 200, me
    if me["state"] != "available":
        status, me = api(
            node, "PUT", "/api/v1/agents/me/state", {"state": "available"}, login=web(account)
        )
        assert status == 200, me


def logout(node: Node, *accounts: str, timeout: float = 20) -> None:
    """Log agents out (waiting for a call or wrap-up to end)."""
    for account in accounts:
        deadline = time.monotonic() + timeout
        while True:
            status, me = api(node, "POST", "/api/v1/agents/me/logout", {}, login=web(account))
            if status == 200:
                break
            assert time.monotonic() < deadline, me
            time.sleep(0.5)


def state(node: Node, account: str) -> dict[str, Any]:
    status, me = api(node, "GET", "/api/v1/agents/me/state", None, login=web(account))
    assert status == 200, me
    return dict(me)


def until(
    node: Node, ready: Callable[[dict[str, Any]], bool], timeout: float = 20
) -> dict[str, Any]:
    """Poll the live view until ``ready(view)`` (AssertionError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        status, view = api(node, "GET", "/api/v1/acd/realtime", None, login=ADMIN)
        assert status == 200, view
        if ready(view):
            return dict(view)
        assert time.monotonic() < deadline, f"the ACD never got there: {view}"
        time.sleep(0.3)


def sales(view: dict[str, Any]) -> dict[str, Any]:
    return dict(next(q for q in view["queues"] if q["name"] == "sales"))


def agent_state(view: dict[str, Any], account: str) -> str:
    return str(next(a for a in view["agents"] if a["username"] == f"agent{account}")["state"])


def phone(
    ns: Namespace, node: Node, work: Path, account: str, seconds: int, answer: str
) -> subprocess.Popen[str]:
    """A SIPp phone registered as ``account`` for ``seconds``; ``answer`` (an out-of-call
    scenario) handles every call it gets."""
    port, rtp = PHONE_PORTS[account]
    return ns.popen(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            *("-sf", str(SCENARIOS / "agent_register.xml")),
            *("-oocsf", str(SCENARIOS / answer)),
            *("-s", account, "-au", account, "-ap", SIP_PASSWORD),
            *("-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(rtp)),
            *("-d", str(seconds * 1000), "-m", "1", "-nostdin"),
            *("-timeout", f"{seconds + 20}s"),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def registered(node: Node, account: str, timeout: float = 10) -> None:
    """Wait until ``account`` has a registered contact."""
    deadline = time.monotonic() + timeout
    while True:
        status, page = api(
            node, "GET", f"/api/v1/registrations?username={account}", None, login=ADMIN
        )
        if status == 200 and page["total"] >= 1:
            return
        assert time.monotonic() < deadline, f"{account} did not register: {page}"
        time.sleep(0.2)


def caller(
    ns: Namespace,
    node: Node,
    work: Path,
    number: str,
    *,
    seconds: float,
    port: int,
    rtp: int,
    scenario: str = "caller_queued.xml",
    host: str = "127.0.0.1",
) -> subprocess.Popen[str]:
    """A SIPp caller from ``number`` dialing 5200 from ``host``; it hangs up ``seconds``
    after it is answered (its wait in the queue included)."""
    return ns.popen(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            *("-sf", str(SCENARIOS / scenario)),
            *("-key", "from", number, "-s", NUMBER),
            *("-i", host, "-p", str(port), "-mi", host, "-mp", str(rtp)),
            *("-d", str(int(seconds * 1000)), "-m", "1", "-nostdin"),
            *("-timeout", f"{int(seconds) + 40}s", "-timeout_error"),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finished(proc: subprocess.Popen[str], node: Node, timeout: float = 60) -> None:
    """Wait for a SIPp process to end and check it succeeded."""
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:] + "\n".join(node.output[-40:])


@contextmanager
def running(*procs: subprocess.Popen[str]) -> Iterator[None]:
    """Kill whatever is still running when the block ends."""
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)


def records(node: Node, caller_number: str | None = None) -> list[dict[str, Any]]:
    """Call records of number 5200 (or to/from ``caller_number``), oldest first."""
    status, page = api(node, "GET", "/api/v1/call-records?limit=200", None, login=ADMIN)
    assert status == 200, page
    items = [dict(r) for r in page["items"]]
    if caller_number is not None:
        items = [r for r in items if caller_number in (r["caller"], r["called"])]
    return sorted(items, key=lambda r: str(r["started_at"]))


def offer_callbacks(node: Node) -> None:
    """The queue "sales" announces the position every 30 s and offers callbacks on
    key 1 (two attempts, 5 s apart); no agent is logged in."""
    logout(node, "2001", "2002")
    configure(
        node,
        strategy="longest_idle",
        callback_enabled=True,
        callback_key="1",
        callback_attempts=2,
        callback_retry_seconds=5,
        announce_interval=30,
        wrap_up_seconds=1,
    )


def prompt(name: str) -> bytes:
    """A system prompt's English audio."""
    return read_wav(SYSTEM_DIR / "en" / f"{name}.wav")[1]


def ask_for_callback(ns: Namespace, node: Node, work: Path, number: str, **where: Any) -> None:
    """A caller from ``number`` asks for a callback; they heard their position, the
    offer and the confirmation, and keep a place in the queue."""
    with sniff(ns, work, 40, CALLER_RTP) as captured:
        asking = caller(
            ns,
            node,
            work,
            number,
            seconds=0,
            port=where.get("port", 5090),
            rtp=CALLER_RTP,
            scenario="caller_callback.xml",
            host=where.get("host", "127.0.0.1"),
        )
        with running(asking):
            finished(asking, node)  # Helpline hung up after the confirmation
    heard = captured[0].pcm(CALLER_RTP)
    assert correlation(heard, prompt("queue/you-are-number")) >= 0.8
    assert correlation(heard, prompt("queue/callback-offer")) >= 0.8
    assert correlation(heard, prompt("queue/callback-confirmed")) >= 0.9
    (asked,) = [r for r in records(node, number) if r["called"] == "5200"]
    assert asked["outcome"] == "callback", asked
    view = until(node, lambda v: sales(v)["callbacks_pending"] == 1)
    assert [c["callback"] for c in sales(view)["callers"]] == [True]


def callback_row(node: Node, number: str) -> dict[str, Any]:
    """The callback request of ``number``, through the API."""
    status, page = api(node, "GET", "/api/v1/acd/callbacks", None, login=ADMIN)
    assert status == 200, page
    (found,) = [c for c in page["items"] if c["number"] == number]
    return dict(found)


def heard_tone(pcm: bytes, frequency: float) -> float:
    """The strongest level of ``frequency`` in any 100 ms of ``pcm``."""
    window = 1600
    return max(
        (tone_level(pcm[i : i + window], frequency) for i in range(0, len(pcm) - window, window)),
        default=0.0,
    )
