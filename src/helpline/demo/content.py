"""The demo tenant's self-service content: what callers of 1000 and 1001 get.

Everything is made through the domains' own service functions, acting as the demo
tenant's admin, so it is validated (and audited) like anything an admin creates:

* voicemail box ``demo-voicemail`` (owner: queue ``support``);
* flow ``demo-menu`` (published): a language choice (1 English, 2 中文, 3 한국어, each
  offer spoken in its own language), then the main menu in the chosen language: 1
  queue ``sales``, 2 queue ``support``, 3 account number -> balance lookup over HTTP
  -> the amount spoken -> back to the menu, 9 voicemail; invalid keys and silence are
  retried, then the caller hears goodbye;
* flow ``demo-night`` (published): closed, our hours (in the three languages), then
  voicemail;
* VoiceXML document ``demo-menu-vxml``: the day menu again, English only;
* services ``demo`` and ``demo-vxml`` in the tenant's time zone: Mon-Fri 09:00-18:00 the
  day flow (or the VoiceXML document), otherwise the night flow;
* numbers 1000 -> ``demo``, 1001 -> ``demo-vxml``;
* blacklist entry ``+99955500666`` (reject busy).

The balance lookup calls this node's own HTTP port (``settings.http_host`` and
``http_port`` when the content is created; the published flow keeps that URL), where
:mod:`helpline.demo.router` stands in for a customer's back-office system.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.config import Settings
from helpline.ivr import service as flows
from helpline.ivr.schemas import FlowCreate
from helpline.prompts.language import Language
from helpline.prompts.say import say_amount
from helpline.routing import service as routing
from helpline.routing.blacklist import BlockAction, BlockKind
from helpline.routing.schedule import FlowTarget, Target, VxmlTarget, Weekday, WeeklyRule
from helpline.routing.schemas import BlacklistCreate, NumberCreate, ServiceCreate
from helpline.tenants.models import Tenant
from helpline.users.models import Role, User
from helpline.voicemail import service as voicemail
from helpline.voicemail.models import OwnerKind
from helpline.voicemail.schemas import BoxCreate
from helpline.vxml import service as vxml
from helpline.vxml.schemas import VxmlDocumentCreate

log = logging.getLogger(__name__)

DAY_FLOW: Final = "demo-menu"
NIGHT_FLOW: Final = "demo-night"
VXML_DOCUMENT: Final = "demo-menu-vxml"
VOICEMAIL_BOX: Final = "demo-voicemail"
SERVICE: Final = "demo"
VXML_SERVICE: Final = "demo-vxml"
NUMBER: Final = "1000"
VXML_NUMBER: Final = "1001"
BLOCKED_NUMBER: Final = "+99955500666"
SALES_QUEUE: Final = "sales"
SUPPORT_QUEUE: Final = "support"
CURRENCY: Final = "USD"
DEMO_PATH: Final = "/api/demo"
OPENING: Final = (time(9), time(18))
WORKDAYS: Final = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)

EN, ZH, KO = Language.EN, Language.ZH, Language.KO

_OFFER = {
    EN: "Welcome to Demo Company. For English, press 1.",
    ZH: "中文服务，请按2。",
    KO: "한국어 서비스는 3번을 누르세요.",
}
_MENU = {
    EN: "For sales, press 1. For support, press 2. "
    "To hear your account balance, press 3. To leave us a message, press 9.",
    ZH: "销售请按1。技术支持请按2。查询账户余额请按3。留言请按9。",
    KO: "영업팀은 1번, 고객 지원은 2번, 계좌 잔액 조회는 3번, "
    "음성 메시지를 남기시려면 9번을 누르세요.",
}
_ACCOUNT = {
    EN: "Please enter your account number, 4 to 8 digits, then press the hash key.",
    ZH: "请输入四到八位的账号，然后按井号键。",
    KO: "4자리에서 8자리의 계좌 번호를 입력하신 후 우물 정자를 누르세요.",
}
_BAD_ACCOUNT = {
    EN: "That is not a valid account number.",
    ZH: "账号无效。",
    KO: "유효하지 않은 계좌 번호입니다.",
}
_BALANCE_IS = {EN: "Your balance is", ZH: "您的账户余额是", KO: "고객님의 계좌 잔액은"}
_UNKNOWN = {
    EN: "We could not find that account.",
    ZH: "未找到该账户。",
    KO: "해당 계좌를 찾을 수 없습니다.",
}
_UNAVAILABLE = {
    EN: "Sorry, the balance service is not available right now.",
    ZH: "抱歉，余额查询服务暂时无法使用。",
    KO: "죄송합니다. 지금은 잔액 조회 서비스를 이용할 수 없습니다.",
}
_CLOSED = {
    EN: "Thank you for calling Demo Company. We are closed now. Our opening hours are "
    "Monday to Friday, from 9 a.m. to 6 p.m. You can leave us a message.",
    ZH: "感谢致电演示公司。我们现在已下班。"
    "营业时间为周一至周五上午九点至下午六点。您可以给我们留言。",
    KO: "데모 회사에 전화해 주셔서 감사합니다. 지금은 업무 시간이 아닙니다. 업무 시간은 "
    "월요일부터 금요일, 오전 9시부터 오후 6시까지입니다. 메시지를 남겨 주세요.",
}
_GOODBYE = ["ivr/thank-you-for-calling", "ivr/goodbye"]


@dataclass(frozen=True, slots=True)
class DemoContent:
    """Ids of what :func:`load_content` created."""

    box_id: int
    day_flow_id: int
    night_flow_id: int
    vxml_document_id: int
    service_id: int
    vxml_service_id: int
    blacklist_entry_id: int


def demo_base_url(settings: Settings) -> str:
    """``http://HOST:PORT/api/demo`` of this node's HTTP server (a wildcard bind
    address becomes the loopback address)."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(
        settings.http_host, settings.http_host
    )
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}{DEMO_PATH}"


def _text(texts: dict[Language, str]) -> dict[str, Any]:
    return {"text": {language.value: text for language, text in texts.items()}}


def _play(texts: dict[Language, str], next_node: str) -> dict[str, Any]:
    return {"type": "play", "prompt": _text(texts), "next": next_node}


def _language(language: Language, next_node: str) -> dict[str, Any]:
    return {"type": "language", "language": language.value, "next": next_node}


def day_flow(base_url: str) -> dict[str, Any]:
    """The ``demo-menu`` flow document; ``base_url`` is :func:`demo_base_url`.

    The language offers are play nodes, each after a ``language`` node so that its
    text is spoken in its own language; the last offer is the language menu's own
    prompt (a key pressed during it is taken at once). Three failed attempts at the
    language menu (counted in ``lang_tries``) or at the main menu end with goodbye.
    """
    nodes: dict[str, Any] = {
        "lang-en": _language(EN, "offer-en"),
        "offer-en": _play({EN: _OFFER[EN]}, "lang-zh"),
        "lang-zh": _language(ZH, "offer-zh"),
        "offer-zh": _play({ZH: _OFFER[ZH]}, "lang-ko"),
        "lang-ko": _language(KO, "choose-language"),
        "choose-language": {
            "type": "menu",
            "prompt": _text({KO: _OFFER[KO]}),
            "options": {"1": "set-en", "2": "set-zh", "3": "set-ko"},
            "timeout": 5,
            "retries": 0,
            "on_fail": "language-retry",
        },
        "language-retry": {
            "type": "set",
            "variable": "lang_tries",
            "value": "{lang_tries}x",
            "next": "language-tries",
        },
        "language-tries": {
            "type": "condition",
            "variable": "lang_tries",
            "operator": "matches",
            "value": "x{3}",
            "then": "bye-en",
            "else": "lang-en",
        },
        "bye-en": _language(EN, "goodbye"),
        "set-en": _language(EN, "menu"),
        "set-zh": _language(ZH, "menu"),
        "set-ko": _language(KO, "menu"),
        "menu": {
            "type": "menu",
            "prompt": _text(_MENU),
            "options": {"1": "sales", "2": "support", "3": "account", "9": "voicemail"},
            "timeout": 6,
            "retries": 2,
            "on_fail": "goodbye",
        },
        "sales": {"type": "queue", "queue": SALES_QUEUE},
        "support": {"type": "queue", "queue": SUPPORT_QUEUE},
        "account": {
            "type": "collect",
            "prompt": _text(_ACCOUNT),
            "into": "account",
            "min_length": 4,
            "max_length": 8,
            "terminator": "#",
            "pattern": "[0-9]{4,8}",
            "retries": 2,
            "invalid_prompt": _text(_BAD_ACCOUNT),
            "next": "lookup",
            "on_invalid": "menu",
        },
        "lookup": {
            "type": "http",
            "method": "GET",
            "url": base_url + "/balance?account={account}",
            "timeout": 5,
            "results": {"balance": "balance", "currency": "currency"},
            "routes": [
                {"status": {"min": 200, "max": 299}, "next": "balance-is"},
                {"status": {"min": 404, "max": 404}, "next": "unknown-account"},
            ],
            "next": "lookup-failed",
            "on_error": "lookup-failed",
        },
        "balance-is": _play(_BALANCE_IS, "say-balance"),
        "say-balance": {
            "type": "say",
            "kind": "amount",
            "value": "{balance}",
            "currency": CURRENCY,
            "next": "menu",
            "on_error": "lookup-failed",
        },
        "unknown-account": _play(_UNKNOWN, "menu"),
        "lookup-failed": _play(_UNAVAILABLE, "menu"),
        "voicemail": {"type": "voicemail", "box": VOICEMAIL_BOX},
        "goodbye": {"type": "hangup", "prompt": {"names": _GOODBYE}},
    }
    return {"start": "lang-en", "variables": {"lang_tries": ""}, "nodes": nodes}


def night_flow() -> dict[str, Any]:
    """The ``demo-night`` flow document: closed and our hours in each language, then
    the voicemail box (its greeting in English)."""
    nodes: dict[str, Any] = {
        "lang-en": _language(EN, "closed-en"),
        "closed-en": _play({EN: _CLOSED[EN]}, "lang-zh"),
        "lang-zh": _language(ZH, "closed-zh"),
        "closed-zh": _play({ZH: _CLOSED[ZH]}, "lang-ko"),
        "lang-ko": _language(KO, "closed-ko"),
        "closed-ko": _play({KO: _CLOSED[KO]}, "back-to-en"),
        "back-to-en": _language(EN, "voicemail"),
        "voicemail": {"type": "voicemail", "box": VOICEMAIL_BOX},
    }
    return {"start": "lang-en", "nodes": nodes}


def menu_vxml(base_url: str) -> str:
    """The ``demo-menu-vxml`` document; ``base_url`` is :func:`demo_base_url`.

    Option 3 submits the account number to ``balance.vxml`` of the demo's HTTP
    endpoint, which speaks the balance and goes to ``menu.vxml`` there: this same
    document, served by :mod:`helpline.demo.router`.
    """
    balance = quoteattr(base_url + "/balance.vxml")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Demo Company's day menu in VoiceXML (number 1001), the same choices as the
     "demo-menu" flow. English only: the interpreter speaks in the call's language and
     a VoiceXML document cannot switch that language in the middle of a call. -->
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="en">
  <menu id="main">
    <property name="timeout" value="6s"/>
    <prompt>Welcome to Demo Company. {escape(_MENU[EN])}</prompt>
    <choice dtmf="1" next="#sales"/>
    <choice dtmf="2" next="#support"/>
    <choice dtmf="3" next="#balance"/>
    <choice dtmf="9" next="#voicemail"/>
    <nomatch><audio src="prompt:ivr/invalid-option">That is not a valid option.</audio>
      <reprompt/></nomatch>
    <noinput><audio src="prompt:ivr/please-try-again">Please try again.</audio>
      <reprompt/></noinput>
    <nomatch count="3"><goto next="#goodbye"/></nomatch>
    <noinput count="3"><goto next="#goodbye"/></noinput>
  </menu>
  <form id="sales">
    <transfer name="to_sales" dest="queue:{SALES_QUEUE}"/>
  </form>
  <form id="support">
    <transfer name="to_support" dest="queue:{SUPPORT_QUEUE}"/>
  </form>
  <form id="voicemail">
    <transfer name="to_voicemail" dest="voicemail:{VOICEMAIL_BOX}"/>
  </form>
  <form id="balance">
    <field name="account" type="digits?minlength=4;maxlength=8">
      <prompt>{escape(_ACCOUNT[EN])}</prompt>
      <nomatch>{escape(_BAD_ACCOUNT[EN])} <reprompt/></nomatch>
      <noinput><reprompt/></noinput>
      <nomatch count="3"><goto next="#main"/></nomatch>
      <noinput count="3"><goto next="#main"/></noinput>
      <filled>
        <submit next={balance} namelist="account" method="get"/>
      </filled>
    </field>
    <catch event="error.badfetch">{escape(_UNAVAILABLE[EN])} <goto next="#main"/></catch>
  </form>
  <form id="goodbye">
    <block>
      <audio src="prompt:ivr/thank-you-for-calling">Thank you for calling.</audio>
      <audio src="prompt:ivr/goodbye">Goodbye.</audio>
      <disconnect/>
    </block>
  </form>
</vxml>
"""


def balance_vxml(balance: str | None) -> str:
    """The document ``balance.vxml`` answers: the balance (None: the account is
    unknown), then back to ``menu.vxml`` next to it."""
    if balance is None:
        said = escape(_UNKNOWN[EN])
    else:
        amount = "".join(
            f'<audio src="prompt:{name}"/>' for name in say_amount(balance, EN, currency=CURRENCY)
        )
        said = f"{escape(_BALANCE_IS[EN])} {amount}"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="en">
  <form id="balance">
    <block>
      <prompt>{said}</prompt>
      <goto next="menu.vxml"/>
    </block>
  </form>
</vxml>
"""


async def _actor(session: AsyncSession, tenant: Tenant) -> Principal:
    """The tenant's first admin, in whose name the content is created."""
    admin = (
        await session.execute(
            select(User)
            .where(User.tenant_id == tenant.id, User.role == Role.TENANT_ADMIN)
            .order_by(User.id)
            .limit(1)
        )
    ).scalar_one()
    return Principal(
        user_id=admin.id,
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        username=admin.username,
        role=admin.role,
        scopes=ALL_SCOPES,
        via=Via.SESSION,
    )


async def _published_flow(
    session: AsyncSession, principal: Principal, name: str, description: str, document: Any
) -> int:
    flow = await flows.create_flow(
        session,
        principal=principal,
        data=FlowCreate(name=name, description=description, document=document),
    )
    await session.flush()
    await flows.publish_flow(session, principal=principal, flow_id=flow.id)
    return flow.id


async def _service(
    session: AsyncSession, principal: Principal, name: str, day: Target, night: Target
) -> int:
    opening, closing = OPENING
    rule = WeeklyRule(name="office hours", days=WORKDAYS, start=opening, end=closing, target=day)
    service = await routing.create_service(
        session,
        principal=principal,
        data=ServiceCreate(name=name, rules=[rule], default_target=night),
    )
    await session.flush()
    return service.id


async def load_content(session: AsyncSession, *, settings: Settings, tenant: Tenant) -> DemoContent:
    """Create the demo's self-service content in ``tenant`` (which has a tenant admin);
    nothing is committed here."""
    principal = await _actor(session, tenant)
    base_url = demo_base_url(settings)
    box = await voicemail.create_box(
        session,
        principal=principal,
        data=BoxCreate(name=VOICEMAIL_BOX, owner_kind=OwnerKind.QUEUE, owner_ref=SUPPORT_QUEUE),
    )
    day_id = await _published_flow(
        session,
        principal,
        DAY_FLOW,
        "Demo: language choice, sales, support, balance lookup, voicemail",
        day_flow(base_url),
    )
    night_id = await _published_flow(
        session, principal, NIGHT_FLOW, "Demo: closed, our hours, voicemail", night_flow()
    )
    document = await vxml.create_document(
        session,
        principal=principal,
        data=VxmlDocumentCreate(name=VXML_DOCUMENT, source=menu_vxml(base_url)),
    )
    await session.flush()
    night = FlowTarget(flow_id=night_id)
    service_id = await _service(session, principal, SERVICE, FlowTarget(flow_id=day_id), night)
    vxml_service_id = await _service(
        session, principal, VXML_SERVICE, VxmlTarget(document_id=document.id), night
    )
    for number, target in ((NUMBER, service_id), (VXML_NUMBER, vxml_service_id)):
        await routing.create_number(
            session, principal=principal, data=NumberCreate(number=number, service_id=target)
        )
    entry = await routing.create_blacklist_entry(
        session,
        principal=principal,
        data=BlacklistCreate(
            kind=BlockKind.EXACT,
            number=BLOCKED_NUMBER,
            action=BlockAction.REJECT_BUSY,
            note="demo: a blocked caller",
        ),
    )
    await session.flush()
    log.info("demo content loaded: numbers %s and %s", NUMBER, VXML_NUMBER)
    return DemoContent(
        box_id=box.id,
        day_flow_id=day_id,
        night_flow_id=night_id,
        vxml_document_id=document.id,
        service_id=service_id,
        vxml_service_id=vxml_service_id,
        blacklist_entry_id=entry.id,
    )
