"""The flow designer publishes what it draws; recordings play in the browser."""

from __future__ import annotations

import math
import re
import sqlite3
import struct
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.interop.harness import Node
from tests.web.conftest import open_page, sign_in


def _add_node(page: Page, kind: str, node_id: str) -> None:
    page.click(f"#palette [data-type={kind}]")
    page.fill("#p-id", node_id)
    page.press("#p-id", "Tab")
    expect(page.locator("#node-picker option:checked")).to_contain_text(node_id)


def test_designer_builds_a_two_option_menu_and_publishes_it(
    browser: Browser, server: Node, api_as: Any
) -> None:
    page = open_page(browser, server)
    sign_in(page, "admin")
    page.click("#tab-flows")
    page.get_by_label("Name").fill("two-options")
    page.get_by_role("button", name="Create and open the designer").click()
    expect(page.locator("html")).to_have_attribute("data-ready", "designer")

    _add_node(page, "menu", "main")
    page.fill("#p-prompt-text", "For sales press 1, for support press 2.")
    page.press("#p-prompt-text", "Tab")
    _add_node(page, "queue", "to-sales")
    page.fill("#p-queue", "sales")
    page.press("#p-queue", "Tab")
    _add_node(page, "queue", "to-support")
    page.fill("#p-queue", "support")
    page.press("#p-queue", "Tab")
    page.select_option("#node-picker", label="main (Menu)")
    page.select_option("[data-port='options.1']", label="to-sales")
    page.select_option("[data-port='options.2']", label="to-support")
    page.select_option("[data-port='on_fail']", label="goodbye")
    page.select_option("#start-node", "main")
    expect(page.locator(".drawflow .connection")).to_have_count(3)
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#flow-version")).to_have_text("Published: v1")

    admin = api_as("admin")
    flow = next(f for f in admin("GET", "/flows")["items"] if f["name"] == "two-options")
    published = admin("GET", f"/flows/{flow['id']}/versions/1")["document"]
    assert published["start"] == "main"
    assert published["nodes"]["main"]["options"] == {"1": "to-sales", "2": "to-support"}
    assert published["nodes"]["main"]["on_fail"] == "goodbye"
    assert published["nodes"]["to-sales"] == {
        "type": "queue",
        "queue": "sales",
        "priority": 0,
        "skills": {},
    }
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    assert errors == []


def _recording(data_dir: Path, seconds: float = 1.0) -> int:
    """A finished recording of the demo tenant (a 440 Hz tone) put straight into the node's
    database, as call control leaves it; its id."""
    relative = "recordings/web-test/tone.wav"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 8000
    frames = b"".join(
        struct.pack("<hh", tone, tone)
        for tone in (
            int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(rate * seconds))
        )
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(data_dir / "helpline.db") as db:
        (tenant,) = db.execute("SELECT id FROM tenants WHERE slug = 'demo'").fetchone()
        cursor = db.execute(
            "INSERT INTO recordings (tenant_id, call_id, caller, callee, agent, direction, path,"
            " stereo, status, started_at, ended_at, duration_seconds, size_bytes, node,"
            " created_at, updated_at) VALUES (?, 'web-test-call', '+8613800138000', '1000',"
            " 'agent2001', 'inbound', ?, 1, 'complete', ?, ?, ?, ?, '', ?, ?)",
            (tenant, relative, now, now, seconds, path.stat().st_size, now, now),
        )
        return int(cursor.lastrowid or 0)


def test_recordings_page_plays_an_existing_recording(
    browser: Browser, server: Node, data_dir: Path
) -> None:
    recording = _recording(data_dir)
    page = open_page(browser, server)
    sign_in(page, "supervisor")
    page.goto("/records#recordings")
    expect(page.get_by_role("cell", name="+8613800138000")).to_be_visible()
    page.evaluate(
        "() => { window.__played = new Promise((done) => { setTimeout(() => done(false), 15000);"
        " document.getElementById('player').addEventListener('ended', () => done(true)); }); }"
    )
    page.click(f"button[data-recording='{recording}']")
    assert page.evaluate("window.__played") is True
    audio = page.evaluate(
        "(() => { const a = document.getElementById('player'); return { src: a.src,"
        " error: a.error && a.error.code, duration: a.duration, at: a.currentTime }; })()"
    )
    assert re.search(rf"/api/v1/recordings/{recording}/audio$", audio["src"])
    assert audio["error"] is None and abs(audio["duration"] - 1.0) < 0.05
    assert audio["at"] == audio["duration"]
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    assert errors == []
