"""An SMPP 3.4 client (ESME) on top of ``smpplib``: submit_sm out, deliver_sm in.

Theory of operation (SMPP v3.4 §2.2 sessions, §4.4 submit_sm, §4.6 deliver_sm,
Appendix B delivery receipts): one :class:`SmppTransport` keeps one
``bind_transceiver`` session with the SMSC, so messages go out and delivery receipts and
inbound messages come back on the same connection. ``smpplib`` is blocking, so the
session lives in a reader thread that reads PDU after PDU (answering ``enquire_link``
and sending its own when the line is quiet); every write goes through one lock.

* :meth:`SmppTransport.submit` sends ``submit_sm`` (``registered_delivery=1``: a receipt
  on the final outcome) and waits for the ``submit_sm_resp`` with the same sequence
  number; its ``message_id`` is the id receipts will name. GSM text goes as unpacked
  septets with ``data_coding=0``, anything else as UCS-2 (``data_coding=8``). A long
  text goes as several ``submit_sm`` with a concatenation header (``esm_class`` UDHI);
  the first part's id names the message and every part's id is given back too, so that
  each part's receipt counts (:func:`helpline.sms.service.record_report`: delivered
  when every part is, failed when any part fails).
* A ``deliver_sm`` whose ``esm_class`` says "SMSC delivery receipt" is a receipt: the id
  comes from the ``receipted_message_id`` TLV or the ``id:`` of the receipt text, the
  outcome from the ``message_state`` TLV or the ``stat:`` field. Any other
  ``deliver_sm`` is an inbound message; the parts of a concatenated one (user data
  header or ``sar_*`` TLVs) are put back together first (:mod:`helpline.sms.concat`,
  in the reader thread; a set given up after ``reassembly_timeout`` seconds is stored
  as far as it got). Both go to the :class:`IncomingSink` on the event loop; the SMSC
  gets ``deliver_sm_resp`` at once.
* When the connection drops, waiting submits fail (and are retried by the sender);
  :meth:`SmppTransport.ensure` binds again, no sooner than :data:`BIND_RETRY_SECONDS`
  after a failed bind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from typing import Any, Final

import smpplib.client  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

from helpline.sms.concat import REASSEMBLY_TIMEOUT, Assembled, PartInfo, Reassembler, split_udh
from helpline.sms.encoding import decode_ucs2, gsm_decode, segments
from helpline.sms.models import Coding, MessageStatus
from helpline.sms.schemas import SmppSettings
from helpline.sms.transport import (
    Inbound,
    IncomingSink,
    Outgoing,
    Report,
    Submitted,
    TransportError,
)

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT: Final = 10.0
BIND_TIMEOUT: Final = 10.0
"""Seconds to connect and bind; then the socket waits ``enquire_link_seconds``."""
BIND_RETRY_SECONDS: Final = 30.0
"""After a failed bind, how long before trying again."""
DATA_CODING_DEFAULT: Final = 0
DATA_CODING_UCS2: Final = 8
ESM_UDHI: Final = 0x40
ESM_RECEIPT: Final = 0x04
ESM_TYPE_MASK: Final = 0x3C
#: message_state values (§5.2.28) and receipt ``stat`` words (Appendix B).
MESSAGE_STATES: Final[dict[int, MessageStatus]] = {
    1: MessageStatus.SENT,
    2: MessageStatus.DELIVERED,
    3: MessageStatus.FAILED,
    4: MessageStatus.FAILED,
    5: MessageStatus.FAILED,
    6: MessageStatus.SENT,
    7: MessageStatus.SENT,
    8: MessageStatus.FAILED,
}
STATE_NAMES: Final[dict[int, str]] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
STAT_WORDS: Final[dict[str, MessageStatus]] = {
    name: MESSAGE_STATES[code] for code, name in STATE_NAMES.items()
}
#: submit_sm_resp statuses worth trying again: throttled, queue full, system error.
TEMPORARY_STATUSES: Final = frozenset({0x08, 0x14, 0x58})
_SESSION_ERRORS: Final = (
    smpplib.exceptions.ConnectionError,
    smpplib.exceptions.PDUError,
    smpplib.exceptions.UnknownCommandError,
    OSError,
)
_RECEIPT_FIELD = re.compile(r"(\w+(?: date)?):(\S*)")


def parse_receipt(text: str) -> dict[str, str]:
    """The fields of an SMSC delivery receipt text (``id:... stat:DELIVRD ...``)."""
    head = text.split(" text:", 1)[0] if " text:" in text else text
    return {key.lower(): value for key, value in _RECEIPT_FIELD.findall(head)}


def _ton_npi(address: str, ton: int | None, npi: int | None) -> tuple[int, int, str]:
    digits = address.lstrip("+")
    if ton is None:
        if address.startswith("+"):
            ton = 1
        elif not digits.isdigit():
            ton = 5
        else:
            ton = 0
    if npi is None:
        npi = 0 if ton == 5 else 1
    return ton, npi, digits if ton != 5 else address


def submit_pdus(message: Outgoing, settings: SmppSettings) -> list[dict[str, Any]]:
    """The ``submit_sm`` parameters of each part of ``message``."""
    src_ton, src_npi, source = _ton_npi(message.sender, settings.source_ton, settings.source_npi)
    chunks = segments(message.text, message.coding)
    coding = DATA_CODING_UCS2 if message.coding is Coding.UCS2 else DATA_CODING_DEFAULT
    base: dict[str, Any] = {
        "source_addr_ton": src_ton,
        "source_addr_npi": src_npi,
        "source_addr": source,
        "dest_addr_ton": settings.dest_ton,
        "dest_addr_npi": settings.dest_npi,
        "destination_addr": message.to.lstrip("+"),
        "data_coding": coding,
        "registered_delivery": 1,
    }
    if len(chunks) == 1:
        return [{**base, "esm_class": 0, "short_message": chunks[0]}]
    ref = random.randrange(256)
    return [
        {
            **base,
            "esm_class": ESM_UDHI,
            "short_message": bytes((5, 0, 3, ref, len(chunks), seq)) + chunk,
        }
        for seq, chunk in enumerate(chunks, start=1)
    ]


def read_part(pdu: Any) -> tuple[PartInfo | None, bytes]:
    """Where an inbound ``deliver_sm`` belongs when it is part of a longer message (its
    user data header, else its ``sar_*`` TLVs; None for a whole message) and its text
    octets without the header."""
    data: bytes = pdu.short_message or pdu.message_payload or b""
    if isinstance(data, str):
        data = data.encode("latin-1")
    info = None
    if (pdu.esm_class or 0) & ESM_UDHI and data:
        info, data = split_udh(data)
    total = getattr(pdu, "sar_total_segments", None)
    if info is None and total and getattr(pdu, "sar_msg_ref_num", None) is not None:
        info = PartInfo(int(pdu.sar_msg_ref_num), int(total), int(pdu.sar_segment_seqnum or 0))
    return info, data


def decode_text(data: bytes, data_coding: int) -> tuple[str, Coding]:
    """The text of a message's octets in ``data_coding``."""
    if data_coding == DATA_CODING_UCS2:
        return decode_ucs2(data), Coding.UCS2
    if data_coding in (1, 3):
        return data.decode("latin-1"), Coding.GSM7
    return gsm_decode(data), Coding.GSM7


def _str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


def read_deliver_sm(gateway_id: int, pdu: Any) -> Report | Inbound | None:
    """What a ``deliver_sm`` says: a receipt, an inbound message, or nothing usable."""
    esm = pdu.esm_class or 0
    if esm & ESM_TYPE_MASK == ESM_RECEIPT:
        raw = pdu.short_message or pdu.message_payload or b""
        text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        fields = parse_receipt(text)
        remote_id = _str(pdu.receipted_message_id) or fields.get("id", "")
        state = pdu.message_state
        if state in MESSAGE_STATES:
            outcome, code = MESSAGE_STATES[state], STATE_NAMES[state]
        else:
            code = fields.get("stat", "").upper()
            found = STAT_WORDS.get(code)
            if found is None:
                return None
            outcome = found
        if not remote_id:
            return None
        return Report(gateway_id, remote_id, outcome, code, fields.get("err", ""))
    _info, data = read_part(pdu)
    text, coding = decode_text(data, pdu.data_coding or 0)
    return Inbound(
        gateway_id=gateway_id,
        sender=_ton_plus(_str(pdu.source_addr), pdu.source_addr_ton),
        recipient=_str(pdu.destination_addr),
        text=text,
        coding=coding,
    )


def _ton_plus(address: str, ton: int | None) -> str:
    return f"+{address}" if ton == 1 and address.isdigit() else address


class _Client(smpplib.client.Client):  # type: ignore[misc]
    """smpplib's client with every write behind one lock (two threads write)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.write_lock = threading.RLock()

    def send_pdu(self, p: Any) -> bool:
        with self.write_lock:
            result: bool = super().send_pdu(p)
            return result

    def unbind_quietly(self) -> None:
        """Send ``unbind`` without waiting: the reader thread takes the answer."""
        self.send_pdu(smpplib.smpp.make_pdu("unbind", client=self))

    def set_read_timeout(self, seconds: float) -> None:
        """How long a read waits before the reader sends ``enquire_link``."""
        if self._socket is not None:
            self._socket.settimeout(seconds)

    def shutdown(self) -> None:
        """Shut the socket down, waking a reader blocked on it."""
        if self._socket is not None:
            self._socket.shutdown(socket.SHUT_RDWR)


class SmppTransport:
    """One transceiver session with an SMSC, bound on demand."""

    def __init__(
        self,
        *,
        gateway_id: int,
        settings: SmppSettings,
        password: str,
        sink: IncomingSink,
        response_timeout: float = RESPONSE_TIMEOUT,
        reassembly_timeout: float = REASSEMBLY_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway_id = gateway_id
        self.settings = settings
        self.password = password
        self.sink = sink
        self.response_timeout = response_timeout
        self.clock = clock
        self._parts = Reassembler(timeout=reassembly_timeout)
        """Inbound parts waiting for the rest (used by the reader thread only)."""
        self._client: _Client | None = None
        self._reader: threading.Thread | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._pending_lock = threading.Lock()
        self._bind_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._retry_at = 0.0

    @property
    def bound(self) -> bool:
        """Whether the session is up."""
        return self._client is not None and self._reader is not None and self._reader.is_alive()

    async def ensure(self) -> None:
        """Bind unless bound; :class:`TransportError` if the SMSC cannot be reached."""
        async with self._bind_lock:
            if self.bound:
                return
            await self._drop()
            self._loop = asyncio.get_running_loop()
            if self._loop.time() < self._retry_at:
                raise TransportError("SMPP bind failed recently; waiting", permanent=False)
            self._closing = False
            client = _Client(
                self.settings.host,
                self.settings.port,
                timeout=BIND_TIMEOUT,
                allow_unknown_opt_params=True,
                logger_name=f"helpline.sms.smpp.{self.gateway_id}",
            )
            client.set_message_sent_handler(self._on_submit_resp)
            client.set_message_received_handler(self._on_deliver)
            client.set_error_pdu_handler(self._on_error_pdu)
            try:
                await asyncio.to_thread(self._bind, client)
            except _SESSION_ERRORS as exc:
                with contextlib.suppress(OSError):
                    client.disconnect()
                self._retry_at = self._loop.time() + BIND_RETRY_SECONDS
                raise TransportError(f"SMPP bind failed: {exc!r}", permanent=False) from exc
            self._client = client
            self._reader = threading.Thread(
                target=self._read, args=(client,), name=f"smpp-{self.gateway_id}", daemon=True
            )
            self._reader.start()
            log.info("SMPP gateway %d bound to %s", self.gateway_id, self.settings.host)

    def _bind(self, client: _Client) -> None:
        client.connect()
        client.bind_transceiver(
            system_id=self.settings.system_id,
            password=self.password,
            system_type=self.settings.system_type,
        )
        client.set_read_timeout(self.settings.enquire_link_seconds)

    def _read(self, client: _Client) -> None:
        try:
            while not self._closing:
                client.read_once(auto_send_enquire_link=True)
                for late in self._parts.expire(now=self.clock()):
                    self._store_assembled(late)
        except _SESSION_ERRORS as exc:
            if not self._closing:
                log.warning("SMPP gateway %d: session lost: %r", self.gateway_id, exc)
        finally:
            self._fail_pending("the SMPP session ended")

    def _call_soon(self, callback: Callable[..., object], *args: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)

    def _fail_pending(self, reason: str) -> None:
        with self._pending_lock:
            waiting = list(self._pending.values())
            self._pending.clear()
        for future in waiting:
            self._call_soon(_settle, future, TransportError(reason, permanent=False))

    def _on_submit_resp(self, pdu: Any, **_kwargs: Any) -> None:
        with self._pending_lock:
            future = self._pending.pop(pdu.sequence, None)
        if future is not None:
            self._call_soon(_settle, future, pdu)

    def _on_error_pdu(self, pdu: Any) -> None:
        if pdu.command != "submit_sm_resp":
            log.warning(
                "SMPP gateway %d: %s with status %s", self.gateway_id, pdu.command, pdu.status
            )

    def _on_deliver(self, pdu: Any, **_kwargs: Any) -> int:
        if pdu.command != "deliver_sm":
            return 0
        try:
            what = read_deliver_sm(self.gateway_id, pdu)
        except (ValueError, UnicodeError) as exc:
            log.warning("SMPP gateway %d: unreadable deliver_sm: %r", self.gateway_id, exc)
            return 0
        if what is None or self._loop is None:
            return 0
        if isinstance(what, Inbound):
            info, data = read_part(pdu)
            if info is not None and info.total > 1:
                key = (what.sender, what.recipient, str(pdu.data_coding or 0))
                for done in self._parts.add(key, info, data, now=self.clock()):
                    self._store_assembled(done)
                return 0
        self._to_sink(what)
        return 0

    def _store_assembled(self, done: Assembled) -> None:
        sender, recipient, coding = done.key[:3]
        if not done.complete:
            log.warning(
                "SMPP gateway %d: parts of a message from %s missing; stored as received",
                self.gateway_id,
                sender,
            )
        try:
            text, used = decode_text(done.payload, int(coding))
        except (ValueError, UnicodeError) as exc:
            log.warning("SMPP gateway %d: unreadable concatenated SMS: %r", self.gateway_id, exc)
            return
        self._to_sink(Inbound(self.gateway_id, sender, recipient, text, used))

    def _to_sink(self, what: Report | Inbound) -> None:
        if self._loop is None:
            return
        stored: ThreadFuture[None] = asyncio.run_coroutine_threadsafe(
            self.sink.report(what) if isinstance(what, Report) else self.sink.inbound(what),
            self._loop,
        )
        stored.add_done_callback(self._log_failure)

    def _log_failure(self, done: ThreadFuture[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error(
                "SMPP gateway %d: storing a deliver_sm failed: %r",
                self.gateway_id,
                done.exception(),
            )

    async def submit(self, message: Outgoing) -> Submitted:
        """Send every part; the first part's ``message_id`` names the message, and
        every part's is given back when there are several."""
        await self.ensure()
        client = self._client
        assert client is not None and self._loop is not None
        ids: list[str] = []
        for params in submit_pdus(message, self.settings):
            future: asyncio.Future[Any] = self._loop.create_future()

            def send(params: dict[str, Any] = params, future: asyncio.Future[Any] = future) -> None:
                with client.write_lock, self._pending_lock:
                    pdu = client.send_message(**params)
                    self._pending[pdu.sequence] = future

            try:
                await asyncio.to_thread(send)
                resp = await asyncio.wait_for(future, self.response_timeout)
            except (smpplib.exceptions.ConnectionError, OSError) as exc:
                raise TransportError(f"SMPP send failed: {exc!r}", permanent=False) from exc
            except TimeoutError as exc:
                raise TransportError("no submit_sm_resp in time", permanent=False) from exc
            if resp.status:
                raise TransportError(
                    f"SMSC refused the message (command_status 0x{resp.status:08x})",
                    permanent=resp.status not in TEMPORARY_STATUSES,
                )
            ids.append(_str(resp.message_id))
        return Submitted(ids[0], part_ids=tuple(ids) if len(ids) > 1 else ())

    async def _drop(self) -> None:
        client, reader = self._client, self._reader
        self._client = self._reader = None
        if client is None:
            return
        self._closing = True
        with contextlib.suppress(*_SESSION_ERRORS):
            await asyncio.to_thread(client.unbind_quietly)
        with contextlib.suppress(OSError):
            client.shutdown()
        if reader is not None:
            await asyncio.to_thread(reader.join, 5.0)
        with contextlib.suppress(OSError):
            client.disconnect()

    async def close(self) -> None:
        """Unbind and close the connection."""
        async with self._bind_lock:
            await self._drop()


def _settle(future: asyncio.Future[Any], value: object) -> None:
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)
