"""The demo tenant's customers: what a screen pop shows on a fresh install.

Twelve customers in four regions (north, south, east, west) and three countries
(numbers written internationally, so the tenant's region does not matter), three of
them VIP, with addresses, tags, custom fields, a note each for some, and events: an
order delivered last week, an appointment tomorrow with a reminder this evening, a
repair booking and a follow-up visit. Made through :mod:`helpline.customers.service`
like anything an agent enters; nothing happens if the tenant has customers already.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.customers import service
from helpline.customers.lookup import tenant_region
from helpline.customers.models import Customer, CustomerNote, EventKind, EventStatus
from helpline.customers.schemas import CustomerCreate, EventCreate
from helpline.db.base import utcnow

log = logging.getLogger(__name__)

AUTHOR: Final = "system"

#: (profile, note, events as (kind, title, days from now, status, remind hours before)).
DEMO_CUSTOMERS: Final[tuple[tuple[dict[str, Any], str | None, tuple[Any, ...]], ...]] = (
    (
        {
            "external_id": "C-1001",
            "name": "王伟",
            "title": "采购经理",
            "company": "北方电器有限公司",
            "tier": "vip",
            "region": "north",
            "language": "zh",
            "phones": [
                {"number": "+86 138 0013 8000", "label": "mobile"},
                {"number": "+86 10 5812 3456", "label": "work"},
            ],
            "emails": ["wang.wei@example.cn"],
            "addresses": [
                {
                    "label": "公司",
                    "line1": "朝阳区建国路 88 号",
                    "city": "北京",
                    "postal_code": "100022",
                    "country": "CN",
                    "default": True,
                }
            ],
            "tags": ["vip", "wholesale"],
            "custom_fields": {"account_number": "100200300", "contract": "gold-2026"},
        },
        "大客户，优先处理；周五下午不方便接电话。",
        (
            ("order", "空调 20 台", -7, "done", None),
            ("visit", "季度回访", 3, "planned", 24),
        ),
    ),
    (
        {
            "external_id": "C-1002",
            "name": "李娜",
            "region": "south",
            "language": "zh",
            "phones": [{"number": "+86 139 1234 5678"}],
            "addresses": [{"line1": "天河区体育西路 103 号", "city": "广州", "country": "CN"}],
            "tags": ["repair"],
        },
        None,
        (("repair", "洗衣机不脱水，上门维修", 2, "confirmed", 18),),
    ),
    (
        {
            "external_id": "C-1003",
            "name": "张敏",
            "company": "东方物流",
            "region": "east",
            "language": "zh",
            "phones": [{"number": "+86 186 1234 5678"}],
            "emails": ["zhang.min@example.cn"],
            "custom_fields": {"account_number": "100200301"},
        },
        "投诉配送延迟，已补偿优惠券。",
        (),
    ),
    (
        {
            "external_id": "C-2001",
            "name": "김민준",
            "title": "대표",
            "company": "한빛상사",
            "tier": "vip",
            "region": "north",
            "language": "ko",
            "phones": [
                {"number": "+82 10-1234-5678", "label": "mobile"},
                {"number": "+82 2-312-3456", "label": "work"},
            ],
            "emails": ["minjun.kim@example.kr"],
            "addresses": [
                {
                    "label": "본사",
                    "line1": "종로구 세종대로 175",
                    "city": "서울",
                    "postal_code": "03154",
                    "country": "KR",
                    "default": True,
                }
            ],
            "tags": ["vip"],
            "custom_fields": {"account_number": "200300400"},
        },
        "VIP 고객: 담당 상담원 연결 희망.",
        (("appointment", "신제품 시연 방문", 1, "confirmed", 12),),
    ),
    (
        {
            "external_id": "C-2002",
            "name": "이서연",
            "region": "south",
            "language": "ko",
            "phones": [{"number": "+82 10-9876-5432"}],
            "addresses": [{"line1": "해운대구 우동 1411", "city": "부산", "country": "KR"}],
        },
        None,
        (("order", "정수기 필터 교체 세트", -2, "confirmed", None),),
    ),
    (
        {
            "external_id": "C-2003",
            "name": "박지훈",
            "tier": "gold",
            "region": "west",
            "language": "ko",
            "phones": [{"number": "+82 10-5555-0101"}],
            "tags": ["loyalty"],
        },
        None,
        (),
    ),
    (
        {
            "external_id": "C-3001",
            "name": "Emily Johnson",
            "title": "Office Manager",
            "company": "Acme Dental",
            "tier": "vip",
            "region": "east",
            "language": "en",
            "phones": [
                {"number": "+1 201-555-0123", "label": "work"},
                {"number": "+1 212-555-0147", "label": "mobile"},
            ],
            "emails": ["emily.johnson@example.com"],
            "addresses": [
                {
                    "label": "office",
                    "line1": "350 Fifth Avenue",
                    "line2": "Suite 4100",
                    "city": "New York",
                    "state": "NY",
                    "postal_code": "10118",
                    "country": "US",
                    "default": True,
                }
            ],
            "tags": ["vip", "b2b"],
            "custom_fields": {"account_number": "300400500", "seats": 12},
        },
        "Prefers e-mail follow-ups.",
        (
            ("repair", "Printer on-site repair", 5, "planned", 24),
            ("visit", "Follow-up after repair", 8, "planned", None),
        ),
    ),
    (
        {
            "external_id": "C-3002",
            "name": "Michael Brown",
            "region": "west",
            "language": "en",
            "phones": [{"number": "+1 415-555-0199"}],
            "emails": ["m.brown@example.com"],
            "addresses": [{"line1": "1 Market Street", "city": "San Francisco", "country": "US"}],
        },
        None,
        (("order", "Replacement headset", -1, "confirmed", None),),
    ),
    (
        {
            "external_id": "C-3003",
            "name": "Sarah Davis",
            "tier": "silver",
            "region": "south",
            "language": "en",
            "phones": [{"number": "+1 512-555-0177"}],
        },
        None,
        (),
    ),
    (
        {
            "external_id": "C-1004",
            "name": "陈静",
            "region": "west",
            "language": "zh",
            "phones": [{"number": "+86 135 0123 4567"}],
            "tags": ["new"],
        },
        None,
        (),
    ),
    (
        {
            "external_id": "C-2004",
            "name": "최유진",
            "tier": "silver",
            "region": "east",
            "language": "ko",
            "phones": [{"number": "+82 10-2222-3333"}],
        },
        None,
        (),
    ),
    (
        {
            "external_id": "C-3004",
            "name": "Robert Wilson",
            "company": "Wilson Hardware",
            "tier": "gold",
            "region": "north",
            "language": "en",
            "phones": [{"number": "+1 612-555-0110", "label": "work"}],
        },
        None,
        (),
    ),
)


async def load_demo_customers(session: AsyncSession, tenant_id: int) -> int:
    """Add the demo customers, their notes and events to ``tenant_id``; how many were
    added (0 if the tenant has customers already)."""
    exists = await session.execute(select(Customer.id).where(Customer.tenant_id == tenant_id))
    if exists.first() is not None:
        return 0
    region = await tenant_region(session, tenant_id)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for profile, note, events in DEMO_CUSTOMERS:
        customer = await service.add_customer(
            session,
            tenant_id=tenant_id,
            data=CustomerCreate.model_validate(profile),
            region=region,
            actor=None,
        )
        if note:
            session.add(
                CustomerNote(tenant_id=tenant_id, customer_id=customer.id, author=AUTHOR, body=note)
            )
        for kind, title, days, status, remind_hours in events:
            when = now.replace(hour=10) + timedelta(days=days)
            await service.insert_event(
                session,
                customer=customer,
                data=EventCreate(
                    kind=EventKind(kind),
                    title=title,
                    scheduled_at=when,
                    status=EventStatus(status),
                    reminder_at=when - timedelta(hours=remind_hours) if remind_hours else None,
                ),
                actor=None,
            )
    await session.flush()
    log.info("demo customers loaded: %d", len(DEMO_CUSTOMERS))
    return len(DEMO_CUSTOMERS)
