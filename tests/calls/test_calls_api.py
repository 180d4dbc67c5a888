"""The call-record, disposition and queue-event API on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from helpline.calls.models import CallDirection, CallOutcome, HangupSide, SegmentKind
from helpline.runtime import Runtime
from tests.calls.factory import T0, answered_call, recorder, seconds
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login
from tests.recordings.factory import tenant_id


@pytest.fixture
async def calls(runtime: Runtime) -> dict[str, int]:
    """Three calls of the demo tenant an hour apart: agent2001's, agent2002's, and one
    abandoned in the sales queue."""
    demo = await tenant_id(runtime, "demo")
    first = await answered_call(runtime, tenant=demo, call_id="a@test", caller="+491111")
    second = await answered_call(
        runtime,
        tenant=demo,
        call_id="b@test",
        caller="+492222",
        called="1001",
        queue="support",
        agent="agent2002",
        start=T0 + timedelta(hours=1),
    )
    r = recorder(runtime)
    start = T0 + timedelta(hours=2)
    third = await r.open(demo, "c@test", CallDirection.INBOUND, "+491111", "1000", start)
    await r.set(third, queue="sales")
    await r.segment_start(third, SegmentKind.QUEUE, start, queue="sales")
    await r.close(third, start + seconds(45), CallOutcome.ABANDONED_QUEUE, HangupSide.CALLER)
    return {"first": first.record_id, "second": second.record_id, "third": third.record_id}


def _ids(page: httpx.Response) -> list[int]:
    assert page.status_code == 200, page.text
    return [item["id"] for item in page.json()["items"]]


async def test_a_supervisor_lists_every_call_newest_first_and_filters(
    client: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    url = "/api/v1/call-records"
    page = await client.get(url)
    assert _ids(page) == [calls["third"], calls["second"], calls["first"]]
    abandoned = page.json()["items"][0]
    assert abandoned["outcome"] == "abandoned_queue" and abandoned["wait_seconds"] == 45
    assert abandoned["agent"] is None and abandoned["hangup_side"] == "caller"

    assert _ids(await client.get(url, params={"queue": "support"})) == [calls["second"]]
    assert _ids(await client.get(url, params={"agent": "agent2001"})) == [calls["first"]]
    assert _ids(await client.get(url, params={"outcome": "answered"})) == [
        calls["second"],
        calls["first"],
    ]
    assert _ids(await client.get(url, params={"caller": "+491111"})) == [
        calls["third"],
        calls["first"],
    ]
    assert _ids(await client.get(url, params={"called": "1001"})) == [calls["second"]]
    period = {"started_from": "2026-11-02T10:00:00+00:00", "started_to": "2026-11-02T11:00:00Z"}
    assert _ids(await client.get(url, params=period)) == [calls["second"]]
    longest = await client.get(url, params={"sort": "-talk_seconds", "limit": 1})
    assert longest.json()["total"] == 3 and longest.json()["items"][0]["talk_seconds"] == 100

    bad = await client.get(url, params={"outcome": "lost"})
    assert bad.status_code == 422 and bad.json()["error_id"] == "validation_error"


async def test_a_record_shows_its_segments(
    client: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    detail = (await client.get(f"/api/v1/call-records/{calls['first']}")).json()
    assert detail["call_id"] == "a@test" and detail["recording_id"] == 42
    assert (detail["talk_seconds"], detail["hold_seconds"], detail["wrap_up_seconds"]) == (
        100,
        20,
        15,
    )
    kinds = [s["kind"] for s in detail["segments"]]
    assert kinds == ["ivr", "queue", "offer", "offer", "talk", "hold", "talk", "wrap_up"]
    assert [s["result"] for s in detail["segments"][2:4]] == ["no_answer", "answered"]
    segments = await client.get(f"/api/v1/call-records/{calls['first']}/segments")
    assert segments.status_code == 200 and segments.json() == detail["segments"]


async def test_an_agent_sees_and_classifies_only_their_own_calls(
    client: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(client, "demo", "agent2001", DEMO_PASSWORD)
    assert _ids(await client.get("/api/v1/call-records")) == [calls["first"]]
    other = f"/api/v1/call-records/{calls['second']}"
    for response in (
        await client.get(other),
        await client.get(f"{other}/segments"),
        await client.patch(other, json={"disposition": "complaint"}),
    ):
        assert response.status_code == 404 and response.json()["error_id"] == "not_found"

    own = f"/api/v1/call-records/{calls['first']}"
    done = await client.patch(own, json={"disposition": "complaint", "notes": "late parcel"})
    assert done.status_code == 200, done.text
    assert (done.json()["disposition"], done.json()["notes"]) == ("complaint", "late parcel")
    assert len(done.json()["segments"]) == 8
    cleared = await client.patch(own, json={"notes": None})
    assert (cleared.json()["disposition"], cleared.json()["notes"]) == ("complaint", None)

    assert (await client.get("/api/v1/queue-events")).status_code == 403
    made = await client.post("/api/v1/dispositions", json={"code": "sales", "label": "Sale"})
    assert made.status_code == 403


async def test_dispositions_are_the_builtins_plus_the_tenants_own(
    client: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    url = "/api/v1/dispositions"
    made = await client.post(url, json={"code": "order", "label": "Order placed"})
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["builtin"] is False and order["active"] is True
    listed = (await client.get(url)).json()
    assert [(d["code"], d["builtin"], d["id"]) for d in listed] == [
        ("complaint", True, None),
        ("consultation", True, None),
        ("suggestion", True, None),
        ("order", False, order["id"]),
    ]
    for code in ("order", "complaint"):
        taken = await client.post(url, json={"code": code, "label": "again"})
        assert taken.status_code == 409 and taken.json()["error_id"] == "disposition_code_taken"
    ugly = await client.post(url, json={"code": "Bad Code", "label": "x"})
    assert ugly.status_code == 422 and ugly.json()["error_id"] == "validation_error"

    record = f"/api/v1/call-records/{calls['second']}"
    assert (await client.patch(record, json={"disposition": "order"})).status_code == 200
    unknown = await client.patch(record, json={"disposition": "refund"})
    assert unknown.status_code == 422 and unknown.json()["error_id"] == "unknown_disposition"
    one = f"{url}/{order['id']}"
    retired = await client.patch(one, json={"active": False, "label": "Order (old)"})
    assert retired.json()["active"] is False and retired.json()["label"] == "Order (old)"
    assert (await client.patch(record, json={"disposition": "order"})).status_code == 200
    refused = await client.patch(
        f"/api/v1/call-records/{calls['first']}", json={"disposition": "order"}
    )
    assert refused.status_code == 422 and refused.json()["error_id"] == "disposition_inactive"
    assert [d["code"] for d in (await client.get(url, params={"active": "false"})).json()] == [
        "order"
    ]

    assert (await client.delete(one)).status_code == 204
    assert (await client.get(one)).status_code == 404
    assert (await client.get(record)).json()["disposition"] == "order"

    await login(client, "demo", "admin", DEMO_PASSWORD)
    audit = (await client.get("/api/v1/audit", params={"entity": "call_record"})).json()
    assert [e["after"]["disposition"] for e in audit["items"]] == ["order", "order"]


async def test_supervisors_read_the_queue_event_log(
    client: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    url = "/api/v1/queue-events"
    page = (await client.get(url)).json()
    assert page["total"] == 4
    assert [(e["call_id"], e["event"]) for e in page["items"][:2]] == [
        ("b@test", "answer"),
        ("b@test", "join"),
    ]
    answers = (await client.get(url, params={"event": "answer", "queue": "sales"})).json()
    assert [(e["call_id"], e["agent"], e["wait_seconds"]) for e in answers["items"]] == [
        ("a@test", "agent2001", 30)
    ]
    early = (await client.get(url, params={"at_to": "2026-11-02T09:00:20Z"})).json()
    assert [e["position"] for e in early["items"]] == [2]


async def test_another_tenant_sees_none_of_the_calls(
    client: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    made = await client.post("/api/v1/dispositions", json={"code": "order", "label": "Order"})
    custom = f"/api/v1/dispositions/{made.json()['id']}"

    await login(client, "system", "admin", ADMIN_PASSWORD)
    assert (await client.get("/api/v1/call-records")).json()["total"] == 0
    assert (await client.get("/api/v1/queue-events")).json()["total"] == 0
    codes = [d["code"] for d in (await client.get("/api/v1/dispositions")).json()]
    assert codes == ["complaint", "consultation", "suggestion"]
    for record_id in calls.values():
        url = f"/api/v1/call-records/{record_id}"
        for response in (
            await client.get(url),
            await client.get(f"{url}/segments"),
            await client.patch(url, json={"notes": "from elsewhere"}),
        ):
            assert response.status_code == 404 and response.json()["error_id"] == "not_found"
    for response in (
        await client.get(custom),
        await client.patch(custom, json={"label": "stolen"}),
        await client.delete(custom),
    ):
        assert response.status_code == 404
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    assert (await client.get(custom)).json()["label"] == "Order"
    notes = [r["notes"] for r in (await client.get("/api/v1/call-records")).json()["items"]]
    assert notes == [None, None, None]


async def test_an_agent_sees_calls_recorded_under_their_phones_sip_account(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Call control records the SIP account that answered (2001, agent2001's phone)."""
    demo = await tenant_id(runtime, "demo")
    taken = await answered_call(runtime, tenant=demo, call_id="p@test", agent="2001")
    await login(client, "demo", "agent2001", DEMO_PASSWORD)
    assert _ids(await client.get("/api/v1/call-records")) == [taken.record_id]
    noted = await client.patch(f"/api/v1/call-records/{taken.record_id}", json={"notes": "ok"})
    assert noted.status_code == 200, noted.text
    await login(client, "demo", "agent2002", DEMO_PASSWORD)
    assert _ids(await client.get("/api/v1/call-records")) == []
