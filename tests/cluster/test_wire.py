"""The cluster's notification format, the event registry and local-only subscriptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from helpline.acd.events import AgentStateChanged, CallOffered
from helpline.cluster import wire
from helpline.core.events import (
    ConfigChanged,
    EventBus,
    UnknownEvent,
    event_from_json,
    event_type,
)
from helpline.sms.service import SmsQueued
from helpline.webhooks.service import DeliveriesQueued
from helpline.workorders.notify import WorkOrderChanged
from tests.cluster.samples import offer


def _state() -> AgentStateChanged:
    return AgentStateChanged(
        tenant_id=7,
        user_id=3,
        agent_id=2,
        username="agent2001",
        team_id=None,
        state="ready",
        previous="logged_out",
        reason=None,
        pending_reason=None,
        since=datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC),
        call_id=None,
        queue_ids=(1, 4),
        origin="api",
    )


@pytest.mark.parametrize(
    "event",
    [
        offer(),
        _state(),
        ConfigChanged(tenant_id=None, entity="trunk", entity_id="3", action="update"),
    ],
)
def test_an_event_comes_back_equal_from_its_json(event: object) -> None:
    body = json.loads(json.dumps(event.to_json()))  # type: ignore[attr-defined]
    again = event_from_json(body)
    assert type(again) is type(event)
    assert again == event


def test_every_registered_name_maps_to_its_class() -> None:
    assert event_type("acd.call_offered") is CallOffered
    assert event_type("workorder.changed") is WorkOrderChanged
    assert event_type("no.such") is None


def test_fields_left_out_of_to_json_get_their_defaults() -> None:
    changed = WorkOrderChanged(
        tenant_id=1,
        work_order_id=9,
        title="Printer",
        status="open",
        priority="high",
        action="created",
        actor="admin",
        summary="new",
        recipients=("staff@example.com",),
    )
    again = event_from_json(json.loads(json.dumps(changed.to_json())))
    assert isinstance(again, WorkOrderChanged)
    assert again.recipients == ()
    assert again.work_order_id == 9


def test_an_unknown_or_broken_event_is_refused() -> None:
    with pytest.raises(UnknownEvent):
        event_from_json({"event": "no.such", "tenant_id": 1})
    broken = _state().to_json() | {"agent_id": "not a number"}
    with pytest.raises(UnknownEvent):
        event_from_json(broken)


def test_a_small_event_travels_inline_with_its_origin() -> None:
    pop = offer()
    payload = wire.envelope(pop, "node-a")
    assert wire.fits(payload)
    notice = wire.parse(payload)
    assert isinstance(notice, wire.Inline)
    assert notice.origin == "node-a"
    assert event_from_json(notice.body) == pop


def test_a_large_event_does_not_fit_and_travels_by_row_id() -> None:
    big = offer({f"k{i}": "x" * 100 for i in range(100)})
    payload = wire.envelope(big, "node-a")
    assert not wire.fits(payload)
    assert wire.fits(wire.stored_notice("node-a", 12))
    assert wire.parse(wire.stored_notice("node-a", 12)) == wire.Stored("node-a", 12)


def test_multibyte_text_counts_in_bytes() -> None:
    payload = wire.envelope(offer({"note": "상담" * 1400}), "node-a")
    assert len(payload) < wire.MAX_NOTIFY_BYTES < len(payload.encode())
    assert not wire.fits(payload)


@pytest.mark.parametrize(
    "payload", ["not json", "[]", '{"e": {}}', '{"o": "a"}', '{"o": "a", "r": true}']
)
def test_a_foreign_notification_is_a_wire_error(payload: str) -> None:
    with pytest.raises(wire.WireError):
        wire.parse(payload)


def test_sender_wake_ups_stay_on_their_node() -> None:
    assert not wire.travels(SmsQueued(tenant_id=1, count=2))
    assert not wire.travels(DeliveriesQueued(tenant_id=1, count=2))
    assert wire.travels(offer())
    assert wire.travels(_state())


async def test_local_only_subscribers_skip_events_of_other_nodes() -> None:
    bus = EventBus()
    everything = bus.subscribe()
    local = bus.subscribe(local_only=True)
    remote, own = _state(), offer()
    bus.publish(remote, remote=True)
    bus.publish(own)
    assert await everything.get() == remote
    assert await everything.get() == own
    assert await local.get() == own
