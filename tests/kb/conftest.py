"""The demo tenant's supervisor and agent logged in, with the knowledge base emptied
(the demo may hold demo articles), and a second tenant for isolation checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from helpline.api.app import create_app
from helpline.kb.models import Article, Category
from helpline.runtime import Runtime
from helpline.tenants.models import Tenant
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login

PASSWORD = "password-1"


@dataclass
class Desk:
    """Clients of the demo tenant's supervisor and agent, and the tenant's id."""

    supervisor: httpx.AsyncClient
    agent: httpx.AsyncClient
    tenant_id: int


def client_of(runtime: Runtime) -> httpx.AsyncClient:
    """A new client of the app."""
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture
async def desk(runtime: Runtime) -> AsyncIterator[Desk]:
    """The demo tenant, without knowledge-base content, with supervisor and agent."""
    async with runtime.unit_of_work() as session:
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == "demo"))
        assert tenant_id is not None
        await session.execute(delete(Article).where(Article.tenant_id == tenant_id))
        await session.execute(delete(Category).where(Category.tenant_id == tenant_id))
    supervisor, agent = client_of(runtime), client_of(runtime)
    await login(supervisor, "demo", "supervisor", DEMO_PASSWORD)
    await login(agent, "demo", "agent2001", DEMO_PASSWORD)
    yield Desk(supervisor, agent, tenant_id)
    await supervisor.aclose()
    await agent.aclose()


@pytest.fixture
async def tenant_b(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The admin of a second tenant, ``kb-b``, logged in."""
    root = client_of(runtime)
    await login(root, "system", "admin", ADMIN_PASSWORD)
    r = await root.post(
        "/api/v1/tenants",
        json={
            "slug": "kb-b",
            "name": "kb-b",
            "admin_username": "admin",
            "admin_password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    await root.aclose()
    other = client_of(runtime)
    await login(other, "kb-b", "admin", PASSWORD)
    yield other
    await other.aclose()


async def publish(
    client: httpx.AsyncClient, title: str, body: str, **fields: Any
) -> dict[str, Any]:
    """Create an article and publish it; the editors' view after publication."""
    r = await client.post("/api/v1/kb/articles", json={"title": title, "body": body, **fields})
    assert r.status_code == 201, r.text
    article_id = r.json()["id"]
    r = await client.post(f"/api/v1/kb/articles/{article_id}/publish")
    assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/kb/articles/{article_id}/draft")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def found(client: httpx.AsyncClient, q: str, **params: Any) -> list[str]:
    """Titles the search for ``q`` returns, in order."""
    r = await client.get("/api/v1/kb/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [item["title"] for item in r.json()["items"]]
