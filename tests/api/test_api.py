"""Users, SIP accounts, tenants, errors, pagination, audit and capacity, on both databases."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from helpline.core.errors import CapacityExceeded
from helpline.runtime import Runtime
from helpline.tenants import service as tenants
from helpline.tenants.models import LeaseKind
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, DEMO_SIP_PASSWORD, login


async def test_health_reports_database_and_version(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"]["ok"] is True and body["version"]


async def test_openapi_lists_the_versioned_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/v1/users" in spec["paths"] and "/api/health" in spec["paths"]


async def test_demo_has_four_agents_with_sip_accounts(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    agents = (await client.get("/api/v1/users", params={"role": "agent"})).json()
    assert sorted(u["username"] for u in agents["items"]) == [
        "agent2001",
        "agent2002",
        "agent2003",
        "agent2004",
    ]
    accounts = (await client.get("/api/v1/sip-accounts")).json()["items"]
    assert [a["username"] for a in accounts] == ["2001", "2002", "2003", "2004"]
    assert all(a["realm"] == "demo" and "ha1_md5" not in a for a in accounts)


async def test_sip_account_stores_digest_ha1_of_the_password(runtime: Runtime) -> None:
    from sqlalchemy import select

    from helpline.users.models import SipAccount

    async with runtime.unit_of_work() as session:
        account = (
            await session.execute(select(SipAccount).where(SipAccount.username == "2001"))
        ).scalar_one()
    a1 = f"2001:demo:{DEMO_SIP_PASSWORD}".encode()
    assert account.ha1_md5 == hashlib.md5(a1).hexdigest()
    assert account.ha1_sha256 == hashlib.sha256(a1).hexdigest()


async def test_validation_error_has_details(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    r = await client.post("/api/v1/users", json={"username": "", "password": "x", "role": "boss"})
    assert r.status_code == 422
    body = r.json()
    assert body["error_id"] == "validation_error"
    assert {tuple(d["loc"])[-1] for d in body["details"]} >= {"username", "password", "role"}


async def test_list_endpoints_share_pagination_sorting_and_filters(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    page = (
        await client.get("/api/v1/users", params={"limit": 2, "offset": 1, "sort": "-username"})
    ).json()
    assert page["total"] == 6 and page["limit"] == 2 and page["offset"] == 1
    assert [u["username"] for u in page["items"]] == ["agent2004", "agent2003"]
    bad = await client.get("/api/v1/users", params={"sort": "password_hash"})
    assert bad.status_code == 422 and bad.json()["error_id"] == "invalid_sort"
    too_big = await client.get("/api/v1/users", params={"limit": 100000})
    assert too_big.status_code == 422


async def test_duplicate_username_is_a_conflict(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    r = await client.post(
        "/api/v1/users", json={"username": "agent2001", "password": "password-1", "role": "agent"}
    )
    assert r.status_code == 409 and r.json()["error_id"] == "user_exists"


async def test_tenant_admin_cannot_grant_platform_admin(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    r = await client.post(
        "/api/v1/users",
        json={"username": "sneaky", "password": "password-1", "role": "platform-admin"},
    )
    assert r.status_code == 403 and r.json()["error_id"] == "role_not_grantable"


async def test_agent_cannot_list_users(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "agent2001", DEMO_PASSWORD)
    r = await client.get("/api/v1/users")
    assert r.status_code == 403 and r.json()["error_id"] == "role_required"


async def test_audit_log_records_who_changed_what_without_secrets(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    created = (
        await client.post(
            "/api/v1/users",
            json={"username": "ann", "password": "password-1", "role": "supervisor"},
        )
    ).json()
    await client.patch(f"/api/v1/users/{created['id']}", json={"display_name": "Ann Lee"})
    entries = (await client.get("/api/v1/audit", params={"entity": "user"})).json()["items"]
    update, create = entries[0], entries[1]
    assert update["action"] == "update" and update["actor"] == "admin@demo"
    assert update["before"]["display_name"] == "" and update["after"]["display_name"] == "Ann Lee"
    assert create["action"] == "create" and create["entity_id"] == str(created["id"])
    assert "password" not in create["after"] and "password_hash" not in create["after"]


async def test_agent_seats_are_limited_by_the_tenant(client: httpx.AsyncClient) -> None:
    await login(client, "system", "admin", ADMIN_PASSWORD)
    r = await client.post(
        "/api/v1/tenants",
        json={
            "slug": "tiny",
            "name": "Tiny",
            "max_agents": 1,
            "admin_username": "boss",
            "admin_password": "password-1",
        },
    )
    assert r.status_code == 201 and r.json()["max_lines"] == 16
    await login(client, "tiny", "boss", "password-1")
    first = await client.post(
        "/api/v1/users", json={"username": "a1", "password": "password-1", "role": "agent"}
    )
    assert first.status_code == 201
    second = await client.post(
        "/api/v1/users", json={"username": "a2", "password": "password-1", "role": "agent"}
    )
    assert second.status_code == 409 and second.json()["error_id"] == "capacity_exceeded"


async def test_tier_sets_the_reference_limits(client: httpx.AsyncClient) -> None:
    await login(client, "system", "admin", ADMIN_PASSWORD)
    body = (
        await client.post("/api/v1/tenants", json={"slug": "mid", "name": "Mid", "tier": "medium"})
    ).json()
    assert (body["max_lines"], body["max_agents"], body["max_ivr_ports"]) == (32, 32, 8)
    body = (await client.patch(f"/api/v1/tenants/{body['id']}", json={"tier": "large"})).json()
    assert (body["max_lines"], body["max_agents"], body["max_ivr_ports"]) == (64, 64, 16)


async def test_line_and_ivr_leases_stop_at_the_tenant_limit(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as session:
        demo = await tenants.by_slug(session, "demo")
        assert demo is not None
        demo.max_ivr_ports = 2
    async with runtime.unit_of_work() as session:
        for ref in ("call-1", "call-2"):
            await tenants.acquire_lease(
                session, tenant_id=demo.id, kind=LeaseKind.IVR_PORT, ref=ref
            )
    with pytest.raises(CapacityExceeded):
        async with runtime.unit_of_work() as session:
            await tenants.acquire_lease(
                session, tenant_id=demo.id, kind=LeaseKind.IVR_PORT, ref="call-3"
            )
    async with runtime.unit_of_work() as session:
        assert await tenants.release_lease(
            session, tenant_id=demo.id, kind=LeaseKind.IVR_PORT, ref="call-1"
        )
        await tenants.acquire_lease(
            session, tenant_id=demo.id, kind=LeaseKind.IVR_PORT, ref="call-3"
        )
        await tenants.acquire_lease(session, tenant_id=demo.id, kind=LeaseKind.LINE, ref="call-3")


async def test_system_tenant_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    await login(client, "system", "admin", ADMIN_PASSWORD)
    me = (await client.get("/api/v1/auth/me")).json()
    r = await client.delete(f"/api/v1/tenants/{me['tenant_id']}")
    assert r.status_code == 403


async def test_unknown_route_answers_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error_id"] == "not_found"
