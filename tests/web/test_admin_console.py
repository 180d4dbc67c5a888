"""The admin console's platform, integration and data sections, and self-service
settings, as people use them in Chromium at 1366x768 (no console errors).

A platform admin creates a tenant with capacity limits and its admin sees them read-only;
a tenant admin creates a webhook (secret shown once) and sees its delivery log and
retries a delivery, and sets the tenant's SMTP server and sends a test e-mail through it
(a real SMTP server on loopback); a CSV import with one bad row reports that row; a language chosen
in one browser is there again after signing in from another."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.interop.harness import Node
from tests.voicemail.smtp import smtp_server
from tests.web.conftest import WEB_PASSWORD, open_page, sign_in

PLATFORM_PASSWORD = "admin-pass-1"  # the harness's HELPLINE_ADMIN_PASSWORD


def _no_errors(page: Page, *allowed: str) -> None:
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    unexpected = [e for e in errors if not any(a in e for a in allowed)]
    assert unexpected == [], "\n".join(unexpected)


def _sign_in_to(page: Page, tenant: str, username: str, password: str) -> None:
    page.goto("/")
    page.fill("#tenant", tenant)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login button[type=submit]")
    page.wait_for_url(lambda url: "/?" not in url and not url.endswith("/"))


def _save(page: Page) -> None:
    page.click("#panel .editor button[type=submit]")
    expect(page.locator("#panel .editor")).to_be_hidden()


def _fits(page: Page) -> None:
    """Nothing sticks out sideways at 1366 px."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width} px wide"


def test_platform_admin_creates_a_tenant_with_limits_its_admin_sees_read_only(
    browser: Browser, server: Node
) -> None:
    page = open_page(browser, server)
    _sign_in_to(page, "system", "admin", PLATFORM_PASSWORD)
    page.goto("/admin#tenants")
    expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
    page.get_by_role("button", name="New", exact=True).click()
    page.fill("#f-slug", "acme-c")
    page.fill("#f-name", "Acme Helpdesk")
    page.select_option("#f-tier", "medium")
    page.fill("#f-max_lines", "24")
    page.fill("#f-max_ivr_ports", "6")
    page.fill("#f-admin_username", "boss")
    page.fill("#f-admin_password", "acme-pass-123")
    _save(page)
    row = page.get_by_role("row").filter(has_text="acme-c")
    expect(row).to_contain_text("Acme Helpdesk")
    expect(row.get_by_role("cell")).to_have_text(
        ["acme-c", "Acme Helpdesk", "Medium", "24", "32", "6", "Yes"]
    )
    _fits(page)
    _no_errors(page)

    other = open_page(browser, server)
    _sign_in_to(other, "acme-c", "boss", "acme-pass-123")
    other.goto("/admin#tenants")
    facts = other.locator("#tenant-facts")
    expect(facts).to_contain_text("acme-c")
    expect(facts.locator("dd")).to_contain_text(
        ["acme-c", re.compile("."), "Medium", "24", "32", "6"]
    )
    expect(other.locator("#f-max_lines")).to_have_count(0)
    _no_errors(other)


def test_tenant_admin_creates_a_webhook_and_retries_a_failed_delivery(
    browser: Browser, server: Node, api_as: Any
) -> None:
    page = open_page(browser, server)
    sign_in(page, "admin")
    page.goto("/admin#webhooks")
    page.get_by_role("button", name="New", exact=True).click()
    page.fill("#f-name", "crm-c")
    page.fill("#f-url", "http://127.0.0.1:9/hook")
    page.select_option("#f-events", ["workorder.changed"])
    _save(page)
    dialog = page.locator("#once-dialog")
    expect(dialog).to_be_visible()
    secret = page.input_value("#once-value")
    assert len(secret) >= 16
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_have_count(0)
    row = page.get_by_role("row").filter(has_text="crm-c")
    expect(row).to_contain_text("workorder.changed")
    assert secret not in page.content(), "the secret is shown once only"

    api = api_as("admin")
    hook = next(h for h in api("GET", "/webhooks")["items"] if h["name"] == "crm-c")
    api("POST", "/workorders", {"title": "router broken (webhook test)"})
    deadline = time.monotonic() + 20
    while not api("GET", f"/webhooks/{hook['id']}/deliveries")["items"]:
        assert time.monotonic() < deadline, "no delivery was queued"
        time.sleep(0.2)
    row.click()
    log = page.locator("#deliveries")
    delivery = log.locator("tbody tr[data-delivery]").first
    expect(delivery).to_contain_text("workorder.changed")
    delivery.get_by_role("button", name="Retry").click()
    expect(page.locator("#toasts")).to_contain_text("Queued for another attempt.")
    _fits(page)
    _no_errors(page)


def test_csv_import_with_one_bad_row_reports_that_row(browser: Browser, server: Node) -> None:
    page = open_page(browser, server)
    sign_in(page, "admin")
    page.goto("/admin#customers")
    csv = "name,phones,emails\nGood Customer C,+12015550177,good@example.com\n,+12015550178,\n"
    page.set_input_files(
        "#imp-file", {"name": "customers.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("Nothing was imported")
    bad = report.locator("tbody tr[data-row='3']")
    expect(bad.get_by_role("cell")).to_have_count(3)
    expect(bad.get_by_role("cell").nth(1)).to_have_text("name")
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#export-link")).to_have_attribute("href", "/api/v1/customers/export")
    _fits(page)
    _no_errors(page)


def test_language_choice_follows_the_user_to_a_new_browser(
    browser: Browser, server: Node, api_as: Any
) -> None:
    api_as("admin")(
        "POST",
        "/users",
        {"username": "polyglot-c", "password": WEB_PASSWORD, "role": "tenant-admin"},
    )
    first = open_page(browser, server)
    sign_in(first, "polyglot-c")
    expect(first.locator("html")).to_have_attribute("lang", "en")
    first.get_by_role("link", name="한국어").click()
    expect(first.locator("html")).to_have_attribute("lang", "ko")
    _no_errors(first)

    second = open_page(browser, server)
    sign_in(second, "polyglot-c")
    expect(second.locator("html")).to_have_attribute("lang", "ko")
    second.get_by_role("button", name="내 설정").click()
    dialog = second.get_by_role("dialog", name="내 설정")
    expect(dialog.get_by_label("언어")).to_have_value("ko")
    dialog.get_by_label("표시 이름").fill("Poly Glot")
    dialog.get_by_label("언어").select_option("zh")
    dialog.get_by_role("button", name="저장").click()
    expect(second.locator("html")).to_have_attribute("lang", "zh")
    expect(second.locator(".user")).to_contain_text("Poly Glot")
    _no_errors(second)

    third = open_page(browser, server)
    sign_in(third, "polyglot-c")
    expect(third.locator("html")).to_have_attribute("lang", "zh")
    third.get_by_role("button", name="我的设置").click()
    dialog = third.get_by_role("dialog", name="我的设置")
    dialog.get_by_label("当前密码").fill("not-the-password")
    dialog.get_by_label("新密码").fill("another-pass-1")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.locator(".error")).to_have_text("当前密码不正确。")
    _fits(third)
    _no_errors(third, "status of 403")  # the refused password change, as the browser logs it


def test_tenant_admin_sets_own_smtp_server_and_sends_a_test_email(
    browser: Browser, server: Node, api_as: Any
) -> None:
    page = open_page(browser, server)
    sign_in(page, "admin")
    page.goto("/admin#mail")
    with smtp_server() as (inbox, port):
        try:
            page.fill("#mail-host", "127.0.0.1")
            page.fill("#mail-port", str(port))
            page.fill("#mail-user", "mailer")
            page.fill("#mail-password", "smtp-pass-123")
            page.fill("#mail-sender", "help@demo.example")
            page.uncheck("#mail-starttls")
            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.locator("#mail-status")).to_have_text(
                "E-mail goes through this tenant's own SMTP server."
            )
            expect(page.locator("#mail-password")).to_have_attribute("placeholder", "(unchanged)")
            expect(page.locator("#mail-password")).to_have_value("")
            page.fill("#mail-to", "ops@demo.example")
            page.get_by_role("button", name="Send test e-mail").click()
            expect(page.locator("#mail-test-result")).to_have_text(
                f"Test e-mail sent through 127.0.0.1:{port}."
            )
        finally:
            api_as("admin")(
                "PUT",
                "/mail-settings",
                {"host": "127.0.0.1", "sender": "help@demo.example", "enabled": False},
            )
    (mail,) = inbox.mails
    assert (mail["From"], mail["To"]) == ("help@demo.example", "ops@demo.example")
    assert inbox.logins == [("mailer", "smtp-pass-123")]
    _fits(page)
    _no_errors(page)
