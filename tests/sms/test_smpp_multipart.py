"""SMPP messages in several parts, through Helpline's client and the fake SMSC: each
part's receipt counts (delivered when all are, failed when any fails), and inbound
concatenated messages are put back together (8-bit and 16-bit UDH references, sar_*
TLVs), or stored as far as they got when a part never comes."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest

from helpline.runtime import Runtime
from helpline.sms.concat import PartInfo, Reassembler, split_udh
from helpline.sms.models import Coding
from helpline.sms.schemas import SmppSettings
from helpline.sms.sender import SmsSender
from helpline.sms.smpp import SmppTransport
from helpline.sms.transport import Inbound, Report
from tests.sms.fake_smsc import FakeSmsc
from tests.sms.helpers import Desk
from tests.sms.test_smpp import smpp_gateway, status_of

LONG = "Your repair is booked for Monday 10:00, bring the receipt please. " * 3


class WatchedSender(SmsSender):
    """The SMS sender, telling the test each report and inbound message it stored."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime, reminders=False)
        self.stored: asyncio.Queue[Report | Inbound] = asyncio.Queue()

    async def report(self, report: Report) -> None:
        await super().report(report)
        self.stored.put_nowait(report)

    async def inbound(self, message: Inbound) -> None:
        await super().inbound(message)
        self.stored.put_nowait(message)

    async def next_stored(self) -> Report | Inbound:
        return await asyncio.wait_for(self.stored.get(), 10)


@pytest.fixture
async def sender(runtime: Runtime) -> AsyncIterator[WatchedSender]:
    made = WatchedSender(runtime)
    yield made
    await made.aclose()


async def _send_long(desk: Desk, sender: WatchedSender, smsc: FakeSmsc) -> tuple[int, list[object]]:
    r = await desk.agent.post("/api/v1/sms/messages", json={"to": "+14155550123", "text": LONG})
    assert r.json()["parts"] == 2
    assert await sender.deliver_due() == 1
    parts = [smsc.submitted.get_nowait(), smsc.submitted.get_nowait()]
    return int(r.json()["id"]), parts


async def test_a_message_in_parts_is_delivered_when_every_part_is(
    desk: Desk, smsc: FakeSmsc, sender: WatchedSender
) -> None:
    await smpp_gateway(desk, smsc.port)
    message_id, (first, second) = await _send_long(desk, sender, smsc)
    assert await status_of(desk, message_id) == "sent"

    assert await smsc.receipt(second) == 0  # type: ignore[arg-type]
    assert isinstance(await sender.next_stored(), Report)
    assert await status_of(desk, message_id) == "sent", "one part is still out"
    assert await smsc.receipt(first) == 0  # type: ignore[arg-type]
    await sender.next_stored()
    assert await status_of(desk, message_id) == "delivered"
    shown = (await desk.agent.get(f"/api/v1/sms/messages/{message_id}")).json()
    assert [x["code"] for x in shown["reports"]] == ["DELIVRD", "DELIVRD"]


async def test_a_message_in_parts_fails_when_any_part_fails(
    desk: Desk, smsc: FakeSmsc, sender: WatchedSender
) -> None:
    await smpp_gateway(desk, smsc.port)
    message_id, (first, second) = await _send_long(desk, sender, smsc)
    await smsc.receipt(first)  # type: ignore[arg-type]
    await sender.next_stored()
    await smsc.receipt(second, stat="UNDELIV", state=5)  # type: ignore[arg-type]
    await sender.next_stored()
    assert await status_of(desk, message_id) == "failed"


def _sar(ref: int, total: int, seq: int) -> bytes:
    return (
        struct.pack(">HHH", 0x020C, 2, ref)
        + struct.pack(">HHB", 0x020E, 1, total)
        + struct.pack(">HHB", 0x020F, 1, seq)
    )


async def test_inbound_parts_are_put_back_together_whatever_says_where_they_belong(
    desk: Desk, smsc: FakeSmsc, sender: WatchedSender
) -> None:
    await smpp_gateway(desk, smsc.port)
    await sender.keep_sessions()
    await asyncio.wait_for(smsc.bound.wait(), 5)
    peer = {"source": "821022223333", "destination": "821055550000"}
    # 8-bit reference, GSM text, the second part first.
    await smsc.deliver(**peer, esm_class=0x40, short_message=bytes((5, 0, 3, 7, 2, 2)) + b"world")
    await smsc.deliver(**peer, esm_class=0x40, short_message=bytes((5, 0, 3, 7, 2, 1)) + b"hello ")
    # 16-bit reference, UCS-2, a character's two octets split between the parts.
    korean = "예약 취소".encode("utf-16-be")
    head, tail = korean[:3], korean[3:]
    udh16 = bytes((6, 8, 4, 0x12, 0x34, 2))
    await smsc.deliver(**peer, esm_class=0x40, data_coding=8, short_message=udh16 + b"\x01" + head)
    await smsc.deliver(**peer, esm_class=0x40, data_coding=8, short_message=udh16 + b"\x02" + tail)
    # sar_* TLVs, three parts.
    for seq, text in ((1, b"one "), (3, b"three"), (2, b"two ")):
        await smsc.deliver(**peer, short_message=text, tlvs=_sar(300, 3, seq))
    stored = [await sender.next_stored() for _ in range(3)]
    assert {(m.text, m.coding) for m in stored if isinstance(m, Inbound)} == {
        ("hello world", Coding.GSM7),
        ("예약 취소", Coding.UCS2),
        ("one two three", Coding.GSM7),
    }
    listed = (await desk.agent.get("/api/v1/sms/messages", params={"direction": "inbound"})).json()
    assert sorted(m["body"] for m in listed["items"]) == sorted(
        ["hello world", "예약 취소", "one two three"]
    )


async def test_a_set_missing_a_part_is_stored_as_far_as_it_got_after_the_timeout(
    smsc: FakeSmsc,
) -> None:
    now = [1000.0]
    got: asyncio.Queue[Inbound] = asyncio.Queue()

    class Collect:
        async def report(self, report: Report) -> None:
            raise AssertionError(f"no report expected: {report}")

        async def inbound(self, message: Inbound) -> None:
            got.put_nowait(message)

    transport = SmppTransport(
        gateway_id=9,
        settings=SmppSettings(host="127.0.0.1", port=smsc.port, system_id="helpline"),
        password="smpp-pw1",
        sink=Collect(),
        reassembly_timeout=60.0,
        clock=lambda: now[0],
    )
    try:
        await transport.ensure()
        peer = {"source": "14155550123", "destination": "1588"}
        await smsc.deliver(**peer, esm_class=0x40, short_message=bytes((5, 0, 3, 9, 3, 1)) + b"a ")
        await smsc.deliver(**peer, esm_class=0x40, short_message=bytes((5, 0, 3, 9, 3, 3)) + b"c")
        assert got.empty()
        now[0] += 61.0
        await smsc.deliver(**peer, short_message=b"next")
        first = await asyncio.wait_for(got.get(), 10)
        second = await asyncio.wait_for(got.get(), 10)
        assert {first.text, second.text} == {"a c", "next"}, "part 2 never came"
        assert first.sender == "+14155550123"
    finally:
        await transport.close()


def test_headers_name_their_set_and_anything_else_is_left_alone() -> None:
    assert split_udh(bytes((5, 0, 3, 7, 2, 1)) + b"x") == (PartInfo(7, 2, 1), b"x")
    assert split_udh(bytes((6, 8, 4, 1, 2, 3, 1)) + b"y") == (PartInfo(258, 3, 1), b"y")
    assert split_udh(bytes((4, 5, 2, 0, 0)) + b"z") == (None, b"z"), "a port header only"
    with pytest.raises(ValueError):
        split_udh(bytes((9, 0, 3)))
    parts = Reassembler(timeout=10.0, max_sets=1)
    assert parts.add(("a",), PartInfo(1, 2, 1), b"1", now=0.0) == []
    (pushed,) = parts.add(("b",), PartInfo(1, 2, 1), b"2", now=1.0)
    assert (pushed.key, pushed.payload, pushed.complete) == (("a", "1"), b"1", False)
    assert len(parts) == 1 and parts.expire(now=5.0) == []
    (late,) = parts.expire(now=11.0)
    assert late.key == ("b", "1") and not late.complete
