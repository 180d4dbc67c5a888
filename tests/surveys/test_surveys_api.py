"""Surveys end to end: definitions, queues, keypad answers tied to the call, SMS links
answered on the public page in three languages, results, and the call-end hook."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from helpline.acd.events import CallFinished
from helpline.calls.models import CallDirection, CallOutcome, CallRecord
from helpline.db.base import utcnow
from helpline.prompts.language import Language
from helpline.runtime import Runtime
from helpline.sms.models import SmsMessage
from helpline.surveys.dispatch import SurveyLinkSender
from helpline.surveys.models import SurveyResponse
from helpline.surveys.runner import (
    DbSurveyRecorder,
    SurveyContext,
    run_keypad_survey,
    run_survey_on_call,
    survey_for_call,
)
from tests.ivr.fakes import FakePort
from tests.sms.helpers import Desk, created, customer, kannel_gateway

SURVEY: dict[str, Any] = {
    "name": "after-call",
    "questions": [
        {
            "key": "agent",
            "text": {
                "en": "How helpful was the agent?",
                "zh": "客服是否有帮助？",
                "ko": "상담원이 도움이 되었나요?",
            },
        },
        {
            "key": "solved",
            "text": {
                "en": "Was your problem solved?",
                "zh": "问题解决了吗？",
                "ko": "해결되었나요?",
            },
            "low": 1,
            "high": 2,
        },
    ],
    "intro": {"en": "Please rate your call."},
    "thanks": {"en": "Thank you!", "zh": "谢谢！", "ko": "감사합니다!"},
}


async def queue(desk: Desk, name: str = "sales") -> int:
    return int((await created(desk.admin, "queues", {"name": name}))["id"])


async def call_record(
    runtime: Runtime, tenant_id: int, call_id: str, caller: str, queue_name: str = "sales"
) -> int:
    async with runtime.unit_of_work() as session:
        record = CallRecord(
            tenant_id=tenant_id,
            call_id=call_id,
            direction=CallDirection.INBOUND,
            caller=caller,
            called="1588",
            queue=queue_name,
            agent="agent1",
            started_at=utcnow(),
            outcome=CallOutcome.ANSWERED,
            open=False,
        )
        session.add(record)
        await session.flush()
        return record.id


async def test_a_supervisor_defines_a_survey_and_attaches_it_to_a_queue(
    desk: Desk, runtime: Runtime
) -> None:
    survey = await created(desk.supervisor, "surveys", SURVEY)
    assert survey["questions"][0]["low"] == 1 and survey["questions"][0]["high"] == 5
    assert survey["questions"][1]["high"] == 2
    for broken in (
        {
            **SURVEY,
            "name": "x",
            "questions": [{"key": "a", "text": {"en": "?"}, "low": 5, "high": 5}],
        },
        {**SURVEY, "name": "x", "questions": [SURVEY["questions"][0]] * 2},
        {**SURVEY, "name": "x", "link_text": {"en": "no link here"}},
        {**SURVEY, "name": "x", "questions": []},
    ):
        r = await desk.supervisor.post("/api/v1/surveys", json=broken)
        assert r.status_code == 422, broken
    assert (await desk.agent.post("/api/v1/surveys", json=SURVEY)).status_code == 403
    taken = await desk.supervisor.post("/api/v1/surveys", json=SURVEY)
    assert taken.status_code == 409 and taken.json()["error_id"] == "survey_name_taken"

    sales = await queue(desk)
    url = f"/api/v1/survey-queues/{sales}"
    assert (await desk.supervisor.get(url)).status_code == 404
    put = await desk.supervisor.put(url, json={"survey_id": survey["id"], "sms": True})
    assert put.json() == {"queue_id": sales, "survey_id": survey["id"], "keypad": True, "sms": True}
    assert (await desk.supervisor.get("/api/v1/survey-queues")).json() == [put.json()]
    neither = await desk.supervisor.put(
        url, json={"survey_id": survey["id"], "keypad": False, "sms": False}
    )
    assert neither.status_code == 422
    assert (await desk.other.put(url, json={"survey_id": survey["id"]})).status_code == 404
    theirs = await created(desk.other, "surveys", {**SURVEY, "name": "theirs"})
    mixed = await desk.supervisor.put(url, json={"survey_id": theirs["id"]})
    assert mixed.status_code == 404

    async with runtime.unit_of_work() as session:
        by_id = await survey_for_call(session, tenant_id=desk.tenant_id, queue_id=sales)
        by_name = await survey_for_call(session, tenant_id=desk.tenant_id, queue_name="sales")
        foreign = await survey_for_call(session, tenant_id=desk.tenant_id + 1, queue_id=sales)
    assert by_id is not None and by_id == by_name and foreign is None
    assert by_id.keypad and by_id.sms and by_id.queue == "sales"
    assert [q.key for q in by_id.questions] == ["agent", "solved"]

    await desk.supervisor.patch(f"/api/v1/surveys/{survey['id']}", json={"enabled": False})
    async with runtime.unit_of_work() as session:
        assert await survey_for_call(session, tenant_id=desk.tenant_id, queue_id=sales) is None
    assert (await desk.supervisor.delete(url)).status_code == 204
    assert (await desk.supervisor.get(url)).status_code == 404


async def test_keypad_answers_are_stored_with_the_call_record_agent_and_queue(
    desk: Desk, runtime: Runtime
) -> None:
    survey = await created(desk.supervisor, "surveys", SURVEY)
    sales = await queue(desk)
    await desk.supervisor.put(f"/api/v1/survey-queues/{sales}", json={"survey_id": survey["id"]})
    kim = await customer(desk, "김민수", "010-1234-5678")
    record_id = await call_record(runtime, desk.tenant_id, "call-1@test", "01012345678")
    async with runtime.unit_of_work() as session:
        plan = await survey_for_call(session, tenant_id=desk.tenant_id, queue_name="sales")
    assert plan is not None

    port = FakePort(["4", "1"], language=Language.KO, caller="01012345678")
    context = SurveyContext(call_id="call-1@test", caller="01012345678")
    outcome = await run_survey_on_call(runtime.unit_of_work, port, plan, context)
    assert outcome.complete
    assert port.events[-1] == "tts ko:감사합니다!"

    second = FakePort(["2"], caller="+821012345678")
    partial = SurveyContext(call_id="call-2@test", caller="+821012345678", agent="agent9")
    await run_keypad_survey(
        second, plan, DbSurveyRecorder(runtime.unit_of_work, plan=plan, context=partial)
    )

    listed = (await desk.supervisor.get("/api/v1/survey-responses")).json()
    assert listed["total"] == 2
    latest, first = listed["items"]
    assert first["status"] == "complete" and first["channel"] == "keypad"
    assert first["call_record_id"] == record_id and first["agent"] == "agent1"
    assert first["queue"] == "sales" and first["customer_id"] == kim and first["language"] == "ko"
    assert [(a["question"], a["value"]) for a in first["answers"]] == [("agent", 4), ("solved", 1)]
    assert latest["status"] == "partial" and latest["call_record_id"] is None
    assert latest["agent"] == "agent9"

    summary = (await desk.supervisor.get(f"/api/v1/surveys/{survey['id']}/summary")).json()
    assert summary["responses"] == 2 and summary["complete"] == 1
    agent_q = summary["questions"][0]
    assert agent_q == {
        "key": "agent",
        "answers": 2,
        "average": 3.0,
        "distribution": {"2": 1, "4": 1},
    }
    per_agent = await desk.supervisor.get(
        f"/api/v1/surveys/{survey['id']}/summary", params={"agent": "agent1"}
    )
    assert per_agent.json()["questions"][0]["average"] == 4.0
    by_record = await desk.supervisor.get(
        "/api/v1/survey-responses", params={"call_record_id": record_id}
    )
    assert by_record.json()["total"] == 1
    assert (await desk.agent.get("/api/v1/survey-responses")).status_code == 403
    assert (await desk.other.get(f"/api/v1/survey-responses/{first['id']}")).status_code == 404

    timeline = (await desk.agent.get(f"/api/v1/customers/{kim}/timeline")).json()
    surveys = [e for e in timeline["items"] if e["kind"] == "survey"]
    assert len(surveys) == 2 and surveys[-1]["detail"]["average"] == 2.5


async def test_an_sms_link_is_answered_on_the_public_page_in_three_languages(
    desk: Desk, runtime: Runtime
) -> None:
    await kannel_gateway(desk)
    survey = await created(desk.supervisor, "surveys", SURVEY)
    await customer(desk, "王伟", "010-5555-6666", language="zh")
    record_id = await call_record(runtime, desk.tenant_id, "call-3@test", "010-5555-6666")
    r = await desk.agent.post(
        f"/api/v1/surveys/{survey['id']}/sms-links", json={"call_record_id": record_id}
    )
    assert r.status_code == 201, r.text
    response = r.json()
    assert response["status"] == "pending" and response["channel"] == "sms"
    assert response["language"] == "zh" and response["agent"] == "agent1"
    sms = (await desk.agent.get(f"/api/v1/sms/messages/{response['sms_message_id']}")).json()
    assert sms["number"] == "+821055556666" and sms["purpose"] == "survey"
    assert sms["body"].startswith("请为本次通话评分")
    link = re.search(r"(https?://\S+/survey/(\S+))", sms["body"])
    assert link is not None and link.group(1).startswith("http://127.0.0.1:8080/survey/")
    page = f"/survey/{link.group(2)}"

    zh = await desk.public.get(page)
    assert zh.status_code == 200 and "客服是否有帮助？" in zh.text and 'lang="zh"' in zh.text
    assert zh.text.count('type="radio" name="agent"') == 5
    assert zh.text.count('type="radio" name="solved"') == 2
    ko = await desk.public.get(page, params={"lang": "ko"})
    assert "상담원이 도움이 되었나요?" in ko.text
    en = await desk.public.get(page, params={"lang": "en"})
    assert "How helpful was the agent?" in en.text and "Please rate your call." in en.text

    answered = await desk.public.post(
        page, params={"lang": "ko"}, data={"agent": "5", "solved": "2", "junk": "7"}
    )
    assert answered.status_code == 200 and "감사합니다!" in answered.text
    again = await desk.public.get(page)
    assert "此调查已经填写过了" in again.text
    twice = await desk.public.post(page, data={"agent": "1", "solved": "1"})
    assert twice.status_code == 200
    shown = (await desk.supervisor.get(f"/api/v1/survey-responses/{response['id']}")).json()
    assert shown["status"] == "complete"
    assert [(a["question"], a["value"]) for a in shown["answers"]] == [("agent", 5), ("solved", 2)]

    unknown = await desk.public.get("/survey/not-a-token", headers={"accept-language": "ko"})
    assert unknown.status_code == 404 and "유효하지 않은" in unknown.text

    r2 = await desk.agent.post(
        f"/api/v1/surveys/{survey['id']}/sms-links", json={"to": "+8613800138000", "language": "en"}
    )
    late = r2.json()
    async with runtime.unit_of_work() as session:
        row = await session.get(SurveyResponse, late["id"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
    sms2 = (await desk.agent.get(f"/api/v1/sms/messages/{late['sms_message_id']}")).json()
    token = sms2["body"].rsplit("/survey/", 1)[1]
    expired = await desk.public.get(f"/survey/{token}")
    assert expired.status_code == 410 and "expired" in expired.text
    refused = await desk.public.post(f"/survey/{token}", data={"agent": "5"})
    assert refused.status_code == 410


async def test_the_end_of_a_call_texts_the_link_when_the_queue_wants_sms(
    desk: Desk, runtime: Runtime
) -> None:
    await kannel_gateway(desk)
    survey = await created(desk.supervisor, "surveys", SURVEY)
    sales = await queue(desk)
    url = f"/api/v1/survey-queues/{sales}"
    await desk.supervisor.put(url, json={"survey_id": survey["id"], "keypad": False, "sms": True})
    await call_record(runtime, desk.tenant_id, "call-4@test", "010-7777-8888")
    links = SurveyLinkSender(runtime, grace=lambda _plan: 0.0)
    ended = CallFinished(
        tenant_id=desk.tenant_id, agent_id=1, username="agent1", call_id="call-4@test"
    )
    assert await links.schedule(ended) is not None
    (sent,) = await links.send_due()
    assert sent is not None and sent.channel.value == "sms" and sent.queue == "sales"
    assert await links.schedule(ended) is None, "one link per call"
    assert await links.send_due() == []

    await desk.supervisor.put(url, json={"survey_id": survey["id"], "keypad": True, "sms": True})
    await call_record(runtime, desk.tenant_id, "call-5@test", "010-7777-8888")
    async with runtime.unit_of_work() as session:
        plan = await survey_for_call(session, tenant_id=desk.tenant_id, queue_id=sales)
    assert plan is not None
    context = SurveyContext(call_id="call-5@test", caller="010-7777-8888")
    await run_keypad_survey(
        FakePort(["5", "1"]),
        plan,
        DbSurveyRecorder(runtime.unit_of_work, plan=plan, context=context),
    )
    done = CallFinished(
        tenant_id=desk.tenant_id, agent_id=1, username="agent1", call_id="call-5@test"
    )
    assert await links.schedule(done) is not None
    assert await links.send_due() == [None], "the keypad survey was completed"

    await call_record(runtime, desk.tenant_id, "call-6@test", "anonymous")
    nobody = CallFinished(
        tenant_id=desk.tenant_id, agent_id=1, username="agent1", call_id="call-6@test"
    )
    await links.schedule(nobody)
    assert await links.send_due() == [None], "no number to text"
    async with runtime.unit_of_work() as session:
        rows = (await session.execute(select(SurveyResponse.call_id, SurveyResponse.channel))).all()
    assert sorted((c, ch.value) for c, ch in rows) == [
        ("call-4@test", "sms"),
        ("call-5@test", "keypad"),
    ]


async def test_a_scheduled_link_survives_a_restart(desk: Desk, runtime: Runtime) -> None:
    await kannel_gateway(desk)
    survey = await created(desk.supervisor, "surveys", SURVEY)
    sales = await queue(desk)
    await desk.supervisor.put(
        f"/api/v1/survey-queues/{sales}",
        json={"survey_id": survey["id"], "keypad": True, "sms": True},
    )
    await call_record(runtime, desk.tenant_id, "call-7@test", "010-3333-4444")
    start = utcnow()
    before = SurveyLinkSender(runtime, grace=lambda _plan: 90.0, clock=lambda: start)
    ended = CallFinished(
        tenant_id=desk.tenant_id, agent_id=1, username="agent1", call_id="call-7@test"
    )
    job = await before.schedule(ended)
    assert job is not None and job.due_at == start + timedelta(seconds=90)
    assert await before.send_due() == [], "the keypad survey may still be running"

    rebuilt = Runtime.build(runtime.settings)
    try:
        later = start + timedelta(seconds=91)
        after = SurveyLinkSender(rebuilt, clock=lambda: later)
        (sent,) = await after.send_due()
        assert sent is not None and sent.call_id == "call-7@test"
        assert await after.send_due() == []
    finally:
        await rebuilt.close()
    async with runtime.unit_of_work() as session:
        message = await session.get(SmsMessage, sent.sms_message_id)
    assert message is not None and message.number.endswith("1033334444")
    assert message.status.value == "queued" and message.purpose == "survey"
