"""The /kb API on SQLite and PostgreSQL: drafts hidden from agents, immutable
versions, view counts, suggestions from the call's path, categories, roles, tenants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from helpline.calls.models import CallOutcome, CallRecord
from helpline.db.base import utcnow
from helpline.db.models import Base
from helpline.ivr.models import Flow, IvrPathStep
from helpline.kb import search, service
from helpline.kb.demo import ARTICLES, load_demo_articles
from helpline.prompts.language import Language
from helpline.recordings.models import CallDirection
from helpline.runtime import Runtime
from tests.kb.conftest import Desk, found, publish

ARTICLES_URL = "/api/v1/kb/articles"


async def _draft(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await client.post(ARTICLES_URL, json={"title": "Draft", "body": "Work.", **body})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


async def test_migration_creates_the_kb_tables_as_the_models_describe(runtime: Runtime) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(
            connection,  # type: ignore[arg-type]
            opts={"compare_type": True, "include_name": search.include_name},
        )
        return [d for d in compare_metadata(context, Base.metadata) if "kb_" in str(d)]

    async with runtime.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_agents_never_see_drafts(desk: Desk) -> None:
    draft = await _draft(desk.supervisor, title="Secret plan", body="Unreleased prices.")
    url = f"{ARTICLES_URL}/{draft['id']}"
    assert (draft["published"], draft["live_version"], draft["title"]) == (False, None, None)

    assert (await desk.agent.get(url)).status_code == 404
    assert (await desk.agent.get(f"{url}/draft")).status_code == 403
    assert (await desk.agent.get(ARTICLES_URL)).json()["items"] == []
    assert await found(desk.agent, "prices") == []
    assert (await desk.supervisor.get(url)).status_code == 404

    listed = (await desk.supervisor.get(ARTICLES_URL, params={"published": False})).json()
    assert [(a["title"], a["published"]) for a in listed["items"]] == [("Secret plan", False)]

    assert (await desk.supervisor.post(f"{url}/publish")).status_code == 201
    await desk.supervisor.patch(url, json={"title": "Secret plan v2", "body": "Newer prices."})
    r = await desk.agent.get(url)
    assert (r.json()["title"], r.json()["body"]) == ("Secret plan", "Unreleased prices.")
    assert await found(desk.agent, "Newer") == []
    assert [a["title"] for a in (await desk.agent.get(ARTICLES_URL)).json()["items"]] == [
        "Secret plan"
    ]


async def test_published_versions_are_immutable(desk: Desk) -> None:
    draft = await _draft(desk.supervisor, title="Refunds", body="Thirty days.")
    url = f"{ARTICLES_URL}/{draft['id']}"
    r = await desk.supervisor.post(f"{url}/publish")
    assert (r.json()["version"], r.json()["published_by"]) == (1, "supervisor@demo")

    await desk.supervisor.patch(url, json={"body": "Fourteen days."})
    assert (await desk.supervisor.get(f"{url}/versions/1")).json()["body"] == "Thirty days."
    assert (await desk.agent.get(url)).json()["version"] == 1
    assert (await desk.supervisor.post(f"{url}/publish")).json()["version"] == 2
    r = await desk.supervisor.post(f"{url}/publish")
    assert (r.status_code, r.json()["error_id"]) == (409, "kb_nothing_to_publish")

    versions = (await desk.supervisor.get(f"{url}/versions")).json()
    assert [(v["version"], v["title"]) for v in versions["items"]] == [
        (2, "Refunds"),
        (1, "Refunds"),
    ]
    assert (await desk.supervisor.get(f"{url}/versions/1")).json()["body"] == "Thirty days."
    assert (await desk.supervisor.get(f"{url}/versions/3")).status_code == 404
    for method in ("PATCH", "PUT", "DELETE"):
        r = await desk.supervisor.request(method, f"{url}/versions/1", json={"body": "x"})
        assert r.status_code == 405, method

    unpublished = (await desk.supervisor.post(f"{url}/unpublish")).json()
    assert (unpublished["published"], unpublished["latest_version"]) == (False, 2)
    assert (await desk.agent.get(url)).status_code == 404
    r = await desk.supervisor.post(f"{url}/publish")
    assert (r.status_code, r.json()["version"]) == (201, 2)
    assert (await desk.agent.get(url)).json()["body"] == "Fourteen days."

    empty = await _draft(desk.supervisor, body="  ")
    r = await desk.supervisor.post(f"{ARTICLES_URL}/{empty['id']}/publish")
    assert (r.status_code, r.json()["error_id"]) == (422, "kb_article_empty")


async def test_reading_counts_views_but_editing_does_not(desk: Desk) -> None:
    article = await publish(desk.supervisor, "Opening hours", "Nine to six.")
    url = f"{ARTICLES_URL}/{article['id']}"
    updated_at = article["updated_at"]

    assert (await desk.agent.get(url)).json()["view_count"] == 1
    assert (await desk.agent.get(url)).json()["view_count"] == 2
    await desk.supervisor.get(f"{url}/draft")
    await desk.supervisor.patch(url, json={"body": "Nine to five."})
    await found(desk.agent, "Nine")
    editors = (await desk.supervisor.get(f"{url}/draft")).json()
    assert editors["view_count"] == 2
    assert (await desk.agent.get(url)).json()["view_count"] == 3
    listed = (await desk.agent.get(ARTICLES_URL, params={"sort": "-view_count"})).json()
    assert listed["items"][0]["view_count"] == 3
    assert updated_at <= editors["updated_at"]


async def test_suggestions_follow_the_ivr_path_and_the_queue(desk: Desk, runtime: Runtime) -> None:
    hours = await publish(desk.supervisor, "Hours", "Nine to six.", ivr_nodes=["menu"])
    refunds = await publish(
        desk.supervisor, "Refunds", "Thirty days.", ivr_nodes=["support"], queues=["support"]
    )
    password = await publish(
        desk.supervisor, "Password", "Reset link.", ivr_nodes=["account"], language="ko"
    )
    await _draft(desk.supervisor, title="Unpublished", ivr_nodes=["menu", "support"])
    await publish(desk.supervisor, "Sales only", "Prices.", queues=["sales"])

    async with runtime.unit_of_work() as session:
        briefs = await service.suggest(
            session, desk.tenant_id, queue="support", ivr_nodes=["menu", "support"]
        )
        assert [b.title for b in briefs] == ["Refunds", "Hours"]
        briefs = await service.suggest(session, desk.tenant_id, ivr_nodes=["account", "menu"])
        assert [b.title for b in briefs] == ["Hours", "Password"]
        assert await service.suggest(session, desk.tenant_id) == []
        briefs = await service.suggest(
            session, desk.tenant_id, ivr_nodes=["account", "menu"], language=Language.KO
        )
        assert [b.id for b in briefs] == [password["id"]]
        flow = Flow(tenant_id=desk.tenant_id, name="kb-path", draft={}, latest_version=1)
        session.add(flow)
        await session.flush()
        start = utcnow() - timedelta(minutes=2)
        session.add_all(
            IvrPathStep(
                tenant_id=desk.tenant_id,
                call_id="call-kb-1",
                flow_id=flow.id,
                version=1,
                node=node,
                node_type="menu",
                entered_at=start + timedelta(seconds=i),
                outcome="ok",
            )
            for i, node in enumerate(["menu", "support"])
        )
        session.add(
            CallRecord(
                tenant_id=desk.tenant_id,
                call_id="call-kb-1",
                direction=CallDirection.INBOUND,
                caller="+15550001",
                called="1000",
                queue="support",
                started_at=start,
                outcome=CallOutcome.ANSWERED,
            )
        )

    r = await desk.agent.get("/api/v1/kb/suggest", params={"call_id": "call-kb-1"})
    assert [b["id"] for b in r.json()] == [refunds["id"], hours["id"]]
    r = await desk.agent.get("/api/v1/kb/suggest", params=[("node", "account"), ("node", "menu")])
    assert [b["title"] for b in r.json()] == ["Hours", "Password"]
    r = await desk.agent.get("/api/v1/kb/suggest", params={"queue": "sales"})
    assert [b["title"] for b in r.json()] == ["Sales only"]
    assert (await desk.agent.get("/api/v1/kb/suggest")).json() == []


async def test_categories_and_labels(desk: Desk) -> None:
    r = await desk.supervisor.post("/api/v1/kb/categories", json={"name": "Billing"})
    assert r.status_code == 201, r.text
    billing = r.json()
    r = await desk.supervisor.post("/api/v1/kb/categories", json={"name": "Billing"})
    assert (r.status_code, r.json()["error_id"]) == (409, "kb_category_name_taken")
    r = await desk.supervisor.post(ARTICLES_URL, json={"title": "X", "category_id": 999999})
    assert (r.status_code, r.json()["error_id"]) == (422, "kb_category_unknown")

    article = await publish(
        desk.supervisor,
        "Refunds",
        "Thirty days.",
        category_id=billing["id"],
        tags=["Refund", " refund ", "VIP"],
        queues=["support", "support"],
    )
    assert (article["tags"], article["queues"], article["ivr_nodes"]) == (
        ["refund", "vip"],
        ["support"],
        [],
    )
    listed = await desk.agent.get(ARTICLES_URL, params={"category_id": billing["id"], "tag": "VIP"})
    assert [a["title"] for a in listed.json()["items"]] == ["Refunds"]
    assert await found(desk.agent, "days", category_id=billing["id"]) == ["Refunds"]
    assert (await desk.agent.get("/api/v1/kb/categories")).json()["items"][0]["name"] == "Billing"

    cat_url = f"/api/v1/kb/categories/{billing['id']}"
    r = await desk.supervisor.delete(cat_url)
    assert (r.status_code, r.json()["error_id"]) == (409, "kb_category_in_use")
    r = await desk.supervisor.patch(f"{ARTICLES_URL}/{article['id']}", json={"category_id": None})
    assert (r.json()["category_id"], r.json()["tags"]) == (None, ["refund", "vip"])
    r = await desk.supervisor.patch(cat_url, json={"name": "Payments"})
    assert r.json()["name"] == "Payments"
    assert (await desk.supervisor.delete(cat_url)).status_code == 204
    assert (await desk.agent.get(cat_url)).status_code == 404


async def test_agents_cannot_write(desk: Desk) -> None:
    article = await publish(desk.supervisor, "Hours", "Nine to six.")
    url = f"{ARTICLES_URL}/{article['id']}"
    assert (await desk.agent.post(ARTICLES_URL, json={"title": "Mine"})).status_code == 403
    assert (await desk.agent.patch(url, json={"title": "Mine"})).status_code == 403
    assert (await desk.agent.post(f"{url}/unpublish")).status_code == 403
    assert (await desk.agent.delete(url)).status_code == 403
    assert (await desk.agent.get(f"{url}/versions")).status_code == 403
    r = await desk.agent.post("/api/v1/kb/categories", json={"name": "Mine"})
    assert r.status_code == 403
    r = await desk.supervisor.post(ARTICLES_URL, json={"title": "Bad", "language": "fr"})
    assert r.status_code == 422


async def test_tenant_b_gets_404_for_tenant_a_articles(
    desk: Desk, tenant_b: httpx.AsyncClient
) -> None:
    article = await publish(desk.supervisor, "退款说明", "申请退款需要订单号。", language="zh")
    category = (await desk.supervisor.post("/api/v1/kb/categories", json={"name": "A"})).json()
    url = f"{ARTICLES_URL}/{article['id']}"
    for method, path in (
        ("GET", url),
        ("GET", f"{url}/draft"),
        ("PATCH", url),
        ("DELETE", url),
        ("POST", f"{url}/publish"),
        ("POST", f"{url}/unpublish"),
        ("GET", f"{url}/versions"),
        ("GET", f"{url}/versions/1"),
        ("GET", f"/api/v1/kb/categories/{category['id']}"),
        ("PATCH", f"/api/v1/kb/categories/{category['id']}"),
        ("DELETE", f"/api/v1/kb/categories/{category['id']}"),
    ):
        r = await tenant_b.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 404, f"{method} {path} -> {r.status_code}"
    r = await tenant_b.post(ARTICLES_URL, json={"title": "B", "category_id": category["id"]})
    assert r.status_code == 422
    assert (await tenant_b.get(ARTICLES_URL)).json()["items"] == []
    assert (await tenant_b.get("/api/v1/kb/categories")).json()["items"] == []
    assert await found(tenant_b, "退款") == []
    assert (await desk.agent.get(url)).json()["view_count"] == 1


async def test_demo_articles_answer_in_three_languages(desk: Desk, runtime: Runtime) -> None:
    async with runtime.unit_of_work() as session:
        await load_demo_articles(session, desk.tenant_id)
    async with runtime.unit_of_work() as session:
        await load_demo_articles(session, desk.tenant_id)

    listed = (await desk.agent.get(ARTICLES_URL, params={"limit": 100})).json()
    assert listed["total"] == len(ARTICLES)
    assert {a["language"] for a in listed["items"]} == {"en", "zh", "ko"}
    assert await found(desk.agent, "退款") == ["退款政策与办理流程"]
    assert await found(desk.agent, "환불") == ["환불 정책 및 처리 절차"]
    assert await found(desk.agent, "refund", language="en") == [
        "Refunds: how a customer gets their money back"
    ]
    assert await found(desk.agent, "营业时间") == ["营业时间"]
    r = await desk.agent.get("/api/v1/kb/suggest", params={"node": "account", "language": "ko"})
    assert [b["title"] for b in r.json()] == ["비밀번호 재설정 방법"]
