"""SMS from IVR flows: an ``sms`` node queues the tenant's template, rendered with the
call's variables in the call's language, for the caller's number (real database)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from helpline.ivr.engine import OutcomeKind, run_flow
from helpline.ivr.flow import FlowDocument, check
from helpline.prompts.language import Language
from helpline.runtime import Runtime
from helpline.sms.flows import FlowSmsOutbox, template_names
from helpline.sms.models import MessageStatus, SmsMessage
from tests.ivr.fakes import FakePort, ListRecorder
from tests.sms.helpers import Desk, created, customer, kannel_gateway


def flow(**sms: Any) -> FlowDocument:
    return FlowDocument.model_validate(
        {
            "start": "set",
            "nodes": {
                "set": {"type": "set", "variable": "balance", "value": "12.50", "next": "text"},
                "text": {"type": "sms", "next": "bye", "on_error": "sorry", **sms},
                "bye": {"type": "hangup"},
                "sorry": {"type": "hangup", "prompt": {"text": "sorry"}},
            },
        }
    )


async def _messages(runtime: Runtime, tenant_id: int) -> list[SmsMessage]:
    async with runtime.unit_of_work() as session:
        return list(
            (
                await session.execute(
                    select(SmsMessage)
                    .where(SmsMessage.tenant_id == tenant_id)
                    .order_by(SmsMessage.id)
                )
            ).scalars()
        )


async def test_a_flow_texts_the_caller_the_template_in_their_language(
    desk: Desk, runtime: Runtime
) -> None:
    await kannel_gateway(desk)
    template = await created(
        desk.admin,
        "sms/templates",
        {
            "name": "balance",
            "bodies": {
                "en": "Your balance is {balance}.",
                "zh": "您的余额为 {balance}。",
                "ko": "잔액은 {balance}입니다.",
            },
        },
    )
    async with runtime.unit_of_work() as session:
        names = await template_names(session, tenant_id=desk.tenant_id)
    assert names == {"balance"}
    assert check(flow(template="balance").to_json(), sms_templates=names).valid
    unknown = check(flow(template="balanse").to_json(), sms_templates=names)
    assert [(p.node, p.field) for p in unknown.errors] == [("text", "template")]
    kim = await customer(desk, "김민수", "010-1234-5678")
    port = FakePort(language=Language.KO, caller="01012345678")
    recorder = ListRecorder()
    outbox = FlowSmsOutbox(runtime.unit_of_work, tenant_id=desk.tenant_id)
    outcome = await run_flow(flow(template="balance"), port, sms=outbox, recorder=recorder)
    assert outcome.kind is OutcomeKind.HUNG_UP and outcome.node == "bye"
    assert [(s.node, s.result) for s in recorder.steps][1] == ("text", "queued")
    (message,) = await _messages(runtime, desk.tenant_id)
    assert message.number == "+821012345678" and message.body == "잔액은 12.50입니다."
    assert message.status is MessageStatus.QUEUED and message.purpose == "flow"
    assert message.customer_id == kim and message.template_id == template["id"]


async def test_a_flow_sms_that_cannot_be_queued_leaves_nothing_and_goes_on(
    desk: Desk, runtime: Runtime
) -> None:
    outbox = FlowSmsOutbox(runtime.unit_of_work, tenant_id=desk.tenant_id)
    no_gateway = await run_flow(flow(text="Hi"), FakePort(caller="01012345678"), sms=outbox)
    assert no_gateway.node == "sorry", "no gateway: on_error"
    await kannel_gateway(desk)
    unknown = await run_flow(flow(template="nope"), FakePort(caller="01012345678"), sms=outbox)
    assert unknown.node == "sorry", "no such template"
    withheld = await run_flow(flow(text="Hi"), FakePort(caller="anonymous"), sms=outbox)
    assert withheld.node == "sorry", "not a phone number"
    assert await _messages(runtime, desk.tenant_id) == []


async def test_the_flow_api_checks_sms_nodes_against_the_tenants_templates(
    desk: Desk,
) -> None:
    await created(desk.admin, "sms/templates", {"name": "balance", "bodies": {"en": "{balance}"}})
    misspelt = flow(template="balanse").to_json()
    checked = await desk.admin.post("/api/v1/flows/validate", json=misspelt)
    assert checked.status_code == 200
    assert [(e["node"], e["field"]) for e in checked.json()["errors"]] == [("text", "template")]
    draft = await created(desk.admin, "flows", {"name": "texting", "document": misspelt})
    assert [e["field"] for e in draft["problems"]["errors"]] == ["template"]
    refused = await desk.admin.post(f"/api/v1/flows/{draft['id']}/publish")
    assert refused.status_code == 422
    assert refused.json()["error_id"] == "invalid_flow"
    fixed = await desk.admin.patch(
        f"/api/v1/flows/{draft['id']}", json={"document": flow(template="balance").to_json()}
    )
    assert fixed.json()["problems"]["errors"] == []
    published = await desk.admin.post(f"/api/v1/flows/{draft['id']}/publish")
    assert published.status_code == 201, published.text
    # Another tenant's templates do not count.
    other = await desk.other.post("/api/v1/flows/validate", json=fixed.json()["document"])
    assert [e["field"] for e in other.json()["errors"]] == ["template"]
