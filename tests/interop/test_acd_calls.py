"""Callers queued by the ACD reach logged-in agents' phones (issue 7), all through the
API and SIP as in production: the agent logs in through the API, its SIPp phone
registers; a caller dialing a number whose service targets the queue "sales" hears
music on hold until the agent's phone is offered the call and answers; the caller
then hears the agent (2 kHz) and the agent goes to wrap-up, then available."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.media._audioop import audioop
from tests.interop.audio import frequency_of, sniff
from tests.interop.harness import Namespace, Node, helpline, sipp
from tests.interop.test_b2bua import _agent, _registered

ADMIN = ("demo", "admin", "demo-web-pass")
AGENT_WEB = ("demo", "agent2001", "demo-web-pass")
CALLER_RTP = 16000
NUMBER = "5200"
LISTENER = Path(__file__).with_name("ws_listen.py")


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("acd"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_COOKIE_SECURE="0",
    ) as running:
        number_to_sales(running)
        yield running


def number_to_sales(node: Node) -> None:
    """Make NUMBER a number whose service queues callers into "sales"."""
    body = {"name": "sales-line", "default_target": {"kind": "queue", "queue": "sales"}}
    status, service = node.api("POST", "/api/v1/services", body, login=ADMIN)
    assert status == 201, service
    body = {"number": NUMBER, "service_id": service["id"]}
    status, answer = node.api("POST", "/api/v1/numbers", body, login=ADMIN)
    assert status == 201, answer


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    (work / "audio").mkdir()
    for freq, encoding, ext in ((1000, "u-law", "ulaw"), (2000, "a-law", "alaw")):
        sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-t", "raw")
        target = str(work / "audio" / f"tone{freq}.{ext}")
        subprocess.run([*sox, target, "synth", "30", "sine", str(freq), "vol", "0.4"], check=True)
    return work


def _state(node: Node) -> str:
    status, me = node.api("GET", "/api/v1/agents/me/state", None, login=AGENT_WEB)
    assert status == 200, me
    return str(me["state"])


def test_a_queued_caller_reaches_the_logged_in_agent(
    ns: Namespace, node: Node, audio: Path
) -> None:
    status, me = node.api("POST", "/api/v1/agents/me/login", {}, login=AGENT_WEB)
    assert status == 200, me
    if me["state"] != "available":
        status, me = node.api(
            "PUT", "/api/v1/agents/me/state", {"state": "available"}, login=AGENT_WEB
        )
        assert status == 200, me
    listener = ns.popen(
        [sys.executable, str(LISTENER), str(node.http_port), *AGENT_WEB, "25"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert listener.stdout is not None
    assert listener.stdout.readline().strip() == "ready"
    agent = _agent(ns, node, audio, 14)
    try:
        _registered(node, "2001")
        with sniff(ns, audio, 25, CALLER_RTP) as captured:
            result = sipp(
                ns,
                node,
                "caller_tone.xml",
                *("-s", NUMBER, "-mi", "127.0.0.1", "-mp", str(CALLER_RTP)),
                *("-d", "5000", "-m", "1"),
                cwd=audio,
                timeout=40,
            )
        assert result.returncode == 0, result.stderr[-2000:] + "\n".join(node.output[-30:])
        out, _ = agent.communicate(timeout=30)
        assert agent.returncode == 0, out[-2000:]
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate(timeout=10)
    listener.terminate()
    events = [json.loads(line) for line in listener.communicate(timeout=20)[0].splitlines()]
    names = [e["event"] for e in events]
    # The agent's desktop hears of the offer (screen pop), the answer and the end.
    offered = next(e for e in events if e["event"] == "acd.call_offered")
    assert offered["queue"] == "sales" and offered["called"] == NUMBER and offered["caller"]
    assert names.index("acd.call_offered") < names.index("acd.call_answered")
    assert names.index("acd.call_answered") < names.index("acd.call_ended")
    heard = captured[0].pcm(CALLER_RTP)
    # music on hold while the agent's phone rang (1 s): sound, and not the agent's tone
    moh = heard[: 2 * 4000]
    assert audioop.rms(moh, 2) > 300, audioop.rms(moh, 2)
    assert abs(frequency_of(moh, skip=0.1) - 2000) > 50
    # then the agent's 2 kHz
    assert abs(frequency_of(heard[-2 * 8000 * 3 :], skip=0.5) - 2000) < 15
    # wrap-up (10 s in the demo queue), then available again
    assert _state(node) == "wrap_up"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _state(node) != "available":
        time.sleep(0.5)
    assert _state(node) == "available"
    # The call's record: answered by 2001 after waiting in "sales", with its segments.
    status, records = node.api("GET", f"/api/v1/call-records?called={NUMBER}", None, login=ADMIN)
    assert status == 200 and records["total"] == 1, records
    record = records["items"][0]
    assert (record["outcome"], record["agent"], record["hangup_side"]) == (
        "answered",
        "2001",
        "caller",
    )
    status, segments = node.api(
        "GET", f"/api/v1/call-records/{record['id']}/segments", None, login=ADMIN
    )
    assert status == 200, segments
    items = segments if isinstance(segments, list) else segments["items"]
    assert [s["kind"] for s in items] == ["queue", "ring", "talk"]


def test_no_answer_goes_to_the_next_agent_and_counts_as_missed(
    ns: Namespace, node: Node, audio: Path
) -> None:
    # Linear hunting with a short ring: 2001 (first in member order) never answers.
    status, queues = node.api("GET", "/api/v1/queues", None, login=ADMIN)
    (sales,) = [q for q in queues["items"] if q["name"] == "sales"]
    body = {"strategy": "linear", "ring_timeout": 3, "wrap_up_seconds": 1}
    status, answer = node.api("PATCH", f"/api/v1/queues/{sales['id']}", body, login=ADMIN)
    assert status == 200, answer
    for web in (AGENT_WEB, ("demo", "agent2002", "demo-web-pass")):
        deadline = time.monotonic() + 20  # 2001 may still be in wrap-up from the last test
        while time.monotonic() < deadline:
            status, me = node.api("POST", "/api/v1/agents/me/login", {}, login=web)
            if me.get("state") == "available":
                break
            node.api("PUT", "/api/v1/agents/me/state", {"state": "available"}, login=web)
            status, me = node.api("GET", "/api/v1/agents/me/state", None, login=web)
            if me.get("state") == "available":
                break
            time.sleep(0.5)
        assert me["state"] == "available", me
    ringing = _agent(ns, node, audio, 14, user="2001", answer="agent_ring.xml", port=5074)
    answering = _agent(ns, node, audio, 14, user="2002", port=5078, rtp=17400)
    try:
        _registered(node, "2001")
        _registered(node, "2002")
        result = sipp(
            ns,
            node,
            "caller_tone.xml",
            *("-s", NUMBER, "-mi", "127.0.0.1", "-mp", str(CALLER_RTP)),
            *("-d", "9000", "-m", "1"),
            cwd=audio,
            timeout=40,
        )
        assert result.returncode == 0, result.stderr[-2000:] + "\n".join(node.output[-30:])
    finally:
        for proc in (ringing, answering):
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)
    status, me = node.api("GET", "/api/v1/agents/me/state", None, login=AGENT_WEB)
    assert status == 200 and me["missed_offers"] == 1, me
    status, records = node.api(
        "GET", f"/api/v1/call-records?called={NUMBER}&limit=1", None, login=ADMIN
    )
    record = records["items"][0]
    assert (record["agent"], record["outcome"]) == ("2002", "answered"), str(record)
    status, segments = node.api(
        "GET", f"/api/v1/call-records/{record['id']}/segments", None, login=ADMIN
    )
    items = segments if isinstance(segments, list) else segments["items"]
    rings = [(s["kind"], s["agent"], s["result"]) for s in items if s["kind"] == "ring"]
    assert rings == [("ring", "2001", "no_answer"), ("ring", "2002", "answered")], items
