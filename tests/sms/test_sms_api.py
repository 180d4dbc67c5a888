"""SMS through the API: gateways, templates in three languages, sending from the desktop,
Kannel's delivery reports and inbound messages, reminders. smsbox is an in-process
fake here (``httpx.MockTransport``); the real one is in ``test_kannel_interop.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from helpline.customers.models import CustomerEvent
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.sms.models import SmsMessage
from helpline.sms.sender import SmsSender
from tests.sms.helpers import Desk, created, customer, kannel_gateway


class FakeSmsbox:
    """Answers sendsms like Kannel's smsbox and keeps the requests; ``sender`` sends
    through it."""

    def __init__(self, runtime: Runtime) -> None:
        self.requests: list[dict[str, str]] = []
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda _r: httpx.Response(
            202, text="0: Accepted for delivery"
        )
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        self.sender = SmsSender(runtime, client=self.http)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append({k: v[0] for k, v in parse_qs(request.url.query.decode()).items()})
        return self.answer(request)


@pytest.fixture
async def smsbox(runtime: Runtime) -> AsyncIterator[FakeSmsbox]:
    box = FakeSmsbox(runtime)
    yield box
    await box.sender.aclose()
    await box.http.aclose()


async def test_gateway_password_is_never_shown_and_the_kannel_key_only_once(desk: Desk) -> None:
    made = await kannel_gateway(desk)
    assert "kannel-secret" not in str(made)
    assert made["has_password"] is True and made["is_default"] is True
    get_url = made["callback"]["kannel_get_url"]
    key = made["callback"]["callback_key"]
    assert f"/api/sms/kannel/{key}/inbound?from=%p&to=%P&text=%a&hex=%e&coding=%c" in get_url
    shown = await desk.admin.get(f"/api/v1/sms/gateways/{made['id']}")
    assert "callback" not in shown.json() and key not in shown.text
    assert "kannel-secret" not in (await desk.admin.get("/api/v1/sms/gateways")).text
    assert (await desk.agent.get("/api/v1/sms/gateways")).status_code == 403
    assert (await desk.other.get(f"/api/v1/sms/gateways/{made['id']}")).status_code == 404

    bad = await desk.admin.patch(
        f"/api/v1/sms/gateways/{made['id']}", json={"settings": {"username": "x"}}
    )
    assert bad.status_code == 422 and bad.json()["error_id"] == "sms_gateway_settings"

    rotated = await desk.admin.post(f"/api/v1/sms/gateways/{made['id']}/callback-key")
    assert rotated.status_code == 200 and rotated.json()["callback_key"] != key
    old = await desk.public.get(f"/api/sms/kannel/{key}/inbound", params={"from": "+8210"})
    assert old.status_code == 404


async def test_agent_sends_a_korean_template_to_a_customer_and_it_is_delivered(
    desk: Desk, smsbox: FakeSmsbox
) -> None:
    await kannel_gateway(desk)
    template = await created(
        desk.supervisor,
        "sms/templates",
        {
            "name": "shipped",
            "bodies": {
                "en": "Hello {customer.name}, order {order} has shipped.",
                "zh": "{customer.name}您好，订单{order}已发货。",
                "ko": "{customer.name}님, 주문 {order}이(가) 발송되었습니다.",
            },
        },
    )
    assert template["variables"] == ["customer.name", "order"]
    kim = await customer(desk, "김민수", "010-1234-5678", language="ko")

    r = await desk.agent.post(
        "/api/v1/sms/messages",
        json={"customer_id": kim, "template_id": template["id"], "variables": {"order": "A-7"}},
    )
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] == "queued" and queued["number"] == "+821012345678"
    assert queued["body"] == "김민수님, 주문 A-7이(가) 발송되었습니다."
    assert queued["coding"] == "ucs2" and queued["parts"] == 1
    assert queued["created_by"] == "agent1@acme"

    assert await smsbox.sender.deliver_due() == 1
    (sent,) = smsbox.requests
    assert sent["to"] == "+821012345678" and sent["from"] == "1588"
    assert sent["coding"] == "2" and sent["charset"] == "UTF-8"
    assert sent["text"] == queued["body"] and sent["password"] == "kannel-secret"
    assert sent["dlr-mask"] == "31"
    dlr = urlsplit(sent["dlr-url"])
    assert dlr.path == "/api/sms/kannel/dlr"
    ref = parse_qs(dlr.query)["ref"][0]
    assert "type=%d" in sent["dlr-url"]

    url = f"/api/v1/sms/messages/{queued['id']}"
    assert (await desk.agent.get(url)).json()["status"] == "sent"
    for dlr_type in (8, 1):
        hit = await desk.public.get(
            "/api/sms/kannel/dlr", params={"ref": ref, "type": dlr_type, "answer": "ACK/"}
        )
        assert hit.status_code == 200 and hit.text == ""
    shown = (await desk.agent.get(url)).json()
    assert shown["status"] == "delivered" and shown["delivered_at"]
    assert [(x["code"], x["outcome"]) for x in shown["reports"]] == [
        ("smsc_accepted", "sent"),
        ("delivered", "delivered"),
    ]
    late = await desk.public.get("/api/sms/kannel/dlr", params={"ref": ref, "type": 2})
    assert late.status_code == 200
    assert (await desk.agent.get(url)).json()["status"] == "delivered"
    unknown = await desk.public.get("/api/sms/kannel/dlr", params={"ref": "nope", "type": 1})
    assert unknown.status_code == 404
    assert (await desk.other.get(url)).status_code == 404


async def test_chinese_and_english_texts_pick_their_coding(desk: Desk) -> None:
    await kannel_gateway(desk)
    plain = await desk.agent.post(
        "/api/v1/sms/messages", json={"to": "+8613800138000", "text": "Your code is 1234"}
    )
    chinese = await desk.agent.post(
        "/api/v1/sms/messages", json={"to": "+8613800138000", "text": "您的验证码是1234"}
    )
    long_text = await desk.agent.post(
        "/api/v1/sms/messages", json={"to": "+8613800138000", "text": "x" * 161}
    )
    assert plain.json()["coding"] == "gsm7" and plain.json()["parts"] == 1
    assert chinese.json()["coding"] == "ucs2"
    assert long_text.json()["parts"] == 2


async def test_sending_needs_a_gateway_a_number_and_one_text(desk: Desk) -> None:
    none = await desk.agent.post("/api/v1/sms/messages", json={"to": "+821012345678", "text": "hi"})
    assert none.status_code == 409 and none.json()["error_id"] == "sms_no_gateway"
    await kannel_gateway(desk)
    bad = await desk.agent.post("/api/v1/sms/messages", json={"to": "12", "text": "hi"})
    assert bad.status_code == 422 and bad.json()["error_id"] == "sms_invalid_number"
    both = await desk.agent.post(
        "/api/v1/sms/messages", json={"to": "+821012345678", "text": "hi", "template_id": 1}
    )
    assert both.status_code == 422
    foreign = await desk.other.get("/api/v1/sms/messages")
    assert foreign.json()["total"] == 0


async def test_a_refused_message_fails_and_an_unreachable_smsbox_is_retried(
    desk: Desk, smsbox: FakeSmsbox, runtime: Runtime
) -> None:
    await kannel_gateway(desk)
    smsbox.answer = lambda _r: httpx.Response(403, text="Authorization failed for sendsms")
    refused = (
        await desk.agent.post("/api/v1/sms/messages", json={"to": "+821012345678", "text": "a"})
    ).json()
    await smsbox.sender.deliver_due()
    shown = (await desk.agent.get(f"/api/v1/sms/messages/{refused['id']}")).json()
    assert shown["status"] == "failed" and "403" in shown["error"]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    smsbox.answer = down
    later = (
        await desk.agent.post("/api/v1/sms/messages", json={"to": "+821012345678", "text": "b"})
    ).json()
    await smsbox.sender.deliver_due()
    async with runtime.unit_of_work() as session:
        message = await session.get(SmsMessage, later["id"])
        assert message is not None
        assert message.status.value == "queued" and message.attempts == 1
        assert message.next_attempt_at is not None and message.next_attempt_at > utcnow()
    assert await smsbox.sender.deliver_due() == 0


async def test_inbound_sms_is_stored_against_the_customer_and_on_the_timeline(
    desk: Desk,
) -> None:
    made = await kannel_gateway(desk)
    key = made["callback"]["callback_key"]
    lee = await customer(desk, "이영희", "010-9876-5432")
    plain = await desk.public.get(
        f"/api/sms/kannel/{key}/inbound",
        params={"from": "+821098765432", "to": "1588", "text": "call me back", "coding": 0},
    )
    assert plain.status_code == 200 and plain.text == ""
    ucs2 = "네 감사합니다".encode("utf-16-be").hex()
    korean = await desk.public.get(
        f"/api/sms/kannel/{key}/inbound",
        params={"from": "01098765432", "to": "1588", "text": "?", "hex": ucs2, "coding": 2},
    )
    assert korean.status_code == 200
    stranger = await desk.public.get(
        f"/api/sms/kannel/{key}/inbound", params={"from": "+821011112222", "text": "hi"}
    )
    assert stranger.status_code == 200

    mine = (
        await desk.agent.get(
            "/api/v1/sms/messages", params={"customer_id": lee, "direction": "inbound"}
        )
    ).json()
    assert [m["body"] for m in mine["items"]] == ["네 감사합니다", "call me back"]
    assert {m["status"] for m in mine["items"]} == {"received"}
    assert {m["number"] for m in mine["items"]} == {"+821098765432"}
    timeline = (await desk.agent.get(f"/api/v1/customers/{lee}/timeline")).json()
    sms = [e for e in timeline["items"] if e["kind"] == "sms"]
    assert [e["detail"]["body"] for e in sms] == ["네 감사합니다", "call me back"]
    everything = (await desk.agent.get("/api/v1/sms/messages")).json()
    assert everything["total"] == 3
    assert (await desk.other.get("/api/v1/sms/messages")).json()["total"] == 0
    wrong = await desk.public.get("/api/sms/kannel/not-a-key/inbound", params={"from": "+1"})
    assert wrong.status_code == 404


async def test_a_due_reminder_is_texted_in_the_customers_language(
    desk: Desk, smsbox: FakeSmsbox, runtime: Runtime
) -> None:
    wang = await customer(desk, "王伟", "+8613800138000", language="zh")
    when = utcnow() + timedelta(days=1)
    event = await created(
        desk.agent,
        f"customers/{wang}/events",
        {
            "kind": "appointment",
            "title": "维修预约",
            "scheduled_at": when.isoformat(),
            "reminder_at": (utcnow() - timedelta(minutes=1)).isoformat(),
        },
    )
    await smsbox.sender.pass_once()
    assert smsbox.requests == []
    await kannel_gateway(desk)
    await smsbox.sender.pass_once()
    (sent,) = smsbox.requests
    assert sent["to"] == "+8613800138000" and "维修预约" in sent["text"]
    assert sent["text"].startswith("提醒：")
    async with runtime.unit_of_work() as session:
        row = await session.get(CustomerEvent, event["id"])
        assert row is not None and row.reminded_at is not None
        reminders = (
            await session.execute(select(SmsMessage).where(SmsMessage.purpose == "reminder"))
        ).scalars()
        assert [m.customer_id for m in reminders] == [wang]
    await smsbox.sender.pass_once()
    assert len(smsbox.requests) == 1


async def test_templates_are_validated_and_read_by_everyone(desk: Desk) -> None:
    bad = await desk.supervisor.post(
        "/api/v1/sms/templates", json={"name": "x", "bodies": {"en": "oops {"}}
    )
    assert bad.status_code == 422
    wrong_language = await desk.supervisor.post(
        "/api/v1/sms/templates", json={"name": "x", "bodies": {"fr": "bonjour"}}
    )
    assert wrong_language.status_code == 422
    made = await created(desk.supervisor, "sms/templates", {"name": "hi", "bodies": {"en": "hi"}})
    assert (await desk.agent.post("/api/v1/sms/templates", json={})).status_code == 403
    listed = (await desk.agent.get("/api/v1/sms/templates")).json()
    assert [t["name"] for t in listed["items"]] == ["hi"]
    changed = await desk.supervisor.patch(
        f"/api/v1/sms/templates/{made['id']}", json={"bodies": {"ko": "안녕 {name}"}}
    )
    assert changed.json()["bodies"] == {"ko": "안녕 {name}"}
    assert changed.json()["variables"] == ["name"]
    assert (await desk.other.get(f"/api/v1/sms/templates/{made['id']}")).status_code == 404
    gone = await desk.supervisor.delete(f"/api/v1/sms/templates/{made['id']}")
    assert gone.status_code == 204
