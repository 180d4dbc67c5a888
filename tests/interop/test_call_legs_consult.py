"""Records of consultation legs (attended transfer, issue 7): against SIPp parties, the
agent 2001 consults 2002; the consultation's own call record is linked to the
customer's call, names the consulting agent and the destination, and ends answered
(then handed over) or busy (2002's phone refuses with 486)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.interop.harness import SCENARIOS, Namespace, Node
from tests.interop.test_b2bua import _registered
from tests.interop.test_call_commands import (
    ADMIN,
    AGENT1,
    AGENT1_RTP,
    SIP_PASSWORD,
    api,
    audio,
    caller,
    command,
    finished,
    node,
    phone,
    record_of,
    stop,
    talking,
    wait_call,
)
from tests.interop.test_call_commands_consult import _consulted

__all__ = ["audio", "node"]  # the fixtures, shared with test_call_commands


def legs_of(node: Node, call_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The call record of ``call_id`` (GET one record) and its legs."""
    record, _ = record_of(node, call_id)
    status, detail = api(node, "GET", f"/api/v1/call-records/{record['id']}", ADMIN)
    assert status == 200, detail
    return detail, list(detail["legs"])


def busy_phone(ns: Namespace, node: Node, work: Path, user: str, port: int) -> Any:
    """A SIPp phone registered as ``user`` that refuses every call with 486."""
    return ns.popen(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            *("-sf", str(SCENARIOS / "agent_register.xml")),
            *("-oocsf", str(SCENARIOS / "agent_busy.xml")),
            *("-s", user, "-au", user, "-ap", SIP_PASSWORD),
            *("-i", "127.0.0.1", "-p", str(port), "-d", "30000", "-m", "1", "-nostdin"),
            *("-timeout", "50s"),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_completed_consultation_has_its_own_answered_record(
    ns: Namespace, node: Node, audio: Path
) -> None:
    _, call_id, _, _ = _consulted(ns, node, audio, "consult/complete")
    record, legs = legs_of(node, call_id)
    assert record["parent_call_id"] is None, record
    (leg,) = legs
    assert leg["parent_call_id"] == call_id and leg["call_id"] != call_id, leg
    assert (leg["direction"], leg["caller"], leg["called"]) == ("internal", "2001", "2002")
    assert (leg["outcome"], leg["agent"], leg["open"]) == ("answered", "2002", False), leg
    assert leg["answered_at"] is not None and leg["talk_seconds"] > 1.0, leg
    kinds = [(s["kind"], s["agent"], s["result"]) for s in leg["segments"]]
    assert kinds == [("ring", "2002", "answered"), ("talk", "2002", None)], kinds
    status, page = api(node, "GET", f"/api/v1/call-records?parent_call_id={call_id}", ADMIN)
    assert status == 200 and [i["id"] for i in page["items"]] == [leg["id"]], page


def test_a_consultation_of_a_busy_colleague_ends_busy(
    ns: Namespace, node: Node, audio: Path
) -> None:
    first = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    second = busy_phone(ns, node, audio, "2002", port=5074)
    calling = None
    try:
        _registered(node, "2001")
        _registered(node, "2002")
        calling = caller(ns, node, audio, "caller_held.xml", "2001", talk_ms=3000)
        call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
        body = {"kind": "extension", "target": "2002"}
        consulting = command(node, call_id, "consult", AGENT1, body)
        assert consulting["state"] == "consult_ringing", consulting
        back = wait_call(node, AGENT1, talking("2001"))  # 486: back with the caller
        assert back["call_id"] == call_id, back
        finished(calling)  # resumed (a=sendrecv), then the caller hung up
    finally:
        stop(first, second, calling)
    record, legs = legs_of(node, call_id)
    assert record["outcome"] == "answered" and record["agent"] == "2001", record
    (leg,) = legs
    assert (leg["parent_call_id"], leg["caller"], leg["called"]) == (call_id, "2001", "2002")
    assert (leg["outcome"], leg["answered_at"], leg["open"]) == ("busy", None, False), leg
    kinds = [(s["kind"], s["result"]) for s in leg["segments"]]
    assert kinds == [("ring", "busy")], kinds
