"""CTI commands on live calls through the REST API (issue 7 item 5), against SIPp
parties: a caller (1 kHz, PCMU) calls agent 2001 (2 kHz, PCMA); the agent, logged in to
the API as agent2001, holds and resumes the caller, sends it DTMF and transfers it
blind to agent 2002 (1.5 kHz). What each party hears is checked by frequency, the SIP
the caller receives by SIPp's scenario (re-INVITE ``a=sendonly`` then ``a=sendrecv``),
and the agent's event stream and the call record by the API.

The helpers here are shared by the other ``test_call_commands_*`` modules."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from helpline.media._audioop import audioop
from helpline.media.tones import tone_level
from tests.interop.audio import Capture, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline
from tests.interop.test_b2bua import _registered

ADMIN = ("demo", "admin", "demo-web-pass")
AGENT1 = ("demo", "agent2001", "demo-web-pass")
AGENT2 = ("demo", "agent2002", "demo-web-pass")
SUPERVISOR = ("demo", "supervisor", "demo-web-pass")
SIP_PASSWORD = "demo-sip-pass"
CALLER_RTP, AGENT1_RTP, AGENT2_RTP, THIRD_RTP = 16000, 17200, 17400, 16400
LISTENER = Path(__file__).with_name("ws_listen.py")
TONES = (1000, 1500, 2000, 500)


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("commands"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_COOKIE_SECURE="0",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tones in PCMU and PCMA for SIPp's rtp_stream, and answer scenarios per tone."""
    work = tmp_path_factory.mktemp("work")
    (work / "audio").mkdir()
    for freq in TONES:
        for encoding, ext in (("u-law", "ulaw"), ("a-law", "alaw")):
            sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-t", "raw")
            target = str(work / "audio" / f"tone{freq}.{ext}")
            synth = ("synth", "40", "sine", str(freq), "vol", "0.4")
            subprocess.run([*sox, target, *synth], check=True)
        answer = (SCENARIOS / "agent_answer.xml").read_text()
        (work / f"answer{freq}.xml").write_text(answer.replace("tone2000", f"tone{freq}"))
    return work


def phone(
    ns: Namespace,
    node: Node,
    work: Path,
    user: str,
    *,
    tone: int,
    port: int,
    rtp: int,
    seconds: int = 30,
    password: str = SIP_PASSWORD,
) -> subprocess.Popen[str]:
    """A SIPp phone registered as ``user`` that answers one call (after 1 s of ringing)
    sending a ``tone`` Hz PCMA tone, until BYE; its messages go to phone-PORT.log."""
    return ns.popen(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            *("-sf", str(SCENARIOS / "agent_register.xml")),
            *("-oocsf", str(work / f"answer{tone}.xml")),
            *("-s", user, "-au", user, "-ap", password),
            *("-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(rtp)),
            *("-d", str(seconds * 1000), "-m", "1", "-nostdin"),
            *("-trace_msg", "-message_file", str(work / f"phone-{port}.log")),
            *("-timeout", f"{seconds + 20}s"),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def caller(
    ns: Namespace, node: Node, work: Path, scenario: str, target: str, *, talk_ms: int
) -> subprocess.Popen[str]:
    """A SIPp caller (1 kHz PCMU) running ``scenario`` against ``target``."""
    return ns.popen(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            *("-sf", str(SCENARIOS / scenario), "-s", target),
            *("-i", "127.0.0.1", "-p", "5071", "-mi", "127.0.0.1", "-mp", str(CALLER_RTP)),
            *("-d", str(talk_ms), "-m", "1", "-nostdin", "-timeout", "60s"),
            *("-trace_msg", "-message_file", str(work / "caller.log")),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finished(proc: subprocess.Popen[str], timeout: float = 40) -> str:
    """Wait for a SIPp process and check it succeeded; its output."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
        raise AssertionError(f"SIPp did not finish:\n{out[-3000:]}") from None
    assert proc.returncode == 0, out[-3000:]
    return out


def stop(*procs: subprocess.Popen[str] | None) -> None:
    """Kill SIPp processes still running (a failed test's leftovers)."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


_CLIENT = """
import http.cookiejar, json, os, sys, time, urllib.error, urllib.request as u
base, jar_path, login, method, path, body = sys.argv[1:7]
tenant, user, password = json.loads(login)
jar = http.cookiejar.LWPCookieJar(jar_path)
if os.path.exists(jar_path):
    jar.load(ignore_discard=True)
opener = u.build_opener(u.HTTPCookieProcessor(jar))
def call(method, path, body):
    data = None if body == "null" else body.encode()
    csrf = next((c.value for c in jar if c.name == "helpline_csrf"), "")
    req = u.Request(base + path, data=data, method=method,
                    headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})
    try:
        with opener.open(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def log_in():
    jar.clear()
    auth = json.dumps({"tenant": tenant, "username": user, "password": password})
    status, raw = call("POST", "/api/v1/auth/login", auth)
    assert status == 200, raw
    # The session is committed after the login's answer has gone out: wait for it.
    deadline = time.monotonic() + 10
    while call("GET", "/api/v1/auth/me", "null")[0] != 200:
        assert time.monotonic() < deadline, "the new session never became usable"
        time.sleep(0.05)
    jar.save(ignore_discard=True)
if not os.path.exists(jar_path):
    log_in()
status, raw = call(method, path, body)
if status == 401:
    log_in()
    status, raw = call(method, path, body)
sys.stdout.write(json.dumps([status, json.loads(raw) if raw else None]))
"""


def api(
    node: Node, method: str, path: str, login: tuple[str, str, str], body: object = None
) -> tuple[int, Any]:
    """Call the API as ``login`` (one session per user, kept in a cookie file): the
    status and the answer."""
    jar = node.data_dir / f"cookies-{login[1]}.txt"
    argv = [
        sys.executable,
        *("-c", _CLIENT, f"http://127.0.0.1:{node.http_port}", str(jar)),
        *(json.dumps(login), method, path, json.dumps(body)),
    ]
    result = node.ns.run(argv, timeout=40)
    assert result.returncode == 0, result.stderr
    status, answer = json.loads(result.stdout)
    return int(status), answer


def command(
    node: Node, call_id: str, what: str, login: tuple[str, str, str], body: object = None
) -> dict[str, Any]:
    """POST a command on a call and check it was taken; the call afterwards."""
    status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/{what}", login, body)
    assert status == 200, (what, answer)
    return dict(answer)


def wait_call(
    node: Node,
    login: tuple[str, str, str],
    ready: Callable[[dict[str, Any]], bool],
    timeout: float = 15,
) -> dict[str, Any]:
    """The first live call ``login`` sees that satisfies ``ready`` (polling the API)."""
    deadline = time.monotonic() + timeout
    while True:
        status, calls = api(node, "GET", "/api/v1/calls", login)
        assert status == 200, calls
        for call in calls:
            if ready(call):
                return dict(call)
        assert time.monotonic() < deadline, f"no such call: {calls}"
        time.sleep(0.2)


def talking(agent: str) -> Callable[[dict[str, Any]], bool]:
    """A call in which ``agent`` talks to the customer."""
    return lambda call: call["state"] == "talking" and call["agent"] == agent


def levels(capture: Capture, port: int, start: float, end: float) -> dict[int, float]:
    """Tone levels of 100 ms in the middle of what ``port`` received in [start, end]."""
    pcm = capture.pcm(port, start=start, end=end)
    middle = len(pcm) // 4 * 2
    window = pcm[middle : middle + 1600]
    assert len(window) == 1600, f"only {len(pcm) // 2} samples heard on {port}"
    return {hz: tone_level(window, hz) for hz in TONES}


def hears(heard: dict[int, float], *tones: int) -> bool:
    """``tones`` loud, the other test tones absent."""
    return all(heard[t] > 0.1 for t in tones) and all(
        heard[t] < 0.02 for t in TONES if t not in tones
    )


class Events:
    """The event stream of a user, recorded by ws_listen.py while a test runs."""

    def __init__(self, ns: Namespace, node: Node, login: tuple[str, str, str], seconds: int):
        self.proc = ns.popen(
            [sys.executable, str(LISTENER), str(node.http_port), *login, str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def collected(self) -> list[dict[str, Any]]:
        """Stop listening; the events received."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=20)
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def record_of(node: Node, call_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The call record of ``call_id`` and its segments."""
    status, records = api(node, "GET", f"/api/v1/call-records?call_id={call_id}", ADMIN)
    assert status == 200 and records["total"] == 1, records
    record = records["items"][0]
    status, segments = api(node, "GET", f"/api/v1/call-records/{record['id']}/segments", ADMIN)
    assert status == 200, segments
    return record, list(segments)


def test_hold_plays_music_to_the_caller_then_resume_reconnects(
    ns: Namespace, node: Node, audio: Path
) -> None:
    agent = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    held = None
    try:
        _registered(node, "2001")
        events = Events(ns, node, AGENT1, 40)
        with sniff(ns, audio, 40, CALLER_RTP) as captured:
            held = caller(ns, node, audio, "caller_held.xml", "2001", talk_ms=3000)
            call = wait_call(node, AGENT1, talking("2001"))
            call_id = call["call_id"]
            # Bad input: stable error ids.
            status, answer = api(node, "POST", "/api/v1/calls/no-such-call/hold", AGENT1)
            assert (status, answer["error_id"]) == (404, "call_not_found")
            status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/hold", AGENT2)
            assert (status, answer["error_id"]) == (403, "not_your_call")
            status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/resume", AGENT1)
            assert (status, answer["error_id"]) == (409, "call_wrong_state")
            assert answer["details"] == {"state": "talking", "command": "resume"}
            time.sleep(1.5)
            talked = time.monotonic()
            assert command(node, call_id, "hold", AGENT1)["state"] == "held"
            on_hold = time.monotonic()
            time.sleep(3)
            off_hold = time.monotonic()
            assert command(node, call_id, "resume", AGENT1)["state"] == "talking"
            resumed = time.monotonic()
            finished(held)
        stop(agent)
        seen = events.collected()
    finally:
        stop(agent, held)
    capture = captured[0]
    assert hears(levels(capture, CALLER_RTP, talked - 1.0, talked), 2000)
    moh = capture.pcm(CALLER_RTP, start=on_hold + 0.8, end=off_hold)
    assert audioop.rms(moh, 2) > 300, "the held caller heard silence"
    assert levels(capture, CALLER_RTP, on_hold + 0.8, off_hold)[2000] < 0.02  # not the agent
    assert hears(levels(capture, CALLER_RTP, resumed + 0.5, resumed + 2.5), 2000)
    names = [e["event"] for e in seen if e.get("call_id") == call_id]
    assert names.index("call.held") < names.index("call.resumed"), names
    held_event = next(e for e in seen if e["event"] == "call.held")
    assert (held_event["agent"], held_event["actor"]) == ("2001", "agent2001")
    record, segments = record_of(node, call_id)
    assert [s["kind"] for s in segments] == ["ring", "talk", "hold", "talk"], segments
    assert record["hold_seconds"] > 2.0, record


def test_dtmf_reaches_the_caller_as_rfc4733_events(ns: Namespace, node: Node, audio: Path) -> None:
    agent = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    calling = None
    try:
        _registered(node, "2001")
        with sniff(ns, audio, 30, CALLER_RTP) as captured:
            calling = caller(ns, node, audio, "caller_tone.xml", "2001", talk_ms=5000)
            call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
            status, answer = api(
                node, "POST", f"/api/v1/calls/{call_id}/dtmf", AGENT1, {"digits": "12x"}
            )
            assert (status, answer["error_id"]) == (422, "validation_error")
            command(node, call_id, "dtmf", AGENT1, {"digits": "1234#"})
            finished(calling)
    finally:
        stop(agent, calling)
    assert captured[0].events(CALLER_RTP) == "1234#"


def test_blind_transfer_connects_the_caller_to_the_second_agent(
    ns: Namespace, node: Node, audio: Path
) -> None:
    first = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    second = phone(ns, node, audio, "2002", tone=1500, port=5074, rtp=AGENT2_RTP)
    calling = None
    try:
        _registered(node, "2001")
        _registered(node, "2002")
        events = Events(ns, node, AGENT1, 40)
        with sniff(ns, audio, 40, CALLER_RTP, AGENT2_RTP) as captured:
            calling = caller(ns, node, audio, "caller_tone.xml", "2001", talk_ms=10000)
            call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
            body = {"kind": "extension", "target": "2003"}  # registered nowhere
            status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/transfer", AGENT1, body)
            assert (status, answer["error_id"]) == (409, "destination_unavailable"), answer
            time.sleep(1.5)
            before = time.monotonic()
            body = {"kind": "extension", "target": "2002"}
            assert command(node, call_id, "transfer", AGENT1, body)["state"] == "connecting"
            wait_call(node, AGENT2, talking("2002"))
            connected = time.monotonic()
            finished(calling)
        seen = events.collected()
    finally:
        stop(first, second, calling)
    capture = captured[0]
    assert hears(levels(capture, CALLER_RTP, before - 1.0, before), 2000)
    assert hears(levels(capture, CALLER_RTP, connected + 0.5, connected + 2.5), 1500)
    assert hears(levels(capture, AGENT2_RTP, connected + 0.5, connected + 2.5), 1000)
    assert "BYE sip:" in (audio / "phone-5072.log").read_text()  # the first agent released
    moved = next(e for e in seen if e["event"] == "call.transferred")
    assert (moved["kind"], moved["agent"], moved["target"]) == ("blind", "2001", "2002")
    record, segments = record_of(node, call_id)
    assert record["agent"] == "2002" and record["outcome"] == "answered", record
    kinds = [(s["kind"], s["agent"]) for s in segments]
    assert kinds == [
        ("ring", "2001"),
        ("talk", "2001"),
        ("transfer", "2001"),
        ("ring", "2002"),
        ("talk", "2002"),
    ], kinds
