"""A minimal SMPP 3.4 SMSC for tests: a fake, because no SMSC server is packaged.

Debian packages SMPP clients (Kannel's bearerbox, libsmpp34) but no SMSC, so this peer
speaks just enough SMPP 3.4 (§4 PDU layouts), written from the specification with
``struct`` rather than with the client library under test:

* ``bind_transceiver`` with the expected system id and password is accepted (anything
  else gets ``ESME_RBINDFAIL``);
* each ``submit_sm`` is parsed, queued in :attr:`FakeSmsc.submitted` and answered with
  ``message_id`` ``m1``, ``m2`` ... (or a refusal status, when one is set);
* ``enquire_link`` and ``unbind`` are answered;
* :meth:`FakeSmsc.deliver` sends a ``deliver_sm`` (a delivery receipt or an inbound
  message) and waits for its ``deliver_sm_resp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

BIND_TRANSCEIVER = 0x00000009
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
ENQUIRE_LINK = 0x00000015
RESP = 0x80000000
ESME_RBINDFAIL = 0x0D
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427


def _cstr(data: bytes, at: int) -> tuple[bytes, int]:
    end = data.index(b"\0", at)
    return data[at:end], end + 1


def _pdu(command: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command, status, sequence) + body


@dataclass(frozen=True, slots=True)
class SubmitSm:
    """One ``submit_sm`` as the SMSC received it."""

    source_ton: int
    source: str
    dest_ton: int
    destination: str
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes
    message_id: str


@dataclass
class FakeSmsc:
    """The SMSC; :meth:`start` listens on a loopback port."""

    system_id: str = "helpline"
    password: str = "smpp-pw1"
    refuse_status: int = 0
    """Answer every submit_sm with this command_status (0: accept)."""
    submitted: asyncio.Queue[SubmitSm] = field(default_factory=asyncio.Queue)
    binds: list[tuple[str, str]] = field(default_factory=list)
    bound: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _server: asyncio.Server | None = None
    _writer: asyncio.StreamWriter | None = None
    _sequence: int = 0
    _answers: dict[int, asyncio.Future[int]] = field(default_factory=dict)
    _count: int = 0

    async def start(self) -> int:
        """Listen; the port."""
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        """Stop listening and drop the session."""
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        try:
            while True:
                header = await reader.readexactly(16)
                length, command, status, sequence = struct.unpack(">IIII", header)
                body = await reader.readexactly(length - 16)
                await self._handle(writer, command, status, sequence, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.bound.clear()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _handle(
        self, writer: asyncio.StreamWriter, command: int, status: int, sequence: int, body: bytes
    ) -> None:
        if command == BIND_TRANSCEIVER:
            system_id, at = _cstr(body, 0)
            password, at = _cstr(body, at)
            self.binds.append((system_id.decode(), password.decode()))
            ok = system_id.decode() == self.system_id and password.decode() == self.password
            writer.write(_pdu(command | RESP, 0 if ok else ESME_RBINDFAIL, sequence, b"fakesmsc\0"))
            if ok:
                self.bound.set()
        elif command == SUBMIT_SM:
            self._count += 1
            message_id = f"m{self._count}"
            self.submitted.put_nowait(self._parse_submit(body, message_id))
            answer = b"" if self.refuse_status else message_id.encode() + b"\0"
            writer.write(_pdu(command | RESP, self.refuse_status, sequence, answer))
        elif command in (ENQUIRE_LINK, UNBIND):
            writer.write(_pdu(command | RESP, 0, sequence))
        elif command == DELIVER_SM | RESP:
            answered = self._answers.pop(sequence, None)
            if answered is not None and not answered.done():
                answered.set_result(status)
        await writer.drain()

    @staticmethod
    def _parse_submit(body: bytes, message_id: str) -> SubmitSm:
        _service, at = _cstr(body, 0)
        source_ton, _npi = body[at], body[at + 1]
        source, at = _cstr(body, at + 2)
        dest_ton, _npi = body[at], body[at + 1]
        destination, at = _cstr(body, at + 2)
        esm_class, _pid, _priority = body[at], body[at + 1], body[at + 2]
        _schedule, at = _cstr(body, at + 3)
        _validity, at = _cstr(body, at)
        registered, _replace, coding, _default, length = body[at : at + 5]
        short = body[at + 5 : at + 5 + length]
        return SubmitSm(
            source_ton=source_ton,
            source=source.decode(),
            dest_ton=dest_ton,
            destination=destination.decode(),
            esm_class=esm_class,
            registered_delivery=registered,
            data_coding=coding,
            short_message=short,
            message_id=message_id,
        )

    async def deliver(
        self,
        *,
        source: str,
        destination: str,
        short_message: bytes,
        source_ton: int = 1,
        esm_class: int = 0,
        data_coding: int = 0,
        tlvs: bytes = b"",
    ) -> int:
        """Send one ``deliver_sm``; the status of its ``deliver_sm_resp``."""
        assert self._writer is not None, "no ESME is bound"
        self._sequence += 1
        body = (
            b"\0"
            + bytes((source_ton, 1))
            + source.encode()
            + b"\0"
            + bytes((1, 1))
            + destination.encode()
            + b"\0"
            + bytes((esm_class, 0, 0))
            + b"\0\0"
            + bytes((0, 0, data_coding, 0, len(short_message)))
            + short_message
            + tlvs
        )
        answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._answers[self._sequence] = answered
        self._writer.write(_pdu(DELIVER_SM, 0, self._sequence, body))
        await self._writer.drain()
        return await asyncio.wait_for(answered, 10.0)

    async def receipt(self, submitted: SubmitSm, *, stat: str = "DELIVRD", state: int = 2) -> int:
        """Send the delivery receipt of ``submitted`` (Appendix B text and TLVs)."""
        text = (
            f"id:{submitted.message_id} sub:001 dlvrd:001 submit date:2611231200 "
            f"done date:2611231201 stat:{stat} err:000 text:"
        ).encode()
        receipted = submitted.message_id.encode() + b"\0"
        tlvs = struct.pack(">HH", TLV_RECEIPTED_MESSAGE_ID, len(receipted)) + receipted
        tlvs += struct.pack(">HHB", TLV_MESSAGE_STATE, 1, state)
        return await self.deliver(
            source=submitted.destination,
            destination=submitted.source,
            short_message=text,
            esm_class=0x04,
            tlvs=tlvs,
        )
