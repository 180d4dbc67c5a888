"""Attended transfer and three-way conference through the REST API (issue 7 item 5),
against SIPp parties: a caller (1 kHz) talks to agent 2001 (2 kHz); the agent consults
agent 2002 (1.5 kHz) while the caller is held (re-INVITE ``a=sendonly``, music), then
completes the transfer, cancels it, or merges all three into a conference; every
outcome ends with the caller resumed (re-INVITE ``a=sendrecv``, checked by SIPp) and is
checked by what each party hears."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpline.media._audioop import audioop
from tests.interop.audio import Capture, sniff
from tests.interop.harness import Namespace, Node
from tests.interop.test_b2bua import _registered
from tests.interop.test_call_commands import (
    AGENT1,
    AGENT1_RTP,
    AGENT2_RTP,
    CALLER_RTP,
    Events,
    api,
    audio,
    caller,
    command,
    finished,
    hears,
    levels,
    node,
    phone,
    record_of,
    stop,
    talking,
    wait_call,
)

__all__ = ["audio", "node"]  # the fixtures, shared with test_call_commands


def _state(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda call: call["state"] == state


def _consulted(
    ns: Namespace,
    node: Node,
    work: Path,
    then: str,
    check: Callable[[Node, str], None] | None = None,
) -> tuple[Capture, str, dict[str, float], list[dict[str, Any]]]:
    """Caller -> 2001, 2001 consults 2002, then ``then`` (a command path); what was
    heard, the call id, the moments (monotonic) things happened, the agent's events."""
    first = phone(ns, node, work, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    second = phone(ns, node, work, "2002", tone=1500, port=5074, rtp=AGENT2_RTP)
    calling = None
    moments: dict[str, float] = {}
    try:
        _registered(node, "2001")
        _registered(node, "2002")
        events = Events(ns, node, AGENT1, 50)
        with sniff(ns, work, 50, CALLER_RTP, AGENT1_RTP, AGENT2_RTP) as captured:
            calling = caller(ns, node, work, "caller_held.xml", "2001", talk_ms=4000)
            call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
            time.sleep(1.5)
            moments["talking"] = time.monotonic()
            body = {"kind": "extension", "target": "2002"}
            consulting = command(node, call_id, "consult", AGENT1, body)
            assert consulting["state"] == "consult_ringing", consulting
            moments["held"] = time.monotonic()
            wait_call(node, AGENT1, _state("consulting"))
            moments["consulting"] = time.monotonic()
            time.sleep(2)
            if check is not None:
                check(node, call_id)
            moments["then"] = time.monotonic()
            command(node, call_id, then, AGENT1)
            moments["after"] = time.monotonic()
            finished(calling)
        seen = events.collected()
    finally:
        stop(first, second, calling)
    return captured[0], call_id, moments, seen


def test_attended_transfer_hands_the_caller_to_the_consulted_agent(
    ns: Namespace, node: Node, audio: Path
) -> None:
    def hold_is_refused_while_consulting(node: Node, call_id: str) -> None:
        status, answer = api(node, "POST", f"/api/v1/calls/{call_id}/hold", AGENT1)
        assert (status, answer["error_id"]) == (409, "call_wrong_state"), answer

    capture, call_id, at, seen = _consulted(
        ns, node, audio, "consult/complete", hold_is_refused_while_consulting
    )
    # before: the caller hears agent 1; consulting: music, while agent 1 hears agent 2
    assert hears(levels(capture, CALLER_RTP, at["talking"] - 1.0, at["talking"]), 2000)
    moh = capture.pcm(CALLER_RTP, start=at["consulting"], end=at["then"])
    assert audioop.rms(moh, 2) > 300, "the held caller heard silence"
    assert levels(capture, CALLER_RTP, at["consulting"], at["then"])[1500] < 0.02
    assert hears(levels(capture, AGENT1_RTP, at["consulting"] + 0.3, at["then"]), 1500)
    # after: the caller and agent 2 hear each other; agent 1 got BYE
    assert hears(levels(capture, CALLER_RTP, at["after"] + 0.5, at["after"] + 2.5), 1500)
    assert hears(levels(capture, AGENT2_RTP, at["after"] + 0.5, at["after"] + 2.5), 1000)
    assert "BYE sip:" in (audio / "phone-5072.log").read_text()
    names = [e["event"] for e in seen if e.get("call_id") == call_id]
    assert names.index("call.consultation_started") < names.index("call.transferred"), names
    moved = next(e for e in seen if e["event"] == "call.transferred")
    assert (moved["kind"], moved["agent"], moved["target"]) == ("attended", "2001", "2002")
    record, segments = record_of(node, call_id)
    assert record["agent"] == "2002" and record["outcome"] == "answered", record
    kinds = [(s["kind"], s["agent"]) for s in segments]
    assert kinds == [
        ("ring", "2001"),
        ("talk", "2001"),
        ("hold", "2001"),
        ("transfer", "2001"),
        ("talk", "2002"),
    ], kinds


def test_cancelled_consultation_brings_the_agent_back_to_the_caller(
    ns: Namespace, node: Node, audio: Path
) -> None:
    capture, call_id, at, seen = _consulted(ns, node, audio, "consult/cancel")
    assert hears(levels(capture, AGENT1_RTP, at["consulting"] + 0.3, at["then"]), 1500)
    assert hears(levels(capture, CALLER_RTP, at["after"] + 0.5, at["after"] + 2.5), 2000)
    assert hears(levels(capture, AGENT1_RTP, at["after"] + 0.5, at["after"] + 2.5), 1000)
    assert "BYE sip:" in (audio / "phone-5074.log").read_text()  # agent 2 released
    ended = next(e for e in seen if e["event"] == "call.consultation_ended")
    assert (ended["call_id"], ended["reason"]) == (call_id, "cancelled")
    record, _ = record_of(node, call_id)
    assert record["agent"] == "2001", record


def test_conference_lets_all_three_hear_each_other(ns: Namespace, node: Node, audio: Path) -> None:
    def still_two_parties(node: Node, call_id: str) -> None:
        status, call = api(node, "GET", f"/api/v1/calls/{call_id}", AGENT1)
        assert status == 200 and call["consultation"]["account"] == "2002", call

    capture, call_id, at, seen = _consulted(ns, node, audio, "conference", still_two_parties)
    start, end = at["after"] + 0.5, at["after"] + 2.5
    assert hears(levels(capture, CALLER_RTP, start, end), 2000, 1500)
    assert hears(levels(capture, AGENT1_RTP, start, end), 1000, 1500)
    assert hears(levels(capture, AGENT2_RTP, start, end), 1000, 2000)
    merged = next(e for e in seen if e["event"] == "call.conference")
    assert (merged["call_id"], merged["third"]) == (call_id, "2002")
    # the caller hung up: the conference ended for everyone
    for log in ("phone-5072.log", "phone-5074.log"):
        assert "BYE sip:" in (audio / log).read_text(), log
