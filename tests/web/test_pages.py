"""Every main page renders for an admin without console errors; agents, supervisors and
languages behave as a person sees them."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.interop.harness import Node
from tests.web.conftest import open_page, sign_in

ADMIN_SECTIONS = (
    "numbers", "services", "queues", "skills", "agents", "teams", "reasons", "dispositions",
    "blacklist", "trunks", "users", "sip", "registrations", "voicemail", "departments",
    "prompts", "vxml", "flows", "audit", "tenants", "mail", "webhooks", "tokens",
    "smsgateways", "smstemplates", "surveys", "articles", "customers",
)  # fmt: skip


BAD_VXML = """<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form>
    <object name="x"/>
  </form>
</vxml>
"""


def _no_errors(page: Page, *allowed: str) -> None:
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    unexpected = [e for e in errors if not any(a in e for a in allowed)]
    assert unexpected == [], "\n".join(unexpected)


def test_admin_signs_in_and_every_main_page_renders_without_console_errors(
    browser: Browser, server: Node, api_as: Any
) -> None:
    page = open_page(browser, server)
    sign_in(page, "admin")
    expect(page).to_have_url(re.compile(r"/admin#numbers$"))
    expect(page.get_by_role("heading", name="Access numbers")).to_be_visible()
    expect(page.get_by_role("cell", name="1000", exact=True)).to_be_visible()
    for section in ADMIN_SECTIONS:
        page.click(f"#tab-{section}")
        expect(page.locator("html")).to_have_attribute("data-section", section)
        expect(page.locator("#panel h2").first).to_be_visible()
    page.click("#tab-queues")
    expect(page.get_by_role("cell", name="support", exact=True)).to_be_visible()

    page.goto("/desktop")
    expect(page.get_by_role("heading", name="Knowledge base")).to_be_visible()
    expect(page.locator("#stream")).to_have_text("Live")
    page.goto("/wallboard")
    expect(page.locator("#agents tr[data-agent=agent2004]")).to_be_visible()
    expect(page.locator("#queues [data-queue=sales]")).to_be_visible()
    page.goto("/records")
    for tab in ("voicemail", "workorders", "customers"):
        page.click(f"#tab-{tab}")
        expect(page.locator("html")).to_have_attribute("data-ready", tab)
    page.get_by_role("row", name="王伟").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    flow = next(f for f in api_as("admin")("GET", "/flows")["items"] if f["name"] == "demo-menu")
    page.goto(f"/designer/{flow['id']}")
    expect(page.locator("html")).to_have_attribute("data-ready", "designer")
    expect(page.locator(".drawflow-node")).not_to_have_count(0)
    _no_errors(page)


def test_refused_voicexml_shows_each_problem_at_its_line(browser: Browser, server: Node) -> None:
    page = open_page(browser, server)
    sign_in(page, "admin")
    page.click("#tab-vxml")
    page.get_by_label("Name").fill("refused")
    page.get_by_label("VoiceXML source").fill(BAD_VXML)
    page.get_by_role("button", name="Upload").click()
    problem = page.locator("[data-problem-line='4']")
    expect(problem).to_have_text("⚠ line 4: <object> is not supported")
    expect(page.locator(".source .tx.bad")).to_have_text('    <object name="x"/>')
    _no_errors(page, "/api/v1/vxml-documents")  # the refused upload's 422 is logged


def test_agent_logs_in_goes_ready_and_the_desktop_shows_the_state(
    browser: Browser, server: Node, api_as: Any
) -> None:
    page = open_page(browser, server)
    sign_in(page, "agent2001")
    expect(page).to_have_url(re.compile(r"/desktop$"))
    state = page.locator("#state")
    expect(state).to_have_attribute("data-state", "offline")
    expect(page.locator("#phones")).to_contain_text("2001")
    page.get_by_role("button", name="Log in to queues").click()
    expect(state).to_have_attribute("data-state", "available")
    expect(state).to_have_text("Ready")
    page.get_by_label("Reason").select_option("lunch")
    page.get_by_role("button", name="Not ready").click()
    expect(state).to_have_text("Not ready")
    expect(page.locator("#reason")).to_have_text("Reason: Lunch")
    page.get_by_role("button", name="Ready", exact=True).click()
    expect(state).to_have_attribute("data-state", "available")
    assert api_as("agent2001")("GET", "/agents/me/state")["state"] == "available"
    page.get_by_role("button", name="Log out").click()
    expect(state).to_have_attribute("data-state", "offline")
    _no_errors(page)


def test_wallboard_shows_an_agent_state_change_pushed_without_reload_or_polling(
    browser: Browser, server: Node, api_as: Any
) -> None:
    page = open_page(browser, server)
    sign_in(page, "supervisor")
    expect(page).to_have_url(re.compile(r"/wallboard$"))
    expect(page.locator("#stream")).to_have_text("Live")
    row = page.locator("#agents tr[data-agent=agent2002]")
    expect(row.locator("[data-role=state]")).to_have_text("Logged out")
    page.evaluate("window.__sameDocument = true")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/api/" in r.url else None)

    agent = api_as("agent2002")
    agent("POST", "/agents/me/login")
    expect(row.locator("[data-role=state]")).to_have_text("Ready")
    expect(page.locator("#queues [data-queue=sales] [data-k=logged]")).to_have_text("1")
    agent("PUT", "/agents/me/state", {"state": "not_ready", "reason": "break"})
    expect(row.locator("[data-role=state]")).to_have_text("Not ready")
    expect(row).to_contain_text("Break")
    agent("POST", "/agents/me/logout")
    expect(row.locator("[data-role=state]")).to_have_text("Logged out")

    assert page.evaluate("window.__sameDocument") is True
    assert fetched == [], f"the wallboard fetched instead of being pushed: {fetched}"
    _no_errors(page)


def test_language_switch_changes_labels_and_is_remembered(browser: Browser, server: Node) -> None:
    page = open_page(browser, server)
    page.goto("/?lang=zh")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    sign_in(page, "agent2003")
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    expect(page.get_by_role("link", name="坐席工作台")).to_be_visible()
    expect(page.locator("#state")).to_have_text("已签出")
    page.get_by_role("link", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="지식 베이스")).to_be_visible()
    expect(page.locator("#state")).to_have_text("로그아웃")
    page.goto("/records")
    expect(page.get_by_role("tab", name="녹음")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("tab", name="Recordings")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _no_errors(page)
