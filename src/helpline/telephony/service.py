"""The SIP service of a Helpline node: listeners plus the sans-IO core that answers.

Reported on ``/api/health`` as ``sip``: where it listens and whether it is up.
"""

from __future__ import annotations

import logging

from helpline.runtime import Runtime
from helpline.telephony.core import SipCore
from helpline.telephony.transport import Listeners

log = logging.getLogger(__name__)


class SipService:
    """UDP and TCP listeners on the configured SIP address, driving ``SipCore``."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.core = SipCore()
        self.listeners = Listeners(self.core, settings.sip_host, settings.sip_port)
        self.running = False

    async def start(self) -> None:
        """Bind the listeners."""
        await self.listeners.start()
        self.running = True
        log.info("SIP listening on %s:%d (UDP, TCP)", self.listeners.host, self.listeners.port)

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
            "transports": ["UDP", "TCP"] if self.running else [],
            "messages": self.core.counters.received,
            "refused": self.core.edge.counters(),
        }
