"""Search on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm): Chinese and Korean terms
inside longer text, English, short terms, ranking, and the index following edits."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from helpline.db.base import utcnow
from helpline.kb import search
from helpline.kb.models import Article
from helpline.runtime import Runtime
from tests.kb.conftest import Desk, found, publish

REFUND_ZH = "客户在收货后三十天内可以申请退款，请先核实订单号。"
REFUND_KO = "고객은 상품 수령 후 30일 이내에 환불을 요청할 수 있습니다."


async def test_chinese_and_korean_words_are_found_inside_longer_text(desk: Desk) -> None:
    await publish(desk.supervisor, "售后服务说明", REFUND_ZH, language="zh")
    await publish(desk.supervisor, "고객 안내", REFUND_KO, language="ko")
    await publish(desk.supervisor, "Opening hours", "Monday to Friday, 09:00 to 18:00.")

    assert await found(desk.agent, "退款") == ["售后服务说明"]
    assert await found(desk.agent, "환불") == ["고객 안내"]
    assert await found(desk.agent, "申请退款") == ["售后服务说明"]
    assert await found(desk.agent, "환불을 요청") == ["고객 안내"]
    assert await found(desk.agent, "退款", language="ko") == []
    assert await found(desk.agent, "退货") == []


async def test_english_search_ignores_case_and_needs_every_word(desk: Desk) -> None:
    await publish(desk.supervisor, "Password reset", "Send the RESET link by SMS.")
    await publish(desk.supervisor, "Refunds", "Card refunds take five days; send a receipt.")

    assert await found(desk.agent, "reset") == ["Password reset"]
    assert await found(desk.agent, "sms link") == ["Password reset"]
    assert sorted(await found(desk.agent, "send")) == ["Password reset", "Refunds"]
    assert await found(desk.agent, "send receipt") == ["Refunds"]
    assert await found(desk.agent, "send fax") == []
    assert await found(desk.agent, "SMS") == ["Password reset"]


async def test_like_wildcards_and_quotes_in_a_query_are_plain_characters(desk: Desk) -> None:
    await publish(desk.supervisor, "Discounts", 'Give 10% off with code "SPRING_24".')
    await publish(desk.supervisor, "Other", "Give 10 euros off with code SPRINGX24.")

    assert await found(desk.agent, "10%") == ["Discounts"]
    assert await found(desk.agent, "G_ve") == []
    assert await found(desk.agent, "SPRING_24") == ["Discounts"]
    assert await found(desk.agent, '"SPRING_24".') == ["Discounts"]
    assert await found(desk.agent, '"') == ["Discounts"]


async def test_title_matches_rank_before_body_matches_then_the_newest(
    desk: Desk, runtime: Runtime
) -> None:
    old_title = await publish(desk.supervisor, "Refund rules", "How and when.")
    body_new = await publish(desk.supervisor, "Card payments", "A refund takes five days.")
    new_title = await publish(desk.supervisor, "Refund exceptions", "Opened software.")
    body_old = await publish(desk.supervisor, "Invoices", "A refund needs the invoice.")
    now = utcnow()
    ages = {old_title["id"]: 4, body_old["id"]: 3, body_new["id"]: 1, new_title["id"]: 2}
    async with runtime.unit_of_work() as session:
        for article_id, hours in ages.items():
            await session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(published_at=now - timedelta(hours=hours))
            )

    assert await found(desk.agent, "refund") == [
        "Refund exceptions",
        "Refund rules",
        "Card payments",
        "Invoices",
    ]
    assert await found(desk.agent, "refund invoice") == ["Invoices"]
    r = await desk.agent.get("/api/v1/kb/search", params={"q": "refund", "limit": 2, "offset": 1})
    page = r.json()
    assert (page["total"], [i["title"] for i in page["items"]]) == (
        4,
        ["Refund rules", "Card payments"],
    )


async def test_a_snippet_shows_the_match_and_an_empty_query_lists_the_newest(
    desk: Desk,
) -> None:
    filler = "Background. " * 30
    await publish(desk.supervisor, "Long", f"{filler}The refund is paid by card. {filler}")
    await publish(desk.supervisor, "Short", "Nothing here.")

    r = await desk.agent.get("/api/v1/kb/search", params={"q": "refund"})
    snippet = r.json()["items"][0]["snippet"]
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "The refund is paid by card." in snippet
    assert await found(desk.agent, "") == ["Short", "Long"]
    r = await desk.agent.get("/api/v1/kb/search", params={"q": "x", "sort": "title"})
    assert (r.status_code, r.json()["error_id"]) == (422, "invalid_sort")


async def test_the_index_follows_edits_republication_and_deletion(desk: Desk) -> None:
    article = await publish(desk.supervisor, "Shipping", "Parcels leave the warehouse daily.")
    url = f"/api/v1/kb/articles/{article['id']}"

    await desk.supervisor.patch(url, json={"body": "Parcels leave on Mondays only."})
    assert await found(desk.agent, "warehouse") == ["Shipping"]
    assert await found(desk.agent, "Mondays") == []
    assert (await desk.supervisor.post(f"{url}/publish")).status_code == 201
    assert await found(desk.agent, "warehouse") == []
    assert await found(desk.agent, "Mondays") == ["Shipping"]

    assert (await desk.supervisor.post(f"{url}/unpublish")).status_code == 200
    assert await found(desk.agent, "Mondays") == []
    assert (await desk.supervisor.delete(url)).status_code == 204
    await publish(desk.supervisor, "Returns", "Returns are collected on Mondays.")
    assert await found(desk.agent, "Mondays") == ["Returns"]


async def test_search_is_limited_to_the_callers_tenant(
    desk: Desk, tenant_b: httpx.AsyncClient
) -> None:
    await publish(desk.supervisor, "退款说明", REFUND_ZH, language="zh")
    await publish(tenant_b, "B's refunds", "Tenant B refund rules.")

    assert await found(tenant_b, "退款") == []
    assert await found(desk.agent, "refund") == []
    assert await found(tenant_b, "refund") == ["B's refunds"]


def test_query_terms_and_fts_phrases() -> None:
    assert search.terms("  refund  退款 refund\t환불 ") == ["refund", "退款", "환불"]
    assert search.fts_query(['say "hi"', "退款需"]) == '"say ""hi""" "退款需"'
    assert search.snippet("a\n\nb  c", ["zz"]) == "a b c"


def test_the_search_index_objects_are_left_out_of_model_comparison() -> None:
    assert not search.include_name("kb_search", "table", {})
    assert not search.include_name("kb_search_idx", "table", {})
    assert not search.include_name("ix_kb_articles_body_trgm", "index", {})
    assert search.include_name("kb_articles", "table", {})
    assert search.include_name("ix_kb_articles_tenant_id", "index", {})


async def test_tags_are_lowercased_and_filter_the_list(desk: Desk) -> None:
    await publish(desk.supervisor, "Alpha", "First.", tags=["Billing", "billing", " vip "])
    r = await desk.agent.get("/api/v1/kb/articles", params={"tag": "VIP"})
    assert [(a["title"], a["tags"]) for a in r.json()["items"]] == [("Alpha", ["billing", "vip"])]
