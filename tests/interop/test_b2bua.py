"""Calls to a registered phone through Helpline's B2BUA, with SIPp on both sides (issue 4
item 8, issue 5: two bridged legs hear each other, one on PCMU and one on PCMA)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.interop.audio import frequency_of, level_of, read_wav, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline, sipp

AGENT, AGENT_PASSWORD = "2001", "demo-sip-pass"
CALLER_RTP, AGENT_RTP = 16000, 17200


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    # No qualifying: an OPTIONS would land in the agent's out-of-call scenario.
    with helpline(
        ns,
        tmp_path_factory.mktemp("b2bua"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_RECORD_CALLS="1",
    ) as n:
        yield n


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Headerless G.711 tones for SIPp's rtp_stream: 1 kHz PCMU, 2 kHz PCMA and PCMU."""
    if shutil.which("sox") is None:
        pytest.fail("sox is not installed; .ci/run installs it")
    work = tmp_path_factory.mktemp("work")
    (work / "audio").mkdir()
    for freq, encoding, ext in (
        (1000, "u-law", "ulaw"),
        (2000, "a-law", "alaw"),
        (2000, "u-law", "ulaw"),
    ):
        subprocess.run(
            [
                *("sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-t", "raw"),
                str(work / "audio" / f"tone{freq}.{ext}"),
                *("synth", "10", "sine", str(freq), "vol", "0.5"),
            ],
            check=True,
        )
    return work


def _agent(
    ns: Namespace,
    node: Node,
    work: Path,
    seconds: int,
    *,
    user: str = AGENT,
    answer: str = "agent_answer.xml",
    port: int = 5072,
    rtp: int = AGENT_RTP,
) -> subprocess.Popen[str]:
    """A SIPp phone: registers ``user`` with digest; ``answer`` handles one call."""
    return ns.popen(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            "-sf",
            str(SCENARIOS / "agent_register.xml"),
            "-oocsf",
            str(SCENARIOS / answer),
            "-s",
            user,
            "-au",
            user,
            "-ap",
            AGENT_PASSWORD,
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(rtp),
            "-d",
            str(seconds * 1000),
            "-m",
            "1",
            "-nostdin",
            "-trace_msg",
            "-message_file",
            str(work / f"phone-{port}-messages.log"),
            "-timeout",
            f"{seconds + 20}s",
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _registered(node: Node, username: str, *, count: int = 1, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(node.data_dir / "helpline.db") as db:
            found = db.execute(
                "SELECT count(*) FROM registrations r JOIN sip_accounts a "
                "ON a.id = r.sip_account_id WHERE a.username = ?",
                (username,),
            ).fetchone()[0]
        if found >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{username} did not register")


def _refused(ns: Namespace, node: Node, work: Path, user: str, status: int) -> None:
    scenario = work / f"caller_refused_{status}.xml"
    text = (SCENARIOS / "caller_refused.xml").read_text()
    scenario.write_text(text.replace('response="STATUS"', f'response="{status}"'))
    result = sipp(ns, node, str(scenario), "-s", user, "-m", "1", cwd=work)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_call_to_an_account_without_phones_gets_480(ns: Namespace, node: Node, audio: Path) -> None:
    _refused(ns, node, audio, "2003", 480)


def test_call_to_an_unknown_user_gets_404(ns: Namespace, node: Node, audio: Path) -> None:
    _refused(ns, node, audio, "9999", 404)


def test_call_to_a_registered_phone_bridges_pcmu_and_pcma(
    ns: Namespace, node: Node, audio: Path
) -> None:
    agent = _agent(ns, node, audio, seconds=12)
    try:
        _registered(node, AGENT)
        with sniff(ns, audio, 20, CALLER_RTP, AGENT_RTP) as captured:
            result = sipp(
                ns,
                node,
                "caller_tone.xml",
                "-s",
                AGENT,
                "-mi",
                "127.0.0.1",
                "-mp",
                str(CALLER_RTP),
                "-d",
                "3000",
                "-m",
                "1",
                cwd=audio,
            )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    finally:
        agent.terminate()
        agent.communicate(timeout=20)
    capture = captured[0]
    # The caller negotiated PCMU, the agent PCMA: Helpline transcodes between them.
    assert capture.payload_types(CALLER_RTP) == {0}
    assert capture.payload_types(AGENT_RTP) == {8}
    heard_by_caller = capture.pcm(CALLER_RTP)
    heard_by_agent = capture.pcm(AGENT_RTP)
    assert len(heard_by_caller) >= 2 * 8000 * 2, "the caller heard less than 2 s"
    assert len(heard_by_agent) >= 2 * 8000 * 2, "the agent heard less than 2 s"
    assert abs(frequency_of(heard_by_caller, skip=1.0) - 2000) < 15
    assert abs(frequency_of(heard_by_agent, skip=1.0) - 1000) < 15
    assert level_of(heard_by_caller, 2000, skip=1.0) > 0.2
    assert level_of(heard_by_agent, 1000, skip=1.0) > 0.2
    health = json.loads(node.http_get("/api/health"))
    assert health["sip"]["calls"] == 0 and health["sip"]["dialogs"] == 0
    # The call recording: one stereo WAV, the caller left and the callee right.
    with sqlite3.connect(node.data_dir / "helpline.db") as db:
        rows = db.execute(
            "SELECT path, status, duration_seconds, size_bytes, callee FROM recordings"
        ).fetchall()
    assert len(rows) == 1, rows
    path, status, duration, size, callee = rows[0]
    assert status == "complete" and AGENT in callee
    assert 2.5 <= duration <= 5.0, duration
    channels, frames = read_wav(node.data_dir / path)
    assert channels == 2 and size == (node.data_dir / path).stat().st_size
    stereo = np.frombuffer(frames, dtype=np.int16).reshape(-1, 2)
    left, right = (stereo[:, i].copy().tobytes() for i in (0, 1))
    assert abs(frequency_of(left, skip=1.0) - 1000) < 15
    assert abs(frequency_of(right, skip=1.0) - 2000) < 15


def _finished(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """Wait for a SIPp phone to end; its output, after checking it succeeded."""
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def test_parallel_forking_rings_every_contact_and_cancels_the_losers(
    ns: Namespace, node: Node, audio: Path
) -> None:
    answering = _agent(ns, node, audio, 5, user="2002", port=5072, rtp=17200)
    ringing = _agent(ns, node, audio, 5, user="2002", answer="agent_ring.xml", port=5074, rtp=17400)
    try:
        _registered(node, "2002", count=2)
        result = sipp(
            ns,
            node,
            "caller_tone.xml",
            "-s",
            "2002",
            "-mp",
            "16600",
            "-d",
            "1000",
            "-m",
            "1",
            cwd=audio,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        _finished(ringing)
        _finished(answering)
        # The losing phone got a CANCEL for the INVITE that rang it, and answered 487.
        log = (audio / "phone-5074-messages.log").read_text()
        assert "CANCEL sip:" in log and "SIP/2.0 487" in log
        assert "CANCEL sip:" not in (audio / "phone-5072-messages.log").read_text()
    finally:
        for proc in (answering, ringing):
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)


def test_early_media_reaches_the_caller_before_the_answer(
    ns: Namespace, node: Node, audio: Path
) -> None:
    callee = _agent(ns, node, audio, 4, user="2003", answer="agent_early.xml", port=5076)
    scenario = audio / "cancel_early.xml"
    text = (SCENARIOS / "cancel.xml").read_text()
    scenario.write_text(text.replace('<recv response="180"/>', '<recv response="183"/>'))
    try:
        _registered(node, "2003")
        with sniff(ns, audio, 15, CALLER_RTP) as captured:
            result = sipp(
                ns,
                node,
                str(scenario),
                "-s",
                "2003",
                "-mi",
                "127.0.0.1",
                "-mp",
                str(CALLER_RTP),
                "-m",
                "1",
                cwd=audio,
            )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        _finished(callee)
    finally:
        if callee.poll() is None:
            callee.kill()
            callee.communicate(timeout=10)
    heard = captured[0].pcm(CALLER_RTP)
    assert len(heard) >= 8000, "no early media reached the caller"
    assert abs(frequency_of(heard, skip=0.3) - 2000) < 15


def test_the_callee_hangs_up_first(ns: Namespace, node: Node, audio: Path) -> None:
    callee = _agent(ns, node, audio, 6, user="2004", answer="agent_hangup.xml", port=5078)
    try:
        _registered(node, "2004")
        result = sipp(
            ns, node, "caller_hungup.xml", "-s", "2004", "-mp", "16800", "-m", "1", cwd=audio
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        _finished(callee)
    finally:
        if callee.poll() is None:
            callee.kill()
            callee.communicate(timeout=10)
    health = json.loads(node.http_get("/api/health"))
    assert health["sip"]["calls"] == 0 and health["sip"]["dialogs"] == 0
