"""SMPP 3.4 through Helpline's client and a fake SMSC (no SMSC server is packaged; see
``fake_smsc.py``): submit_sm with the right coding, receipts settle the message,
deliver_sm inbound lands on the customer, binds are checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select

from helpline.core.events import Event, Subscription
from helpline.runtime import Runtime
from helpline.sms.encoding import gsm_decode
from helpline.sms.models import MessageStatus, SmsGateway
from helpline.sms.sender import SmsSender
from helpline.sms.service import SmsReceived, SmsStatusChanged
from helpline.sms.transport import Report
from tests.sms.fake_smsc import FakeSmsc
from tests.sms.helpers import Desk, created, customer


@pytest.fixture
async def sender(runtime: Runtime) -> AsyncIterator[SmsSender]:
    made = SmsSender(runtime, reminders=False)
    yield made
    await made.aclose()


async def smpp_gateway(desk: Desk, port: int, password: str = "smpp-pw1") -> int:
    made = await created(
        desk.admin,
        "sms/gateways",
        {
            "name": "smsc",
            "kind": "smpp",
            "settings": {"host": "127.0.0.1", "port": port, "system_id": "helpline"},
            "password": password,
            "sender": "+821055550000",
        },
    )
    assert made["callback"] is None
    return int(made["id"])


@pytest.fixture
def sms_events(runtime: Runtime) -> Iterator[Subscription]:
    """The SMS status and inbound events of the bus (published after each commit)."""
    sub = runtime.bus.subscribe(lambda e: isinstance(e, SmsStatusChanged | SmsReceived))
    yield sub
    sub.close()


async def next_event(sub: Subscription) -> Event:
    return await asyncio.wait_for(sub.get(), 10)


async def status_of(desk: Desk, message_id: int) -> str:
    return str((await desk.agent.get(f"/api/v1/sms/messages/{message_id}")).json()["status"])


async def test_a_korean_message_goes_out_as_ucs2_and_its_receipt_delivers_it(
    desk: Desk, smsc: FakeSmsc, sender: SmsSender, sms_events: Subscription
) -> None:
    await smpp_gateway(desk, smsc.port)
    await sender.keep_sessions()
    assert smsc.binds == [("helpline", "smpp-pw1")]
    r = await desk.agent.post(
        "/api/v1/sms/messages", json={"to": "010-1234-5678", "text": "상담 예약이 확정되었습니다"}
    )
    message = r.json()
    assert await sender.deliver_due() == 1
    submitted = smsc.submitted.get_nowait()
    assert submitted.destination == "821012345678" and submitted.dest_ton == 1
    assert submitted.source == "821055550000" and submitted.source_ton == 1
    assert submitted.data_coding == 8 and submitted.registered_delivery == 1
    assert submitted.short_message.decode("utf-16-be") == "상담 예약이 확정되었습니다"
    assert await status_of(desk, message["id"]) == "sent"
    assert (await next_event(sms_events)).to_json()["status"] == "sent"

    assert await smsc.receipt(submitted) == 0
    delivered = await next_event(sms_events)
    assert isinstance(delivered, SmsStatusChanged) and delivered.status == "delivered"
    shown = (await desk.agent.get(f"/api/v1/sms/messages/{message['id']}")).json()
    assert shown["status"] == "delivered"
    assert [(x["code"], x["outcome"]) for x in shown["reports"]] == [("DELIVRD", "delivered")]


async def test_gsm_text_and_long_texts_are_split_with_a_concatenation_header(
    desk: Desk, smsc: FakeSmsc, sender: SmsSender
) -> None:
    await smpp_gateway(desk, smsc.port)
    text = "Your repair is booked for Monday 10:00 {ref #42}. " * 4
    r = await desk.agent.post("/api/v1/sms/messages", json={"to": "+14155550123", "text": text})
    assert r.json()["parts"] == 2
    await sender.deliver_due()
    first, second = smsc.submitted.get_nowait(), smsc.submitted.get_nowait()
    assert first.data_coding == 0 and first.esm_class == 0x40
    assert first.short_message[:3] == bytes((5, 0, 3)) and first.short_message[4:6] == bytes((2, 1))
    assert second.short_message[4:6] == bytes((2, 2))
    assert gsm_decode(first.short_message[6:] + second.short_message[6:]) == text
    assert await status_of(desk, r.json()["id"]) == "sent"


async def test_a_receipt_arriving_before_the_submit_is_recorded_still_counts(
    desk: Desk, smsc: FakeSmsc, sender: SmsSender, runtime: Runtime
) -> None:
    await smpp_gateway(desk, smsc.port)
    r = await desk.agent.post("/api/v1/sms/messages", json={"to": "+14155550123", "text": "hi"})
    async with runtime.unit_of_work() as session:
        gateway = (await session.execute(select(SmsGateway))).scalars().one()
    early = Report(gateway.id, "m1", MessageStatus.DELIVERED, "DELIVRD")
    await sender.report(early)
    await sender.deliver_due()
    assert await status_of(desk, r.json()["id"]) == "delivered"


async def test_an_inbound_deliver_sm_is_stored_against_the_customer(
    desk: Desk, smsc: FakeSmsc, sender: SmsSender, sms_events: Subscription
) -> None:
    await smpp_gateway(desk, smsc.port)
    park = await customer(desk, "박지훈", "010-2222-3333")
    await sender.keep_sessions()
    await asyncio.wait_for(smsc.bound.wait(), 5)
    status = await smsc.deliver(
        source="821022223333",
        destination="821055550000",
        short_message="취소해 주세요".encode("utf-16-be"),
        data_coding=8,
    )
    assert status == 0
    await smsc.deliver(
        source="14155550123", destination="821055550000", short_message=b"STOP", data_coding=0
    )
    received = [await next_event(sms_events), await next_event(sms_events)]
    assert all(isinstance(e, SmsReceived) for e in received)
    listed = (await desk.agent.get("/api/v1/sms/messages", params={"direction": "inbound"})).json()
    assert listed["total"] == 2
    bodies = {m["body"]: m for m in listed["items"]}
    assert bodies["취소해 주세요"]["customer_id"] == park
    assert bodies["취소해 주세요"]["number"] == "+821022223333"
    assert bodies["STOP"]["customer_id"] is None and bodies["STOP"]["number"] == "+14155550123"


async def test_a_wrong_password_or_a_refusal_fails_the_message(
    desk: Desk, smsc: FakeSmsc, sender: SmsSender
) -> None:
    gateway = await smpp_gateway(desk, smsc.port, password="wrong")
    r = await desk.agent.post("/api/v1/sms/messages", json={"to": "+14155550123", "text": "a"})
    await sender.deliver_due()
    shown = (await desk.agent.get(f"/api/v1/sms/messages/{r.json()['id']}")).json()
    assert shown["status"] == "queued" and "bind failed" in shown["error"]

    fixed = await desk.admin.patch(f"/api/v1/sms/gateways/{gateway}", json={"password": "smpp-pw1"})
    assert fixed.status_code == 200
    smsc.refuse_status = 0x0B
    r2 = await desk.agent.post("/api/v1/sms/messages", json={"to": "+14155550123", "text": "b"})
    await sender.deliver_due()
    refused = (await desk.agent.get(f"/api/v1/sms/messages/{r2.json()['id']}")).json()
    assert refused["status"] == "failed" and "0x0000000b" in refused["error"]
