"""The /trunks API on SQLite and PostgreSQL: CRUD, write-only password, validation,
roles, tenant isolation, and the views call control reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from helpline.api.app import create_app
from helpline.db.models import Base
from helpline.runtime import Runtime
from helpline.trunks import service
from helpline.trunks.models import Trunk
from helpline.trunks.router import router
from helpline.trunks.rules import match_inbound
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login

SECRET = "trunk-pass-XYZ"
BODY: dict[str, Any] = {
    "name": "provider-a",
    "host": "trunk.invalid",
    "transport": "TLS",
    "port": 5061,
    "allowed_sources": ["192.0.2.0/24", "198.51.100.7"],
    "username": "99955501",
    "password": SECRET,
    "register_enabled": True,
    "prefixes": ["+999"],
    "strip_digits": 1,
    "prepend": "00",
    "caller_id_mode": "fixed",
    "caller_id_number": "+99955500",
    "caller_id_name": "Helpdesk",
}


async def _client(runtime: Runtime) -> httpx.AsyncClient:
    app = create_app(runtime)
    if not any(getattr(r, "path", "").startswith("/api/v1/trunks") for r in app.routes):
        app.include_router(router, prefix="/api/v1")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with the trunks router (added here until the app lists it)."""
    async with await _client(runtime) as c:
        yield c


async def _admin(api: httpx.AsyncClient) -> None:
    await login(api, "demo", "admin", DEMO_PASSWORD)


async def _create(api: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    r = await api.post("/api/v1/trunks", json={**BODY, **changes})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_migration_creates_the_trunks_table_as_the_model_describes(
    runtime: Runtime,
) -> None:
    assert Trunk.metadata is Base.metadata

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, Base.metadata) if "trunks" in str(d)]

    async with runtime.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_create_list_get_patch_delete(api: httpx.AsyncClient) -> None:
    await _admin(api)
    trunk = await _create(api)
    assert trunk["has_password"] is True and "password" not in trunk
    assert trunk["transport"] == "TLS" and trunk["port"] == 5061
    assert trunk["allowed_sources"] == ["192.0.2.0/24", "198.51.100.7"]
    assert trunk["register_expires"] == 3600 and trunk["inbound_mode"] == "allowlist"
    assert trunk["enabled"] is True and trunk["priority"] == 100
    backup = await _create(api, name="provider-b", priority=5, register_enabled=False)

    page = (await api.get("/api/v1/trunks")).json()
    assert [t["name"] for t in page["items"]] == ["provider-b", "provider-a"]
    assert page["total"] == 2
    by_name = (await api.get("/api/v1/trunks", params={"name": "provider-a", "sort": "-id"})).json()
    assert [t["id"] for t in by_name["items"]] == [trunk["id"]]

    r = await api.get(f"/api/v1/trunks/{trunk['id']}")
    assert r.status_code == 200 and r.json()["name"] == "provider-a"

    r = await api.patch(
        f"/api/v1/trunks/{trunk['id']}",
        json={"enabled": False, "caller_id_name": None, "max_channels": 30, "host": "127.0.0.1"},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["enabled"] is False and changed["caller_id_name"] is None
    assert changed["max_channels"] == 30 and changed["host"] == "127.0.0.1"
    assert changed["has_password"] is True and changed["caller_id_number"] == "+99955500"

    r = await api.patch(f"/api/v1/trunks/{backup['id']}", json={"password": "", "username": None})
    assert r.status_code == 200, r.text
    assert r.json()["has_password"] is False and r.json()["username"] is None

    assert (await api.delete(f"/api/v1/trunks/{backup['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/trunks/{backup['id']}")).status_code == 404
    assert (await api.get("/api/v1/trunks")).json()["total"] == 1


async def test_password_never_leaves_the_server(api: httpx.AsyncClient) -> None:
    await _admin(api)
    trunk = await _create(api)
    r = await api.patch(f"/api/v1/trunks/{trunk['id']}", json={"password": SECRET + "2"})
    assert r.status_code == 200
    texts = [
        r.text,
        (await api.get("/api/v1/trunks")).text,
        (await api.get(f"/api/v1/trunks/{trunk['id']}")).text,
        (await api.get("/api/v1/audit", params={"entity": "trunk"})).text,
    ]
    assert all(SECRET not in text for text in texts)
    audit = (await api.get("/api/v1/audit", params={"entity": "trunk"})).json()["items"]
    assert {e["action"] for e in audit} == {"create", "update"}
    assert all(e["after"]["has_password"] is True for e in audit)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"allowed_sources": ["10.0.0.1/8"]}, "allowed_sources"),
        ({"allowed_sources": ["not-a-network"]}, "allowed_sources"),
        ({"transport": "SCTP"}, "transport"),
        ({"caller_id_number": "+1-555"}, "caller_id_number"),
        ({"prefixes": ["9x"]}, "prefixes"),
        ({"prepend": "0+"}, "prepend"),
        ({"host": "bad host"}, "host"),
        ({"port": 70000}, "port"),
        ({"register_expires": 59}, "register_expires"),
        ({"strip_digits": -1}, "strip_digits"),
        ({"caller_id_name": "a\nb"}, "caller_id_name"),
        ({"tenant_id": 1}, "tenant_id"),
    ],
)
async def test_invalid_fields_are_refused_with_validation_error(
    api: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    await _admin(api)
    r = await api.post("/api/v1/trunks", json={**BODY, **changes})
    assert r.status_code == 422, r.text
    assert r.json()["error_id"] == "validation_error"
    assert field in {str(part) for d in r.json()["details"] for part in d["loc"]}


@pytest.mark.parametrize(
    ("changes", "error_id"),
    [
        ({"allowed_sources": []}, "trunk_allowlist_empty"),
        ({"password": None}, "trunk_credentials_missing"),
        (
            {"register_enabled": False, "inbound_mode": "digest", "username": None},
            "trunk_credentials_missing",
        ),
        ({"caller_id_number": None}, "trunk_caller_id_missing"),
    ],
)
async def test_inconsistent_trunks_are_refused_with_a_stable_error_id(
    api: httpx.AsyncClient, changes: dict[str, Any], error_id: str
) -> None:
    await _admin(api)
    r = await api.post("/api/v1/trunks", json={**BODY, **changes})
    assert r.status_code == 422, r.text
    assert r.json()["error_id"] == error_id


async def test_partial_update_is_checked_against_the_whole_trunk(api: httpx.AsyncClient) -> None:
    await _admin(api)
    trunk = await _create(api)
    r = await api.patch(f"/api/v1/trunks/{trunk['id']}", json={"password": ""})
    assert r.status_code == 422 and r.json()["error_id"] == "trunk_credentials_missing"
    still = (await api.get(f"/api/v1/trunks/{trunk['id']}")).json()
    assert still["has_password"] is True


async def test_names_are_unique_per_tenant(api: httpx.AsyncClient) -> None:
    await _admin(api)
    await _create(api)
    r = await api.post("/api/v1/trunks", json=BODY)
    assert r.status_code == 409 and r.json()["error_id"] == "trunk_name_taken"
    other = await _create(api, name="provider-b")
    r = await api.patch(f"/api/v1/trunks/{other['id']}", json={"name": "provider-a"})
    assert r.status_code == 409 and r.json()["error_id"] == "trunk_name_taken"
    r = await api.patch(f"/api/v1/trunks/{other['id']}", json={"name": "provider-b"})
    assert r.status_code == 200


async def test_supervisors_read_and_agents_do_neither(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _admin(api)
    trunk = await _create(api)
    async with await _client(runtime) as supervisor, await _client(runtime) as agent:
        await login(supervisor, "demo", "supervisor", DEMO_PASSWORD)
        await login(agent, "demo", "agent2001", DEMO_PASSWORD)
        assert (await supervisor.get(f"/api/v1/trunks/{trunk['id']}")).status_code == 200
        for who in (supervisor, agent):
            r = await who.post("/api/v1/trunks", json={**BODY, "name": "by-role"})
            assert r.status_code == 403 and r.json()["error_id"] == "role_required"
            r = await who.patch(f"/api/v1/trunks/{trunk['id']}", json={"enabled": False})
            assert r.status_code == 403
            assert (await who.delete(f"/api/v1/trunks/{trunk['id']}")).status_code == 403
        assert (await agent.get("/api/v1/trunks")).status_code == 403


async def test_another_tenant_cannot_see_or_touch_the_trunk(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _admin(api)
    trunk = await _create(api)
    async with await _client(runtime) as root, await _client(runtime) as other:
        await login(root, "system", "admin", ADMIN_PASSWORD)
        r = await root.post(
            "/api/v1/tenants",
            json={
                "slug": "tenant-b",
                "name": "B",
                "admin_username": "admin",
                "admin_password": "password-1",
            },
        )
        assert r.status_code == 201, r.text
        await login(other, "tenant-b", "admin", "password-1")
        url = f"/api/v1/trunks/{trunk['id']}"
        assert (await other.get(url)).status_code == 404
        assert (await other.patch(url, json={"enabled": False})).status_code == 404
        assert (await other.delete(url)).status_code == 404
        assert (await other.get("/api/v1/trunks")).json()["total"] == 0
        same_name = await other.post("/api/v1/trunks", json=BODY)
        assert same_name.status_code == 201, same_name.text
    assert (await api.get(url)).json()["enabled"] is True


async def test_call_control_views_are_frozen_configs(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _admin(api)
    registering = await _create(api)
    disabled = await _create(api, name="off", enabled=False)
    quiet = await _create(
        api, name="quiet", register_enabled=False, host="127.0.0.1", allowed_sources=[]
    )
    async with runtime.unit_of_work() as session:
        row = await session.get(Trunk, registering["id"])
        assert row is not None
        tenant_id = row.tenant_id
        enabled = await service.trunks_for_tenant(session, tenant_id)
        everything = await service.trunks_for_tenant(session, tenant_id, enabled_only=False)
        registers = await service.all_registering_trunks(session)
        candidates = await service.inbound_candidates(session)
    assert [t.id for t in enabled] == [registering["id"], quiet["id"]]
    assert {t.id for t in everything} == {registering["id"], disabled["id"], quiet["id"]}
    assert [t.id for t in registers] == [registering["id"]]
    assert registers[0].password == SECRET and registers[0].prefixes == ("+999",)
    assert match_inbound(candidates, "127.0.0.1") == next(t for t in enabled if t.name == "quiet")
    assert match_inbound(candidates, "192.0.2.9") == registers[0]
