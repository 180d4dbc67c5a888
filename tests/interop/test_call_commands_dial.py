"""Click-to-dial and supervisors' REST commands (issue 7 items 5 and 6), against SIPp:

* click-to-dial: the agent's SIPp phone rings first; once it answers, a SIPp provider
  behind a loopback test trunk receives the INVITE for the number (+999: no such
  country code) and both hear each other; the agent hangs up through the API;
* blind transfer to a number: the caller leaves through the same trunk;
* force hang-up: the team's supervisor ends an agent's call (caller and agent get BYE);
* supervision from the API: the supervisor's phone (SIPp, 500 Hz) rings and joins in
  whisper mode (heard by the agent, not by the caller), then intercepts: the agent is
  dropped and the caller talks to the supervisor.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.interop.audio import sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline
from tests.interop.test_b2bua import _registered
from tests.interop.test_call_commands import (
    ADMIN,
    AGENT1,
    AGENT1_RTP,
    AGENT2,
    CALLER_RTP,
    SUPERVISOR,
    THIRD_RTP,
    Events,
    api,
    audio,
    caller,
    command,
    finished,
    hears,
    levels,
    phone,
    record_of,
    stop,
    talking,
    wait_call,
)

__all__ = ["audio"]  # the fixture, shared with test_call_commands

NUMBER = "+99955501"
PROVIDER = "127.0.0.3"
PROVIDER_RTP = 17000
SUPERVISOR_PHONE, SUPERVISOR_SIP_PASSWORD = "3001", "supervisor-sip-1"
OTHER_SUPERVISOR = ("demo", "supervisor2", "supervisor2-pass")


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("dial"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_COOKIE_SECURE="0",
    ) as running:
        status, users = api(running, "GET", "/api/v1/users?limit=100", ADMIN)
        assert status == 200, users
        (supervisor,) = [u for u in users["items"] if u["username"] == "supervisor"]
        body = {
            "username": SUPERVISOR_PHONE,
            "password": SUPERVISOR_SIP_PASSWORD,
            "user_id": supervisor["id"],
        }
        status, answer = api(running, "POST", "/api/v1/sip-accounts", ADMIN, body)
        assert status == 201, answer
        body = {"username": "supervisor2", "password": OTHER_SUPERVISOR[2], "role": "supervisor"}
        status, answer = api(running, "POST", "/api/v1/users", ADMIN, body)
        assert status == 201, answer
        trunk = {
            "name": "provider",
            "host": PROVIDER,
            "port": 5090,
            "prefixes": ["+999"],
            "username": "trunk-user",
            "password": "trunk-pass",
        }
        status, answer = api(running, "POST", "/api/v1/trunks", ADMIN, trunk)
        assert status == 201, answer
        yield running


def _provider(ns: Namespace, work: Path) -> subprocess.Popen[str]:
    """SIPp as the trunk's provider on 127.0.0.3:5090, answering with a 1.5 kHz tone."""
    scenario = work / "provider.xml"
    text = (SCENARIOS / "provider_uas.xml").read_text()
    scenario.write_text(text.replace("tone2000.ulaw", "tone1500.ulaw"))
    return ns.popen(
        [
            "sipp",
            *("-sf", str(scenario), "-i", PROVIDER, "-p", "5090"),
            *("-mi", PROVIDER, "-mp", str(PROVIDER_RTP)),
            *("-m", "1", "-nostdin", "-timeout", "40s"),
            *("-trace_msg", "-message_file", str(work / "provider.log")),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _messages(log: Path) -> list[tuple[datetime, str, str]]:
    """(time, "sent"/"received", first line) of every message in a SIPp message log."""
    out = []
    for block in log.read_text().split("-----------------------------------------------")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        stamp = datetime.strptime(lines[0].strip(), "%Y-%m-%d %H:%M:%S.%f")
        out.append((stamp, "sent" if "message sent" in lines[1] else "received", lines[2]))
    return out


def test_click_to_dial_rings_the_agent_first_then_the_number_through_the_trunk(
    ns: Namespace, node: Node, audio: Path
) -> None:
    provider = _provider(ns, audio)
    agent = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    try:
        _registered(node, "2001")
        with sniff(ns, audio, 40, AGENT1_RTP, PROVIDER_RTP) as captured:
            status, made = api(
                node, "POST", "/api/v1/calls", AGENT1, {"kind": "number", "target": NUMBER}
            )
            assert status == 201, made
            assert (made["state"], made["agent"]) == ("connecting", "2001"), made
            call_id = made["call_id"]
            wait_call(node, AGENT1, talking("2001"))
            connected = time.monotonic()
            time.sleep(2.5)
            assert command(node, call_id, "hangup", AGENT1)["state"] == "ended"
            finished(provider)
    finally:
        stop(agent, provider)
    phone_log = _messages(audio / "phone-5072.log")
    provider_log = _messages(audio / "provider.log")
    rung = next(t for t, way, line in phone_log if way == "received" and "INVITE" in line)
    answered = next(t for t, way, line in phone_log if way == "sent" and "200 OK" in line)
    dialed = next(t for t, way, line in provider_log if way == "received" and "INVITE" in line)
    assert rung < answered < dialed, (rung, answered, dialed)
    assert f"INVITE sip:{NUMBER}@{PROVIDER}:5090 SIP/2.0" in (audio / "provider.log").read_text()
    assert f"<sip:{NUMBER}@demo>" in (audio / "phone-5072.log").read_text()  # who is called
    capture = captured[0]
    assert hears(levels(capture, AGENT1_RTP, connected + 0.5, connected + 2.0), 1500)
    assert hears(levels(capture, PROVIDER_RTP, connected + 0.5, connected + 2.0), 2000)
    record, _ = record_of(node, call_id)
    expected = ("outbound", "2001", NUMBER, "answered", "agent")
    got = tuple(record[k] for k in ("direction", "agent", "called", "outcome", "hangup_side"))
    assert got == expected, record


def test_blind_transfer_to_a_number_goes_out_through_the_trunk(
    ns: Namespace, node: Node, audio: Path
) -> None:
    provider = _provider(ns, audio)
    agent = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    calling = None
    try:
        _registered(node, "2001")
        with sniff(ns, audio, 40, CALLER_RTP) as captured:
            calling = caller(ns, node, audio, "caller_tone.xml", "2001", talk_ms=8000)
            call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
            body = {"kind": "number", "target": "+8881234"}  # no trunk takes it
            status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/transfer", AGENT1, body)
            assert (status, answer["details"]["reason"]) == (409, "no_route"), answer
            body = {"kind": "number", "target": NUMBER}
            assert command(node, call_id, "transfer", AGENT1, body)["state"] == "connecting"
            wait_call(node, ADMIN, lambda c: c["call_id"] == call_id and c["state"] == "talking")
            connected = time.monotonic()
            finished(calling)
            finished(provider)
    finally:
        stop(agent, provider, calling)
    assert f"INVITE sip:{NUMBER}@{PROVIDER}:5090 SIP/2.0" in (audio / "provider.log").read_text()
    assert hears(levels(captured[0], CALLER_RTP, connected + 0.5, connected + 2.0), 1500)
    record, _ = record_of(node, call_id)
    assert record["outcome"] == "transferred_out", record


def test_supervisor_forces_an_agents_call_to_end(ns: Namespace, node: Node, audio: Path) -> None:
    agent = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    calling = None
    try:
        _registered(node, "2001")
        calling = caller(ns, node, audio, "caller_hungup.xml", "2001", talk_ms=0)
        call_id = wait_call(node, SUPERVISOR, talking("2001"))["call_id"]
        status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/hangup", AGENT2)
        assert (status, answer["error_id"]) == (403, "not_your_call")
        status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/hangup", OTHER_SUPERVISOR)
        assert (status, answer["error_id"]) == (403, "not_your_team")
        assert command(node, call_id, "hangup", SUPERVISOR)["state"] == "ended"
        finished(calling)  # the caller got BYE
    finally:
        stop(agent, calling)
    assert "BYE sip:" in (audio / "phone-5072.log").read_text()
    record, _ = record_of(node, call_id)
    assert record["hangup_side"] == "system", record


def agent_and_supervisor(
    ns: Namespace, node: Node, audio: Path
) -> tuple[subprocess.Popen[str], subprocess.Popen[str]]:
    """Agent 2001's phone (2 kHz) and the supervisor's (500 Hz), answering one call."""
    agent = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    supervisor = phone(
        ns,
        node,
        audio,
        SUPERVISOR_PHONE,
        tone=500,
        port=5076,
        rtp=THIRD_RTP,
        password=SUPERVISOR_SIP_PASSWORD,
    )
    return agent, supervisor


def _supervisor_in(call_id: str) -> Any:
    return lambda call: call["call_id"] == call_id and call["supervisors"]


def test_supervisor_whispers_then_intercepts_the_call(
    ns: Namespace, node: Node, audio: Path
) -> None:
    agent, supervisor = agent_and_supervisor(ns, node, audio)
    calling = None
    try:
        _registered(node, "2001")
        _registered(node, SUPERVISOR_PHONE)
        events = Events(ns, node, AGENT1, 50)
        with sniff(ns, audio, 50, CALLER_RTP, AGENT1_RTP, THIRD_RTP) as captured:
            calling = caller(ns, node, audio, "caller_tone.xml", "2001", talk_ms=14000)
            call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
            path = f"/api/v1/calls/{call_id}/supervise"
            status, answer = api(node, "POST", path, AGENT1, {"mode": "whisper"})
            assert (status, answer["error_id"]) == (403, "role_required")
            command(node, call_id, "supervise", SUPERVISOR, {"mode": "whisper"})
            joined = wait_call(node, SUPERVISOR, _supervisor_in(call_id))
            assert joined["supervisors"] == [{"account": "3001", "mode": "whisper"}]
            whisper = time.monotonic()
            time.sleep(2.5)
            intercepted = time.monotonic()
            taken = command(node, call_id, "intercept", SUPERVISOR)
            assert (taken["agent"], taken["supervisors"]) == ("3001", []), taken
            time.sleep(3)
            finished(calling)
        seen = events.collected()
    finally:
        stop(agent, supervisor, calling)
    capture = captured[0]
    start, end = whisper + 0.5, intercepted
    assert hears(levels(capture, AGENT1_RTP, start, end), 1000, 500)  # caller and whisper
    assert hears(levels(capture, CALLER_RTP, start, end), 2000)  # the agent only
    assert hears(levels(capture, THIRD_RTP, start, end), 1000, 2000)  # both
    after = intercepted + 1.0
    assert hears(levels(capture, CALLER_RTP, after, after + 1.5), 500)  # the supervisor
    assert hears(levels(capture, THIRD_RTP, after, after + 1.5), 1000)
    assert "BYE sip:" in (audio / "phone-5072.log").read_text()  # the agent dropped
    moved = next(e for e in seen if e["event"] == "call.transferred")
    assert (moved["kind"], moved["agent"], moved["target"]) == ("intercept", "2001", "3001")
    record, segments = record_of(node, call_id)
    assert record["agent"] == "3001", record
    assert [s["kind"] for s in segments][-2:] == ["transfer", "talk"], segments
