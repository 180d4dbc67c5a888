"""The demo tenant's knowledge base: three categories and published articles in
English, Chinese and Korean (refunds, opening hours, password reset, balance, orders).

Articles carry the demo's queues (``sales``, ``support``) and IVR nodes (``menu``,
``account``, ``voicemail`` ... of :mod:`helpline.demo.content`), so that a demo call
gets suggestions. Call :func:`load_demo_articles` once, inside the unit of work that
creates the demo tenant; it does nothing if the tenant has knowledge-base categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.db.base import utcnow
from helpline.kb.models import Article, ArticleLabel, ArticleVersion, Category, LabelKind
from helpline.prompts.language import Language

EN, ZH, KO = Language.EN, Language.ZH, Language.KO
PUBLISHER = "system"

CATEGORIES = {
    "billing": "Payments, refunds and invoices / 付款与退款 / 결제와 환불",
    "accounts": "Logins, passwords and balances / 账户与密码 / 계정과 비밀번호",
    "general": "Opening hours, orders and delivery / 营业时间与订单 / 영업 시간과 주문",
}


@dataclass(frozen=True, slots=True)
class DemoArticle:
    """One demo article, published as version 1."""

    category: str
    language: Language
    title: str
    body: str
    tags: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    ivr_nodes: tuple[str, ...] = ()


ARTICLES = (
    DemoArticle(
        "billing",
        EN,
        "Refunds: how a customer gets their money back",
        "Customers can ask for a refund within 30 days of delivery. Check the order "
        "number and the payment method, then create a work order for the billing "
        "department. Card refunds reach the customer in 5 to 7 working days; bank "
        "transfers in 3 days. Never promise a refund for opened software.",
        tags=("refund", "billing"),
        queues=("support",),
        ivr_nodes=("support",),
    ),
    DemoArticle(
        "billing",
        ZH,
        "退款政策与办理流程",
        "客户在收货后三十天内可以申请退款。请先核实订单号和付款方式，然后为财务部门"
        "创建工单。银行卡退款一般在五到七个工作日内到账，银行转账约三个工作日。"
        "已拆封的软件不予退款。",
        tags=("退款", "billing"),
        queues=("support",),
        ivr_nodes=("support",),
    ),
    DemoArticle(
        "billing",
        KO,
        "환불 정책 및 처리 절차",
        "고객은 상품 수령 후 30일 이내에 환불을 요청할 수 있습니다. 주문 번호와 결제 "
        "수단을 확인한 뒤 재무 부서에 작업 지시서를 작성하세요. 카드 환불은 영업일 "
        "기준 5~7일, 계좌 이체는 약 3일이 걸립니다. 개봉한 소프트웨어는 환불되지 않습니다.",
        tags=("환불", "billing"),
        queues=("support",),
        ivr_nodes=("support",),
    ),
    DemoArticle(
        "general",
        EN,
        "Opening hours",
        "The contact center answers Monday to Friday from 09:00 to 18:00. Outside "
        "these hours callers can leave a voicemail; we call back the next working day. "
        "On public holidays the line is closed.",
        tags=("hours",),
        ivr_nodes=("menu", "voicemail"),
    ),
    DemoArticle(
        "general",
        ZH,
        "营业时间",
        "客服中心的服务时间为周一至周五上午九点到下午六点。非工作时间来电的客户可以"
        "留言，我们会在下一个工作日回电。法定节假日休息。",
        tags=("hours",),
        ivr_nodes=("menu", "voicemail"),
    ),
    DemoArticle(
        "general",
        KO,
        "영업 시간 안내",
        "고객센터는 월요일부터 금요일까지 오전 9시부터 오후 6시까지 운영합니다. 운영 "
        "시간 외에는 음성 메시지를 남기실 수 있으며 다음 영업일에 다시 연락드립니다. "
        "공휴일에는 쉽니다.",
        tags=("hours",),
        ivr_nodes=("menu", "voicemail"),
    ),
    DemoArticle(
        "accounts",
        EN,
        "Password reset",
        "Verify the caller first: full name, date of birth and the last four digits of "
        "the account number. Then send the reset link by SMS to the phone number on "
        "file. The link is valid for 30 minutes. Never read a password out on the phone.",
        tags=("password", "login"),
        queues=("support",),
        ivr_nodes=("account",),
    ),
    DemoArticle(
        "accounts",
        ZH,
        "如何重置密码",
        "请先核实来电者身份：姓名、出生日期和账号后四位。然后通过短信把重置链接发送到"
        "档案中的手机号码，链接三十分钟内有效。切勿在电话中读出密码。",
        tags=("password",),
        queues=("support",),
        ivr_nodes=("account",),
    ),
    DemoArticle(
        "accounts",
        KO,
        "비밀번호 재설정 방법",
        "먼저 본인 확인을 하세요: 성명, 생년월일, 계좌 번호 마지막 네 자리. 그다음 "
        "등록된 휴대폰 번호로 재설정 링크를 문자로 보냅니다. 링크는 30분 동안 "
        "유효합니다. 전화로 비밀번호를 불러 주지 마세요.",
        tags=("password",),
        queues=("support",),
        ivr_nodes=("account",),
    ),
    DemoArticle(
        "accounts",
        EN,
        "Balance lookup did not work",
        "If the self-service balance lookup said the account is unknown, check the "
        "account number with the caller (it has eight digits) and look the balance up "
        "in the back office. If the lookup is unavailable, apologize and offer a callback.",
        tags=("balance",),
        ivr_nodes=("unknown-account", "lookup-failed", "lookup"),
    ),
    DemoArticle(
        "general",
        EN,
        "Where is my order?",
        "Ask for the order number, look the shipment up in the order history and read "
        "out the carrier's tracking number. Orders placed before 14:00 ship the same day.",
        tags=("orders", "delivery"),
        queues=("sales",),
        ivr_nodes=("sales",),
    ),
    DemoArticle(
        "general",
        ZH,
        "订单配送查询",
        "请询问订单号，在订单记录中查询物流信息，并告知客户承运商的运单号。"
        "下午两点前下单的商品当天发货。",
        tags=("orders",),
        queues=("sales",),
        ivr_nodes=("sales",),
    ),
    DemoArticle(
        "general",
        KO,
        "주문 배송 조회",
        "주문 번호를 여쭤본 뒤 주문 내역에서 배송 정보를 확인하고 택배사 운송장 번호를 "
        "안내하세요. 오후 2시 이전 주문은 당일 발송됩니다.",
        tags=("orders",),
        queues=("sales",),
        ivr_nodes=("sales",),
    ),
)


async def load_demo_articles(session: AsyncSession, tenant_id: int) -> None:
    """Create the demo categories and publish the demo articles in ``tenant_id``."""
    exists = await session.scalar(select(Category.id).where(Category.tenant_id == tenant_id))
    if exists is not None:
        return
    categories = {
        name: Category(tenant_id=tenant_id, name=name, description=description)
        for name, description in CATEGORIES.items()
    }
    session.add_all(categories.values())
    await session.flush()
    now = utcnow()
    for age, demo in enumerate(reversed(ARTICLES)):
        published_at = now - timedelta(minutes=age)
        article = Article(
            tenant_id=tenant_id,
            category_id=categories[demo.category].id,
            language=demo.language,
            draft_title=demo.title,
            draft_body=demo.body,
            latest_version=1,
            live_version=1,
            title=demo.title,
            body=demo.body,
            published_at=published_at,
            view_count=0,
        )
        session.add(article)
        await session.flush()
        session.add(
            ArticleVersion(
                tenant_id=tenant_id,
                article_id=article.id,
                version=1,
                title=demo.title,
                body=demo.body,
                published_at=published_at,
                published_by=PUBLISHER,
            )
        )
        session.add_all(
            ArticleLabel(tenant_id=tenant_id, article_id=article.id, kind=kind, value=value)
            for kind, values in (
                (LabelKind.TAG, demo.tags),
                (LabelKind.QUEUE, demo.queues),
                (LabelKind.IVR_NODE, demo.ivr_nodes),
            )
            for value in values
        )
