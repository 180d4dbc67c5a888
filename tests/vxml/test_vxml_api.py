"""The /vxml-documents API on SQLite and PostgreSQL: upload (validated), list, get,
delete, roles, tenant isolation, and the migration matching the model."""

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
from helpline.vxml import service
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login

URL = "/api/v1/vxml-documents"
SOURCE = """<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <menu id="main" dtmf="true">
    <prompt>Press 1 for sales</prompt>
    <choice next="#sales"/>
  </menu>
  <form id="sales"><transfer name="t" dest="queue:sales"/></form>
</vxml>
"""


def _own(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents listed, without the demo tenant's own ``demo-menu-vxml``."""
    return [d for d in page["items"] if d["name"] != "demo-menu-vxml"]


async def _client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in as the demo tenant's admin."""
    async with await _client(runtime) as c:
        await login(c, "demo", "admin", DEMO_PASSWORD)
        yield c


async def test_migration_creates_the_table_as_the_model_describes(runtime: Runtime) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, Base.metadata) if "vxml" in str(d)]

    async with runtime.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upload_list_get_delete(api: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await api.post(URL, json={"name": "demo-menu", "source": SOURCE})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "demo-menu"
    assert created["source"] == SOURCE
    assert created["size_bytes"] == len(SOURCE.encode())
    listed = _own((await api.get(URL)).json())
    assert len(listed) == 1
    assert "source" not in listed[0]
    got = await api.get(f"{URL}/{created['id']}")
    assert got.status_code == 200 and got.json()["source"] == SOURCE
    async with runtime.unit_of_work() as session:
        tenant_id = (await api.get("/api/v1/tenants/current")).json()["id"]
        assert await service.source_by_name(session, tenant_id=tenant_id, name="demo-menu") == (
            SOURCE
        )
    audit = (await api.get("/api/v1/audit", params={"entity": "vxml_document"})).json()
    assert "<vxml" not in str(audit)
    assert (await api.delete(f"{URL}/{created['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{created['id']}")).status_code == 404
    assert _own((await api.get(URL)).json()) == []


async def test_unsupported_element_is_refused_naming_it_and_its_line(
    api: httpx.AsyncClient,
) -> None:
    source = SOURCE.replace("<choice", '<object data="x"/>\n    <choice')
    r = await api.post(URL, json={"name": "bad", "source": source})
    assert r.status_code == 422
    body = r.json()
    assert body["error_id"] == "unsupported_vxml"
    assert body["details"] == [
        {"line": 5, "element": "object", "attribute": None, "message": "<object> is not supported"}
    ]
    assert _own((await api.get(URL)).json()) == []


async def test_unsupported_attribute_malformed_xml_and_bad_expressions_are_refused(
    api: httpx.AsyncClient,
) -> None:
    attr = SOURCE.replace('<menu id="main"', '<menu id="main" scope="document"')
    r = await api.post(URL, json={"name": "bad", "source": attr})
    assert r.json()["error_id"] == "unsupported_vxml"
    assert r.json()["details"][0] | {"message": ""} == {
        "line": 3,
        "element": "menu",
        "attribute": "scope",
        "message": "",
    }
    r = await api.post(URL, json={"name": "bad", "source": SOURCE.replace("</form>", "")})
    assert r.status_code == 422 and r.json()["error_id"] == "invalid_vxml"
    assert r.json()["details"][0]["line"] == 8
    expr = SOURCE.replace("<prompt>", '<prompt cond="1 +">')
    r = await api.post(URL, json={"name": "bad", "source": expr})
    assert r.json()["error_id"] == "invalid_vxml"
    assert r.json()["details"][0]["attribute"] == "cond"


async def test_names_are_unique_per_tenant_and_checked(api: httpx.AsyncClient) -> None:
    assert (await api.post(URL, json={"name": "m", "source": SOURCE})).status_code == 201
    r = await api.post(URL, json={"name": "m", "source": SOURCE})
    assert r.status_code == 409 and r.json()["error_id"] == "vxml_name_taken"
    r = await api.post(URL, json={"name": "../x", "source": SOURCE})
    assert r.status_code == 422 and r.json()["error_id"] == "validation_error"
    r = await api.post(URL, json={"name": "n", "source": SOURCE, "tenant_id": 1})
    assert r.status_code == 422


async def test_supervisors_read_and_agents_do_neither(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    doc = (await api.post(URL, json={"name": "m", "source": SOURCE})).json()
    async with await _client(runtime) as supervisor, await _client(runtime) as agent:
        await login(supervisor, "demo", "supervisor", DEMO_PASSWORD)
        await login(agent, "demo", "agent2001", DEMO_PASSWORD)
        assert (await supervisor.get(f"{URL}/{doc['id']}")).status_code == 200
        assert (await supervisor.get(URL)).status_code == 200
        for who in (supervisor, agent):
            r = await who.post(URL, json={"name": "x", "source": SOURCE})
            assert r.status_code == 403 and r.json()["error_id"] == "role_required"
            assert (await who.delete(f"{URL}/{doc['id']}")).status_code == 403
        assert (await agent.get(URL)).status_code == 403


async def test_another_tenant_cannot_see_or_delete_the_document(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    doc = (await api.post(URL, json={"name": "m", "source": SOURCE})).json()
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
        assert (await other.get(f"{URL}/{doc['id']}")).status_code == 404
        assert (await other.delete(f"{URL}/{doc['id']}")).status_code == 404
        assert (await other.get(URL)).json()["total"] == 0
        assert (await other.post(URL, json={"name": "m", "source": SOURCE})).status_code == 201
    assert (await api.get(f"{URL}/{doc['id']}")).status_code == 200
