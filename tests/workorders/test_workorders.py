"""Work orders on SQLite and PostgreSQL: workflow, SLA with a fixed clock, creation from
a call and from e-mail, attachments, search, watchers, departments, notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from helpline.calls.models import CallOutcome, CallRecord
from helpline.core.pagination import PageParams
from helpline.db.base import utcnow
from helpline.recordings.models import CallDirection
from helpline.runtime import Runtime
from helpline.users.models import User
from helpline.workorders import attachments, departments, email_intake, service
from helpline.workorders.models import Source, TimelineKind, WorkOrder
from helpline.workorders.notify import WorkOrderChanged, build_email
from helpline.workorders.schemas import SearchFilters, SlaTargetIn, SlaTargetsPut, WorkOrderCreate
from helpline.workorders.sla import Priority
from tests.conftest import DEMO_PASSWORD, login
from tests.workorders.helpers import demo_admin


@pytest.fixture
async def api(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The app's client logged in as the demo tenant's admin."""
    await login(client, "demo", "admin", DEMO_PASSWORD)
    yield client


async def _create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    r = await api.post("/api/v1/workorders", json={"title": "Router broken", **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _status(api: httpx.AsyncClient, ident: int, status: str) -> httpx.Response:
    return await api.post(f"/api/v1/workorders/{ident}/status", json={"status": status})


async def _user_ids(runtime: Runtime, tenant_id: int) -> list[int]:
    async with runtime.unit_of_work() as session:
        rows = await session.execute(
            select(User.id).where(User.tenant_id == tenant_id).order_by(User.id)
        )
        return list(rows.scalars())


async def test_work_order_walks_the_workflow_and_reopens(api: httpx.AsyncClient) -> None:
    made = await _create(api, description="no lights", priority="high")
    assert made["status"] == "new"
    assert made["source"] == "api"
    ident = made["id"]
    for status in ("open", "pending", "open", "resolved", "closed"):
        r = await _status(api, ident, status)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    assert r.json()["closed_at"] is not None
    reopened = await _status(api, ident, "open")
    assert reopened.status_code == 200
    assert reopened.json()["resolved_at"] is None
    assert reopened.json()["closed_at"] is None
    timeline = (await api.get(f"/api/v1/workorders/{ident}/timeline")).json()
    kinds = [e["kind"] for e in timeline]
    assert kinds[0] == "created"
    assert kinds.count("status") == 6
    assert timeline[-1]["detail"] == {"status": ["closed", "open"], "reopened": True}


async def test_illegal_transition_is_409_with_the_allowed_moves(api: httpx.AsyncClient) -> None:
    ident = (await _create(api))["id"]
    r = await _status(api, ident, "resolved")
    assert r.status_code == 409
    assert r.json()["error_id"] == "illegal_transition"
    assert r.json()["details"] == {"from": "new", "to": "resolved", "allowed": ["closed", "open"]}
    assert (await api.get(f"/api/v1/workorders/{ident}")).json()["status"] == "new"


async def test_sla_due_times_and_breaches_follow_a_fixed_clock(runtime: Runtime) -> None:
    principal = await demo_admin(runtime)
    t0 = utcnow().replace(microsecond=0) - timedelta(days=30)
    async with runtime.unit_of_work() as session:
        await departments.put_sla_targets(
            session,
            principal=principal,
            data=SlaTargetsPut(
                targets=[
                    SlaTargetIn(
                        priority=Priority.URGENT, first_response_minutes=10, resolution_minutes=60
                    )
                ]
            ),
        )
    async with runtime.unit_of_work() as session:
        urgent = await service.create_work_order(
            session,
            principal=principal,
            data=WorkOrderCreate(title="Outage", priority=Priority.URGENT),
            now=t0,
        )
        normal = await service.create_work_order(
            session, principal=principal, data=WorkOrderCreate(title="Question"), now=t0
        )
    assert urgent.first_response_due_at == t0 + timedelta(minutes=10)
    assert urgent.resolution_due_at == t0 + timedelta(minutes=60)
    assert normal.first_response_due_at == t0 + timedelta(hours=4)
    assert normal.resolution_due_at == t0 + timedelta(hours=24)

    async def breached(now_offset: timedelta) -> set[str]:
        async with runtime.unit_of_work() as session:
            items, _ = await service.search_work_orders(
                session,
                principal=principal,
                params=PageParams(),
                filters=SearchFilters(breached=True),
                now=t0 + now_offset,
            )
            return {w.title for w in items}

    assert await breached(timedelta(minutes=10)) == set()
    assert await breached(timedelta(minutes=11)) == {"Outage"}
    async with runtime.unit_of_work() as session:
        from helpline.workorders.schemas import CommentCreate

        await service.add_comment(
            session,
            principal=principal,
            work_order_id=urgent.id,
            data=CommentCreate(body="on it"),
            now=t0 + timedelta(minutes=5),
        )
        stored = await session.get(WorkOrder, urgent.id)
        assert stored is not None
        assert not service.sla_state(stored, t0 + timedelta(minutes=59)).breached
        state = service.sla_state(stored, t0 + timedelta(minutes=61))
        assert state.resolution_breached and not state.first_response_breached
    assert await breached(timedelta(minutes=30)) == set()
    assert await breached(timedelta(hours=5)) == {"Outage", "Question"}
    async with runtime.unit_of_work() as session:
        items, _ = await service.search_work_orders(
            session,
            principal=principal,
            params=PageParams(),
            filters=SearchFilters(breached=False),
            now=t0 + timedelta(minutes=30),
        )
        assert {w.title for w in items} == {"Outage", "Question"}


async def test_an_internal_note_is_not_a_first_response(runtime: Runtime) -> None:
    from helpline.workorders.schemas import CommentCreate

    principal = await demo_admin(runtime)
    t0 = utcnow()
    async with runtime.unit_of_work() as session:
        made = await service.create_work_order(
            session, principal=principal, data=WorkOrderCreate(title="Note"), now=t0
        )
        await service.add_comment(
            session,
            principal=principal,
            work_order_id=made.id,
            data=CommentCreate(body="check billing first", internal=True),
            now=t0,
        )
        assert made.first_responded_at is None


async def test_a_work_order_from_a_call_carries_the_call(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    principal = await demo_admin(runtime)
    async with runtime.unit_of_work() as session:
        call = CallRecord(
            tenant_id=principal.tenant_id,
            call_id="wo-call-1",
            direction=CallDirection.INBOUND,
            caller="+821012345678",
            called="+8215880000",
            queue="support",
            agent="alice",
            started_at=utcnow(),
            outcome=CallOutcome.ANSWERED,
            open=False,
        )
        session.add(call)
        await session.flush()
        call_id = call.id
    made = await _create(api, call_record_id=call_id, customer_id=77)
    assert made["source"] == "call"
    assert made["call_record_id"] == call_id
    assert made["caller_number"] == "+821012345678"
    assert (made["queue"], made["agent"], made["customer_id"]) == ("support", "alice", 77)
    listed = (await api.get("/api/v1/workorders", params={"call_record_id": call_id})).json()
    assert [w["id"] for w in listed["items"]] == [made["id"]]

    async def lookup(_session: object, tenant_id: int, number: str) -> int | None:
        assert tenant_id == principal.tenant_id
        return 4242 if number == "+821012345678" else None

    async with runtime.unit_of_work() as session:
        linked = await service.create_from_call(
            session,
            principal=principal,
            call_record_id=call_id,
            title="Callback",
            customer_lookup=lookup,
        )
        assert linked.customer_id == 4242
        assert linked.caller_number == "+821012345678"
    missing = await _create_raw(api, call_record_id=call_id + 1000)
    assert missing.status_code == 404


async def _create_raw(api: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    return await api.post("/api/v1/workorders", json={"title": "x", **fields})


def _email(subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Kim Minsu <minsu@example.com>"
    message["To"] = "support@helpline.example"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


async def test_an_email_opens_a_work_order_and_replies_thread_into_it(
    runtime: Runtime, tmp_path: Any
) -> None:
    principal = await demo_admin(runtime)
    first = _email("退款 refund please", "Order 123 arrived broken.", Message_ID="<m1@example.com>")
    first["X-Priority"] = "1"
    first.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="r.pdf")
    async with runtime.unit_of_work() as session:
        made = await email_intake.create_from_email(
            session, principal.tenant_id, first, data_dir=tmp_path
        )
        ident = made.id
        assert made.source is Source.EMAIL
        assert made.title == "退款 refund please"
        assert made.description == "Order 123 arrived broken."
        assert (made.requester_name, made.requester_email) == ("Kim Minsu", "minsu@example.com")
        assert made.priority is Priority.HIGH
    reply = _email("Re: 退款 refund please", "Any news?", In_Reply_To="<m1@example.com>")
    tagged = _email(f"[WO-{ident}] more", "Photo attached later.")
    async with runtime.unit_of_work() as session:
        assert (
            await email_intake.create_from_email(session, principal.tenant_id, reply)
        ).id == ident
        assert (
            await email_intake.create_from_email(session, principal.tenant_id, tagged)
        ).id == ident
        comments = await service.list_comments(session, principal=principal, work_order_id=ident)
        assert [c.body for c in comments] == ["Any news?", "Photo attached later."]
        assert {c.author for c in comments} == {"minsu@example.com"}
        stored = await attachments.list_attachments(
            session, principal=principal, work_order_id=ident
        )
        assert [a.filename for a in stored] == ["r.pdf"]
        assert (tmp_path / stored[0].path).read_bytes() == b"%PDF-1.4 fake"
        kinds = [
            e.kind
            for e in await service.timeline(session, principal=principal, work_order_id=ident)
        ]
        assert kinds.count(TimelineKind.EMAIL) == 2


async def test_inbound_email_endpoint_takes_rfc5322_text(api: httpx.AsyncClient) -> None:
    raw = _email("Printer jam", "Tray 2 again.").as_string()
    r = await api.post("/api/v1/workorders/inbound-email", json={"message": raw})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "email"
    assert r.json()["requester_email"] == "minsu@example.com"
    bad = await api.post("/api/v1/workorders/inbound-email", json={"message": "just words"})
    assert bad.status_code == 422
    assert bad.json()["error_id"] == "invalid_email"


async def test_attachments_upload_list_download_and_size_limit(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ident = (await _create(api))["id"]
    content = bytes(range(256)) * 10
    r = await api.post(
        f"/api/v1/workorders/{ident}/attachments",
        files={"file": ("../../etc/photo.png", content, "image/png")},
    )
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["filename"] == "photo.png"
    assert meta["size_bytes"] == len(content)
    listed = (await api.get(f"/api/v1/workorders/{ident}/attachments")).json()
    assert [a["id"] for a in listed] == [meta["id"]]
    got = await api.get(f"/api/v1/workorders/{ident}/attachments/{meta['id']}")
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-type"] == "image/png"
    monkeypatch.setattr(attachments, "MAX_ATTACHMENT_BYTES", 100)
    big = await api.post(
        f"/api/v1/workorders/{ident}/attachments", files={"file": ("big.bin", b"x" * 101)}
    )
    assert big.status_code == 413
    assert big.json()["error_id"] == "attachment_too_large"
    other = (await _create(api))["id"]
    assert (
        await api.get(f"/api/v1/workorders/{other}/attachments/{meta['id']}")
    ).status_code == 404


async def test_search_filters_combine(api: httpx.AsyncClient, runtime: Runtime) -> None:
    principal = await demo_admin(runtime)
    users = await _user_ids(runtime, principal.tenant_id)
    dept = await api.post("/api/v1/departments", json={"name": "Billing", "member_ids": users[:1]})
    assert dept.status_code == 201, dept.text
    dept_id = dept.json()["id"]
    a = await _create(api, title="Refund for order 9", department_id=dept_id, customer_id=5)
    b = await _create(api, title="Printer", description="needs a REFUND too", priority="urgent")
    c = await _create(api, title="Password reset", assignee_id=users[0], customer_id=5)
    await _status(api, c["id"], "open")

    async def ids(**params: Any) -> list[int]:
        r = await api.get("/api/v1/workorders", params=params)
        assert r.status_code == 200, r.text
        return sorted(w["id"] for w in r.json()["items"])

    assert await ids(q="refund") == sorted([a["id"], b["id"]])
    assert await ids(q="refund", priority="urgent") == [b["id"]]
    assert await ids(department_id=dept_id) == [a["id"]]
    assert await ids(assignee_id=users[0]) == [c["id"]]
    assert await ids(customer_id=5) == sorted([a["id"], c["id"]])
    assert await ids(status="open") == [c["id"]]
    assert await ids(q="100%") == []
    assert await ids(breached=False) == sorted([a["id"], b["id"], c["id"]])
    assert await ids(breached=True) == []


async def test_departments_watchers_and_assignment(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    principal = await demo_admin(runtime)
    users = await _user_ids(runtime, principal.tenant_id)
    bad = await api.post("/api/v1/departments", json={"name": "Ghosts", "member_ids": [999999]})
    assert bad.status_code == 404
    assert bad.json()["details"] == {"user_ids": [999999]}
    dept = (await api.post("/api/v1/departments", json={"name": "Repairs"})).json()
    changed = await api.patch(
        f"/api/v1/departments/{dept['id']}", json={"member_ids": users[:2], "email": "r@x.org"}
    )
    assert changed.json()["member_ids"] == sorted(users[:2])
    dup = await api.post("/api/v1/departments", json={"name": "Repairs"})
    assert dup.status_code == 409 and dup.json()["error_id"] == "department_name_taken"
    ident = (await _create(api))["id"]
    r = await api.patch(
        f"/api/v1/workorders/{ident}", json={"department_id": dept["id"], "assignee_id": users[0]}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["department_id"], r.json()["assignee_id"]) == (dept["id"], users[0])
    watched = await api.put(f"/api/v1/workorders/{ident}/watchers/{users[-1]}")
    assert watched.json()["watcher_ids"] == [users[-1]]
    unwatched = await api.delete(f"/api/v1/workorders/{ident}/watchers/{users[-1]}")
    assert unwatched.json()["watcher_ids"] == []
    assert (await api.delete(f"/api/v1/workorders/{ident}/watchers/{users[-1]}")).status_code == 404
    kinds = [e["kind"] for e in (await api.get(f"/api/v1/workorders/{ident}/timeline")).json()]
    assert kinds == ["created", "assigned", "watcher_added", "watcher_removed"]
    r = await api.patch(f"/api/v1/workorders/{ident}", json={"priority": "urgent"})
    created = r.json()["created_at"]
    assert r.json()["first_response_due_at"] > created


async def test_changes_announce_the_staff_to_email(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    principal = await demo_admin(runtime)
    dept = (
        await api.post("/api/v1/departments", json={"name": "Ops", "email": "ops@example.com"})
    ).json()
    sub = runtime.bus.subscribe(lambda e: isinstance(e, WorkOrderChanged))
    made = await _create(api, department_id=dept["id"])
    event = await sub.get()
    sub.close()
    assert isinstance(event, WorkOrderChanged)
    assert event.tenant_id == principal.tenant_id
    assert (event.work_order_id, event.action) == (made["id"], "created")
    assert event.recipients == ("ops@example.com",)
    assert "recipients" not in event.to_json()
    mail = build_email(event, sender="helpline@example.com")
    assert mail["Subject"].startswith(f"[WO-{made['id']}]")


async def test_another_tenants_work_order_is_not_found(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    principal = await demo_admin(runtime)
    async with runtime.unit_of_work() as session:
        made = await service.create_work_order(
            session, principal=principal, data=WorkOrderCreate(title="Mine")
        )
    other = principal.__class__(
        user_id=principal.user_id,
        tenant_id=principal.tenant_id + 1000,
        tenant_slug="other",
        username="x",
        role=principal.role,
        scopes=principal.scopes,
        via=principal.via,
    )
    from helpline.core.errors import NotFound

    async with runtime.unit_of_work() as session:
        with pytest.raises(NotFound):
            await service.get_work_order(session, principal=other, work_order_id=made.id)
