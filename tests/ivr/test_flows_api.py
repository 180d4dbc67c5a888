"""The /flows API on SQLite and PostgreSQL: drafts, publication, immutable versions,
document checks, roles, tenants, and callers' paths recorded by a run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from helpline.api.app import create_app
from helpline.db.models import Base
from helpline.ivr import service
from helpline.ivr.engine import run_flow
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login
from tests.ivr.fakes import FakePort

MENU: dict[str, Any] = {
    "start": "main",
    "nodes": {
        "main": {
            "type": "menu",
            "prompt": {"names": ["ivr/for"]},
            "options": {"1": "sales", "2": "balance", "9": "bye"},
            "retries": 0,
            "on_fail": "bye",
        },
        "sales": {"type": "queue", "queue": "sales"},
        "balance": {
            "type": "collect",
            "prompt": {"names": ["ivr/please-enter"]},
            "into": "account",
            "next": "bye",
            "on_invalid": "bye",
        },
        "bye": {"type": "hangup", "prompt": {"names": ["ivr/goodbye"]}},
    },
}


def _own(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The flows listed, without the demo tenant's own (``demo-menu``, ``demo-night``)."""
    return [f for f in page["items"] if not f["name"].startswith("demo-")]


def _stopped(moment: datetime) -> Callable[[], datetime]:
    """A clock that always says ``moment``."""
    return lambda: moment


def _client(runtime: Runtime) -> httpx.AsyncClient:
    """Another user's client of the app."""
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def _create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/flows", json={"name": "main menu", **body})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def test_migration_creates_the_ivr_tables_as_the_models_describe(runtime: Runtime) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, Base.metadata) if "ivr_" in str(d)]

    async with runtime.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_draft_publish_versions_lifecycle(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    flow = await _create(client, description="front door")
    assert flow["latest_version"] == 0
    assert flow["problems"]["valid"] is True
    assert flow["document"]["start"] == "goodbye"

    broken = {**MENU, "start": "missing"}
    r = await client.patch(f"/api/v1/flows/{flow['id']}", json={"document": broken})
    assert r.status_code == 200, r.text
    assert r.json()["problems"]["errors"] == [
        {"node": None, "field": "start", "message": "no node 'missing'"}
    ]
    r = await client.post(f"/api/v1/flows/{flow['id']}/publish")
    assert r.status_code == 422
    assert r.json()["error_id"] == "invalid_flow"
    assert r.json()["details"] == [{"node": None, "field": "start", "message": "no node 'missing'"}]

    await client.patch(f"/api/v1/flows/{flow['id']}", json={"document": MENU})
    r = await client.post(f"/api/v1/flows/{flow['id']}/publish")
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (v1["version"], v1["published_by"]) == (1, "admin@demo")
    assert v1["document"]["nodes"]["main"]["options"] == {"1": "sales", "2": "balance", "9": "bye"}

    changed = {**MENU, "nodes": {**MENU["nodes"], "sales": {"type": "queue", "queue": "vip"}}}
    await client.patch(f"/api/v1/flows/{flow['id']}", json={"document": changed})
    assert (await client.post(f"/api/v1/flows/{flow['id']}/publish")).status_code == 201

    versions = (await client.get(f"/api/v1/flows/{flow['id']}/versions")).json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert "document" not in versions["items"][0]
    first = (await client.get(f"/api/v1/flows/{flow['id']}/versions/1")).json()
    assert first["document"]["nodes"]["sales"]["queue"] == "sales"
    assert (await client.get(f"/api/v1/flows/{flow['id']}/versions/3")).status_code == 404

    listed = (await client.get("/api/v1/flows")).json()
    assert [(f["name"], f["latest_version"]) for f in _own(listed)] == [("main menu", 2)]

    r = await client.delete(f"/api/v1/flows/{flow['id']}")
    assert (r.status_code, r.json()["error_id"]) == (409, "flow_published")
    draft_only = await _create(client, name="scratch")
    assert (await client.delete(f"/api/v1/flows/{draft_only['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/flows/{draft_only['id']}")).status_code == 404


async def test_calls_keep_the_version_they_started_with(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    flow = await _create(client, document=MENU)
    await client.post(f"/api/v1/flows/{flow['id']}/publish")
    tenant_id = (await client.get("/api/v1/auth/me")).json()["tenant_id"]
    async with runtime.unit_of_work() as session:
        running = await service.load_published(session, tenant_id=tenant_id, flow_id=flow["id"])
    assert running is not None and running.version == 1

    changed = {**MENU, "nodes": {**MENU["nodes"], "sales": {"type": "queue", "queue": "vip"}}}
    await client.patch(f"/api/v1/flows/{flow['id']}", json={"document": changed})
    await client.post(f"/api/v1/flows/{flow['id']}/publish")

    port = FakePort(["1"])
    await run_flow(running.document, port)
    assert port.transferred is not None and port.transferred.target == "sales"
    async with runtime.unit_of_work() as session:
        latest = await service.load_published(session, tenant_id=tenant_id, flow_id=flow["id"])
        other = await service.load_published(session, tenant_id=tenant_id + 999, flow_id=flow["id"])
    assert latest is not None and latest.version == 2
    assert other is None


async def test_validate_checks_without_saving(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    good = {**MENU, "nodes": {**MENU["nodes"], "orphan": {"type": "hangup"}}}
    r = await client.post("/api/v1/flows/validate", json=good)
    assert r.status_code == 200
    assert r.json()["valid"] is True
    assert r.json()["warnings"] == [
        {"node": "orphan", "field": "", "message": "not reachable from the start"}
    ]
    bad = {**MENU, "nodes": {**MENU["nodes"], "sales": {"type": "queue"}}}
    body = (await client.post("/api/v1/flows/validate", json=bad)).json()
    assert body["valid"] is False
    assert [(p["node"], p["field"]) for p in body["errors"]] == [("sales", "queue")]
    assert _own((await client.get("/api/v1/flows")).json()) == []


async def test_names_are_unique_per_tenant_and_bodies_are_checked(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    first = await _create(client)
    r = await client.post("/api/v1/flows", json={"name": "main menu"})
    assert (r.status_code, r.json()["error_id"]) == (409, "flow_name_taken")
    second = await _create(client, name="night")
    r = await client.patch(f"/api/v1/flows/{second['id']}", json={"name": "main menu"})
    assert r.status_code == 409
    r = await client.post("/api/v1/flows", json={"name": "x", "tenant_id": 1})
    assert r.status_code == 422
    r = await client.post("/api/v1/flows", json={"name": "big", "document": {"x": "y" * 300_000}})
    assert r.status_code == 422
    assert first["id"] != second["id"]


async def test_supervisors_read_and_agents_do_neither(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    flow = await _create(client, document=MENU)
    await client.post(f"/api/v1/flows/{flow['id']}/publish")
    async with _client(runtime) as supervisor, _client(runtime) as agent:
        await login(supervisor, "demo", "supervisor", DEMO_PASSWORD)
        await login(agent, "demo", "agent2001", DEMO_PASSWORD)
        for url in (
            "/api/v1/flows",
            f"/api/v1/flows/{flow['id']}",
            f"/api/v1/flows/{flow['id']}/versions",
            f"/api/v1/flows/{flow['id']}/versions/1",
            f"/api/v1/flows/{flow['id']}/paths",
        ):
            assert (await supervisor.get(url)).status_code == 200, url
            assert (await agent.get(url)).status_code == 403, url
        assert (await supervisor.post("/api/v1/flows/validate", json=MENU)).status_code == 200
        for method, url in (
            ("POST", "/api/v1/flows"),
            ("PATCH", f"/api/v1/flows/{flow['id']}"),
            ("POST", f"/api/v1/flows/{flow['id']}/publish"),
            ("DELETE", f"/api/v1/flows/{flow['id']}"),
        ):
            r = await supervisor.request(method, url, json={"name": "x"})
            assert r.status_code == 403, (method, url)


async def test_another_tenant_sees_none_of_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    flow = await _create(client, document=MENU)
    await client.post(f"/api/v1/flows/{flow['id']}/publish")
    async with _client(runtime) as root:
        await login(root, "system", "admin", ADMIN_PASSWORD)
        r = await root.post(
            "/api/v1/tenants",
            json={
                "slug": "other",
                "name": "Other",
                "admin_username": "admin",
                "admin_password": "password-1",
            },
        )
        assert r.status_code == 201, r.text
    async with _client(runtime) as other:
        await login(other, "other", "admin", "password-1")
        assert (await other.get("/api/v1/flows")).json()["total"] == 0
        base = f"/api/v1/flows/{flow['id']}"
        for method, url in (
            ("GET", base),
            ("PATCH", base),
            ("DELETE", base),
            ("POST", f"{base}/publish"),
            ("GET", f"{base}/versions"),
            ("GET", f"{base}/versions/1"),
            ("GET", f"{base}/paths"),
        ):
            r = await other.request(method, url, json={} if method == "PATCH" else None)
            assert r.status_code == 404, (method, url, r.text)


async def test_paths_are_stored_in_batches_and_counted_per_node(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    flow = await _create(client, document=MENU)
    await client.post(f"/api/v1/flows/{flow['id']}/publish")
    tenant_id = (await client.get("/api/v1/auth/me")).json()["tenant_id"]
    async with runtime.unit_of_work() as session:
        running = await service.load_published(session, tenant_id=tenant_id, flow_id=flow["id"])
    assert running is not None

    morning = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    calls = [["1"], ["2", "12345"], ["2", "777"], ["2", "777"], ["7"], []]
    for n, keys in enumerate(calls):
        moment = morning + timedelta(hours=n % 2)
        recorder = service.DbPathRecorder(
            runtime.unit_of_work,
            tenant_id=tenant_id,
            call_id=f"call-{n}",
            flow_id=running.flow_id,
            version=running.version,
            batch_size=2,
        )
        await run_flow(running.document, FakePort(keys), recorder=recorder, clock=_stopped(moment))

    r = await client.get(
        f"/api/v1/flows/{flow['id']}/paths",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z"},
    )
    assert r.status_code == 200, r.text
    stats = r.json()
    assert (stats["from"], stats["to"]) == ("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z")
    assert stats["calls"] == 6
    nodes = {n["node"]: n for n in stats["nodes"]}
    assert nodes["main"]["visits"] == 6
    assert nodes["main"]["results"] == {"option": 4, "invalid": 1, "caller_hung_up": 1}
    assert nodes["main"]["digits"] == [
        {"digits": "2", "count": 3},
        {"digits": "1", "count": 1},
        {"digits": "7", "count": 1},
    ]
    assert nodes["main"]["hours"] == {"9": 3, "10": 3}
    assert nodes["balance"]["digits"] == [
        {"digits": "777", "count": 2},
        {"digits": "12345", "count": 1},
    ]
    assert nodes["sales"]["results"] == {"transferred": 1}
    assert nodes["bye"]["visits"] == 4
    assert stats["nodes"][0]["node"] == "main"

    later = await client.get(
        f"/api/v1/flows/{flow['id']}/paths", params={"from": "2026-03-02T10:00:00"}
    )
    assert later.json()["calls"] == 3
    other_version = await client.get(f"/api/v1/flows/{flow['id']}/paths", params={"version": 2})
    assert other_version.json()["nodes"] == []
