"""A tenant for SMS and survey tests: ``acme`` (Asia/Seoul: national numbers are
Korean) with an admin, a supervisor and an agent, and ``other`` with its admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from helpline.api.app import create_app
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, login

PASSWORD = "password-1"
SMSBOX = "http://smsbox.test:13013/cgi-bin/sendsms"


@dataclass
class Desk:
    """Clients of tenant ``acme`` per role, of ``other``'s admin, and a public one."""

    admin: httpx.AsyncClient
    supervisor: httpx.AsyncClient
    agent: httpx.AsyncClient
    other: httpx.AsyncClient
    public: httpx.AsyncClient
    tenant_id: int

    async def aclose(self) -> None:
        for c in (self.admin, self.supervisor, self.agent, self.other, self.public):
            await c.aclose()


def client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def make_desk(runtime: Runtime) -> Desk:
    """Tenants ``acme`` and ``other`` made through the API, clients logged in."""
    async with client(runtime) as root:
        await login(root, "system", "admin", ADMIN_PASSWORD)
        for slug, zone in (("acme", "Asia/Seoul"), ("other", "America/New_York")):
            r = await root.post(
                "/api/v1/tenants",
                json={
                    "slug": slug,
                    "name": slug,
                    "timezone": zone,
                    "admin_username": "admin",
                    "admin_password": PASSWORD,
                },
            )
            assert r.status_code == 201, r.text
    admin, supervisor, agent, other, public = (client(runtime) for _ in range(5))
    me = await login(admin, "acme", "admin", PASSWORD)
    for username, role in (("sup", "supervisor"), ("agent1", "agent")):
        r = await admin.post(
            "/api/v1/users", json={"username": username, "password": PASSWORD, "role": role}
        )
        assert r.status_code == 201, r.text
    await login(supervisor, "acme", "sup", PASSWORD)
    await login(agent, "acme", "agent1", PASSWORD)
    await login(other, "other", "admin", PASSWORD)
    return Desk(admin, supervisor, agent, other, public, int(str(me["tenant_id"])))


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to ``/api/v1/<path>`` expecting 201; the answer."""
    r = await client.post(f"/api/v1/{path}", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def kannel_gateway(desk: Desk, **extra: Any) -> dict[str, Any]:
    """A Kannel gateway of ``acme`` pointing at a fake smsbox URL."""
    body = {
        "name": "kannel",
        "kind": "kannel",
        "settings": {"sendsms_url": SMSBOX, "username": "helpline"},
        "password": "kannel-secret",
        "sender": "1588",
        **extra,
    }
    return await created(desk.admin, "sms/gateways", body)


async def customer(desk: Desk, name: str, number: str, language: str | None = None) -> int:
    """A customer of ``acme`` with one number; its id."""
    body: dict[str, Any] = {"name": name, "phones": [{"number": number}]}
    if language:
        body["language"] = language
    return int((await created(desk.agent, "customers", body))["id"])
