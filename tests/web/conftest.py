"""Browser tests: headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against a real ``helpline serve`` with the demo on loopback ports; all marked ``interop``.

One server and one browser serve the whole folder (package-scoped: Playwright's sync API
runs an event loop in the test thread, which must be gone before other folders' asyncio
tests run); each test opens its own browser context (cookies, storage) and uses its own
demo users, so tests do not see each other's sessions.  Every page records console
errors and uncaught exceptions in ``page.errors``.
"""

from __future__ import annotations

import contextlib
import shutil
import stat
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from helpline.media import g711
from helpline.media.tones import tone
from tests.interop.harness import Namespace, Node, helpline, namespace

#: Chromium flags for a browser phone: the microphone is a WAV file, permission is
#: granted, loopback ICE candidates are allowed, Helpline's self-signed WSS is accepted.
MEDIA_FLAGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--ignore-certificate-errors",
)

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


@contextlib.contextmanager
def private_namespace() -> Iterator[Namespace]:
    """A loopback-only network namespace for browser-phone tests (WebRTC must not reach
    any real network); the test is skipped where none can be made."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail("Chromium is not installed (Debian package chromium); .ci/run installs it")
    with namespace() as made:
        if made.name is None:
            pytest.skip("needs a loopback-only network namespace (root and iproute2)")
        yield made


@contextlib.contextmanager
def browser_phone_node(ns: Namespace, data_dir: Path, **env: str) -> Iterator[Node]:
    """``helpline serve`` in ``ns`` for browser phones: JsSIP answers only the last
    digest challenge and only MD5, so MD5 comes last (the SIPp callers of these tests do
    not authenticate); no qualifying; a longer RTP timeout while ICE and DTLS start."""
    with helpline(
        ns,
        data_dir,
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_SIP_DIGEST_ALGORITHMS="SHA-256,MD5",
        HELPLINE_RTP_TIMEOUT="10",
        **env,
    ) as node:
        yield node


def write_tones(work: Path) -> None:
    """Chromium's microphone ``mic.wav`` (2 kHz, 48 kHz, 10 s) and SIPp's 1 kHz PCMU
    tone ``audio/tone1000.ulaw`` in ``work``."""
    with wave.open(str(work / "mic.wav"), "wb") as mic:
        mic.setnchannels(1)
        mic.setsampwidth(2)
        mic.setframerate(48000)
        mic.writeframes(tone([2000], 10, amplitude=0.5, rate=48000))
    (work / "audio").mkdir(exist_ok=True)
    (work / "audio" / "tone1000.ulaw").write_bytes(
        g711.encode(tone([1000], 10, amplitude=0.5), g711.PCMU)
    )


def chromium_in(playwright: Playwright, ns: Namespace, workdir: Path, microphone: Path) -> Browser:
    """Headless Chromium running inside ``ns`` (so that its WebRTC traffic stays in the
    namespace) with ``microphone`` (a WAV file) as its microphone. Playwright drives it
    over a pipe, which crosses the namespace boundary."""
    wrapper = workdir / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec {" ".join(ns.prefix)} {CHROMIUM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return playwright.chromium.launch(
        executable_path=str(wrapper),
        headless=True,
        args=[*MEDIA_FLAGS, f"--use-file-for-fake-audio-capture={microphone}"],
    )


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


@dataclass
class NodeApi:
    """The JSON API of a node inside a namespace, as one demo user (each call logs in:
    the test process cannot reach the namespace's loopback itself)."""

    node: Node
    username: str

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.node.api(
            method, f"/api/v1{path}", body, login=("demo", self.username, WEB_PASSWORD)
        )
        assert status < 400, (status, answer)
        return answer


def draw_two_option_menu(page: Page, name: str, first: str, second: str) -> None:
    """In the admin console, create flow ``name`` and draw in the designer a menu whose
    option 1 queues into ``first`` and option 2 into ``second`` (else goodbye); publish."""
    page.click("#tab-flows")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create and open the designer").click()
    expect(page.locator("html")).to_have_attribute("data-ready", "designer")
    _add_node(page, "menu", "main")
    page.fill("#p-prompt-text", f"For {first} press 1, for {second} press 2.")
    page.press("#p-prompt-text", "Tab")
    for queue in (first, second):
        _add_node(page, "queue", f"to-{queue}")
        page.fill("#p-queue", queue)
        page.press("#p-queue", "Tab")
    page.select_option("#node-picker", label="main (Menu)")
    page.select_option("[data-port='options.1']", label=f"to-{first}")
    page.select_option("[data-port='options.2']", label=f"to-{second}")
    page.select_option("[data-port='on_fail']", label="goodbye")
    page.select_option("#start-node", "main")
    expect(page.locator(".drawflow .connection")).to_have_count(3)
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#flow-version")).to_have_text("Published: v1")


def _add_node(page: Page, kind: str, node_id: str) -> None:
    page.click(f"#palette [data-type={kind}]")
    page.fill("#p-id", node_id)
    page.press("#p-id", "Tab")
    expect(page.locator("#node-picker option:checked")).to_contain_text(node_id)


@pytest.fixture
def data_dir(server: Node) -> Path:
    """The node's data directory (its SQLite database and audio files)."""
    return server.data_dir
