"""The agent holds and resumes a browser caller (issue 7): headless Chromium runs the
product's softphone (vendored JsSIP) over WSS and calls extension 2001, a SIPp phone
that answers with a 1 kHz tone; the agent holds and resumes through the REST API. The
browser's peer connection gets our re-offers (``a=sendonly``, then ``a=sendrecv``) made
by the WebRTC gateway, answers them on the same ICE and DTLS session, hears music on
hold instead of the agent, then the agent again. Everything runs in a loopback-only
network namespace."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpline.media import g711
from helpline.media.tones import tone
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline
from tests.interop.test_call_commands import phone
from tests.web.conftest import private_namespace, write_tones
from tests.webrtc.test_browser_interop import (
    HERE,
    STATIC,
    _all_released,
    _browser,
    _page,
    _registered,
    _report,
    site,
)

pytestmark = pytest.mark.interop

__all__ = ["site"]  # the fixture, serving this module's ``work``

AGENT = ("demo", "agent2001", "demo-web-pass")


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    with private_namespace() as made:
        yield made


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """As :func:`tests.web.conftest.browser_phone_node`, but MD5 digest only: JsSIP and
    SIPp (the agent's phone) both answer MD5 alone."""
    with helpline(
        ns,
        tmp_path_factory.mktemp("webrtc-hold"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_SIP_DIGEST_ALGORITHMS="MD5",
        HELPLINE_RTP_TIMEOUT="10",
        HELPLINE_SIP_WS_PORT="5066",
        HELPLINE_COOKIE_SECURE="0",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hold test page next to the product's static files; the microphone's 2 kHz
    WAV; the agent phone's 1 kHz PCMA tone and answer scenario."""
    work = tmp_path_factory.mktemp("site")
    (work / "site").mkdir()
    shutil.copy(HERE / "site" / "hold.html", work / "site" / "phone.html")
    (work / "site" / "static").symlink_to(STATIC)
    write_tones(work)
    (work / "audio" / "tone1000.alaw").write_bytes(
        g711.encode(tone([1000], 40, amplitude=0.5), g711.PCMA)
    )
    answer = (SCENARIOS / "agent_answer.xml").read_text().replace("tone2000", "tone1000")
    (work / "answer1000.xml").write_text(answer)
    return work


def _talking(node: Node, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status, calls = node.api("GET", "/api/v1/calls", None, login=AGENT)
        assert status == 200, calls
        for call in calls:
            if call["state"] == "talking" and call["agent"] == "2001":
                return str(call["call_id"])
        assert time.monotonic() < deadline, f"no call talking to 2001: {calls}"
        time.sleep(0.3)


def _command(node: Node, call_id: str, what: str) -> dict[str, Any]:
    status, answer = node.api("POST", f"/api/v1/calls/{call_id}/{what}", None, login=AGENT)
    assert status == 200, (what, answer)
    return dict(answer)


def _window(report: dict[str, Any], start: float, end: float) -> list[dict[str, Any]]:
    """The samples taken between ``start`` and ``end`` (epoch seconds)."""
    samples = [s for s in report["samples"] if start * 1000 <= s["t"] <= end * 1000]
    assert len(samples) >= 5, (start, end, [s["t"] for s in report["samples"]][:5])
    return samples


def _tone_db(samples: list[dict[str, Any]]) -> float:
    return float(statistics.median(s["tone"] for s in samples))


def test_the_agent_holds_and_resumes_a_browser_caller(
    ns: Namespace, node: Node, work: Path, site: str
) -> None:
    agent = phone(ns, node, work, "2001", tone=1000, port=5072, rtp=17200, seconds=60)
    browser = None
    try:
        _registered(node, "2001")
        browser = _browser(ns, work, _page(site, "2002", call="2001"), 60)
        call_id = _talking(node)
        time.sleep(4)  # ICE and DTLS up, the agent's tone heard
        held_at = time.time()
        assert _command(node, call_id, "hold")["state"] == "held"
        time.sleep(4)
        resumed_at = time.time()
        assert _command(node, call_id, "resume")["state"] == "talking"
        time.sleep(4)
        ended_at = time.time()
        _command(node, call_id, "hangup")
        report = _report(browser, 40)
    finally:
        for proc in (agent, browser):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    offers = [(s["type"], s["direction"]) for s in report["sdp"] if s["originator"] == "remote"]
    answers = [(s["type"], s["direction"]) for s in report["sdp"] if s["originator"] == "local"]
    # the call's offer and answer, then our hold and resume re-offers and their answers
    assert offers[1:] == [("offer", "sendonly"), ("offer", "sendrecv")], report["sdp"]
    assert answers[1:] == [("answer", "recvonly"), ("answer", "sendrecv")], report["sdp"]
    holds = [(h["hold"], h["originator"]) for h in report["holds"]]
    assert holds == [(True, "remote"), (False, "remote")], report["holds"]

    before = _window(report, held_at - 2.0, held_at)
    during = _window(report, held_at + 1.5, resumed_at)
    after = _window(report, resumed_at + 1.5, ended_at)
    assert _tone_db(before) > -45, before  # the agent's 1 kHz tone
    assert _tone_db(during) < _tone_db(before) - 20, (before, during)  # gone while held
    assert max(s["db"] for s in during) > -60, during  # music on hold instead
    assert _tone_db(after) > -45, after  # the agent again
    _all_released(node)
