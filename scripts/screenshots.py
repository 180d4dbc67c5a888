"""Regenerate docs/screenshots/: every main page in English, Chinese and Korean.

    .venv/bin/python scripts/screenshots.py [--chromium /usr/bin/chromium] [--out DIR]

Starts ``helpline serve`` with the demo in a temporary directory on free loopback ports,
puts a few agents in different states, adds a recording and a work order, and has
headless Chromium (driven by Playwright) take each page at 1366x768.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, ViewportSize, sync_playwright

log = logging.getLogger("screenshots")
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-screens-1"
LANGUAGES = ("en", "zh", "ko")
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
#: The reports show the demo's generated history of yesterday (today's has barely begun
#: in the small hours).
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    port = _free_port(socket.SOCK_STREAM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    env.update(
        HELPLINE_DATA_DIR=str(data_dir),
        HELPLINE_HTTP_PORT=str(port),
        HELPLINE_SIP_PORT=str(_free_port(socket.SOCK_DGRAM)),
        HELPLINE_SIP_TLS_PORT=str(_free_port(socket.SOCK_STREAM)),
        HELPLINE_SIP_WS_PORT=str(_free_port(socket.SOCK_STREAM)),
        HELPLINE_DEMO="1",
        HELPLINE_DEMO_PASSWORD=PASSWORD,
        HELPLINE_DEMO_SIP_PASSWORD="demo-screens-sip-1",
        HELPLINE_ADMIN_PASSWORD="admin-screens-1",
        HELPLINE_COOKIE_SECURE="0",
        HELPLINE_MEDIA_WORKERS="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpline", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Helpline on http://"):
            break
    else:
        raise SystemExit("helpline did not start")
    threading.Thread(target=lambda: [None for _ in proc.stdout or ()], daemon=True).start()
    return proc, port


def _client(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    r = client.post(
        "/api/v1/auth/login", json={"tenant": "demo", "username": username, "password": PASSWORD}
    )
    r.raise_for_status()
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def _recording(data_dir: Path) -> None:
    relative = "recordings/screens/demo.wav"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    rate, seconds = 8000, 3
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(
            b"".join(
                struct.pack("<hh", v, v)
                for v in (
                    int(6000 * math.sin(2 * math.pi * 440 * i / rate))
                    for i in range(rate * seconds)
                )
            )
        )
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(data_dir / "helpline.db") as db:
        (tenant,) = db.execute("SELECT id FROM tenants WHERE slug = 'demo'").fetchone()
        db.execute(
            "INSERT INTO recordings (tenant_id, call_id, caller, callee, agent, direction, path,"
            " stereo, status, started_at, ended_at, duration_seconds, size_bytes, node,"
            " created_at, updated_at) VALUES (?, 'screens-call', '+8613800138000', '1000',"
            " 'agent2001', 'inbound', ?, 1, 'complete', ?, ?, ?, ?, '', ?, ?)",
            (tenant, relative, now, now, seconds, path.stat().st_size, now, now),
        )


def _setup(base: str, data_dir: Path) -> dict[str, int]:
    for user, change in (
        ("agent2001", None),
        ("agent2002", {"state": "not_ready", "reason": "lunch"}),
        ("agent2003", None),
    ):
        with contextlib.closing(_client(base, user)) as agent:
            agent.post("/api/v1/agents/me/login").raise_for_status()
            if change:
                agent.put("/api/v1/agents/me/state", json=change).raise_for_status()
    _recording(data_dir)
    with contextlib.closing(_client(base, "admin")) as admin:
        flows = admin.get("/api/v1/flows").json()["items"]
        customers = admin.get("/api/v1/customers", params={"limit": 1}).json()["items"]
        order = admin.post(
            "/api/v1/workorders",
            json={
                "title": "Replace the broken router",
                "description": "The customer's router restarts every hour since Monday.",
                "priority": "high",
                "customer_id": customers[0]["id"],
            },
        ).json()
    flow = next(f for f in flows if f["name"] == "demo-menu")
    return {"flow": flow["id"], "customer": customers[0]["id"], "workorder": order["id"]}


def _shots(ids: dict[str, int]) -> list[tuple[str, str, str, Callable[[Page], None] | None]]:
    """(file name, user, path, what to do before the picture)."""

    def kb(page: Page) -> None:
        page.click("#kb-form button[type=submit]")
        page.wait_for_selector("#kb-results li")

    def edit_first(page: Page) -> None:
        page.click("#panel tbody tr")
        page.wait_for_selector("#panel .editor form")

    return [
        ("signin", "", "/", None),
        ("desktop", "agent2001", "/desktop", kb),
        ("wallboard", "supervisor", "/wallboard", None),
        ("reports", "supervisor", f"/reports?start={YESTERDAY}", None),
        ("admin-queues", "admin", "/admin#queues", edit_first),
        ("admin-services", "admin", "/admin#services", None),
        ("designer", "admin", f"/designer/{ids['flow']}", None),
        ("recordings", "admin", "/records#recordings", None),
        ("customer", "admin", f"/records#customer/{ids['customer']}", None),
        ("workorder", "admin", f"/records#workorder/{ids['workorder']}", None),
    ]


def _ready(page: Page, path: str) -> None:
    page.wait_for_load_state("networkidle")
    if path.startswith("/admin"):
        page.wait_for_selector("html[data-section]")
    elif path.startswith(("/records", "/designer", "/reports")):
        page.wait_for_selector("html[data-ready]")
    elif path.startswith("/wallboard"):
        page.wait_for_selector("#stream.ok")
    page.wait_for_timeout(300)


def main() -> None:
    """Take every screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = _serve(Path(tmp))
        base = f"http://127.0.0.1:{port}"
        try:
            ids = _setup(base, Path(tmp))
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=args.chromium, headless=True)
                for lang in LANGUAGES:
                    contexts = {}
                    for name, user, path, before in _shots(ids):
                        if user not in contexts:
                            context = browser.new_context(viewport=VIEWPORT, base_url=base)
                            page = context.new_page()
                            page.goto(f"/?lang={lang}")
                            if user:
                                page.fill("#tenant", "demo")
                                page.fill("#username", user)
                                page.fill("#password", PASSWORD)
                                page.click("#login button[type=submit]")
                                page.wait_for_url(lambda url: "/?" not in url)
                            contexts[user] = page
                        page = contexts[user]
                        page.goto("about:blank")
                        page.goto(path)
                        _ready(page, path)
                        if before:
                            before(page)
                        target = args.out / f"{name}-{lang}.png"
                        page.screenshot(path=str(target))
                        log.info(
                            "%s",
                            target.relative_to(ROOT) if target.is_relative_to(ROOT) else target,
                        )
                    for page in contexts.values():
                        page.context.close()
                browser.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
