"""The SIP service of a Helpline node: listeners, the sans-IO core, timers, call control.

The listeners hand every datagram and stream chunk to :class:`SipCore`; what it returns
is sent at once, and the UA events it queued are dispatched to :class:`CallControl`.
One task sleeps until the core's next timer (or until new input may have moved it) and
fires it. Media comes from the backend the node was given. Reported on ``/api/health``
as ``sip``: where it listens, what the edge refused and where each trunk's registration
stands (:mod:`helpline.telephony.trunk_registrations`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from sqlalchemy.exc import SQLAlchemyError

from helpline.media.backend import MediaBackend, WavSource
from helpline.prompts.library import SYSTEM_DIR
from helpline.runtime import Runtime
from helpline.sip.ua import LocalAddress
from helpline.telephony.abuse import Edge
from helpline.telephony.calls import CallControl
from helpline.telephony.commands import CallCommands
from helpline.telephony.core import SipCore, StreamSession
from helpline.telephony.moh import DEFAULT_MOH
from helpline.telephony.tls import ensure_self_signed, server_context
from helpline.telephony.transport import ListenConfig, Listeners, client_context
from helpline.telephony.trunk_registrations import TrunkRegistrations, database_loader
from helpline.telephony.wire import Address, Outgoing, Transport

log = logging.getLogger(__name__)


class _Stream:
    """A stream session whose input also wakes the service."""

    def __init__(self, service: SipService, session: StreamSession) -> None:
        self.service = service
        self.session = session

    def feed(self, data: bytes, now: float) -> list[Outgoing]:
        out = self.session.feed(data, now)
        self.service.after_input()
        return out

    @property
    def closed(self) -> bool:
        return self.session.closed


class SipService:
    """SIP listeners (UDP, TCP, TLS, WebSocket) driving the core and call control."""

    def __init__(self, runtime: Runtime, media: MediaBackend) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.media = media
        local = {
            "UDP": LocalAddress(settings.sip_host, settings.sip_port),
            "TCP": LocalAddress(settings.sip_host, settings.sip_port),
            "TLS": LocalAddress(settings.sip_host, settings.sip_tls_port),
            "WS": LocalAddress(settings.sip_host, settings.sip_ws_port),
            "WSS": LocalAddress(settings.sip_host, settings.sip_ws_port),
        }
        self.core = SipCore(local, Edge(trusted=Edge.networks(settings.sip_trusted_networks)))
        tls = None
        if settings.sip_tls_port or settings.sip_ws_port:
            cert, key = settings.sip_tls_cert, settings.sip_tls_key
            if cert is None or key is None:
                cert, key = ensure_self_signed(settings.data_dir / "tls", settings.sip_host)
            tls = server_context(cert, key)
        config = ListenConfig(
            host=settings.sip_host,
            port=settings.sip_port,
            tls_port=settings.sip_tls_port,
            ws_port=settings.sip_ws_port,
            tls=tls,
            client_tls=client_context(settings.sip_tls_ca),
        )
        self.listeners = Listeners(self, config, failed=self.send_failed)
        self.calls: CallControl | None = None
        #: CTI commands on the live calls (the REST API's way in).
        self.commands: CallCommands | None = None
        self.trunks: TrunkRegistrations | None = None
        self.running = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- SipHandler, for the listeners --------------------------------------------------

    def on_datagram(
        self, data: bytes, source: Address, transport: Transport, now: float
    ) -> list[Outgoing]:
        """Hand a datagram to the core; dispatch what it raised."""
        out = self.core.on_datagram(data, source, transport, now)
        self.after_input()
        return out

    def open_stream(self, source: Address, transport: Transport) -> _Stream:
        """A stream session for a new connection."""
        return _Stream(self, self.core.open_stream(source, transport))

    def send_failed(self, out: Outgoing) -> None:
        """A message the listeners could not deliver: its transaction fails at once."""
        for again in self.core.send_failed(out, asyncio.get_running_loop().time()):
            self.listeners.send(again)
        self.after_input()

    def after_input(self) -> None:
        """Dispatch queued call events and let the timer task re-plan."""
        if self.calls is not None:
            while (event := self.core.next_event()) is not None:
                self.calls.dispatch(event)
        self._wake.set()

    def flush(self) -> None:
        """Send whatever the core has queued (call control calls this after acting)."""
        loop = asyncio.get_running_loop()
        for out in self.core.outgoing(loop.time()):
            self.listeners.send(out)
        self.after_input()

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the listeners and start timers and call control."""
        self.calls = CallControl(
            self.runtime,
            self.core.ua,
            self.media,
            self.core.edge,
            self.flush,
            registrar_secret=secrets.token_bytes(32),
        )
        self.commands = CallCommands(self.calls)
        self.calls.extensions = self.commands
        loop = asyncio.get_running_loop()
        self.trunks = TrunkRegistrations(
            ua=self.core.ua,
            load=database_loader(self.runtime.sessions),
            flush=self.flush,
            clock=loop.time,
            reload_seconds=self.runtime.settings.trunk_reload_seconds,
        )
        self.calls.answers = self.trunks.on_answer
        await self.media.define_moh(
            DEFAULT_MOH, [WavSource(str(SYSTEM_DIR / "common" / "moh" / f"{DEFAULT_MOH}.wav"))]
        )
        await self.listeners.start()
        self.running = True
        self.trunks.start()
        self._tasks = [loop.create_task(self._timers()), loop.create_task(self._media_events())]
        if self.runtime.settings.sip_qualify_seconds > 0:
            self._tasks.append(loop.create_task(self._qualify()))
        log.info(
            "SIP listening on %s:%d (%s)",
            self.listeners.host,
            self.listeners.port,
            ", ".join(self.listeners.transports),
        )

    async def stop(self) -> None:
        """Unregister the trunks, end calls with BYE, then close the listeners."""
        if self.trunks is not None:
            await self.trunks.close()
        if self.calls is not None:
            await self.calls.close()
        self.running = False
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.listeners.stop()

    async def _timers(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            deadline = self.core.get_timer()
            self._wake.clear()
            alarm = None if deadline is None else loop.call_at(deadline, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                if alarm is not None:
                    alarm.cancel()
            now = loop.time()
            if deadline is not None and now >= deadline:
                for out in self.core.handle_timer(now):
                    self.listeners.send(out)
                if self.calls is not None:
                    while (event := self.core.next_event()) is not None:
                        self.calls.dispatch(event)

    async def _qualify(self) -> None:
        interval = self.runtime.settings.sip_qualify_seconds
        while True:
            await asyncio.sleep(interval)
            if self.calls is not None:
                try:
                    await self.calls.phones.qualify()
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("qualifying phones failed: %s", exc)

    async def _media_events(self) -> None:
        async for event in self.media.events():
            if self.calls is not None:
                self.calls.on_media_event(event)

    def status(self) -> dict[str, object]:
        """Listener state for the health endpoint."""
        return {
            "ok": self.running,
            "host": self.listeners.host,
            "port": self.listeners.port,
            "transports": self.listeners.transports if self.running else [],
            "tls_port": self.listeners.config.tls_port,
            "ws_port": self.listeners.config.ws_port,
            "messages": self.core.counters.received,
            "requests": self.core.counters.requests,
            "responses": self.core.counters.responses,
            "refused": self.core.edge.counters(),
            "dialogs": self.core.ua.dialog_count,
            "calls": len(self.calls.calls) if self.calls is not None else 0,
            "media": {
                "endpoints": self.calls.endpoints_in_use if self.calls else 0,
                "allocated": self.calls.endpoints_allocated if self.calls else 0,
                "webrtc_legs": self.calls.webrtc.open_legs if self.calls else 0,
            },
            "phones": {
                "reachable": sum(self.calls.phones.reachable.values()) if self.calls else 0,
                "unreachable": sum(not v for v in self.calls.phones.reachable.values())
                if self.calls
                else 0,
            },
            "trunks": self.trunks.status() if self.trunks is not None else [],
        }
