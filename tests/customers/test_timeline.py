"""A customer's timeline merges calls (matched by number, with recordings), notes and
events, newest first, paged with ``before``; other tenants' calls never show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpline.calls.models import CallOutcome, CallRecord
from helpline.recordings.models import CallDirection, Recording, RecordingStatus
from helpline.runtime import Runtime
from tests.customers.conftest import Crm, created

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _call(tenant_id: int, n: int, caller: str, called: str, **extra: object) -> CallRecord:
    return CallRecord(
        tenant_id=tenant_id,
        call_id=f"call-{tenant_id}-{n}",
        direction=extra.pop("direction", CallDirection.INBOUND),
        caller=caller,
        called=called,
        started_at=T0 + timedelta(hours=n),
        outcome=CallOutcome.ANSWERED,
        open=False,
        **extra,
    )


async def test_timeline_merges_calls_with_recordings_notes_and_events_newest_first(
    crm: Crm, runtime: Runtime
) -> None:
    kim = await created(
        crm.agent,
        "customers",
        {"name": "김민준", "phones": [{"number": "010-1234-5678"}, {"number": "02-312-3456"}]},
    )
    other_id = int((await crm.other.get("/api/v1/tenants/current")).json()["id"])
    async with runtime.unit_of_work() as session:
        recording = Recording(
            tenant_id=crm.tenant_id,
            call_id="call-rec",
            caller="01012345678",
            callee="1000",
            direction=CallDirection.INBOUND,
            path="recordings/x.wav",
            status=RecordingStatus.COMPLETE,
            started_at=T0,
            duration_seconds=42.0,
        )
        session.add(recording)
        await session.flush()
        session.add_all(
            [
                _call(crm.tenant_id, 0, "01012345678", "1000", recording_id=recording.id),
                _call(crm.tenant_id, 1, "+8223123456", "1000", agent="agent1", disposition="sale"),
                _call(
                    crm.tenant_id,
                    2,
                    "2001",
                    "821012345678",
                    direction=CallDirection.OUTBOUND,
                ),
                _call(crm.tenant_id, 3, "01099990000", "1000"),
                _call(other_id, 4, "01012345678", "1000"),
            ]
        )
    await created(
        crm.agent,
        f"customers/{kim['id']}/events",
        {
            "kind": "appointment",
            "title": "visit",
            "scheduled_at": (T0 + timedelta(hours=5)).isoformat(),
        },
    )
    await created(crm.agent, f"customers/{kim['id']}/notes", {"body": "called about the bill"})

    url = f"/api/v1/customers/{kim['id']}/timeline"
    page = (await crm.agent.get(url)).json()
    kinds = [(e["kind"], e["title"]) for e in page["items"]]
    assert kinds == [
        ("note", "called about the bill"),
        ("appointment", "visit"),
        ("call", "outbound call: answered"),
        ("call", "inbound call: answered"),
        ("call", "inbound call: answered"),
    ]
    assert page["next_before"] is None
    oldest = page["items"][-1]["detail"]
    assert oldest["recording_id"] == recording.id and oldest["recording_seconds"] == 42.0
    assert page["items"][-2]["detail"]["disposition"] == "sale"
    assert page["items"][2]["detail"]["number"] == "821012345678"

    first = (await crm.agent.get(url, params={"limit": 2})).json()
    assert [e["kind"] for e in first["items"]] == ["note", "appointment"]
    rest = (await crm.agent.get(url, params={"limit": 10, "before": first["next_before"]})).json()
    assert [e["kind"] for e in rest["items"]] == ["call", "call", "call"]
    calls = (await crm.agent.get(url, params={"source": ["calls"]})).json()
    assert {e["kind"] for e in calls["items"]} == {"call"}


async def test_a_customer_without_numbers_has_a_timeline_of_notes_only(crm: Crm) -> None:
    anon = await created(crm.agent, "customers", {"name": "walk-in"})
    await created(crm.agent, f"customers/{anon['id']}/notes", {"body": "came to the shop"})
    page = (await crm.agent.get(f"/api/v1/customers/{anon['id']}/timeline")).json()
    assert [e["kind"] for e in page["items"]] == ["note"]
