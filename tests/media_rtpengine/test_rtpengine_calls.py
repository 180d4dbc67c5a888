"""Real calls through Helpline with HELPLINE_MEDIA_BACKEND=rtpengine (issue 5): SIPp on
both sides of the B2BUA, rtpengine carrying the RTP. Same codec on both legs: bridged in
rtpengine; PCMU to PCMA: bridged (transcoded) by the embedded engine behind rtpengine.
Either way each side hears the other's tone and the recording has one per channel.
Keys pressed inside an rtpengine bridge reach Helpline through rtpengine's DTMF log."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.interop.audio import Capture, frequency_of, read_wav, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline, sipp
from tests.interop.test_b2bua import AGENT, _agent, _registered
from tests.media_rtpengine.daemon import Rtpengine, available, rtpengine

pytestmark = pytest.mark.interop
CALLER_RTP, AGENT_RTP = 16000, 17200
KEYS = Path(__file__).with_name("rtp_keys.py")


@pytest.fixture(scope="module")
def relay(
    ns: Namespace,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Rtpengine]:
    if not available():
        pytest.skip("rtpengine is not installed (Debian package rtpengine-daemon)")
    with rtpengine(
        ns,
        tmp_path_factory.mktemp("spool"),
        ng_port=ns.free_port() or 22222,
        port_min=40000,
        port_max=40999,
        dtmf_log_port=ns.free_port() or 22223,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def node(
    ns: Namespace,
    relay: Rtpengine,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("node"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_RECORD_CALLS="1",
        HELPLINE_MEDIA_BACKEND="rtpengine",
        HELPLINE_RTPENGINE_NG=relay.ng,
        HELPLINE_RTPENGINE_RECORDING_DIR=str(relay.spool),
        HELPLINE_RTPENGINE_DTMF_LOG=relay.dtmf_log or "",
    ) as n:
        yield n


def _pcmu_agent_scenario(work: Path, *, events: bool = False) -> Path:
    """agent_answer.xml accepting PCMU (and telephone-events under 96 if ``events``)
    and sending its 2 kHz tone in PCMU."""
    text = (SCENARIOS / "agent_answer.xml").read_text()
    text = text.replace("RTP/AVP 8", "RTP/AVP 0 101" if events else "RTP/AVP 0")
    text = text.replace(
        "rtpmap:8 PCMA/8000",
        "rtpmap:0 PCMU/8000\n      a=rtpmap:101 telephone-event/8000"
        if events
        else "rtpmap:0 PCMU/8000",
    )
    text = text.replace("tone2000.alaw,-1,8", "tone2000.ulaw,-1,0")
    path = work / f"agent_answer_pcmu{'_events' if events else ''}.xml"
    path.write_text(text)
    return path


def _silent_caller_scenario(work: Path, port: int) -> Path:
    """caller_tone.xml announcing RTP on ``port`` but sending none (another process
    talks there)."""
    text = (SCENARIOS / "caller_tone.xml").read_text()
    text = text.replace("[media_port]", str(port))
    text = text.replace(
        '<nop><action><exec rtp_stream="audio/tone1000.ulaw,-1,0"/></action></nop>', ""
    )
    text = text.replace('<nop><action><exec rtp_stream="pause"/></action></nop>', "")
    path = work / "caller_silent.xml"
    path.write_text(text)
    return path


def _call(
    ns: Namespace,
    node: Node,
    work: Path,
    answer: str,
    rtp: int,
    caller: str = "caller_tone.xml",
    *options: str,
) -> Capture:
    """One 3 s call from a 1 kHz PCMU caller to the agent; the RTP both sides got."""
    agent = _agent(ns, node, work, seconds=12, answer=answer, rtp=rtp)
    try:
        _registered(node, AGENT)
        with sniff(ns, work, 20, CALLER_RTP, rtp) as captured:
            result = sipp(
                ns,
                node,
                caller,
                *("-s", AGENT, "-mi", "127.0.0.1", "-mp", str(CALLER_RTP)),
                *("-d", "3000", "-m", "1"),
                *options,
                cwd=work,
            )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    finally:
        agent.terminate()
        agent.communicate(timeout=20)
    return captured[0]


def _latest_recording(node: Node) -> tuple[bytes, bytes, float]:
    with sqlite3.connect(node.data_dir / "helpline.db") as db:
        path, status, duration, size = db.execute(
            "SELECT path, status, duration_seconds, size_bytes FROM recordings "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert status == "complete"
    channels, frames = read_wav(node.data_dir / path)
    assert channels == 2 and size == (node.data_dir / path).stat().st_size
    stereo = np.frombuffer(frames, dtype=np.int16).reshape(-1, 2)
    left, right = (stereo[:, i].copy().tobytes() for i in (0, 1))
    return left, right, duration


@pytest.mark.parametrize(
    ("answer", "rtp", "in_rtpengine"),
    [("pcmu", AGENT_RTP, True), ("agent_answer.xml", AGENT_RTP + 200, False)],
    ids=["same-codec-bridged-in-rtpengine", "pcmu-to-pcma-transcoded-by-the-engine"],
)
def test_bridged_legs_hear_each_other_and_the_recording_splits_them(
    ns: Namespace,
    node: Node,
    relay: Rtpengine,
    audio: Path,
    answer: str,
    rtp: int,
    in_rtpengine: bool,
) -> None:
    scenario = str(_pcmu_agent_scenario(audio)) if answer == "pcmu" else answer
    bridged_before = sum("in rtpengine" in line for line in node.output)
    captured = _call(ns, node, audio, scenario, rtp)
    heard_by_caller, heard_by_agent = captured.pcm(CALLER_RTP), captured.pcm(rtp)
    assert len(heard_by_caller) >= 2 * 8000 * 2, "the caller heard less than 2 s"
    assert len(heard_by_agent) >= 2 * 8000 * 2, "the agent heard less than 2 s"
    assert abs(frequency_of(heard_by_caller, skip=1.0) - 2000) < 15
    assert abs(frequency_of(heard_by_agent, skip=1.0) - 1000) < 15
    bridged = sum("in rtpengine" in line for line in node.output) - bridged_before
    assert bridged == (1 if in_rtpengine else 0), node.output[-20:]
    left, right, duration = _latest_recording(node)
    assert 2.5 <= duration <= 5.0, duration
    assert abs(frequency_of(left, skip=1.0) - 1000) < 15
    assert abs(frequency_of(right, skip=1.0) - 2000) < 15
    # rtpengine's pcap spool is emptied once the calls are over.
    assert not list((relay.spool / "pcaps").glob("*.pcap"))


def test_keys_pressed_in_an_rtpengine_bridge_reach_helpline_once_and_the_agent_once(
    ns: Namespace, node: Node, audio: Path
) -> None:
    # SIPp 3.6's play_dtmf sends payload types 96/97 whatever was negotiated, which
    # rtpengine does not decode; the caller's media comes from rtp_keys.py instead
    # (payload type 101, as Helpline offers the agent), SIPp does the signalling.
    agent = str(_pcmu_agent_scenario(audio, events=True))
    keys = ns.popen(
        [sys.executable, str(KEYS), str(CALLER_RTP + 10), "42", "4"], stdout=subprocess.PIPE
    )
    try:
        assert keys.stdout is not None and keys.stdout.readline().strip() == "ready"
        lines = len(node.output)
        caller = str(_silent_caller_scenario(audio, CALLER_RTP + 10))
        captured = _call(ns, node, audio, agent, AGENT_RTP + 400, caller)
        assert keys.wait(timeout=20) == 0
    finally:
        keys.kill()
        keys.wait()
    output = node.output[lines:]
    bridged = [line for line in output if "in rtpengine" in line and "bridged" in line]
    assert len(bridged) == 1, output[-30:]
    caller_endpoint = re.search(r"bridged (\S+) and", bridged[0])
    assert caller_endpoint is not None
    digits = [line.split("digit ")[1] for line in output if "digit " in line]
    assert digits == [
        f"4 from {caller_endpoint[1]} in rtpengine",
        f"2 from {caller_endpoint[1]} in rtpengine",
    ], output[-30:]
    # The agent's phone got each key once (rtpengine forwards them; no second copy).
    assert captured.events(AGENT_RTP + 400) == "42"
