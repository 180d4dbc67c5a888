"""The demo tenant's self-service content: it exists, validates, routes by office hours
and blocks the demo number."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from helpline.demo import content
from helpline.ivr.flow import check
from helpline.routing.blacklist import BlockAction
from helpline.routing.decide import Blocked, Routed, decide, load_routing
from helpline.routing.schedule import FlowTarget, VxmlTarget
from helpline.runtime import Runtime
from helpline.vxml.parser import parse_document
from tests.conftest import DEMO_PASSWORD, login


async def _items(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    r = await client.get(path, params={"limit": 100})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _by_name(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in items if item["name"] == name)


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The client, logged in as the demo tenant's admin."""
    await login(client, "demo", "admin", DEMO_PASSWORD)
    return client


async def test_demo_flows_are_published_and_valid(admin: httpx.AsyncClient) -> None:
    flows = await _items(admin, "/api/v1/flows")
    for name in (content.DAY_FLOW, content.NIGHT_FLOW):
        flow = _by_name(flows, name)
        assert flow["latest_version"] == 1
        detail = (await admin.get(f"/api/v1/flows/{flow['id']}")).json()
        assert detail["problems"] == {"valid": True, "errors": [], "warnings": []}
        version = (await admin.get(f"/api/v1/flows/{flow['id']}/versions/1")).json()
        assert check(version["document"]).valid


async def test_day_flow_asks_the_back_office_on_this_nodes_http_port(
    admin: httpx.AsyncClient, runtime: Runtime
) -> None:
    flow = _by_name(await _items(admin, "/api/v1/flows"), content.DAY_FLOW)
    document = (await admin.get(f"/api/v1/flows/{flow['id']}/versions/1")).json()["document"]
    port = runtime.settings.http_port
    assert document["nodes"]["lookup"]["url"] == (
        f"http://127.0.0.1:{port}/api/demo/balance?account={{account}}"
    )
    menu = document["nodes"]["menu"]
    assert menu["options"] == {"1": "sales", "2": "support", "3": "account", "9": "voicemail"}
    assert set(menu["prompt"]["text"]) == {"en", "zh", "ko"}


async def test_vxml_copy_of_the_menu_is_stored_and_valid(admin: httpx.AsyncClient) -> None:
    listed = _by_name(await _items(admin, "/api/v1/vxml-documents"), content.VXML_DOCUMENT)
    detail = (await admin.get(f"/api/v1/vxml-documents/{listed['id']}")).json()
    document = parse_document(detail["source"])
    assert set(document.dialogs) == {"main", "sales", "support", "voicemail", "balance", "goodbye"}


async def test_voicemail_box_belongs_to_the_support_queue(admin: httpx.AsyncClient) -> None:
    box = _by_name(await _items(admin, "/api/v1/voicemail-boxes"), content.VOICEMAIL_BOX)
    assert (box["owner_kind"], box["owner_ref"], box["enabled"]) == ("queue", "support", True)


async def test_numbers_lead_to_the_demo_services(admin: httpx.AsyncClient) -> None:
    services = {s["id"]: s for s in await _items(admin, "/api/v1/services")}
    numbers = {
        n["number"]: services[n["service_id"]] for n in await _items(admin, "/api/v1/numbers")
    }
    assert numbers["1000"]["name"] == content.SERVICE
    assert numbers["1001"]["name"] == content.VXML_SERVICE
    for service in numbers.values():
        assert service["timezone"] is None  # the tenant's
        (rule,) = service["rules"]
        assert rule["kind"] == "weekly"
        assert rule["days"] == ["mon", "tue", "wed", "thu", "fri"]
        assert (rule["start"], rule["end"]) == ("09:00:00", "18:00:00")


@pytest.mark.parametrize(
    ("at", "day"),
    [
        ("2026-03-02T10:00:00", True),  # Monday
        ("2026-03-06T17:59:00", True),  # Friday
        ("2026-03-02T08:59:00", False),
        ("2026-03-02T20:00:00", False),
        ("2026-03-07T10:00:00", False),  # Saturday
        ("2026-03-08T12:00:00", False),  # Sunday
    ],
)
async def test_demo_services_route_by_office_hours(
    admin: httpx.AsyncClient, at: str, day: bool
) -> None:
    flows = await _items(admin, "/api/v1/flows")
    day_flow = _by_name(flows, content.DAY_FLOW)["id"]
    night = {"kind": "flow", "flow_id": _by_name(flows, content.NIGHT_FLOW)["id"]}
    documents = await _items(admin, "/api/v1/vxml-documents")
    vxml_id = _by_name(documents, content.VXML_DOCUMENT)["id"]
    services = await _items(admin, "/api/v1/services")
    expected = {
        content.SERVICE: {"kind": "flow", "flow_id": day_flow},
        content.VXML_SERVICE: {"kind": "vxml", "document_id": vxml_id},
    }
    for name, day_target in expected.items():
        service_id = _by_name(services, name)["id"]
        r = await admin.get(f"/api/v1/services/{service_id}/route", params={"at": at})
        assert r.status_code == 200, r.text
        assert r.json()["target"] == (day_target if day else night)


async def test_blacklist_turns_the_demo_number_away_busy(
    admin: httpx.AsyncClient, runtime: Runtime
) -> None:
    (entry,) = [
        e for e in await _items(admin, "/api/v1/blacklist") if e["number"] == content.BLOCKED_NUMBER
    ]
    assert (entry["kind"], entry["action"]) == ("exact", "reject_busy")
    assert entry["note"] == "demo: a blocked caller"
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    async with runtime.unit_of_work() as session:
        config = await load_routing(session, "1000")
    assert config is not None
    blocked = decide(config, "+999 555 00666", monday, anonymous=False)
    assert isinstance(blocked, Blocked)
    assert (blocked.action, blocked.sip_status) == (BlockAction.REJECT_BUSY, 486)
    routed = decide(config, "+15551234567", monday, anonymous=False)
    assert isinstance(routed, Routed) and isinstance(routed.target, FlowTarget)


async def test_vxml_number_routes_to_the_document_in_office_hours(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as session:
        config = await load_routing(session, "1001")
    assert config is not None
    routed = decide(config, "5551234", datetime(2026, 3, 3, 9, 0, tzinfo=UTC), anonymous=False)
    assert isinstance(routed, Routed) and isinstance(routed.target, VxmlTarget)
