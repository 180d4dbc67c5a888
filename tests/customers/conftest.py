"""Two tenants with clients for each role: ``acme`` (Asia/Seoul, so national numbers
are Korean) and ``other``, made through the API like any tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from helpline.api.app import create_app
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, login

PASSWORD = "password-1"


@dataclass
class Crm:
    """Clients of tenant ``acme`` per role, and of tenant ``other``'s admin."""

    admin: httpx.AsyncClient
    supervisor: httpx.AsyncClient
    agent: httpx.AsyncClient
    other: httpx.AsyncClient
    tenant_id: int


def _client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def _tenant(root: httpx.AsyncClient, slug: str, timezone: str) -> None:
    r = await root.post(
        "/api/v1/tenants",
        json={
            "slug": slug,
            "name": slug,
            "timezone": timezone,
            "admin_username": "admin",
            "admin_password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text


@pytest.fixture
async def crm(runtime: Runtime) -> AsyncIterator[Crm]:
    """Tenants ``acme`` (admin, supervisor, agent) and ``other`` (admin)."""
    async with _client(runtime) as root:
        await login(root, "system", "admin", ADMIN_PASSWORD)
        await _tenant(root, "acme", "Asia/Seoul")
        await _tenant(root, "other", "America/New_York")
    clients = [_client(runtime) for _ in range(4)]
    admin, supervisor, agent, other = clients
    me = await login(admin, "acme", "admin", PASSWORD)
    for username, role in (("sup", "supervisor"), ("agent1", "agent")):
        r = await admin.post(
            "/api/v1/users", json={"username": username, "password": PASSWORD, "role": role}
        )
        assert r.status_code == 201, r.text
    await login(supervisor, "acme", "sup", PASSWORD)
    await login(agent, "acme", "agent1", PASSWORD)
    await login(other, "other", "admin", PASSWORD)
    yield Crm(admin, supervisor, agent, other, int(str(me["tenant_id"])))
    for c in clients:
        await c.aclose()


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to ``/api/v1/<path>`` expecting 201; the answer."""
    r = await client.post(f"/api/v1/{path}", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out
