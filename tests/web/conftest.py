"""Browser tests: headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against a real ``helpline serve`` with the demo on loopback ports; all marked ``interop``.

One server and one browser serve the whole folder (package-scoped: Playwright's sync API
runs an event loop in the test thread, which must be gone before other folders' asyncio
tests run); each test opens its own browser context (cookies, storage) and uses its own
demo users, so tests do not see each other's sessions.  Every page records console
errors and uncaught exceptions in ``page.errors``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from tests.interop.harness import Namespace, Node, helpline

CHROMIUM = "/usr/bin/chromium"
WEB_PASSWORD = "demo-web-pass"  # the harness's HELPLINE_DEMO_PASSWORD
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/web/" in str(item.fspath):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """``helpline serve`` with the demo on free loopback ports (plain-HTTP cookies)."""
    with helpline(
        Namespace(None),
        tmp_path_factory.mktemp("web"),
        HELPLINE_COOKIE_SECURE="0",
        HELPLINE_SIP_QUALIFY_SECONDS="0",
    ) as node:
        yield node


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("Chromium is not installed (Debian package chromium); .ci/run installs it")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield browser
    browser.close()


def base_url(node: Node) -> str:
    """Where the node's web pages are."""
    return f"http://127.0.0.1:{node.http_port}"


def open_page(browser: Browser, node: Node) -> Page:
    """A page in a fresh context that records console errors in ``page.errors``."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url(node))
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def sign_in(page: Page, username: str, password: str = WEB_PASSWORD) -> None:
    """Sign in through the sign-in page as a demo user; the page follows the redirect."""
    page.goto("/")
    page.fill("#tenant", "demo")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login button[type=submit]")
    page.wait_for_url(lambda url: "/?" not in url and not url.endswith("/"))


@dataclass
class Api:
    """A JSON API client signed in as one demo user (for setting up and checking)."""

    client: httpx.Client

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        response = self.client.request(method, f"/api/v1{path}", json=body)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None


@pytest.fixture
def api_as(server: Node) -> Iterator[Any]:
    """``api_as("agent2002")`` -> an :class:`Api` signed in as that demo user."""
    clients: list[httpx.Client] = []

    def make(username: str) -> Api:
        client = httpx.Client(base_url=base_url(server), timeout=10)
        clients.append(client)
        r = client.post(
            "/api/v1/auth/login",
            json={"tenant": "demo", "username": username, "password": WEB_PASSWORD},
        )
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return Api(client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def data_dir(server: Node) -> Path:
    """The node's data directory (its SQLite database and audio files)."""
    return server.data_dir
