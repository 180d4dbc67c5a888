"""Recording a prompt in the browser: an admin records about 3 s from a microphone that
plays a 1 kHz tone (Chromium's fake capture device reading a WAV file), using only the
keyboard, listens to it, saves it as a prompt, and the stored prompt is 8 kHz mono audio
whose dominant frequency is 1 kHz; a second take is discarded and never stored."""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, expect

from helpline.media.tones import tone
from tests.interop.audio import frequency_of
from tests.interop.harness import Node
from tests.web.conftest import CHROMIUM, MEDIA_FLAGS, open_page, sign_in


@pytest.fixture(scope="module")
def microphone_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """Chromium whose microphone is a 10 s, 48 kHz, 1 kHz tone."""
    mic = tmp_path_factory.mktemp("recorder") / "tone1000.wav"
    with wave.open(str(mic), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(tone([1000], 10, amplitude=0.5, rate=48000))
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*MEDIA_FLAGS, f"--use-file-for-fake-audio-capture={Path(mic)}"],
    )
    yield browser
    browser.close()


def test_admin_records_a_prompt_in_the_browser(
    microphone_browser: Browser, server: Node, api_as: Any
) -> None:
    page = open_page(microphone_browser, server)
    sign_in(page, "admin")
    page.click("#tab-prompts")
    expect(page.get_by_role("heading", name="Record a prompt")).to_be_visible()

    record = page.get_by_role("button", name="Record", exact=True)
    record.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#rec-status")).to_have_text("Recording…")
    expect(page.get_by_role("button", name="Stop")).to_be_focused()
    expect(page.get_by_role("timer", name="Elapsed time")).to_have_text(
        re.compile(r"^0:0[3-9]$"), timeout=20_000
    )
    level = page.get_by_role("meter", name="Input level").evaluate("m => m.value")
    assert level > 0.2, level  # the meter follows the 0.5 full-scale tone
    page.keyboard.press("Enter")  # Stop

    expect(page.locator("#rec-status")).to_contain_text("Recorded")
    playback = page.get_by_label("Play back the recording")
    expect(playback).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('#rec-playback').duration > 2.5", timeout=10_000
    )
    expect(page.locator("#rec-name")).to_be_focused()
    page.keyboard.type("recorded-tone")
    page.locator("#rec-lang").select_option("ko")
    page.get_by_role("button", name="Save as a prompt").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("cell", name="recorded-tone", exact=True).first).to_be_visible()
    expect(record).to_be_visible()
    expect(playback).to_be_hidden()

    admin = api_as("admin")
    stored = next(
        p for p in admin("GET", "/prompts?limit=200")["items"] if p["name"] == "recorded-tone"
    )
    assert stored["language"] == "ko"
    assert 2500 <= stored["duration_ms"] <= 6000, stored
    response = admin.client.get(f"/api/v1/prompts/{stored['id']}/audio")
    assert response.status_code == 200, response.text
    with wave.open(io.BytesIO(response.content)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        pcm = w.readframes(w.getnframes())
    assert abs(frequency_of(pcm, skip=1.0) - 1000) < 30

    # A second take, discarded: back to the start, nothing stored.
    record.click()
    expect(page.get_by_role("timer", name="Elapsed time")).to_have_text(
        re.compile(r"^0:0[1-9]$"), timeout=20_000
    )
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Discard").click()
    expect(record).to_be_focused()
    expect(page.get_by_role("timer", name="Elapsed time")).to_have_text("0:00")
    expect(playback).to_be_hidden()
    names = [p["name"] for p in admin("GET", "/prompts?limit=200")["items"]]
    assert names.count("recorded-tone") == 1
    assert page.errors == []  # type: ignore[attr-defined]
    admin("DELETE", f"/prompts/{stored['id']}")
