"""The agent desktop's SMS card: free text and a template, queued by the server for the
number typed; without a gateway the agent reads why (real browser, real node)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.interop.harness import Node
from tests.web.conftest import open_page, sign_in

NUMBER = "+821055550142"
#: Nothing listens there: the message is stored and its sending fails on loopback, so
#: no text leaves the machine for the (valid-looking) number.
SENDSMS = "http://127.0.0.1:9/cgi-bin/sendsms"


def _messages(api: Any) -> list[dict[str, Any]]:
    page: dict[str, Any] = api("GET", "/sms/messages?direction=outbound&limit=100")
    return [m for m in page["items"] if m["number"] == NUMBER]


def test_agent_texts_a_number_from_the_desktop(browser: Browser, server: Node, api_as: Any) -> None:
    admin = api_as("admin")
    page = open_page(browser, server)
    sign_in(page, "agent2002")
    expect(page.locator("html")).to_have_attribute("data-ready", "desktop")
    page.get_by_label("To", exact=True).fill(NUMBER)
    page.get_by_label("Message", exact=True).fill("Your parcel leaves today.")
    before = len(_messages(admin))
    page.get_by_role("button", name="Send", exact=True).click()
    refused = not any(g["enabled"] for g in admin("GET", "/sms/gateways")["items"])
    if refused:
        # No gateway yet: the agent is told, nothing is stored.
        expect(page.locator(".toast.error")).to_be_visible()
        assert len(_messages(admin)) == before
        admin(
            "POST",
            "/sms/gateways",
            {
                "name": "desk-test",
                "kind": "kannel",
                "settings": {"sendsms_url": SENDSMS, "username": "helpline"},
                "password": "kannel-secret",
                "sender": "1588",
            },
        )
        page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#sms-status")).to_contain_text(NUMBER)
    sent = _messages(admin)
    assert len(sent) == before + 1
    assert sent[0]["body"] == "Your parcel leaves today."

    template = admin(
        "POST",
        "/sms/templates",
        {"name": "desk-hours", "bodies": {"en": "We are open 9-18.", "ko": "9시-18시 영업."}},
    )
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-ready", "desktop")
    page.get_by_label("To", exact=True).fill(NUMBER)
    page.get_by_label("Template", exact=True).select_option(str(template["id"]))
    expect(page.get_by_label("Message", exact=True)).to_have_value("We are open 9-18.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#sms-status")).to_contain_text(NUMBER)
    newest = _messages(admin)[0]
    assert (newest["body"], len(_messages(admin))) == ("We are open 9-18.", before + 2)
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    # Only the refusal without a gateway (409 in the console), nothing else went wrong.
    assert len(errors) == refused and all("409" in e and "/sms/messages" in e for e in errors)
