"""Listen to Helpline's event stream as a user for a while; print each event as JSON.

    python ws_listen.py HTTP_PORT TENANT USER PASSWORD SECONDS

Run inside the test's namespace; prints "ready" once subscribed.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import sys
import urllib.request

import websockets


def _login(port: int, tenant: str, user: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    body = json.dumps({"tenant": tenant, "username": user, "password": password}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 200
    return "; ".join(f"{c.name}={c.value}" for c in jar)


async def _listen(port: int, cookie: str, seconds: float) -> None:
    url = f"ws://127.0.0.1:{port}/api/v1/events/ws"
    async with websockets.connect(url, additional_headers={"Cookie": cookie}) as ws:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            print(message, flush=True)


def main() -> None:
    port, tenant, user, password, seconds = sys.argv[1:6]
    cookie = _login(int(port), tenant, user, password)
    asyncio.run(_listen(int(port), cookie, float(seconds)))


if __name__ == "__main__":
    main()
