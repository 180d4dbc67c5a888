"""The whole contact-center scenario of issue 9 on one node, in a loopback-only namespace.

An agent signs in, picks the browser phone and goes ready; a SIPp caller (a customer's
number, talking a 1 kHz tone) dials the demo menu and presses 1 (English) then 1
(sales); headless Chromium, whose microphone plays 2 kHz, answers in the desktop; the
caller hears 2 kHz and the stereo recording holds 1 kHz and 2 kHz; the screen pop names
the customer; the agent files a work order carrying the call and the customer; the
supervisor's wallboard shows the agent on the call within 1 s of the answer; an admin
draws a two-option menu in the designer, publishes it on a number, and a second SIPp
call pressing 2 reaches option 2's queue.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.interop.audio import frequency_of, level_of, read_wav, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node
from tests.web.conftest import (
    NodeApi,
    browser_phone_node,
    chromium_in,
    draw_two_option_menu,
    open_page,
    private_namespace,
    sign_in,
    write_tones,
)

CUSTOMER_NUMBER = "+12015550188"
IVR_NUMBER = "5400"
MENU_NUMBER = "5401"
CALLER_RTP = 16000


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    if shutil.which("sipp") is None:
        pytest.fail("SIPp is not installed (Debian package sip-tester); .ci/run installs it")
    with private_namespace() as made:
        yield made


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with browser_phone_node(
        ns,
        tmp_path_factory.mktemp("scenario"),
        HELPLINE_COOKIE_SECURE="0",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("scenario-work")
    write_tones(work)
    return work


@pytest.fixture(scope="module")
def chromium(playwright: Playwright, ns: Namespace, work: Path) -> Iterator[Browser]:
    browser = chromium_in(playwright, ns, work, work / "mic.wav")
    yield browser
    browser.close()


def _caller(
    ns: Namespace, node: Node, work: Path, number: str, keys: list[tuple[int, str]]
) -> subprocess.Popen[str]:
    """A SIPp caller from the customer's number: dials ``number``, talks 1 kHz, presses
    ``(pause ms, key)`` keys in turn, then hangs up."""
    actions = ['<nop><action><exec rtp_stream="audio/tone1000.ulaw,-1,0"/></action></nop>']
    for pause, key in keys:
        actions.append(f'<pause milliseconds="{pause}"/>')
        if key:
            actions.append(f'<nop><action><exec play_dtmf="{key},200"/></action></nop>')
    text = (SCENARIOS / "caller_keys.xml").read_text()
    text = text.replace("<!-- STEPS -->", "\n  ".join(actions))
    text = text.replace("sip:caller@", f"sip:{CUSTOMER_NUMBER}@")
    scenario = work / f"caller-{number}.xml"
    scenario.write_text(text)
    return ns.popen(
        [
            "sipp", f"127.0.0.1:{node.sip_port}", "-sf", str(scenario), "-s", number,
            "-i", "127.0.0.1", "-p", "5070", "-mi", "127.0.0.1", "-mp", str(CALLER_RTP),
            "-m", "1", "-nostdin", "-timeout", "90s", "-timeout_error",
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _finished(proc: subprocess.Popen[str], node: Node) -> None:
    out, _ = proc.communicate(timeout=100)
    assert proc.returncode == 0, out[-2000:] + "\n".join(node.output[-40:])


def _recording(node: Node, call_id: str) -> Path:
    """The file of the call's recording, once it is finished (when the call ends)."""
    deadline = time.monotonic() + 20
    while True:
        with sqlite3.connect(node.data_dir / "helpline.db") as db:
            row = db.execute(
                "SELECT path, status FROM recordings WHERE call_id = ?", (call_id,)
            ).fetchone()
        if row is not None and row[1] == "complete":
            return node.data_dir / row[0]
        assert time.monotonic() < deadline, f"the recording of {call_id} did not finish: {row}"
        time.sleep(0.2)


def _no_errors(*pages: Page) -> None:
    for page in pages:
        errors: list[str] = page.errors  # type: ignore[attr-defined]
        assert errors == [], errors


def test_agent_answers_in_the_browser_files_a_work_order_and_admin_publishes_a_menu(
    ns: Namespace, node: Node, work: Path, chromium: Browser
) -> None:
    admin = NodeApi(node, "admin")
    customer = admin(
        "POST", "/customers", {"name": "Ada Lovelace", "phones": [{"number": CUSTOMER_NUMBER}]}
    )
    # The demo's menu on a number of its own, open around the clock (number 1000 follows
    # office hours).
    (menu,) = [f for f in admin("GET", "/flows?limit=100")["items"] if f["name"] == "demo-menu"]
    service = admin(
        "POST",
        "/services",
        {"name": "scenario-ivr", "default_target": {"kind": "flow", "flow_id": menu["id"]}},
    )
    admin("POST", "/numbers", {"number": IVR_NUMBER, "service_id": service["id"]})
    # Calls answered from the sales queue are recorded (the node records nothing else).
    (sales,) = [q for q in admin("GET", "/queues?limit=100")["items"] if q["name"] == "sales"]
    admin("PATCH", f"/queues/{sales['id']}", {"recording": True})

    # The agent signs in, picks the browser phone, goes ready.
    desk = open_page(chromium, node)
    sign_in(desk, "agent2001")
    expect(desk.locator("html")).to_have_attribute("data-ready", "desktop")
    desk.get_by_label("Browser phone").check()
    expect(desk.locator("#bp-state")).to_have_attribute("data-state", "registered", timeout=30_000)
    desk.get_by_role("button", name="Log in to queues").click()
    expect(desk.locator("#state")).to_have_attribute("data-state", "available")
    # The supervisor watches the wallboard.
    board = open_page(chromium, node)
    sign_in(board, "supervisor")
    expect(board.locator("#stream")).to_have_text("Live")
    agent_row = board.locator("#agents tr[data-agent=agent2001]")
    expect(agent_row.locator("[data-role=state]")).to_have_text("Ready")

    # 1: English, 1: sales; then talk until the caller hangs up.
    with sniff(ns, work, 90, CALLER_RTP) as captured:
        caller = _caller(ns, node, work, IVR_NUMBER, [(2000, "1"), (1500, "1"), (30_000, "")])
        try:
            expect(desk.locator("#pop-queue")).to_have_text("sales", timeout=30_000)
            expect(desk.locator("#pop-customer")).to_contain_text("Ada Lovelace")
            answer = desk.get_by_role("button", name="Answer", exact=True)
            expect(answer).to_be_enabled(timeout=20_000)
            answer.click()
            expect(desk.locator("#pop-status")).to_have_text("Talking", timeout=15_000)
            answered = time.monotonic()
            # The wallboard is pushed the same event: it shows the call within 1 s.
            expect(agent_row.locator("[data-role=state]")).to_have_text("On a call", timeout=1_000)
            expect(desk.locator("#bp-state")).to_have_attribute("data-state", "connected")
            expect(desk.locator("#pop-status")).to_have_text("Ended", timeout=60_000)
            _finished(caller, node)
        finally:
            if caller.poll() is None:
                caller.kill()
                caller.communicate(timeout=10)
    heard_by_caller = captured[0].pcm(CALLER_RTP, start=answered)
    assert len(heard_by_caller) >= 10 * 8000 * 2, "the caller heard the agent less than 10 s"
    # ICE and DTLS take a few seconds on a busy machine before the browser's audio flows.
    # The desktop keeps the browser's voice processing (echo cancellation, noise
    # suppression), which turns a steady tone down to about a tenth of full scale.
    assert abs(frequency_of(heard_by_caller, skip=8.0) - 2000) < 15
    assert level_of(heard_by_caller, 2000, skip=8.0) > 0.02

    (record,) = admin("GET", f"/call-records?called={IVR_NUMBER}")["items"]
    assert (record["agent"], record["queue"], record["outcome"]) == ("2001", "sales", "answered")
    channels, frames = read_wav(_recording(node, record["call_id"]))
    recording = admin("GET", f"/recordings/{record['recording_id']}")
    assert (recording["call_id"], recording["agent"]) == (record["call_id"], "2001")
    agents_own = NodeApi(node, "agent2001")("GET", "/recordings")["items"]
    assert [r["id"] for r in agents_own] == [recording["id"]]
    assert channels == 2
    stereo = np.frombuffer(frames, dtype=np.int16).reshape(-1, 2)
    caller_side, agent_side = (stereo[:, i].copy().tobytes() for i in (0, 1))
    assert abs(frequency_of(caller_side, skip=8.0) - 1000) < 15
    assert abs(frequency_of(agent_side, skip=8.0) - 2000) < 15
    assert level_of(agent_side, 2000, skip=8.0) > 0.02

    # A work order from the call, for the customer the screen pop showed.
    expect(desk.locator("#record-select")).to_have_value(str(record["id"]))
    desk.get_by_role("button", name="Create work order").click()
    desk.get_by_role("button", name="Create", exact=True).click()
    expect(desk.get_by_text("created.")).to_be_visible()
    (order,) = admin("GET", f"/workorders?call_record_id={record['id']}")["items"]
    assert order["customer_id"] == customer["id"]

    # The admin draws a two-option menu, publishes it on a number; a caller presses 2.
    console = open_page(chromium, node)
    sign_in(console, "admin")
    draw_two_option_menu(console, "scenario-menu", "sales", "support")
    (flow,) = [f for f in admin("GET", "/flows?limit=100")["items"] if f["name"] == "scenario-menu"]
    service = admin(
        "POST",
        "/services",
        {"name": "scenario-menu", "default_target": {"kind": "flow", "flow_id": flow["id"]}},
    )
    admin("POST", "/numbers", {"number": MENU_NUMBER, "service_id": service["id"]})
    caller = _caller(ns, node, work, MENU_NUMBER, [(3000, "2"), (5000, "")])
    _finished(caller, node)
    (second,) = admin("GET", f"/call-records?called={MENU_NUMBER}")["items"]
    assert second["queue"] == "support"
    _no_errors(desk, board, console)
