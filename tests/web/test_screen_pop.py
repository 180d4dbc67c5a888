"""A real queued call pops up on the agent desktop: a SIPp phone registers as the agent's
linked SIP phone (the desktop shows it registered), a SIPp caller dials a number whose
service queues into "sales"; the desktop shows the caller, the queue and the call's
progress from the event stream, then the wrap-up countdown; the agent then keeps notes,
a disposition and a work order on that call."""

from __future__ import annotations

import math
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from helpline.media._audioop import audioop
from tests.interop.harness import SCENARIOS, Node
from tests.web.conftest import open_page, sign_in

NUMBER = "5300"
SIP_PASSWORD = "demo-sip-pass"  # the harness's HELPLINE_DEMO_SIP_PASSWORD


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    """The tones SIPp streams (30 s of 1 kHz mu-law, 2 kHz A-law) in ``audio/``."""
    (tmp_path / "audio").mkdir()
    for freq, encode, name in (
        (1000, audioop.lin2ulaw, "tone1000.ulaw"),
        (2000, audioop.lin2alaw, "tone2000.alaw"),
    ):
        pcm = b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / 8000)))
            for i in range(8000 * 30)
        )
        (tmp_path / "audio" / name).write_bytes(encode(pcm, 2))
    return tmp_path


def _sipp(node: Node, work: Path, *args: str, seconds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "sipp", f"127.0.0.1:{node.sip_port}", "-i", "127.0.0.1", "-p", str(_udp_port()),
            "-mi", "127.0.0.1", "-mp", str(_udp_port()), "-m", "1", "-nostdin",
            "-timeout", f"{seconds}s", "-timeout_error", *args,
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


@pytest.fixture
def phone(server: Node, audio: Path) -> Iterator[subprocess.Popen[str]]:
    """Agent 2001's SIP phone: registers (and stays registered for a minute), answers
    one call after a second of ringing."""
    if shutil.which("sipp") is None:
        pytest.fail("SIPp is not installed (Debian package sip-tester); .ci/run installs it")
    proc = _sipp(
        server, audio,
        "-sf", str(SCENARIOS / "agent_register.xml"), "-oocsf", str(SCENARIOS / "agent_answer.xml"),
        "-s", "2001", "-au", "2001", "-ap", SIP_PASSWORD, "-d", "60000",
        seconds=90,
    )  # fmt: skip
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def test_queued_call_pops_up_on_the_desktop_with_its_progress_and_wrap_up(
    browser: Browser, server: Node, api_as: Any, audio: Path, phone: subprocess.Popen[str]
) -> None:
    admin = api_as("admin")
    service = admin(
        "POST",
        "/services",
        {"name": "web-sales", "default_target": {"kind": "queue", "queue": "sales"}},
    )
    admin("POST", "/numbers", {"number": NUMBER, "service_id": service["id"]})
    page = open_page(browser, server)
    sign_in(page, "agent2001")
    expect(page.locator("#phones")).to_contain_text("Registered")
    page.get_by_role("button", name="Log in to queues").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "available")

    caller = _sipp(
        server, audio,
        "-sf", str(SCENARIOS / "caller_tone.xml"), "-s", NUMBER, "-d", "3000",
        seconds=40,
    )  # fmt: skip
    try:
        expect(page.locator("#pop-queue")).to_have_text("sales", timeout=20_000)
        expect(page.locator("#pop-caller")).not_to_be_empty()
        expect(page.locator("#pop-status")).to_have_text("Talking", timeout=15_000)
        for command in ("Hang up", "Hold", "Transfer", "Send keys"):  # the call control API
            expect(page.get_by_role("button", name=command, exact=True)).to_be_enabled()
        expect(page.locator("#state")).to_have_attribute("data-state", "on_call")
        expect(page.locator("#pop-status")).to_have_text("Ended", timeout=20_000)
        out, _ = caller.communicate(timeout=30)
        assert caller.returncode == 0, out[-2000:]
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.communicate(timeout=10)
    expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up")
    expect(page.get_by_role("button", name="Hold", exact=True)).to_be_disabled()
    expect(page.locator("#wrapup")).to_contain_text("left")

    record = admin("GET", f"/call-records?called={NUMBER}")["items"][0]
    assert (record["agent"], record["outcome"]) == ("2001", "answered")
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    assert errors == []


def test_agent_keeps_notes_disposition_and_a_work_order_on_the_popped_call(
    browser: Browser, server: Node, api_as: Any
) -> None:
    admin = api_as("admin")
    found = admin("GET", f"/call-records?called={NUMBER}")["items"]
    if not found:
        pytest.skip("needs the call of the screen pop test")
    record = found[0]
    page = open_page(browser, server)
    sign_in(page, "agent2001")
    expect(page.locator("#record-select")).to_have_value(str(record["id"]), timeout=5_000)
    page.get_by_role("textbox", name="Notes").fill("Asked about the delivery date.")
    page.get_by_label("Disposition", exact=True).select_option(index=1)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Notes saved.")).to_be_visible()
    page.get_by_role("button", name="Create work order").click()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_text("created.")).to_be_visible()
    stored = admin("GET", f"/call-records/{record['id']}")
    assert stored["notes"] == "Asked about the delivery date." and stored["disposition"]
    orders = admin("GET", f"/workorders?call_record_id={record['id']}")["items"]
    assert len(orders) == 1 and orders[0]["description"] == "Asked about the delivery date."
