"""Callers walking the published demo flow (and its VoiceXML copy) on a scripted port,
the balance lookup answered by the demo's real HTTP server on this node's port.

The fake port hands back the keys without the terminator, as a real port does: an
account number typed as ``1234#`` is scripted as ``"1234"``.
"""

from __future__ import annotations

from sqlalchemy import select

from helpline.demo import content
from helpline.demo.router import balance_of
from helpline.ivr import service as flows
from helpline.ivr.engine import FlowOutcome, OutcomeKind, run_flow
from helpline.ivr.models import Flow
from helpline.ivr.port import TransferKind
from helpline.prompts.language import Language
from helpline.prompts.say import say_amount
from helpline.runtime import Runtime
from helpline.vxml import interpreter as vxml
from helpline.vxml import service as documents
from helpline.vxml.fetch import HttpFetcher
from helpline.vxml.interpreter import run_vxml
from tests.ivr.fakes import FakePort, ListRecorder

OFFERS = [
    "tts en:Welcome to Demo Company. For English, press 1.",
    "tts zh:中文服务，请按2。",
    "tts ko:한국어 서비스는 3번을 누르세요.",
]
MENU_EN = (
    "tts en:For sales, press 1. For support, press 2. "
    "To hear your account balance, press 3. To leave us a message, press 9."
)


async def _walk(
    runtime: Runtime, port: FakePort, recorder: ListRecorder | None = None
) -> FlowOutcome:
    async with runtime.unit_of_work() as session:
        flow_id = (
            await session.execute(select(Flow.id).where(Flow.name == content.DAY_FLOW))
        ).scalar_one()
        tenant_id = (
            await session.execute(select(Flow.tenant_id).where(Flow.id == flow_id))
        ).scalar_one()
        published = await flows.load_published(session, tenant_id=tenant_id, flow_id=flow_id)
    assert published is not None and published.version == 1
    return await run_flow(published.document, port, recorder=recorder)


def _amount(account: str, language: Language = Language.EN) -> list[str]:
    balance = balance_of(account)
    assert balance is not None
    return [
        f"play {language.value}:{name}" for name in say_amount(balance, language, currency="USD")
    ]


async def test_balance_lookup_says_the_amount_then_returns_to_the_menu(served: Runtime) -> None:
    port = FakePort(["1", "3", "1234"])
    recorder = ListRecorder()
    outcome = await _walk(served, port, recorder)
    assert port.events == [
        *OFFERS,
        "collect 1",
        MENU_EN,
        "collect 3",
        "tts en:Please enter your account number, 4 to 8 digits, then press the hash key.",
        "collect 1234",
        "tts en:Your balance is",
        *_amount("1234"),
        MENU_EN,
    ]
    assert outcome.kind is OutcomeKind.CALLER_HUNG_UP
    assert outcome.variables["http.status"] == "200"
    assert outcome.variables["balance"] == balance_of("1234")
    steps = [(s.node, s.result) for s in recorder.steps]
    assert ("lookup", "status:200") in steps and ("say-balance", "ok") in steps


async def test_unknown_account_is_told_so_in_the_callers_language(served: Runtime) -> None:
    port = FakePort(["2", "3", "98765"])
    await _walk(served, port)
    menu_zh = "tts zh:销售请按1。技术支持请按2。查询账户余额请按3。留言请按9。"
    assert port.events[-3:] == ["collect 98765", "tts zh:未找到该账户。", menu_zh]


async def test_korean_caller_hears_the_amount_in_korean(served: Runtime) -> None:
    port = FakePort(["3", "3", "5555"])
    await _walk(served, port)
    assert "tts ko:고객님의 계좌 잔액은" in port.events
    assert port.events[-1 - len(_amount("5555", Language.KO)) - 1 : -1] == [
        "tts ko:고객님의 계좌 잔액은",
        *_amount("5555", Language.KO),
    ]


async def test_menu_9_hands_the_call_to_the_demo_voicemail_box(runtime: Runtime) -> None:
    port = FakePort(["1", "9"])
    outcome = await _walk(runtime, port)
    assert outcome.kind is OutcomeKind.TRANSFERRED
    assert outcome.target is not None
    assert (outcome.target.kind, outcome.target.target) == (
        TransferKind.VOICEMAIL,
        "demo-voicemail",
    )


async def test_menu_1_queues_the_call_for_sales(runtime: Runtime) -> None:
    port = FakePort(["2", "1"])
    outcome = await _walk(runtime, port)
    assert outcome.target is not None
    assert (outcome.target.kind, outcome.target.target) == (TransferKind.QUEUE, "sales")
    assert port.events[-1] == "transfer queue:sales"
    assert port.language is Language.ZH


async def test_silent_caller_hears_the_offers_three_times_then_goodbye(runtime: Runtime) -> None:
    port = FakePort(["", "", ""])
    outcome = await _walk(runtime, port)
    assert outcome.kind is OutcomeKind.HUNG_UP
    assert port.events.count(OFFERS[0]) == 3
    assert port.events[-3:] == [
        "play en:ivr/thank-you-for-calling",
        "play en:ivr/goodbye",
        "hangup",
    ]


async def test_vxml_menu_looks_up_the_balance_over_http(served: Runtime) -> None:
    async with served.unit_of_work() as session:
        tenant_id = (
            await session.execute(select(Flow.tenant_id).where(Flow.name == content.DAY_FLOW))
        ).scalar_one()
        source = await documents.source_by_name(
            session, tenant_id=tenant_id, name=content.VXML_DOCUMENT
        )
    assert source is not None
    base = content.demo_base_url(served.settings)
    port = FakePort(["3", "1234", "1"], called="1001")
    outcome = await run_vxml(port, fetcher=HttpFetcher(allowed=[base + "/"]), source=source)
    assert outcome.kind is vxml.OutcomeKind.TRANSFERRED
    assert outcome.transfer is not None and outcome.transfer.target == "sales"
    said = port.events[port.events.index("collect 1234") + 1 :]
    assert said[: 1 + len(_amount("1234"))] == ["tts en:Your balance is", *_amount("1234")]
