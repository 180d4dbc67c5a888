"""Consulting a queue and a queue's own music on hold (issue 7), against SIPp parties:
a caller (1 kHz) talks to agent 2001 (2 kHz), who consults the queue "sales"; the
queue's agent 2002 (1.5 kHz) takes the consultation and then the caller. The queue's
music is a tenant prompt of a 500 Hz tone, so who hears the queue's music is told by
frequency: agent 2001 while waiting in the queue, and a caller who came through the
queue when its agent puts it on hold."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpline.media._audioop import audioop
from tests.interop.acd_helpers import NUMBER, configure, login, make_number, state
from tests.interop.audio import sniff
from tests.interop.harness import Namespace, Node
from tests.interop.test_b2bua import _registered
from tests.interop.test_call_commands import (
    AGENT1,
    AGENT1_RTP,
    AGENT2,
    AGENT2_RTP,
    CALLER_RTP,
    api,
    audio,
    caller,
    command,
    finished,
    hears,
    levels,
    node,
    phone,
    stop,
    talking,
    wait_call,
)

__all__ = ["audio", "node"]  # the fixtures, shared with test_call_commands

MUSIC = "queue-tone"


@pytest.fixture(scope="module")
def sales(node: Node) -> Iterator[None]:
    """Queue "sales" (number 5200) plays the tenant prompt ``queue-tone`` (500 Hz) as
    its music; no wrap-up, so an agent whose call ended is available at once."""
    status, me = node.api("GET", "/api/v1/auth/me", None, login=AGENT1)
    assert status == 200, me
    prompt = node.data_dir / "prompts" / str(me["tenant_id"]) / "en" / f"{MUSIC}.wav"
    prompt.parent.mkdir(parents=True, exist_ok=True)
    sox = ("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(prompt))
    subprocess.run([*sox, "synth", "5", "sine", "500", "vol", "0.4"], check=True)
    make_number(node)
    configure(node, music_on_hold=MUSIC, wrap_up_seconds=0, announce_interval=0)
    yield


def _agent_state_becomes(node: Node, account: str, wanted: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while (current := state(node, account)["state"]) != wanted:
        assert time.monotonic() < deadline, f"agent {account} stays {current}"
        time.sleep(0.3)


def _consulting(call: dict[str, Any]) -> bool:
    return bool(call["state"] == "consulting")


def test_consulting_a_queue_waits_with_its_music_then_hands_over_to_its_agent(
    ns: Namespace, node: Node, audio: Path, sales: None
) -> None:
    first = phone(ns, node, audio, "2001", tone=2000, port=5072, rtp=AGENT1_RTP)
    second = phone(ns, node, audio, "2002", tone=1500, port=5074, rtp=AGENT2_RTP)
    calling = None
    try:
        _registered(node, "2001")
        _registered(node, "2002")
        login(node, "2002")
        with sniff(ns, audio, 50, CALLER_RTP, AGENT1_RTP, AGENT2_RTP) as captured:
            calling = caller(ns, node, audio, "caller_held.xml", "2001", talk_ms=4000)
            call_id = wait_call(node, AGENT1, talking("2001"))["call_id"]
            time.sleep(1.0)
            body = {"kind": "queue", "target": "sales"}
            assert command(node, call_id, "consult", AGENT1, body)["state"] == "consult_ringing"
            held = time.monotonic()
            wait_call(node, AGENT1, _consulting)
            consulting = time.monotonic()
            assert state(node, "2002")["state"] == "on_call"
            time.sleep(2)
            then = time.monotonic()
            assert command(node, call_id, "consult/complete", AGENT1)["agent"] == "2002"
            after = time.monotonic()
            finished(calling)
        _agent_state_becomes(node, "2002", "available")
    finally:
        stop(first, second, calling)
    capture = captured[0]
    # waiting in the queue, agent 2001 hears the queue's music (the 2002 phone rings 1 s)
    waiting = levels(capture, AGENT1_RTP, held + 0.2, consulting)
    assert waiting[500] > 0.1 and waiting[1500] < 0.02, waiting
    # the queue's agent answered: 2001 talks to 2002, the caller hears no one of them
    assert hears(levels(capture, AGENT1_RTP, consulting + 0.3, then), 1500)
    moh = capture.pcm(CALLER_RTP, start=consulting, end=then)
    assert audioop.rms(moh, 2) > 300, "the held caller heard silence"
    assert levels(capture, CALLER_RTP, consulting, then)[1500] < 0.02
    # handed over: the caller and 2002 hear each other, 2001 got BYE
    assert hears(levels(capture, CALLER_RTP, after + 0.5, after + 2.5), 1500)
    assert hears(levels(capture, AGENT2_RTP, after + 0.5, after + 2.5), 1000)
    assert "BYE sip:" in (audio / "phone-5072.log").read_text()


def test_a_caller_from_the_queue_hears_its_music_when_put_on_hold(
    ns: Namespace, node: Node, audio: Path, sales: None
) -> None:
    agent = phone(ns, node, audio, "2002", tone=1500, port=5074, rtp=AGENT2_RTP)
    held = None
    try:
        _registered(node, "2002")
        login(node, "2002")
        with sniff(ns, audio, 40, CALLER_RTP) as captured:
            held = caller(ns, node, audio, "caller_held.xml", NUMBER, talk_ms=3000)
            call_id = wait_call(node, AGENT2, talking("2002"))["call_id"]
            time.sleep(1.0)
            talked = time.monotonic()
            assert command(node, call_id, "hold", AGENT2)["state"] == "held"
            on_hold = time.monotonic()
            time.sleep(2.5)
            off_hold = time.monotonic()
            assert command(node, call_id, "resume", AGENT2)["state"] == "talking"
            finished(held)
    finally:
        stop(agent, held)
    capture = captured[0]
    assert hears(levels(capture, CALLER_RTP, talked - 0.8, talked), 1500)
    music = levels(capture, CALLER_RTP, on_hold + 0.5, off_hold)
    assert music[500] > 0.1 and music[1500] < 0.02, music
    status, answer = api(node, "GET", f"/api/v1/calls/{call_id}", AGENT2)
    assert status == 404, answer  # over
