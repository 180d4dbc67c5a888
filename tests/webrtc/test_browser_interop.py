"""A real browser phone: headless Chromium runs the product's softphone module (vendored
JsSIP) against a real ``helpline serve``, SIP over WSS and WebRTC media through the
gateway; everything inside a loopback-only network namespace.

Chromium's microphone is a WAV file of a 2 kHz tone; the test page measures what it
hears with a WebAudio AnalyserNode (:file:`site/phone.html`)."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from helpline import web as web_package
from tests.interop.audio import frequency_of, level_of, sniff
from tests.interop.harness import Namespace, Node, sipp
from tests.web.conftest import browser_phone_node, private_namespace, write_tones

pytestmark = pytest.mark.interop

HERE = Path(__file__).parent
STATIC = Path(web_package.__file__).parent / "static"
SIP_PASSWORD = "demo-sip-pass"
CALLER_RTP = 16000


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    with private_namespace() as made:
        yield made


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with browser_phone_node(
        ns, tmp_path_factory.mktemp("webrtc"), HELPLINE_SIP_WS_PORT="5066"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test page next to the product's static files; the microphone's 2 kHz WAV;
    SIPp's 1 kHz PCMU tone."""
    work = tmp_path_factory.mktemp("site")
    (work / "site").mkdir()
    shutil.copy(HERE / "site" / "phone.html", work / "site" / "phone.html")
    (work / "site" / "static").symlink_to(STATIC)
    write_tones(work)
    return work


@pytest.fixture(scope="module")
def site(ns: Namespace, work: Path) -> Iterator[str]:
    """The test page's HTTP server inside the namespace: its base URL."""
    port = ns.free_port(socket.SOCK_STREAM) or 8800
    proc = ns.popen(
        [sys.executable, "-u", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=work / "site",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("Serving HTTP")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def _page(site: str, account: str, **options: str) -> str:
    query = {
        "ws": "wss://127.0.0.1:5066",
        "uri": f"sip:{account}@demo",
        "password": SIP_PASSWORD,
        **options,
    }
    return f"{site}/phone.html?{urlencode(query)}"


def _browser(ns: Namespace, work: Path, url: str, seconds: float) -> subprocess.Popen[str]:
    proc = ns.popen(
        [sys.executable, str(HERE / "browser_phone.py"), url, str(work / "mic.wav"), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first == "ready", first + proc.stdout.read()[-3000:]
    return proc


def _report(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, out[-3000:]
    report: dict[str, Any] = json.loads(lines[-1])
    assert report["error"] is None, report
    return report


def _heard(report: dict[str, Any]) -> float:
    peaks = report["peaks"]
    levels = [(round(p["hz"]), round(p["db"])) for p in peaks]
    assert len(peaks) >= 10, report
    # Nearly all of the call is heard; a busy machine may drop a moment of the
    # browser's audio, and one silent sample is not a broken call.
    loud = [p for p in peaks if p["db"] > -50]
    assert len(loud) >= 0.8 * len(peaks), (levels, report)
    return float(statistics.median(p["hz"] for p in loud))


def _registered(node: Node, username: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(node.data_dir / "helpline.db") as db:
            found = db.execute(
                "SELECT count(*) FROM registrations r JOIN sip_accounts a "
                "ON a.id = r.sip_account_id WHERE a.username = ?",
                (username,),
            ).fetchone()[0]
        if found:
            return
        time.sleep(0.2)
    raise AssertionError(f"{username} did not register")


def _all_released(node: Node) -> None:
    node.wait_health(
        lambda h: (
            h["sip"]["calls"] == 0
            and h["sip"]["media"]["endpoints"] == 0
            and h["sip"]["media"]["webrtc_legs"] == 0
        )
    )


def test_browser_calling_echo_hears_its_own_tone(
    ns: Namespace, node: Node, work: Path, site: str
) -> None:
    browser = _browser(ns, work, _page(site, "2002", call="echo"), 45)
    report = _report(browser, 60)
    assert report["states"][:4] == ["registering", "registered", "calling", "connected"]
    assert _heard(report) == pytest.approx(2000, abs=15)
    assert (report["muted_before"], report["muted_after"]) == (False, True)
    _all_released(node)


def test_sipp_caller_and_browser_phone_hear_each_other(
    ns: Namespace, node: Node, work: Path, site: str
) -> None:
    browser = _browser(ns, work, _page(site, "2001", answer="1", hangup="0"), 45)
    try:
        _registered(node, "2001")
        with sniff(ns, work, 30, CALLER_RTP) as captured:
            result = sipp(
                ns,
                node,
                "caller_tone.xml",
                *("-s", "2001", "-mi", "127.0.0.1", "-mp", str(CALLER_RTP)),
                *("-d", "12000", "-m", "1"),
                cwd=work,
            )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        report = _report(browser, 60)
    finally:
        if browser.poll() is None:
            browser.kill()
            browser.communicate(timeout=10)
    assert report["from"] == "caller"
    assert report["states"][:4] == ["registering", "registered", "incoming", "connected"]
    assert _heard(report) == pytest.approx(1000, abs=15)
    heard_by_caller = captured[0].pcm(CALLER_RTP)
    # The browser's audio flows once ICE and DTLS are up, which takes a while on a
    # busy machine; the call lasts 12 s.
    assert len(heard_by_caller) >= 5 * 8000 * 2, "the caller heard less than 5 s"
    assert abs(frequency_of(heard_by_caller, skip=1.0) - 2000) < 15
    assert level_of(heard_by_caller, 2000, skip=1.0) > 0.1
    _all_released(node)
