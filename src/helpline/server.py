"""``helpline serve``: one process runs HTTP (API and pages), SIP, media and jobs.

Start-up order: ports are checked, the database is reached and migrated, first-start
accounts and the demo are created, then the listeners start. SIGINT/SIGTERM stop the
HTTP server gracefully (requests in flight finish), then the SIP service, then the
database pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from helpline import bootstrap
from helpline.api.app import create_app
from helpline.calls import service as calls
from helpline.cluster.node import Cluster
from helpline.config import Settings
from helpline.core.heap import settle_heap
from helpline.db.base import utcnow
from helpline.db.engine import ping
from helpline.db.migrate import upgrade
from helpline.mailsettings import service as mail_settings
from helpline.media.engine import EngineConfig, create_backend
from helpline.media.rtpengine import create_hybrid, recover_recordings
from helpline.recordings import service as recordings
from helpline.runtime import Runtime
from helpline.sms.sender import SmsSender
from helpline.surveys.dispatch import SurveyLinkSender
from helpline.telephony.service import SipService
from helpline.tenants import service as tenants
from helpline.voicemail import service as voicemail
from helpline.voicemail.notify import SmtpConfig
from helpline.webhooks.delivery import WebhookBridge, WebhookSender
from helpline.workorders.notify import WorkOrderNotifier

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A reason ``serve`` cannot start, said in one line."""


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port the server will bind."""

    what: str
    host: str
    port: int
    kind: socket.SocketKind


def _ports(settings: Settings) -> list[PortSpec]:
    return [
        PortSpec("HTTP", settings.http_host, settings.http_port, socket.SOCK_STREAM),
        PortSpec("SIP/UDP", settings.sip_host, settings.sip_port, socket.SOCK_DGRAM),
        PortSpec("SIP/TCP", settings.sip_host, settings.sip_port, socket.SOCK_STREAM),
        PortSpec("SIP/TLS", settings.sip_host, settings.sip_tls_port, socket.SOCK_STREAM),
        PortSpec("SIP/WS", settings.sip_host, settings.sip_ws_port, socket.SOCK_STREAM),
    ]


def check_ports(settings: Settings) -> None:
    """Raise ``StartupError`` naming the first configured port that is taken."""
    for spec in _ports(settings):
        if spec.port == 0:
            continue
        family = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
        with socket.socket(family, spec.kind) as sock:
            if spec.kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((spec.host, spec.port))
            except OSError as exc:
                reason = "is already in use" if exc.errno == errno.EADDRINUSE else str(exc)
                raise StartupError(f"{spec.what} port {spec.host}:{spec.port} {reason}") from exc


async def prepare(runtime: Runtime, *, report: Callable[[str], None]) -> None:
    """Reach and migrate the database, create first-start accounts and the demo."""
    try:
        await ping(runtime.engine)
    except (SQLAlchemyError, OSError) as exc:
        url = runtime.engine.url.render_as_string(hide_password=True)
        raise StartupError(
            f"database {url} is unreachable: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    await upgrade(runtime.engine)
    async with runtime.unit_of_work() as session:
        created = await bootstrap.ensure_platform_admin(session, runtime.settings)
        if runtime.settings.demo:
            created.lines += (await bootstrap.load_demo(session, runtime.settings)).lines
    for line in created.lines:
        report(f"generated password, shown once: {line}")
    await recover_node(runtime, report=report)


async def recover_node(runtime: Runtime, *, report: Callable[[str], None]) -> None:
    """Undo what a crash of this node left: its line leases, its unfinished recordings
    and voicemails, its open call records."""
    settings = runtime.settings
    if settings.media_backend == "rtpengine":  # their WAVs first, settled below
        await recover_recordings(
            settings.rtpengine_recording_dir or settings.data_dir / "rtpengine",
            node=settings.node_name,
            ng_address=settings.rtpengine_ng,
        )
    async with runtime.unit_of_work() as session:
        freed = await tenants.release_node_leases(session, node=settings.node_name)
        repaired = await recordings.repair_unfinished(
            session, data_dir=settings.data_dir, node=settings.node_name
        )
        repaired += await voicemail.repair_unfinished(
            session, data_dir=settings.data_dir, node=settings.node_name
        )
        closed = await calls.close_unfinished(session, node=settings.node_name, now=utcnow())
    if freed:
        report(f"freed {freed} line lease(s) left by an earlier run of {settings.node_name}")
    if repaired:
        report(f"settled {repaired} recording(s)/voicemail(s) cut off by an earlier run")
    if closed:
        report(f"closed {closed} call record(s) cut off by an earlier run")


class _Server(uvicorn.Server):
    """Uvicorn, announcing the node only once its HTTP socket accepts connections."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            settle_heap()
            self.announce()


async def serve(settings: Settings, *, report: Callable[[str], None]) -> None:
    """Run every service until SIGINT or SIGTERM."""
    check_ports(settings)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    runtime = Runtime.build(settings)
    cluster: Cluster | None = None
    try:
        await prepare(runtime, report=report)
        if stopping.is_set():
            return
        cluster = Cluster(runtime)
        await cluster.start()
        media = create_backend(
            EngineConfig(
                bind_address=settings.sip_host,
                port_min=settings.rtp_port_min,
                port_max=settings.rtp_port_max,
                rtp_timeout=settings.rtp_timeout,
                relay=settings.media_relay,
            ),
            workers=settings.media_workers,
        )
        if settings.media_backend == "rtpengine":
            media = create_hybrid(
                media,
                settings.rtpengine_ng,
                recording_dir=settings.rtpengine_recording_dir or settings.data_dir / "rtpengine",
                rtp_timeout=settings.rtp_timeout,
                dtmf_log=settings.rtpengine_dtmf_log or None,
                node=settings.node_name,
            )
        await media.start()
        sip = SipService(runtime, media)
        await sip.start()
        runtime.listeners["sip"] = sip
        node_smtp = SmtpConfig.from_settings(settings)
        sender = WebhookSender(runtime)
        sms = SmsSender(runtime)
        background = [
            loop.create_task(sender.run()),
            loop.create_task(sms.run()),
            loop.create_task(SurveyLinkSender(runtime).run()),
            loop.create_task(WebhookBridge(runtime).run()),
            loop.create_task(
                WorkOrderNotifier(
                    node_smtp, resolve=mail_settings.resolver(runtime, node_smtp)
                ).run(runtime.bus)
            ),
        ]
        config = uvicorn.Config(
            create_app(runtime),
            host=settings.http_host,
            port=settings.http_port,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        server = _Server(
            config,
            lambda: report(
                f"Helpline on http://{settings.http_host}:{settings.http_port}/ "
                f"(SIP {settings.sip_host}:{settings.sip_port} UDP/TCP, "
                f"TLS {settings.sip_tls_port or 'off'}, WS {settings.sip_ws_port or 'off'})"
            ),
        )
        try:
            await server.serve()
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await sender.aclose()
            await sms.aclose()
            await sip.stop()
            await media.close()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if cluster is not None:
            await cluster.stop()
        await runtime.close()
    log.info("stopped")
