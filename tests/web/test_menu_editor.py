"""The IVR tree-menu editor in the admin console, as an admin uses it in Chromium at
1366x768: a root menu (1 -> queue sales, 2 -> a sub-menu whose 1 -> queue support) is
built with the keyboard-usable form, the API's problems show at their node and field,
the published document is the expected tree and passes ``check``, reopening shows the
same tree, and a flow with an HTTP node is refused (and left as it was)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from helpline.ivr.flow import check
from tests.interop.harness import Node
from tests.web.conftest import open_page, sign_in

HTTP_FLOW: dict[str, Any] = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "http", "url": "https://crm.example/x", "next": "bye", "on_error": "bye"},
        "bye": {"type": "hangup"},
    },
}
ROOT_TEXT = "For sales press 1, for support press 2."


def _open_tree(page: Page, name: str) -> None:
    page.goto("/admin#flows")
    page.get_by_role("button", name=f"Edit as menu tree: {name}").click()
    expect(page.get_by_role("dialog")).to_be_visible()


def test_admin_builds_publishes_and_reopens_a_menu_tree(
    browser: Browser, server: Node, api_as: Any
) -> None:
    api = api_as("admin")
    flow = api("POST", "/flows", {"name": "tree-menu-h"})
    refused = api("POST", "/flows", {"name": "tree-http-h", "document": HTTP_FLOW})
    page = open_page(browser, server)
    sign_in(page, "admin")
    _open_tree(page, "tree-menu-h")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Menu tree: tree-menu-h")).to_be_visible()
    page.get_by_label("Prompt text (English)").fill(ROOT_TEXT)
    page.get_by_role("dialog").get_by_role("button", name="Add a key").click()
    expect(page.locator("#tr-main_1-key")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#tr-main_1-kind")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("sales")
    expect(page.locator("#tr-main_1-queue")).to_have_value("sales")
    page.locator("#tr-main-add").click()
    page.select_option("#tr-main_2-kind", "menu")
    expect(page.locator("#tr-main_2-kind")).to_be_focused()
    page.locator("#tr-main_2-add").click()
    # Saved with the sub-menu's prompt and queue missing: the problems are at their place.
    page.get_by_role("dialog").get_by_role("button", name="Save draft").click()
    expect(page.locator('[data-node="main_2"] .tree-problem').first).to_contain_text(
        "a prompt needs names or text"
    )
    expect(page.locator("#tr-main_2_1-queue")).to_have_attribute("aria-invalid", "true")
    page.fill("#tr-main_2-text-en", "For support press 1.")
    page.fill("#tr-main_2_1-queue", "support")
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    expect(page.locator("#tree-status")).to_have_text("Published: v1")
    expect(page.locator(".tree-problem")).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width} px wide"

    document = api("GET", f"/flows/{flow['id']}/versions/1")["document"]
    nodes = document["nodes"]
    assert document["start"] == "main"
    assert sorted(nodes) == ["goodbye", "main", "main_1", "main_2", "main_2_1"]
    assert nodes["main"]["options"] == {"1": "main_1", "2": "main_2"}
    assert nodes["main"]["on_fail"] == "goodbye"
    assert (nodes["main_1"]["type"], nodes["main_1"]["queue"]) == ("queue", "sales")
    assert nodes["main_2"]["type"] == "menu"
    assert nodes["main_2"]["options"] == {"1": "main_2_1"}
    assert nodes["main_2"]["prompt"]["text"] == {"en": "For support press 1."}
    assert (nodes["main_2_1"]["type"], nodes["main_2_1"]["queue"]) == ("queue", "support")
    report = check(document)
    assert report.valid and report.warnings == []

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("button", name="Edit as menu tree: tree-menu-h")).to_be_focused()
    _open_tree(page, "tree-menu-h")
    expect(page.locator("#tr-main-text-en")).to_have_value(
        "For sales press 1, for support press 2."
    )
    expect(page.locator("#tr-main_1-kind")).to_have_value("queue")
    expect(page.locator("#tr-main_1-queue")).to_have_value("sales")
    expect(page.locator("#tr-main_2-kind")).to_have_value("menu")
    expect(page.locator("#tr-main_2-text-en")).to_have_value("For support press 1.")
    expect(page.locator("#tr-main_2_1-queue")).to_have_value("support")
    expect(page.locator("#tree-status")).to_have_text("Published: v1")

    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    _open_tree(page, "tree-http-h")
    expect(page.locator("#tree-refused")).to_contain_text("edit it in the visual designer")
    expect(page.locator("#tree-save")).to_have_count(0)
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    assert api("GET", f"/flows/{refused['id']}")["document"] == HTTP_FLOW
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    assert errors == []
