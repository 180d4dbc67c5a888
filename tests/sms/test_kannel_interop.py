"""SMS through the real Kannel: bearerbox, smsbox and its fake SMSC ``fakesmsc``.

Helpline's HTTP server runs on a loopback port; bearerbox, smsbox and fakesmsc run
with a generated configuration on other loopback ports. An agent's message goes out
through smsbox's ``/cgi-bin/sendsms`` and arrives at fakesmsc (which prints it). Kannel's
fake SMSC driver answers every message it hands to fakesmsc with an "SMSC accepted"
report and, since ``dlr-mask`` asks for final reports, a "delivered" one: both come
back to Helpline's ``dlr-url``. A message typed into fakesmsc goes to Helpline through
the ``sms-service`` ``get-url`` and lands on the customer who sent it.

Debian packages ``kannel`` (bearerbox, smsbox) and ``kannel-extras`` (fakesmsc); the test
is skipped when they are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

import pytest
import uvicorn

from helpline.api.app import create_app
from helpline.core.events import Event, Subscription
from helpline.runtime import Runtime
from helpline.sms.sender import SmsSender
from helpline.sms.service import SmsReceived, SmsStatusChanged
from tests.sms.helpers import Desk, customer, kannel_gateway, make_desk

pytestmark = pytest.mark.interop

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
TIMEOUT = 20.0


class Peer:
    """A running program whose output lines can be awaited."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.lines: list[str] = []
        self._new = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, name: str, *args: str, stdin: bool = False) -> Peer:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(name, process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self._new.set()
        self._new.set()

    async def expect(self, pattern: str, *, after: int = 0) -> re.Match[str]:
        """The first line from index ``after`` on matching ``pattern``, waiting for it."""
        wanted = re.compile(pattern)
        seen = after

        async def wait() -> re.Match[str]:
            nonlocal seen
            while True:
                for line in self.lines[seen:]:
                    seen += 1
                    if found := wanted.search(line):
                        return found
                if self.process.returncode is not None and self._reader.done():
                    raise AssertionError(f"{self.name} exited: {self.lines[-20:]}")
                self._new.clear()
                await self._new.wait()

        try:
            return await asyncio.wait_for(wait(), TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"{self.name} never said {pattern!r}: {self.lines[-20:]}"
            ) from None

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _config(path: Path, *, admin: int, box: int, smsc: int, sendsms: int, get_url: str) -> None:
    path.write_text(
        f"""group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = interop-admin
admin-allow-ip = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
dlr-storage = internal
log-file = "{path.parent / "bearerbox.log"}"

group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{path.parent / "smsbox.log"}"

group = sendsms-user
username = helpline
password = kannel-pw

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{get_url}"
"""
    )


@pytest.fixture
def kannel_installed() -> None:
    missing = [str(p) for p in (BEARERBOX, SMSBOX, FAKESMSC) if not p.exists()]
    if missing:
        pytest.skip(f"Kannel is not installed (Debian packages kannel, kannel-extras): {missing}")


@pytest.fixture
async def helpline_http(runtime: Runtime) -> AsyncIterator[str]:
    """Helpline's HTTP server on a loopback port; its URL is the public URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    runtime.settings = runtime.settings.model_copy(update={"public_url": url})
    config = uvicorn.Config(create_app(runtime), lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    yield url
    server.should_exit = True
    await serving
    sock.close()


@pytest.fixture
def sms_events(runtime: Runtime) -> Iterator[Subscription]:
    sub = runtime.bus.subscribe(lambda e: isinstance(e, SmsStatusChanged | SmsReceived))
    yield sub
    sub.close()


async def _event(sub: Subscription, wanted: type[Event], **fields: object) -> Event:
    async def wait() -> Event:
        while True:
            event = await sub.get()
            if isinstance(event, wanted) and all(getattr(event, k) == v for k, v in fields.items()):
                return event

    return await asyncio.wait_for(wait(), TIMEOUT)


async def test_a_message_reaches_fakesmsc_its_reports_come_back_and_so_does_a_reply(
    runtime: Runtime,
    tmp_path: Path,
    kannel_installed: None,
    helpline_http: str,
    sms_events: Subscription,
) -> None:
    desk: Desk = await make_desk(runtime)
    admin_port, box_port, smsc_port, sendsms_port = _free_ports(4)
    gateway = await kannel_gateway(
        desk,
        settings={
            "sendsms_url": f"http://127.0.0.1:{sendsms_port}/cgi-bin/sendsms",
            "username": "helpline",
        },
        password="kannel-pw",
    )
    get_url = gateway["callback"]["kannel_get_url"]
    assert get_url.startswith(f"{helpline_http}/api/sms/kannel/")
    conf = tmp_path / "kannel.conf"
    _config(
        conf, admin=admin_port, box=box_port, smsc=smsc_port, sendsms=sendsms_port, get_url=get_url
    )
    peers: list[Peer] = []
    sender = SmsSender(runtime, reminders=False)
    try:
        bearerbox = await Peer.start("bearerbox", str(BEARERBOX), "-v", "1", str(conf))
        peers.append(bearerbox)
        await bearerbox.expect("Start-up done")
        smsbox = await Peer.start("smsbox", str(SMSBOX), "-v", "1", str(conf))
        peers.append(smsbox)
        await smsbox.expect("Connected to bearerbox")
        fakesmsc = await Peer.start(
            "fakesmsc", str(FAKESMSC), "-H", "127.0.0.1", "-r", str(smsc_port), stdin=True
        )
        peers.append(fakesmsc)
        await bearerbox.expect("Fakesmsc client connected")

        kim = await customer(desk, "김민수", "010-1234-5678", language="ko")
        text = "상담 예약: 월요일 10시"
        r = await desk.agent.post("/api/v1/sms/messages", json={"customer_id": kim, "text": text})
        assert r.status_code == 202, r.text
        message_id = r.json()["id"]
        assert await sender.deliver_due() == 1

        got = await fakesmsc.expect(r"Got message \d+: <1588 \+821012345678 ucs-2 (\S+)>")
        assert unquote_to_bytes(got.group(1).replace("+", "%20")).decode("utf-16-be") == text
        await _event(sms_events, SmsStatusChanged, message_id=message_id, status="delivered")
        shown = (await desk.agent.get(f"/api/v1/sms/messages/{message_id}")).json()
        assert shown["status"] == "delivered"
        # smsbox posts the two reports concurrently: either may be stored first, and
        # the "accepted" one never moves the message back.
        assert sorted(x["code"] for x in shown["reports"]) == ["delivered", "smsc_accepted"]

        reply = "네, 확인했습니다"
        fakesmsc.send(f"+821012345678 1588 ucs2 {quote(reply.encode('utf-16-be'))}")
        received = await _event(sms_events, SmsReceived)
        assert isinstance(received, SmsReceived) and received.customer_id == kim
        inbound = (await desk.agent.get(f"/api/v1/sms/messages/{received.message_id}")).json()
        assert inbound["body"] == reply and inbound["number"] == "+821012345678"
        assert inbound["own_number"] == "1588" and inbound["direction"] == "inbound"

        fakesmsc.send("+14155550123 1588 text call me")
        stranger = await _event(sms_events, SmsReceived)
        assert isinstance(stranger, SmsReceived) and stranger.customer_id is None
    finally:
        await sender.aclose()
        for peer in reversed(peers):
            await peer.stop()
        await desk.aclose()
