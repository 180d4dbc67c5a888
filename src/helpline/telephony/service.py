"""The SIP service of a Helpline node: listeners plus the sans-IO core that answers.

Reported on ``/api/health`` as ``sip``: where it listens and whether it is up.
"""

from __future__ import annotations

import logging

from helpline.runtime import Runtime
from helpline.telephony.core import SipCore
from helpline.telephony.tls import ensure_self_signed, server_context
from helpline.telephony.transport import ListenConfig, Listeners

log = logging.getLogger(__name__)


class SipService:
    """SIP listeners (UDP, TCP, TLS, WebSocket) on the configured address, driving ``SipCore``."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.core = SipCore()
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
        )
        self.listeners = Listeners(self.core, config)
        self.running = False

    async def start(self) -> None:
        """Bind the listeners."""
        await self.listeners.start()
        self.running = True
        log.info(
            "SIP listening on %s:%d (%s)",
            self.listeners.host,
            self.listeners.port,
            ", ".join(self.listeners.transports),
        )

    async def stop(self) -> None:
        """Close the listeners."""
        self.running = False
        await self.listeners.stop()

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
            "refused": self.core.edge.counters(),
        }
