"""Supervision from the wallboard, against SIPp parties: a SIPp caller (1 kHz) dials a
number whose service queues into a queue only agent 2002 serves; 2002's SIPp phone
answers (2 kHz). The call appears on the supervisor's wallboard from the event stream
alone; the supervisor clicks Listen, their own SIPp phone (3001, sending 500 Hz) rings
and hears caller and agent while the caller does not hear the supervisor (checked by
frequency on the loopback); a supervisor of another team sees the call without buttons
and is refused by the API (``not_your_team``); Hang up, once confirmed, ends the call
(the caller gets BYE, the call record says the system hung up)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.interop.audio import sniff
from tests.interop.harness import SCENARIOS, Namespace, Node
from tests.interop.test_b2bua import _registered
from tests.interop.test_call_commands import hears, levels, stop
from tests.web.conftest import WEB_PASSWORD, Api, base_url, open_page, sign_in
from tests.web.test_screen_pop import SIP_PASSWORD, _udp_port

NUMBER = "5310"
QUEUE = "web-supervision"
SUPERVISOR_PHONE, SUPERVISOR_SIP_PASSWORD = "3001", "supervisor-sip-web-1"
OTHER_SUPERVISOR, OTHER_PASSWORD = "supervisor-web2", "supervisor-web2-pass"


def _login(server: Node, username: str, password: str = WEB_PASSWORD) -> Api:
    client = httpx.Client(base_url=base_url(server), timeout=10)
    answer = client.post(
        "/api/v1/auth/login", json={"tenant": "demo", "username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return Api(client)


@pytest.fixture(scope="module")
def floor(server: Node) -> Iterator[dict[str, Any]]:
    """The supervisor's SIP phone, a second supervisor leading another team, and a queue
    (behind number 5310) served by agent 2002 alone; 2002's queues are restored after."""
    admin = _login(server, "admin")
    users = {u["username"]: u for u in admin("GET", "/users?limit=200")["items"]}
    body = {"username": SUPERVISOR_PHONE, "password": SUPERVISOR_SIP_PASSWORD}
    admin("POST", "/sip-accounts", {**body, "user_id": users["supervisor"]["id"]})
    other = admin(
        "POST",
        "/users",
        {"username": OTHER_SUPERVISOR, "password": OTHER_PASSWORD, "role": "supervisor"},
    )
    admin("POST", "/teams", {"name": "web-other-team", "supervisor_ids": [other["id"]]})
    queue = admin("POST", "/queues", {"name": QUEUE})
    service = admin(
        "POST", "/services", {"name": QUEUE, "default_target": {"kind": "queue", "queue": QUEUE}}
    )
    admin("POST", "/numbers", {"number": NUMBER, "service_id": service["id"]})
    agent = next(
        a for a in admin("GET", "/agents?limit=100")["items"] if a["username"] == "agent2002"
    )
    path = f"/agents/{agent['id']}/memberships"
    before = [{"queue_id": m["queue_id"], "penalty": m["penalty"]} for m in admin("GET", path)]
    admin("PUT", path, {"memberships": [*before, {"queue_id": queue["id"]}]})
    yield {"admin": admin}
    admin("PUT", path, {"memberships": before})
    admin.client.close()


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tones for SIPp (1 kHz PCMU for the caller; 2 kHz and 500 Hz PCMA for the phones)
    and an answering scenario per phone tone."""
    if shutil.which("sipp") is None:
        pytest.fail("SIPp is not installed (Debian package sip-tester); .ci/run installs it")
    work = tmp_path_factory.mktemp("supervision")
    (work / "audio").mkdir()
    for freq, encoding, ext in (
        (1000, "u-law", "ulaw"),
        (2000, "a-law", "alaw"),
        (500, "a-law", "alaw"),
    ):
        target = str(work / "audio" / f"tone{freq}.{ext}")
        sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-t", "raw", target)
        subprocess.run([*sox, "synth", "60", "sine", str(freq), "vol", "0.4"], check=True)
        answer = (SCENARIOS / "agent_answer.xml").read_text()
        (work / f"answer{freq}.xml").write_text(answer.replace("tone2000", f"tone{freq}"))
    return work


def _sipp(server: Node, work: Path, rtp: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "sipp", f"127.0.0.1:{server.sip_port}", "-i", "127.0.0.1", "-p", str(_udp_port()),
            "-mi", "127.0.0.1", "-mp", str(rtp), "-m", "1", "-nostdin",
            "-timeout", "90s", "-timeout_error", *args,
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def _phone(server: Node, work: Path, account: str, password: str, tone: int, rtp: int) -> Any:
    """A SIPp phone registered as ``account`` for a minute that answers one call with
    a ``tone`` Hz PCMA tone until BYE."""
    return _sipp(
        server, work, rtp,
        "-sf", str(SCENARIOS / "agent_register.xml"), "-oocsf", str(work / f"answer{tone}.xml"),
        "-s", account, "-au", account, "-ap", password, "-d", "60000",
    )  # fmt: skip


def _wallboard(browser: Browser, server: Node, username: str, password: str = WEB_PASSWORD) -> Page:
    page = open_page(browser, server)
    sign_in(page, username, password)
    page.goto("/wallboard")
    expect(page.locator("#stream")).to_have_text("Live")
    return page


def test_supervisor_listens_from_the_wallboard_and_hangs_up_the_call(
    browser: Browser, server: Node, floor: dict[str, Any], audio: Path
) -> None:
    admin = floor["admin"]
    caller_rtp, agent_rtp, supervisor_rtp = _udp_port(), _udp_port(), _udp_port()
    agent = _phone(server, audio, "2002", SIP_PASSWORD, 2000, agent_rtp)
    supervisor = _phone(
        server, audio, SUPERVISOR_PHONE, SUPERVISOR_SIP_PASSWORD, 500, supervisor_rtp
    )
    caller = None
    agent_api = _login(server, "agent2002")
    try:
        _registered(server, "2002")
        _registered(server, SUPERVISOR_PHONE)
        agent_api("POST", "/agents/me/login")
        page = _wallboard(browser, server, "supervisor")
        expect(page.locator("#team")).to_have_value("mine")
        expect(page.locator("#calls")).to_contain_text("No live calls")
        other = _wallboard(browser, server, OTHER_SUPERVISOR, OTHER_PASSWORD)
        expect(other.locator("#team")).to_have_value("mine")
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url) if "/api/v1/calls" in r.url else None)
        with sniff(Namespace(None), audio, 60, caller_rtp, supervisor_rtp) as captured:
            caller = _sipp(
                server, audio, caller_rtp,
                "-sf", str(SCENARIOS / "caller_hungup.xml"), "-s", NUMBER,
            )  # fmt: skip
            row = page.locator("#calls tr[data-agent=agent2002]")
            expect(row).to_be_visible(timeout=20_000)
            expect(row.locator("td").nth(2)).to_have_text(QUEUE)
            assert fetched == [], f"the live call was fetched, not pushed: {fetched}"
            call_id = row.get_attribute("data-call") or ""
            caller_number = row.locator("td").first.inner_text()
            assert caller_number

            expect(other.locator("#calls tr[data-call]")).to_have_count(0)
            other.get_by_label("Team").select_option("")
            theirs = other.locator(f'#calls tr[data-call="{call_id}"]')
            expect(theirs).to_contain_text("Not in a team you lead")
            expect(theirs.get_by_role("button")).to_have_count(0)
            refused = _login(server, OTHER_SUPERVISOR, OTHER_PASSWORD).client.post(
                f"/api/v1/calls/{call_id}/supervise", json={"mode": "listen"}
            )
            assert (refused.status_code, refused.json()["error_id"]) == (403, "not_your_team")

            listen = page.get_by_role(
                "button", name=f"Listen to agent2002's call with {caller_number}"
            )
            listen.focus()
            page.keyboard.press("Enter")  # keyboard-usable
            expect(row).to_contain_text("supervisor (Listen)", timeout=15_000)
            time.sleep(3)
            listened = time.monotonic()
            page.reload()  # the call as GET /calls shows it, with the agent matched
            expect(row).to_contain_text("3001 (Listen)")
            expect(row.locator("td").nth(3)).not_to_be_empty()  # talk time
            row.get_by_role("button", name="Hang up").click()
            expect(row.get_by_role("group")).to_contain_text("End agent2002's call")
            expect(row.get_by_role("button", name="Cancel")).to_be_focused()
            row.get_by_role("button", name="Confirm").click()
            expect(page.locator(f'#calls tr[data-call="{call_id}"]')).to_have_count(0)
            out, _ = caller.communicate(timeout=30)
            assert caller.returncode == 0, out[-3000:]  # the caller got BYE
        errors = [*page.errors, *other.errors]  # type: ignore[attr-defined]
        assert errors == []
    finally:
        stop(caller, agent, supervisor)
        agent_api.client.post("/api/v1/agents/me/logout")  # wrap-up or on call: best effort
        agent_api.client.close()
    capture = captured[0]
    start, end = listened - 2.0, listened - 0.5
    assert hears(levels(capture, supervisor_rtp, start, end), 1000, 2000)  # both sides
    assert hears(levels(capture, caller_rtp, start, end), 2000)  # not the supervisor
    record = admin("GET", f"/call-records?call_id={call_id}")["items"][0]
    assert (record["outcome"], record["hangup_side"], record["queue"]) == (
        "answered",
        "system",
        QUEUE,
    ), record
