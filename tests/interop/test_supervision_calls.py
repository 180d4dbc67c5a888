"""Supervisors join agents' calls from a phone (issue 5 mixing masks, issue 7 item 6):
a whisper reaches the agent and not the caller; listening hears both and sends
nothing. SIPp plays caller (1 kHz), agent (2 kHz, PCMA) and supervisor (500 Hz)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.media.tones import tone_level
from tests.interop.audio import Capture, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline, sipp
from tests.interop.test_b2bua import _agent, _registered

ADMIN = ("demo", "admin", "demo-web-pass")
SUPERVISOR, SUPERVISOR_PASSWORD = "3001", "supervisor-sip-1"
CALLER_RTP, AGENT_RTP, SUPERVISOR_RTP = 16000, 17200, 16400


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("supervision"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_COOKIE_SECURE="0",
    ) as running:
        status, users = running.api("GET", "/api/v1/users?limit=100", None, login=ADMIN)
        assert status == 200, users
        (supervisor,) = [u for u in users["items"] if u["username"] == "supervisor"]
        body = {
            "username": SUPERVISOR,
            "password": SUPERVISOR_PASSWORD,
            "user_id": supervisor["id"],
        }
        status, answer = running.api("POST", "/api/v1/sip-accounts", body, login=ADMIN)
        assert status == 201, answer
        yield running


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    (work / "audio").mkdir()
    for freq, encoding, ext, volume in (
        (1000, "u-law", "ulaw", "0.4"),
        (2000, "a-law", "alaw", "0.4"),
        (500, "u-law", "ulaw", "0.4"),
    ):
        sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-t", "raw")
        target = str(work / "audio" / f"tone{freq}.{ext}")
        subprocess.run([*sox, target, "synth", "30", "sine", str(freq), "vol", volume], check=True)
    supervisor = (SCENARIOS / "phone_outbound.xml").read_text().replace("tone1000", "tone500")
    (work / "supervisor.xml").write_text(supervisor)
    return work


def _levels(pcm: bytes) -> dict[int, float]:
    """Tone levels (fraction of full scale) of 100 ms in the middle of ``pcm``."""
    middle = len(pcm) // 4 * 2
    window = pcm[middle : middle + 1600]
    assert len(window) == 1600, f"only {len(pcm) // 2} samples heard"
    return {hz: tone_level(window, hz) for hz in (500, 1000, 2000)}


def _supervised_call(
    ns: Namespace, node: Node, work: Path, code: str
) -> tuple[Capture, float, float]:
    """Caller -> agent 2001; a supervisor joins with ``code``; what each side heard, and
    the window (monotonic times) during which the supervisor was in the call."""
    agent = _agent(ns, node, work, 14)
    caller = None
    try:
        _registered(node, "2001")
        with sniff(ns, work, 25, CALLER_RTP, AGENT_RTP, SUPERVISOR_RTP) as captured:
            caller = ns.popen(
                [
                    "sipp",
                    f"127.0.0.1:{node.sip_port}",
                    *("-sf", str(SCENARIOS / "caller_tone.xml"), "-s", "2001"),
                    *("-i", "127.0.0.1", "-p", "5071", "-mi", "127.0.0.1"),
                    *("-mp", str(CALLER_RTP), "-d", "8000", "-m", "1"),
                    *("-nostdin", "-timeout", "30s"),
                ],
                cwd=work,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            time.sleep(2.5)  # ringing 1 s, then connected
            joined = time.monotonic()
            result = sipp(
                ns,
                node,
                str(work / "supervisor.xml"),
                *("-s", f"{code}2001", "-au", SUPERVISOR, "-ap", SUPERVISOR_PASSWORD),
                *("-mi", "127.0.0.1", "-mp", str(SUPERVISOR_RTP), "-d", "3000", "-m", "1"),
                cwd=work,
                timeout=30,
            )
            left = time.monotonic()
            assert result.returncode == 0, result.stderr[-2000:]
            out, _ = caller.communicate(timeout=30)
            assert caller.returncode == 0, out[-2000:]
    finally:
        for proc in (agent, caller):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    return captured[0], joined + 1.0, left - 0.5


def test_whisper_reaches_the_agent_and_not_the_caller(
    ns: Namespace, node: Node, audio: Path
) -> None:
    capture, start, end = _supervised_call(ns, node, audio, "*46")
    caller = _levels(capture.pcm(CALLER_RTP, start=start, end=end))
    agent = _levels(capture.pcm(AGENT_RTP, start=start, end=end))
    supervisor = _levels(capture.pcm(SUPERVISOR_RTP, start=start, end=end))
    assert agent[1000] > 0.2 and agent[500] > 0.2, agent  # the caller and the whisper
    assert caller[2000] > 0.2 and caller[500] < 0.02, caller  # the agent, no whisper
    assert supervisor[1000] > 0.2 and supervisor[2000] > 0.2, supervisor  # both


def test_listen_hears_both_and_sends_nothing(ns: Namespace, node: Node, audio: Path) -> None:
    capture, start, end = _supervised_call(ns, node, audio, "*45")
    caller = _levels(capture.pcm(CALLER_RTP, start=start, end=end))
    agent = _levels(capture.pcm(AGENT_RTP, start=start, end=end))
    supervisor = _levels(capture.pcm(SUPERVISOR_RTP, start=start, end=end))
    assert caller[500] < 0.02 and agent[500] < 0.02, (caller, agent)
    assert caller[2000] > 0.2 and agent[1000] > 0.2, (caller, agent)
    assert supervisor[1000] > 0.2 and supervisor[2000] > 0.2, supervisor


def test_an_agent_cannot_supervise(ns: Namespace, node: Node, audio: Path) -> None:
    result = sipp(
        ns,
        node,
        str(audio / "supervisor.xml"),
        *("-s", "*452002", "-au", "2003", "-ap", "demo-sip-pass", "-m", "1"),
        cwd=audio,
        timeout=20,
    )
    assert result.returncode != 0
    assert "403" in result.stderr + result.stdout
