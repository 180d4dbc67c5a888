"""rtpengine's DTMF log (``--dtmf-log-dest``): the digits phones key inside its bridges.

Theory of operation
-------------------
While two phones are bridged in rtpengine their RTP never reaches the embedded engine,
so its RFC 4733 decoder cannot report their digits. rtpengine decodes telephone-events
itself and, started with ``--dtmf-log-dest=HOST:PORT``, sends one UDP datagram per
finished key press to that address, a JSON object such as::

    {"callid": "hl-1a2b-7", "source_tag": "w0.e1", "tags": [...], "type": "DTMF",
     "timestamp": 1795487833, "source_ip": "127.0.0.1", "event": 5, "duration": 100,
     "volume": 10}

``source_tag`` is the monologue that sent the event, which in the hybrid backend is the
endpoint id of the phone that pressed the key. :func:`parse_dtmf_log` is the pure part;
:class:`DtmfLogListener` is the UDP socket Helpline listens on. The backend decides which
records are news (those of endpoints bridged in rtpengine at the time): the engine
reports the others itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from helpline.media.dtmf import KEYS

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DtmfLog:
    """One key press rtpengine decoded."""

    call_id: str
    source_tag: str
    digit: str
    duration_ms: float


def parse_dtmf_log(datagram: bytes) -> DtmfLog | None:
    """The key press of one DTMF log datagram; None for anything else (other types,
    malformed JSON, unknown event codes)."""
    try:
        record = json.loads(datagram)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("type", "DTMF") != "DTMF":
        return None
    call_id, tag, event = record.get("callid"), record.get("source_tag"), record.get("event")
    duration = record.get("duration", 0)
    if not isinstance(call_id, str) or not isinstance(tag, str):
        return None
    if not isinstance(event, int) or not 0 <= event < len(KEYS):
        return None
    if not isinstance(duration, int | float):
        duration = 0
    return DtmfLog(call_id, tag, KEYS[event], float(duration))


class DtmfLogListener(asyncio.DatagramProtocol):
    """Receives rtpengine's DTMF log datagrams and hands each key press to ``handler``."""

    def __init__(self, handler: Callable[[DtmfLog], None]) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, address: str, handler: Callable[[DtmfLog], None]) -> DtmfLogListener:
        """Listen on ``host:port`` (rtpengine's ``--dtmf-log-dest``)."""
        host, _, port = address.rpartition(":")
        listener = cls(handler)
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: listener, local_addr=(host, int(port))
        )
        return listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    @property
    def address(self) -> str:
        """``host:port`` actually bound (for ``--dtmf-log-dest``)."""
        assert self.transport is not None
        host, port = cast(tuple[str, int], self.transport.get_extra_info("sockname"))[:2]
        return f"{host}:{port}"

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        record = parse_dtmf_log(data)
        if record is None:
            log.debug("ignored a DTMF log datagram from %s: %r", addr, data[:200])
            return
        self.handler(record)

    def close(self) -> None:
        """Stop listening."""
        if self.transport is not None:
            self.transport.close()
            self.transport = None
