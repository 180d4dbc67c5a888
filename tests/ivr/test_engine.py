"""The interpreter on a scripted call: what the caller hears, where the call goes, and
the path recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from helpline.ivr.engine import (
    FlowOutcome,
    Limits,
    OutcomeKind,
    SmsNotQueued,
    SmsRequest,
    run_flow,
)
from helpline.ivr.flow import FlowDocument
from helpline.ivr.port import TransferKind
from helpline.prompts.language import Language
from tests.ivr.fakes import FakePort, ListRecorder

BYE: dict[str, Any] = {"type": "hangup", "prompt": {"names": ["ivr/goodbye"]}}


def doc(start: str, **nodes: dict[str, Any]) -> FlowDocument:
    """A document from nodes given as keyword arguments."""
    return FlowDocument.model_validate({"start": start, "nodes": {"bye": BYE, **nodes}})


def menu(**extra: Any) -> dict[str, Any]:
    """A main menu: 1 sales queue, 2 account lookup, 9 hang up."""
    return {
        "type": "menu",
        "prompt": {"names": ["ivr/for"]},
        "options": {"1": "sales", "2": "account", "9": "bye"},
        "timeout": 3,
        "retries": 1,
        "on_fail": "bye",
        **extra,
    }


SALES: dict[str, Any] = {"type": "queue", "queue": "sales"}


class Clock:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


async def run(document: FlowDocument, port: FakePort, **kwargs: Any) -> FlowOutcome:
    return await run_flow(document, port, **kwargs)


async def test_caller_pressing_1_lands_in_the_sales_queue() -> None:
    port = FakePort(["1"])
    outcome = await run(doc("main", main=menu(), sales=SALES), port)
    assert outcome.kind is OutcomeKind.TRANSFERRED
    assert outcome.target is not None and outcome.target.kind is TransferKind.QUEUE
    assert port.events == ["play en:ivr/for", "collect 1", "transfer queue:sales"]
    assert port.collects[0] == {"max_digits": 1, "terminator": "", "first_timeout": 3.0}


async def test_invalid_key_then_silence_plays_each_retry_prompt_then_on_fail() -> None:
    port = FakePort(["7", ""])
    outcome = await run(doc("main", main=menu(), sales=SALES), port)
    assert outcome.kind is OutcomeKind.HUNG_UP
    assert port.events == [
        "play en:ivr/for",
        "collect 7",
        "play en:ivr/invalid-option",
        "play en:ivr/for",
        "collect ",
        "play en:ivr/please-try-again",
        "play en:ivr/goodbye",
        "hangup",
    ]


async def test_a_wrong_key_on_the_retry_still_reaches_the_option() -> None:
    port = FakePort(["5", "1"])
    outcome = await run(doc("main", main=menu(), sales=SALES), port)
    assert outcome.target is not None and outcome.target.target == "sales"


async def test_language_choice_switches_prompts_tts_and_numbers() -> None:
    document = doc(
        "choose",
        choose={
            "type": "menu",
            "prompt": {"names": ["ivr/for"]},
            "options": {"1": "en", "2": "zh"},
            "on_fail": "bye",
        },
        zh={"type": "language", "language": "zh", "next": "hello"},
        en={"type": "language", "language": "en", "next": "hello"},
        hello={
            "type": "play",
            "prompt": {"text": {"en": "Hello", "zh": "你好"}},
            "next": "count",
        },
        count={"type": "say", "kind": "number", "value": "3", "next": "bye"},
    )
    port = FakePort(["2"])
    outcome = await run(document, port)
    assert port.language is Language.ZH
    assert outcome.variables["call.language"] == "zh"
    assert port.events[2:] == ["tts zh:你好", "play zh:digits/3", "play zh:ivr/goodbye", "hangup"]


async def test_document_language_applies_from_the_start() -> None:
    document = FlowDocument.model_validate(
        {"start": "bye", "language": "ko", "nodes": {"bye": BYE}}
    )
    port = FakePort()
    await run(document, port)
    assert port.events == ["play ko:ivr/goodbye", "hangup"]


async def test_collect_retries_until_digits_fit_then_stores_them() -> None:
    collect = {
        "type": "collect",
        "prompt": {"names": ["ivr/please-enter"]},
        "into": "account",
        "min_length": 4,
        "max_length": 6,
        "pattern": "[1-9][0-9]*",
        "retries": 2,
        "next": "echo",
        "on_invalid": "bye",
    }
    echo = {"type": "say", "kind": "digits", "value": "{account}", "next": "bye"}
    port = FakePort(["12", "0123", "1203"])
    recorder = ListRecorder()
    outcome = await run(doc("ask", ask=collect, echo=echo), port, recorder=recorder)
    assert outcome.variables["account"] == "1203"
    assert port.events.count("play en:ivr/please-try-again") == 2
    assert port.events[-6:-2] == [
        "play en:digits/1",
        "play en:digits/2",
        "play en:digits/0",
        "play en:digits/3",
    ]
    assert port.collects[0]["max_digits"] == 6
    assert port.collects[0]["terminator"] == "#"
    assert [(s.node, s.digits, s.result) for s in recorder.steps] == [
        ("ask", "1203", "ok"),
        ("echo", None, "ok"),
        ("bye", None, "hangup"),
    ]


async def test_collect_gives_up_on_invalid_and_private_digits_stay_out_of_the_path() -> None:
    collect = {
        "type": "collect",
        "prompt": {"text": "PIN"},
        "into": "pin",
        "min_length": 4,
        "max_length": 4,
        "retries": 0,
        "private": True,
        "next": "bye",
        "on_invalid": "sorry",
    }
    sorry = {"type": "play", "prompt": {"text": "Sorry"}, "next": "bye"}
    recorder = ListRecorder()
    outcome = await run(doc("pin", pin=collect, sorry=sorry), FakePort(["12"]), recorder=recorder)
    assert "pin" not in outcome.variables
    assert (recorder.steps[0].digits, recorder.steps[0].result) == (None, "invalid")
    assert recorder.steps[1].node == "sorry"


async def test_say_amount_and_date_in_korean_and_bad_values_take_on_error() -> None:
    document = FlowDocument.model_validate(
        {
            "start": "amount",
            "language": "ko",
            "variables": {"balance": "1000", "due": "2026-03-02", "junk": "abc"},
            "nodes": {
                "amount": {
                    "type": "say",
                    "kind": "amount",
                    "value": "{balance}",
                    "currency": "KRW",
                    "next": "date",
                },
                "date": {"type": "say", "kind": "date", "value": "{due}", "next": "junk"},
                "junk": {
                    "type": "say",
                    "kind": "number",
                    "value": "{junk}",
                    "next": "bye",
                    "on_error": "oops",
                },
                "oops": {"type": "play", "prompt": {"text": "?"}, "next": "bye"},
                "bye": {"type": "hangup"},
            },
        }
    )
    port = FakePort()
    await run(document, port)
    assert port.events[:3] == [
        "play ko:digits/thousand",
        "play ko:currency/won",
        "play ko:digits/2",
    ]
    assert "play ko:weekdays/monday" in port.events
    assert port.events[-2:] == ["tts ko:?", "hangup"]


async def test_set_and_conditions_branch_without_evaluating_code() -> None:
    def cond(op: str, value: Any, then: str, other: str, variable: str = "n") -> dict[str, Any]:
        return {
            "type": "condition",
            "variable": variable,
            "operator": op,
            "value": value,
            "then": then,
            "else": other,
        }

    document = doc(
        "set",
        set={"type": "set", "variable": "n", "value": "{call.caller}", "next": "c1"},
        c1=cond("gt", "100", "c2", "fail"),
        c2=cond("lt", "abc", "fail", "c3"),
        c3=cond("in", ["1", "{call.caller}"], "c4", "fail"),
        c4=cond("matches", "555[0-9]{4}", "c5", "fail"),
        c5={
            "type": "condition",
            "variable": "missing",
            "operator": "empty",
            "then": "c6",
            "else": "fail",
        },
        c6=cond("ne", "{n}", "fail", "c7"),
        c7=cond("eq", "5551234", "ok", "fail"),
        ok={"type": "play", "prompt": {"text": "ok"}, "next": "bye"},
        fail={"type": "play", "prompt": {"text": "fail"}, "next": "bye"},
    )
    port = FakePort(caller="5551234")
    await run(document, port)
    assert "tts en:ok" in port.events


async def test_queue_priority_and_skills_come_from_variables() -> None:
    queue = {
        "type": "queue",
        "queue": "support",
        "priority": "{vip}",
        "skills": {"billing": "{level}", "english": 3},
        "data": ["account"],
    }
    outcome = await run(
        doc("q", q=queue),
        FakePort(),
        variables={"vip": "7", "level": "not a number", "account": "42"},
    )
    target = outcome.target
    assert target is not None
    assert (target.kind, target.target, target.priority) == (TransferKind.QUEUE, "support", 7)
    assert target.skills == {"billing": 0, "english": 3}
    assert target.data == {"account": "42"}


async def test_voicemail_and_transfers_hand_the_call_on() -> None:
    for node, kind, target in [
        ({"type": "voicemail", "box": "sales"}, TransferKind.VOICEMAIL, "sales"),
        ({"type": "transfer", "number": "+15550100"}, TransferKind.NUMBER, "+15550100"),
        ({"type": "transfer", "agent": "alice"}, TransferKind.AGENT, "alice"),
    ]:
        port = FakePort()
        outcome = await run(doc("x", x=node), port)
        assert outcome.kind is OutcomeKind.TRANSFERRED
        assert port.transferred is not None
        assert (port.transferred.kind, port.transferred.target) == (kind, target)


async def test_survey_answers_land_in_variables_and_out_of_range_keys_are_asked_again() -> None:
    survey = {
        "type": "survey",
        "questions": [
            {"prompt": {"text": "Q1"}},
            {"prompt": {"text": "Q2"}},
            {"prompt": {"text": "Q3"}},
        ],
        "retries": 1,
        "thanks": {"names": ["ivr/thank-you-for-calling"]},
        "next": "bye",
    }
    recorder = ListRecorder()
    outcome = await run(doc("s", s=survey), FakePort(["5", "8", "3", "", ""]), recorder=recorder)
    assert outcome.variables["survey.q1"] == "5"
    assert outcome.variables["survey.q2"] == "3"
    assert "survey.q3" not in outcome.variables
    assert recorder.steps[0].digits == "53-"


async def test_caller_hanging_up_ends_the_run_and_the_step_is_recorded() -> None:
    recorder = ListRecorder()
    clock = Clock()
    outcome = await run(
        doc("main", main=menu(), sales=SALES), FakePort([]), recorder=recorder, clock=clock
    )
    assert outcome.kind is OutcomeKind.CALLER_HUNG_UP
    assert outcome.node == "main"
    assert [(s.node, s.node_type, s.result) for s in recorder.steps] == [
        ("main", "menu", "caller_hung_up")
    ]
    assert recorder.steps[0].entered_at == datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)
    assert recorder.outcome is outcome


async def test_a_looping_flow_stops_at_the_visit_limit() -> None:
    document = doc(
        "a",
        a={"type": "set", "variable": "x", "value": "1", "next": "b"},
        b={"type": "set", "variable": "y", "value": "2", "next": "a"},
    )
    outcome = await run(document, FakePort(), limits=Limits(max_visits=10))
    assert outcome.kind is OutcomeKind.FAILED
    assert "more than 10 times" in outcome.reason
    assert outcome.steps == 20


async def test_the_step_limit_bounds_a_run() -> None:
    document = doc(
        "a",
        a={"type": "set", "variable": "x", "value": "1", "next": "b"},
        b={"type": "set", "variable": "y", "value": "2", "next": "a"},
    )
    outcome = await run(document, FakePort(), limits=Limits(max_steps=7, max_visits=100))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.steps == 7


async def test_a_missing_prompt_is_skipped_not_fatal() -> None:
    document = doc(
        "p", p={"type": "play", "prompt": {"names": ["ivr/for", "custom/gone"]}, "next": "bye"}
    )
    port = FakePort(missing=["custom/gone"])
    outcome = await run(document, port)
    assert outcome.kind is OutcomeKind.HUNG_UP
    assert port.events[0] == "play en:ivr/for"


async def test_an_unexpected_error_in_a_node_fails_the_run_without_hanging_up() -> None:
    class BrokenPort(FakePort):
        async def speak(self, text: str) -> Any:
            raise RuntimeError("tts engine down")

    port = BrokenPort()
    recorder = ListRecorder()
    document = doc("p", p={"type": "play", "prompt": {"text": "hi"}, "next": "bye"})
    outcome = await run(document, port, recorder=recorder)
    assert outcome.kind is OutcomeKind.FAILED
    assert "tts engine down" in outcome.reason
    assert not port.hung_up
    assert recorder.steps[0].result == "failed"


async def test_call_variables_are_set_and_cannot_be_overridden_by_the_document() -> None:
    port = FakePort(caller="777", called="1000")
    outcome = await run(doc("bye"), port, variables={"call.caller": "forged", "extra": "1"})
    assert outcome.variables["call.caller"] == "777"
    assert outcome.variables["call.called"] == "1000"
    assert outcome.variables["extra"] == "1"


class Outbox:
    """An SMS outbox keeping the requests; refuses numbers in ``refused``."""

    def __init__(self, refused: frozenset[str] = frozenset()) -> None:
        self.requests: list[SmsRequest] = []
        self.refused = refused

    async def queue(self, request: SmsRequest) -> None:
        if request.to in self.refused:
            raise SmsNotQueued("not a phone number")
        self.requests.append(request)


def texting(**sms: Any) -> FlowDocument:
    return doc(
        "lookup",
        lookup={"type": "set", "variable": "balance", "value": "12.50", "next": "text"},
        text={"type": "sms", "next": "sales", **sms},
        sales=SALES,
    )


async def test_an_sms_node_queues_a_text_to_the_caller_and_the_call_goes_on() -> None:
    port = FakePort(language=Language.KO, caller="01012345678")
    outbox, recorder = Outbox(), ListRecorder()
    text = {"en": "Balance {balance}", "ko": "잔액 {balance} ({call.caller})"}
    outcome = await run(texting(text=text), port, sms=outbox, recorder=recorder)
    assert outcome.kind is OutcomeKind.TRANSFERRED and port.events == ["transfer queue:sales"]
    (request,) = outbox.requests
    assert (request.to, request.text, request.template) == (
        "01012345678",
        "잔액 12.50 (01012345678)",
        None,
    )
    assert request.language is Language.KO and request.call_id == "call-1"
    assert [(s.node, s.result) for s in recorder.steps] == [
        ("lookup", "ok"),
        ("text", "queued"),
        ("sales", "transferred"),
    ]


async def test_an_sms_template_gets_the_call_variables_and_another_recipient() -> None:
    outbox = Outbox()
    await run(texting(template="balance", to="{balance}0"), FakePort(), sms=outbox)
    (request,) = outbox.requests
    assert (request.template, request.text, request.to) == ("balance", None, "12.500")
    assert request.variables["balance"] == "12.50"
    assert request.variables["call.caller"] == "5551234"


async def test_an_sms_that_cannot_be_queued_takes_on_error_or_next() -> None:
    refused = Outbox(frozenset({"anonymous"}))
    recorder = ListRecorder()
    outcome = await run(
        texting(template="t", on_error="bye"),
        FakePort(caller="anonymous"),
        sms=refused,
        recorder=recorder,
    )
    assert outcome.kind is OutcomeKind.HUNG_UP and refused.requests == []
    assert [(s.node, s.result) for s in recorder.steps][1] == ("text", "error")
    without = await run(texting(template="t"), FakePort())
    assert without.kind is OutcomeKind.TRANSFERRED, "no outbox: the call goes on to next"
