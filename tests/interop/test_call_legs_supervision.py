"""Records of supervisors' legs (issue 7): against SIPp parties, a supervisor joins
agent 2001's call from the API (the supervisor's phone rings first) or with a feature
code (*45); the supervisor's leg has its own call record, linked to the agent's call,
with a talk segment per supervision mode, and an intercept ends it with a transfer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.interop.harness import SCENARIOS, Namespace, Node, sipp
from tests.interop.test_b2bua import _registered
from tests.interop.test_call_commands import (
    ADMIN,
    AGENT1,
    AGENT1_RTP,
    SUPERVISOR,
    THIRD_RTP,
    api,
    audio,
    caller,
    command,
    finished,
    phone,
    stop,
    talking,
    wait_call,
)
from tests.interop.test_call_commands_dial import (
    SUPERVISOR_PHONE,
    SUPERVISOR_SIP_PASSWORD,
    agent_and_supervisor,
    node,
)
from tests.interop.test_call_legs_consult import legs_of

__all__ = ["audio", "node"]  # the fixtures, shared with test_call_commands(_dial)


def _mode(call_id: str, mode: str) -> Any:
    return lambda call: (
        call["call_id"] == call_id
        and call["supervisors"] == [{"account": SUPERVISOR_PHONE, "mode": mode}]
    )


def test_a_supervisors_leg_records_each_mode_and_the_intercept(
    ns: Namespace, node: Node, audio: Path
) -> None:
    agent, supervisor = agent_and_supervisor(ns, node, audio)
    calling = None
    try:
        _registered(node, "2001")
        _registered(node, SUPERVISOR_PHONE)
        calling = caller(ns, node, audio, "caller_tone.xml", "2001", talk_ms=9000)
        call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
        command(node, call_id, "supervise", SUPERVISOR, {"mode": "whisper"})
        wait_call(node, SUPERVISOR, _mode(call_id, "whisper"))
        command(node, call_id, "supervise", SUPERVISOR, {"mode": "listen"})
        wait_call(node, SUPERVISOR, _mode(call_id, "listen"))
        taken = command(node, call_id, "intercept", SUPERVISOR)
        assert taken["agent"] == SUPERVISOR_PHONE, taken
        finished(calling)
    finally:
        stop(agent, supervisor, calling)
    record, legs = legs_of(node, call_id)
    assert record["agent"] == SUPERVISOR_PHONE, record
    (leg,) = legs
    assert (leg["parent_call_id"], leg["direction"]) == (call_id, "internal"), leg
    assert (leg["caller"], leg["called"], leg["outcome"]) == (SUPERVISOR_PHONE, "2001", "answered")
    steps = [(s["kind"], s["agent"], s["result"], s["detail"]) for s in leg["segments"]]
    assert steps == [
        ("ring", SUPERVISOR_PHONE, "answered", {}),
        ("talk", SUPERVISOR_PHONE, "completed", {"mode": "whisper"}),
        ("talk", SUPERVISOR_PHONE, None, {"mode": "listen", "previous": "whisper"}),
        ("transfer", SUPERVISOR_PHONE, None, {"target": "intercept:2001"}),
    ], steps
    assert not leg["open"] and leg["talk_seconds"] > 0, leg


def test_a_feature_code_supervisor_gets_a_leg_record_not_an_inbound_call(
    ns: Namespace, node: Node, audio: Path
) -> None:
    agent = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    calling = None
    try:
        _registered(node, "2001")
        calling = caller(ns, node, audio, "caller_tone.xml", "2001", talk_ms=6000)
        call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
        result = sipp(
            ns,
            node,
            str(SCENARIOS / "phone_outbound.xml"),
            *("-s", "*452001", "-au", SUPERVISOR_PHONE, "-ap", SUPERVISOR_SIP_PASSWORD),
            *("-mi", "127.0.0.1", "-mp", str(THIRD_RTP), "-d", "1500", "-m", "1"),
            cwd=audio,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        finished(calling)
    finally:
        stop(agent, calling)
    _, legs = legs_of(node, call_id)
    (leg,) = legs
    assert (leg["caller"], leg["called"], leg["direction"]) == (
        SUPERVISOR_PHONE,
        "2001",
        "internal",
    ), leg
    assert (leg["outcome"], leg["hangup_side"]) == ("answered", "caller"), leg
    assert [(s["kind"], s["detail"]) for s in leg["segments"]] == [("talk", {"mode": "listen"})]
    status, page = api(node, "GET", f"/api/v1/call-records?caller={SUPERVISOR_PHONE}", ADMIN)
    assert status == 200 and page["total"] >= 1, page
    assert all(item["parent_call_id"] is not None for item in page["items"]), page
