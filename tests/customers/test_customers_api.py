"""The /customers API on SQLite and PostgreSQL: profiles, numbers, lookup, roles,
tenant isolation, notes and events with reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.customers import service
from helpline.customers.lookup import lookup_by_number
from helpline.customers.models import CustomerEvent, CustomerTier
from helpline.runtime import Runtime
from tests.customers.conftest import Crm, created

KIM = {
    "name": "김민준",
    "title": "대표",
    "company": "한빛상사",
    "tier": "vip",
    "region": "north",
    "phones": [{"number": "010-1234-5678"}, {"number": "02-312-3456", "label": "work"}],
    "emails": ["minjun@example.kr"],
    "addresses": [
        {"line1": "종로구 세종대로 175", "city": "서울", "country": "KR"},
        {"line1": "해운대구 우동 1411", "city": "부산", "default": True},
    ],
    "tags": ["vip"],
    "custom_fields": {"account": "A-1", "seats": 3, "active": True, "note": None},
}


async def test_agent_creates_a_customer_whose_national_numbers_are_stored_in_e164(
    crm: Crm,
) -> None:
    body = await created(crm.agent, "customers", KIM)
    assert [(p["e164"], p["label"]) for p in body["phones"]] == [
        ("+821012345678", "mobile"),
        ("+8223123456", "work"),
    ]
    assert body["usual_address"]["city"] == "부산"
    assert body["custom_fields"] == KIM["custom_fields"]
    assert (await crm.agent.get(f"/api/v1/customers/{body['id']}")).json() == body


async def test_lookup_finds_the_caller_in_any_spelling_and_answers_null_for_strangers(
    crm: Crm,
) -> None:
    kim = await created(crm.agent, "customers", KIM)
    for number in (
        "01012345678",
        "+82 10-1234-5678",
        "sip:821012345678@trunk",
        "0082 10 1234 5678",
    ):
        r = await crm.agent.get("/api/v1/customers/lookup", params={"number": number})
        assert r.status_code == 200, r.text
        found = r.json()
        assert found["e164"] == "+821012345678"
        assert found["customer"]["id"] == kim["id"]
        assert found["customer"]["tier"] == "vip"
        assert found["customer"]["ambiguous"] is False
    stranger = (
        await crm.agent.get("/api/v1/customers/lookup", params={"number": "010-9999-0000"})
    ).json()
    assert stranger["e164"] == "+821099990000" and stranger["customer"] is None
    withheld = (await crm.agent.get("/api/v1/customers/lookup")).json()
    assert withheld == {"number": "", "e164": None, "customer": None}


async def test_a_number_shared_by_two_customers_pops_the_first_and_says_it_is_ambiguous(
    crm: Crm, runtime: Runtime
) -> None:
    first = await created(
        crm.agent, "customers", {"name": "A", "phones": [{"number": "02-312-3456"}]}
    )
    await created(crm.agent, "customers", {"name": "B", "phones": [{"number": "+8223123456"}]})
    async with runtime.unit_of_work() as session:
        brief = await lookup_by_number(session, crm.tenant_id, "023123456")
    assert brief is not None and brief.id == first["id"] and brief.ambiguous


async def test_an_invalid_number_is_refused_naming_the_entry(crm: Crm) -> None:
    r = await crm.agent.post(
        "/api/v1/customers",
        json={"name": "X", "phones": [{"number": "010-1234-5678"}, {"number": "12"}]},
    )
    assert r.status_code == 422
    assert r.json()["error_id"] == "customer_phone_invalid"
    assert r.json()["details"]["field"] == "phones[1].number"


async def test_custom_fields_must_be_a_flat_map(crm: Crm) -> None:
    for custom in ({"a": {"b": 1}}, {"a": [1]}, {"bad key": 1}):
        r = await crm.agent.post("/api/v1/customers", json={"name": "X", "custom_fields": custom})
        assert r.status_code == 422, custom
        assert r.json()["error_id"] == "validation_error"


async def test_the_default_region_decides_how_national_numbers_are_read(crm: Crm) -> None:
    settings = (await crm.agent.get("/api/v1/customer-settings")).json()
    assert settings == {"default_region": None, "effective_region": "KR"}
    denied = await crm.agent.put("/api/v1/customer-settings", json={"default_region": "CN"})
    assert denied.status_code == 403
    r = await crm.admin.put("/api/v1/customer-settings", json={"default_region": "CN"})
    assert r.json() == {"default_region": "CN", "effective_region": "CN"}
    body = await created(
        crm.agent, "customers", {"name": "王伟", "phones": [{"number": "138 0013 8000"}]}
    )
    assert body["phones"][0]["e164"] == "+8613800138000"
    bad = await crm.admin.put("/api/v1/customer-settings", json={"default_region": "XX"})
    assert bad.status_code == 422


async def test_agents_read_create_and_note_while_deleting_and_bulk_work_needs_more_rights(
    crm: Crm,
) -> None:
    kim = await created(crm.agent, "customers", KIM)
    path = f"/api/v1/customers/{kim['id']}"
    note = await created(crm.agent, f"customers/{kim['id']}/notes", {"body": "wants a callback"})
    assert note["author"] == "agent1@acme"
    r = await crm.agent.patch(path, json={"title": None, "tier": "gold"})
    assert r.status_code == 200 and r.json()["title"] is None and r.json()["tier"] == "gold"
    assert (await crm.agent.delete(path)).status_code == 403
    assert (await crm.agent.get("/api/v1/customers/export")).status_code == 403
    upload = {"file": ("c.csv", b"name\nX\n", "text/csv")}
    assert (await crm.agent.post("/api/v1/customers/import", files=upload)).status_code == 403
    assert (await crm.supervisor.post("/api/v1/customers/import", files=upload)).status_code == 403
    assert (await crm.agent.delete(f"{path}/notes/{note['id']}")).status_code == 403
    assert (await crm.supervisor.delete(f"{path}/notes/{note['id']}")).status_code == 204
    assert (await crm.admin.delete(path)).status_code == 204
    assert (await crm.agent.get(path)).status_code == 404


async def test_another_tenant_gets_404_for_every_customer_route(crm: Crm) -> None:
    kim = await created(crm.agent, "customers", KIM)
    note = await created(crm.agent, f"customers/{kim['id']}/notes", {"body": "x"})
    event = await created(
        crm.agent, f"customers/{kim['id']}/events", {"kind": "order", "title": "TV"}
    )
    base = f"/api/v1/customers/{kim['id']}"
    probes = [
        ("GET", base, None),
        ("PATCH", base, {"name": "hijacked"}),
        ("DELETE", base, None),
        ("GET", f"{base}/timeline", None),
        ("GET", f"{base}/notes", None),
        ("POST", f"{base}/notes", {"body": "hijacked"}),
        ("POST", f"{base}/notes", None),
        ("DELETE", f"{base}/notes/{note['id']}", None),
        ("GET", f"{base}/events", None),
        ("POST", f"{base}/events", None),
        ("PATCH", f"{base}/events/{event['id']}", {"status": "cancelled"}),
        ("DELETE", f"{base}/events/{event['id']}", None),
    ]
    for method, url, body in probes:
        r = await crm.other.request(method, url, json=body)
        assert r.status_code == 404, f"{method} {url} -> {r.status_code} {r.text}"
    listed = (await crm.other.get("/api/v1/customers", params={"q": "김"})).json()
    assert listed["total"] == 0
    popped = (
        await crm.other.get("/api/v1/customers/lookup", params={"number": "+821012345678"})
    ).json()
    assert popped["customer"] is None
    assert "김민준" not in (await crm.other.get("/api/v1/customers/export")).text
    assert (await crm.admin.get(base)).json()["name"] == "김민준"


async def test_new_numbers_replace_the_old_ones_in_the_lookup_index(crm: Crm) -> None:
    kim = await created(crm.agent, "customers", KIM)
    r = await crm.agent.patch(
        f"/api/v1/customers/{kim['id']}",
        json={"phones": [{"number": "02-312-3456", "label": "home"}, {"number": "010-5555-0101"}]},
    )
    assert [(p["e164"], p["label"]) for p in r.json()["phones"]] == [
        ("+8223123456", "home"),
        ("+821055550101", "mobile"),
    ]
    gone = await crm.agent.get("/api/v1/customers/lookup", params={"number": "01012345678"})
    assert gone.json()["customer"] is None
    new = await crm.agent.get("/api/v1/customers/lookup", params={"number": "01055550101"})
    assert new.json()["customer"]["id"] == kim["id"]


async def test_list_searches_name_company_and_number_and_filters_tier_region_tag(
    crm: Crm,
) -> None:
    await created(crm.agent, "customers", KIM)
    await created(
        crm.agent,
        "customers",
        {"name": "Emily", "company": "Acme Dental", "region": "east", "tags": ["b2b", "vip_"]},
    )

    async def names(**params: str) -> list[str]:
        r = await crm.agent.get("/api/v1/customers", params=params)
        assert r.status_code == 200, r.text
        return [c["name"] for c in r.json()["items"]]

    assert await names() == ["Emily", "김민준"]
    assert await names(q="dental") == ["Emily"]
    assert await names(q="010 1234 5678") == ["김민준"]
    assert await names(tier="vip") == ["김민준"]
    assert await names(region="east") == ["Emily"]
    assert await names(tag="vip") == ["김민준"]
    assert await names(tag="b2b") == ["Emily"]
    assert await names(sort="-name") == ["김민준", "Emily"]


async def test_events_follow_their_workflow_and_reminders_fall_due_once(
    crm: Crm, runtime: Runtime
) -> None:
    kim = await created(crm.agent, "customers", KIM)
    at = datetime(2030, 5, 1, 10, tzinfo=UTC)
    base = f"customers/{kim['id']}/events"
    late = await crm.agent.post(
        f"/api/v1/{base}",
        json={
            "kind": "appointment",
            "title": "demo",
            "scheduled_at": at.isoformat(),
            "reminder_at": (at + timedelta(hours=1)).isoformat(),
        },
    )
    assert late.status_code == 422
    visit = await created(
        crm.agent,
        base,
        {
            "kind": "repair",
            "title": "washing machine",
            "scheduled_at": at.isoformat(),
            "reminder_at": (at - timedelta(hours=18)).isoformat(),
        },
    )
    order = await created(
        crm.agent, base, {"kind": "order", "title": "filters", "reference": "O-7"}
    )
    ours = {visit["id"], order["id"]}

    async def due(session: AsyncSession, now: datetime) -> list[CustomerEvent]:
        """Due reminders of this test's customer (the demo's own have theirs too)."""
        found = await service.due_reminders(session, now=now, limit=1000)
        return [e for e in found if e.id in ours]

    async with runtime.unit_of_work() as session:
        assert await due(session, at - timedelta(days=1)) == []
        reminders = await due(session, at - timedelta(hours=1))
        assert [e.id for e in reminders] == [visit["id"]]
        await service.mark_reminded(session, event=reminders[0], at=at - timedelta(hours=1))
    async with runtime.unit_of_work() as session:
        assert await due(session, at) == []
    done = await crm.agent.patch(f"/api/v1/{base}/{order['id']}", json={"status": "done"})
    assert done.json()["status"] == "done"
    back = await crm.agent.patch(f"/api/v1/{base}/{order['id']}", json={"status": "planned"})
    assert back.status_code == 409 and back.json()["error_id"] == "customer_event_transition"
    cancelled = await crm.agent.patch(f"/api/v1/{base}/{visit['id']}", json={"status": "cancelled"})
    assert cancelled.json()["status"] == "cancelled"
    listed = (await crm.agent.get(f"/api/v1/{base}", params={"status": "cancelled"})).json()
    assert [e["id"] for e in listed["items"]] == [visit["id"]]
    assert (await crm.agent.delete(f"/api/v1/{base}/{order['id']}")).status_code == 403
    assert (await crm.supervisor.delete(f"/api/v1/{base}/{order['id']}")).status_code == 204


async def test_the_demo_customers_load_once_and_pop_up_by_number(
    crm: Crm, runtime: Runtime
) -> None:
    from helpline.customers.demo import load_demo_customers

    async with runtime.unit_of_work() as session:
        assert await load_demo_customers(session, crm.tenant_id) == 12
    async with runtime.unit_of_work() as session:
        assert await load_demo_customers(session, crm.tenant_id) == 0
        brief = await lookup_by_number(session, crm.tenant_id, "+86 138 0013 8000")
        assert brief is not None and brief.name == "王伟" and brief.tier is CustomerTier.VIP
        korean = await lookup_by_number(session, crm.tenant_id, "010-1234-5678")
        assert korean is not None and korean.region == "north"
    listed = (await crm.agent.get("/api/v1/customers", params={"tier": "vip"})).json()
    assert listed["total"] == 3
    regions = {c["region"] for c in (await crm.agent.get("/api/v1/customers")).json()["items"]}
    assert regions == {"north", "south", "east", "west"}
