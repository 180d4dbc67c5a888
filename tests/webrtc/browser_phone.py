"""Open the softphone test page in headless Chromium and print its report as JSON.

    python browser_phone.py PAGE_URL FAKE_AUDIO_WAV SECONDS

Run inside the test's namespace (only loopback there: Chromium is allowed to gather
loopback ICE candidates). Prints "ready" once the page is open, then the report.
"""

from __future__ import annotations

import asyncio
import json
import sys

from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"


async def _run(url: str, wav: str, seconds: float) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                "--allow-loopback-in-peer-connection",
                "--autoplay-policy=no-user-gesture-required",
                "--ignore-certificate-errors",
            ],
        )
        try:
            page = await browser.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            await page.goto(url)
            print("ready", flush=True)
            try:
                await page.wait_for_function(
                    "window.report && window.report.done", timeout=seconds * 1000
                )
            except Exception as exc:  # noqa: BLE001 - the report says what happened
                console.append(f"timeout: {exc}")
            report = await page.evaluate("window.report || {}")
            report["console"] = console[-30:]
            print(json.dumps(report), flush=True)
        finally:
            await browser.close()


def main() -> None:
    url, wav, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    asyncio.run(_run(url, wav, seconds))


if __name__ == "__main__":
    main()
