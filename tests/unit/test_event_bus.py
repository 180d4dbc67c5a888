"""The typed event bus and who may see which event."""

from __future__ import annotations

import asyncio

from helpline.auth.principal import ALL_SCOPES, Principal, Via
from helpline.core.events import ConfigChanged, EventBus, UserLoggedIn
from helpline.events.router import visible_to
from helpline.users.models import Role


def _p(role: Role, tenant: int = 1, user: int = 10) -> Principal:
    return Principal(
        user_id=user,
        tenant_id=tenant,
        tenant_slug="t",
        username="u",
        role=role,
        scopes=ALL_SCOPES,
        via=Via.SESSION,
    )


async def test_subscribers_receive_events_in_publish_order() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    events = [
        ConfigChanged(tenant_id=1, entity="user", entity_id=str(i), action="create")
        for i in range(3)
    ]
    for e in events:
        bus.publish(e)
    assert [await asyncio.wait_for(sub.get(), 1) for _ in events] == events


async def test_filter_and_closed_subscription_receive_nothing_unwanted() -> None:
    bus = EventBus()
    only_tenant_2 = bus.subscribe(lambda e: e.tenant_id == 2)
    gone = bus.subscribe()
    gone.close()
    bus.publish(UserLoggedIn(tenant_id=1, username="a"))
    wanted = UserLoggedIn(tenant_id=2, username="b")
    bus.publish(wanted)
    assert await asyncio.wait_for(only_tenant_2.get(), 1) is wanted
    assert bus.subscriber_count == 1


async def test_slow_subscriber_drops_and_counts_instead_of_blocking() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=2)
    for i in range(5):
        bus.publish(UserLoggedIn(tenant_id=1, username=str(i)))
    assert sub.dropped == 3


def test_events_are_visible_by_tenant_role_and_user() -> None:
    admin_event = ConfigChanged(tenant_id=1, entity="user", entity_id="1", action="create")
    login_other = UserLoggedIn(tenant_id=1, username="x", user_id=99)
    platform = UserLoggedIn(tenant_id=None, username="root")
    assert visible_to(_p(Role.TENANT_ADMIN), admin_event)
    assert not visible_to(_p(Role.TENANT_ADMIN, tenant=2), admin_event)
    assert not visible_to(_p(Role.SUPERVISOR), admin_event)
    assert visible_to(_p(Role.SUPERVISOR), login_other)
    assert not visible_to(_p(Role.AGENT), login_other)
    assert not visible_to(_p(Role.TENANT_ADMIN), platform)
    assert visible_to(_p(Role.PLATFORM_ADMIN), platform)


def test_event_json_names_the_event_and_serialises_time() -> None:
    body = ConfigChanged(tenant_id=1, entity="user", entity_id="7", action="update").to_json()
    assert body["event"] == "config.changed" and body["entity_id"] == "7"
    assert isinstance(body["at"], str) and body["at"].endswith("+00:00")
