"""Tenant A cannot read, list, change or delete tenant B's objects, on any API route.

The routes come from the app's OpenAPI table, so a new route is covered the moment it
exists: a route whose path parameter has no tenant-B object below, or whose create body
has no example, fails this test until one is added here.
"""

from __future__ import annotations

import io
import re
import wave
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from helpline.acd.callback import CallbackState
from helpline.acd.models import Callback
from helpline.api.app import create_app
from helpline.calls.models import CallOutcome, CallRecord, QueueEvent, QueueEventKind
from helpline.config import Settings
from helpline.db.base import utcnow
from helpline.recordings.models import CallDirection, Recording, RecordingStatus
from helpline.registrations.models import Registration
from helpline.runtime import Runtime
from helpline.voicemail.models import MessageStatus, VoicemailMessage
from tests.conftest import ADMIN_PASSWORD, login

MARK = "zzbmark"
VXML = '<vxml version="2.1"><form><block>hi</block></form></vxml>'

#: A valid body for each unsafe route without path parameters (they act on the caller's
#: own tenant: creating, or changing "current" objects). Login and logout are skipped.
BODY_EXAMPLES: dict[str, dict[str, Any]] = {
    "POST /api/v1/users": {"username": "made-by-a", "password": "password-1", "role": "agent"},
    "POST /api/v1/sip-accounts": {"username": "7001", "password": "password-1"},
    "POST /api/v1/tenants": {"slug": "made-by-a", "name": "A's"},
    "POST /api/v1/auth/tokens": {"name": "made-by-a", "scopes": ["read"]},
    "PATCH /api/v1/tenants/current": {"name": "made-by-a"},
    "POST /api/v1/prompts": {"name": "made-by-a", "language": "en"},
    "POST /api/v1/prompts/tts": {"text": "made by a", "language": "en", "name": "made-by-a"},
    "POST /api/v1/trunks": {"name": "made-by-a", "host": "127.0.0.1"},
    "POST /api/v1/services": {
        "name": "made-by-a",
        "default_target": {"kind": "announcement", "prompt": "closed"},
    },
    "POST /api/v1/numbers": {"number": "+99900000001", "service_id": 1},
    "POST /api/v1/blacklist": {"number": "+99900000002", "note": "made-by-a"},
    "POST /api/v1/dispositions": {"code": "made-by-a", "label": "made-by-a"},
    "POST /api/v1/calls": {"kind": "number", "target": "+99900000003"},
    "POST /api/v1/queues": {"name": "made-by-a"},
    "POST /api/v1/skills": {"name": "made-by-a"},
    "POST /api/v1/teams": {"name": "made-by-a"},
    "POST /api/v1/reason-codes": {"name": "made-by-a"},
    "POST /api/v1/agents": {"user_id": 1},
    "POST /api/v1/agents/me/login": {},
    "POST /api/v1/agents/me/logout": {},
    "POST /api/v1/agents/me/browser-phone": {},
    "PUT /api/v1/agents/me/state": {"state": "available"},
    "POST /api/v1/customers": {"name": "made-by-a", "phones": [{"number": "+12015550123"}]},
    "POST /api/v1/customers/import": {},
    "PUT /api/v1/customer-settings": {"default_region": "US"},
    "POST /api/v1/kb/categories": {"name": "made-by-a"},
    "POST /api/v1/kb/articles": {"title": "made-by-a", "body": "made-by-a"},
    "POST /api/v1/departments": {"name": "made-by-a"},
    "PUT /api/v1/sla-targets": {
        "targets": [{"priority": "urgent", "first_response_minutes": 5, "resolution_minutes": 60}]
    },
    "POST /api/v1/workorders": {"title": "made-by-a"},
    "POST /api/v1/workorders/inbound-email": {
        "message": "From: a@example.com\nSubject: made-by-a\n\nhi\n"
    },
    "POST /api/v1/webhooks": {
        "name": "made-by-a",
        "url": "http://127.0.0.1:9/hook",
        "events": ["workorder.changed"],
    },
    "POST /api/v1/vxml-documents": {"name": "made-by-a", "source": VXML},
    "POST /api/v1/flows": {"name": "made-by-a"},
    "POST /api/v1/flows/validate": {"start": "a", "nodes": {"a": {"type": "hangup"}}},
    "POST /api/v1/sms/gateways": {
        "name": "made-by-a",
        "kind": "kannel",
        "settings": {"sendsms_url": "http://127.0.0.1:9/cgi-bin/sendsms", "username": "a"},
    },
    "POST /api/v1/sms/templates": {"name": "made-by-a", "bodies": {"en": "made-by-a"}},
    "POST /api/v1/sms/messages": {"to": "+8613800138000", "text": "made-by-a"},
    "POST /api/v1/surveys": {"name": "made-by-a", "questions": [{"key": "q", "text": {"en": "?"}}]},
    "PATCH /api/v1/users/me": {"display_name": "made-by-a"},
    "PUT /api/v1/mail-settings": {"host": "127.0.0.1", "sender": "made-by-a@example.com"},
    "POST /api/v1/mail-settings/test": {"to": "made-by-a@example.com"},
    "POST /api/v1/voicemail-boxes": {
        "name": "made-by-a",
        "owner_kind": "queue",
        "owner_ref": "made-by-a",
    },
}
SKIPPED = frozenset({"POST /api/v1/auth/login", "POST /api/v1/auth/logout"})
#: GET routes about the caller that answer 404 for tenant A's admin (no agent profile).
NOT_FOUND_FOR_A = frozenset({"/api/v1/agents/me"})


@dataclass
class World:
    """Two tenants and a client logged in to each as its tenant admin."""

    a: httpx.AsyncClient
    b: httpx.AsyncClient
    b_tenant_id: int
    ids: dict[str, int | str] = field(default_factory=dict)


def _routes(app_spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, ops in app_spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in ops
    ]


async def _client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture
async def world(runtime: Runtime) -> World:
    root = await _client(runtime)
    await login(root, "system", "admin", ADMIN_PASSWORD)
    for slug in ("tenant-a", "tenant-b"):
        r = await root.post(
            "/api/v1/tenants",
            json={
                "slug": slug,
                "name": slug,
                "admin_username": "admin",
                "admin_password": "password-1",
            },
        )
        assert r.status_code == 201, r.text
    await root.aclose()
    a, b = await _client(runtime), await _client(runtime)
    await login(a, "tenant-a", "admin", "password-1")
    b_me = await login(b, "tenant-b", "admin", "password-1")
    w = World(a=a, b=b, b_tenant_id=int(str(b_me["tenant_id"])))
    user = await b.post(
        "/api/v1/users",
        json={
            "username": f"{MARK}-user",
            "password": "password-1",
            "role": "agent",
            "display_name": MARK,
        },
    )
    sip = await b.post(
        "/api/v1/sip-accounts",
        json={
            "username": "7999",
            "password": "password-1",
            "display_name": MARK,
            "user_id": user.json()["id"],
        },
    )
    token = await b.post("/api/v1/auth/tokens", json={"name": MARK, "scopes": ["read"]})
    mail = await b.put(
        "/api/v1/mail-settings",
        json={"host": f"{MARK}.invalid", "username": MARK, "sender": f"{MARK}@example.com"},
    )
    assert mail.status_code == 200, mail.text
    buf = io.BytesIO()
    with wave.open(buf, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(8000)
        f.writeframes(b"\0\0" * 800)
    prompt = await b.post(
        "/api/v1/prompts",
        data={"name": MARK, "language": "en"},
        files={"file": (f"{MARK}.wav", buf.getvalue(), "audio/wav")},
    )
    assert prompt.status_code == 201, prompt.text
    tts = await b.post("/api/v1/prompts/tts", json={"text": MARK, "language": "en"})
    assert tts.status_code in (200, 201), tts.text
    trunk = await b.post(
        "/api/v1/trunks",
        json={
            "name": MARK,
            "host": "trunk.invalid",
            "allowed_sources": ["192.0.2.0/24"],
            "caller_id_name": MARK,
        },
    )
    assert trunk.status_code == 201, trunk.text
    vxml = await b.post("/api/v1/vxml-documents", json={"name": MARK, "source": VXML})
    assert vxml.status_code == 201, vxml.text
    box = await b.post(
        "/api/v1/voicemail-boxes",
        json={
            "name": MARK,
            "owner_kind": "agent",
            "owner_ref": f"{MARK}-user",
            "notify_emails": [f"{MARK}@example.com"],
        },
    )
    assert box.status_code == 201, box.text
    box_id = box.json()["id"]
    routing_service = await b.post(
        "/api/v1/services",
        json={"name": MARK, "default_target": {"kind": "announcement", "prompt": "closed"}},
    )
    assert routing_service.status_code == 201, routing_service.text
    number = await b.post(
        "/api/v1/numbers",
        json={"number": "+99900000999", "service_id": routing_service.json()["id"]},
    )
    assert number.status_code == 201, number.text
    blocked = await b.post("/api/v1/blacklist", json={"number": "+99900000998", "note": MARK})
    assert blocked.status_code == 201, blocked.text
    disposition = await b.post("/api/v1/dispositions", json={"code": MARK, "label": MARK})
    assert disposition.status_code == 201, disposition.text
    acd = {
        "queue_id": await b.post("/api/v1/queues", json={"name": MARK}),
        "skill_id": await b.post("/api/v1/skills", json={"name": MARK, "description": MARK}),
        "team_id": await b.post("/api/v1/teams", json={"name": MARK, "description": MARK}),
        "reason_code_id": await b.post("/api/v1/reason-codes", json={"name": MARK}),
        "agent_id": await b.post(
            "/api/v1/agents", json={"user_id": user.json()["id"], "region": MARK}
        ),
    }
    for made in acd.values():
        assert made.status_code == 201, made.text
    hook = await b.post(
        "/api/v1/webhooks",
        json={"name": MARK, "url": "http://127.0.0.1:9/hook", "events": ["workorder.changed"]},
    )
    assert hook.status_code == 201, hook.text
    dept = await b.post("/api/v1/departments", json={"name": MARK, "description": MARK})
    assert dept.status_code == 201, dept.text
    order = await b.post(
        "/api/v1/workorders",
        json={"title": MARK, "description": MARK, "department_id": dept.json()["id"]},
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    comment = await b.post(f"/api/v1/workorders/{order_id}/comments", json={"body": MARK})
    assert comment.status_code == 201, comment.text
    attachment = await b.post(
        f"/api/v1/workorders/{order_id}/attachments",
        files={"file": (f"{MARK}.txt", b"x", "text/plain")},
    )
    assert attachment.status_code == 201, attachment.text
    customer = await b.post(
        "/api/v1/customers",
        json={"name": MARK, "phones": [{"number": "+8613800138000"}], "notes": MARK},
    )
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]
    customer_note = await b.post(f"/api/v1/customers/{customer_id}/notes", json={"body": MARK})
    assert customer_note.status_code == 201, customer_note.text
    customer_event = await b.post(
        f"/api/v1/customers/{customer_id}/events", json={"kind": "order", "title": MARK}
    )
    assert customer_event.status_code == 201, customer_event.text
    category = await b.post("/api/v1/kb/categories", json={"name": MARK})
    assert category.status_code == 201, category.text
    article = await b.post(
        "/api/v1/kb/articles",
        json={
            "title": MARK,
            "body": MARK,
            "tags": [MARK],
            "queues": [MARK],
            "ivr_nodes": [MARK],
            "category_id": category.json()["id"],
        },
    )
    assert article.status_code == 201, article.text
    published_article = await b.post(f"/api/v1/kb/articles/{article.json()['id']}/publish")
    assert published_article.status_code == 201, published_article.text
    deliveries = await b.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries")
    delivery_id = deliveries.json()["items"][0]["id"]
    flow = await b.post("/api/v1/flows", json={"name": MARK, "description": MARK})
    assert flow.status_code == 201, flow.text
    published = await b.post(f"/api/v1/flows/{flow.json()['id']}/publish")
    assert published.status_code == 201, published.text
    sms_gateway = await b.post(
        "/api/v1/sms/gateways",
        json={
            "name": MARK,
            "kind": "kannel",
            "settings": {"sendsms_url": "http://127.0.0.1:9/cgi-bin/sendsms", "username": MARK},
            "sender": "1588",
        },
    )
    assert sms_gateway.status_code == 201, sms_gateway.text
    sms_template = await b.post(
        "/api/v1/sms/templates", json={"name": MARK, "bodies": {"en": MARK}}
    )
    assert sms_template.status_code == 201, sms_template.text
    sms = await b.post("/api/v1/sms/messages", json={"to": "+8613800138000", "text": MARK})
    assert sms.status_code == 202, sms.text
    survey = await b.post(
        "/api/v1/surveys", json={"name": MARK, "questions": [{"key": "q", "text": {"en": MARK}}]}
    )
    assert survey.status_code == 201, survey.text
    surveyed = await b.put(
        f"/api/v1/survey-queues/{acd['queue_id'].json()['id']}",
        json={"survey_id": survey.json()["id"], "sms": True},
    )
    assert surveyed.status_code == 200, surveyed.text
    survey_link = await b.post(
        f"/api/v1/surveys/{survey.json()['id']}/sms-links", json={"to": "+8613800138000"}
    )
    assert survey_link.status_code == 201, survey_link.text
    async with runtime.unit_of_work() as session:
        binding = Registration(
            tenant_id=w.b_tenant_id,
            sip_account_id=sip.json()["id"],
            contact="sip:7999@127.0.0.9",
            source_host="127.0.0.9",
            source_port=5060,
            transport="UDP",
            bound_to_source=False,
            expires_at=utcnow() + timedelta(hours=1),
            call_id=MARK,
            cseq=1,
            user_agent=MARK,
        )
        recording = Recording(
            tenant_id=w.b_tenant_id,
            call_id=MARK,
            caller=MARK,
            callee=MARK,
            agent=f"{MARK}-user",
            direction=CallDirection.INBOUND,
            path=f"recordings/{w.b_tenant_id}/{MARK}.wav",
            stereo=True,
            status=RecordingStatus.COMPLETE,
            started_at=utcnow(),
        )
        message = VoicemailMessage(
            tenant_id=w.b_tenant_id,
            box_id=box_id,
            call_id=MARK,
            caller=MARK,
            called=MARK,
            received_at=utcnow(),
            path=f"voicemail/{w.b_tenant_id}/{box_id}/{MARK}.wav",
            status=MessageStatus.COMPLETE,
        )
        call_record = CallRecord(
            tenant_id=w.b_tenant_id,
            call_id=MARK,
            direction=CallDirection.INBOUND,
            caller=MARK,
            called=MARK,
            agent=f"{MARK}-user",
            started_at=utcnow(),
            outcome=CallOutcome.ANSWERED,
            notes=MARK,
            open=False,
        )
        queue_event = QueueEvent(
            tenant_id=w.b_tenant_id,
            at=utcnow(),
            queue=MARK,
            call_id=MARK,
            event=QueueEventKind.JOIN,
        )
        callback = Callback(
            tenant_id=w.b_tenant_id,
            queue_id=acd["queue_id"].json()["id"],
            call_id=MARK,
            number=MARK,
            called=MARK,
            state=CallbackState.PENDING,
            joined_at=utcnow(),
            data={"queue": MARK},
        )
        session.add_all([binding, recording, message, call_record, queue_event, callback])
        await session.flush()
    w.ids = {
        "registration_id": binding.id,
        "recording_id": recording.id,
        "trunk_id": trunk.json()["id"],
        "vxml_document_id": vxml.json()["id"],
        "box_id": box_id,
        "flow_id": flow.json()["id"],
        "version": 1,
        "message_id": message.id,
        "prompt_id": prompt.json()["id"],
        "tts_key": tts.json()["key"],
        "user_id": user.json()["id"],
        "account_id": sip.json()["id"],
        "token_id": token.json()["id"],
        "tenant_id": w.b_tenant_id,
        "service_id": routing_service.json()["id"],
        "number_id": number.json()["id"],
        "blacklist_entry_id": blocked.json()["id"],
        "record_id": call_record.id,
        "callback_id": callback.id,
        "call_id": MARK,
        "disposition_id": disposition.json()["id"],
        **{name: made.json()["id"] for name, made in acd.items()},
        "department_id": dept.json()["id"],
        "work_order_id": order_id,
        "attachment_id": attachment.json()["id"],
        "webhook_id": hook.json()["id"],
        "delivery_id": delivery_id,
        "article_id": article.json()["id"],
        "customer_id": customer_id,
        "note_id": customer_note.json()["id"],
        "event_id": customer_event.json()["id"],
        "category_id": category.json()["id"],
        "gateway_id": sms_gateway.json()["id"],
        "template_id": sms_template.json()["id"],
        "sms_id": sms.json()["id"],
        "survey_id": survey.json()["id"],
        "response_id": survey_link.json()["id"],
    }
    return w


async def _b_objects(w: World) -> str:
    """Everything tenant B's admin can see of its own objects, as one string."""
    parts = [
        (await w.b.get("/api/v1/users", params={"limit": 500})).text,
        (await w.b.get("/api/v1/sip-accounts", params={"limit": 500})).text,
        (await w.b.get("/api/v1/auth/tokens")).text,
        (await w.b.get("/api/v1/tenants/current")).text,
        (await w.b.get("/api/v1/users/me")).text,
        (await w.b.get("/api/v1/mail-settings")).text,
        (await w.b.get("/api/v1/registrations", params={"limit": 500})).text,
        (await w.b.get("/api/v1/prompts", params={"limit": 500})).text,
        (await w.b.get("/api/v1/recordings", params={"limit": 500})).text,
        (await w.b.get("/api/v1/trunks", params={"limit": 500})).text,
        (await w.b.get("/api/v1/services", params={"limit": 500})).text,
        (await w.b.get("/api/v1/numbers", params={"limit": 500})).text,
        (await w.b.get("/api/v1/blacklist", params={"limit": 500})).text,
        (await w.b.get("/api/v1/call-records", params={"limit": 500})).text,
        (await w.b.get(f"/api/v1/call-records/{w.ids['record_id']}")).text,
        (await w.b.get("/api/v1/dispositions")).text,
        (await w.b.get("/api/v1/queue-events", params={"limit": 500})).text,
        (await w.b.get("/api/v1/acd/callbacks", params={"limit": 500})).text,
        *[
            (await w.b.get(f"/api/v1/{what}", params={"limit": 500})).text
            for what in (
                "queues",
                "skills",
                "teams",
                "reason-codes",
                "agents",
                "departments",
                "workorders",
                "webhooks",
                f"webhooks/{w.ids['webhook_id']}/deliveries",
                f"workorders/{w.ids['work_order_id']}/comments",
            )
        ],
        (await w.b.get("/api/v1/sla-targets")).text,
        (await w.b.get("/api/v1/kb/categories")).text,
        (await w.b.get("/api/v1/customers", params={"limit": 500})).text,
        (await w.b.get("/api/v1/customer-settings")).text,
        (await w.b.get(f"/api/v1/customers/{w.ids['customer_id']}/notes")).text,
        (await w.b.get(f"/api/v1/customers/{w.ids['customer_id']}/events")).text,
        (await w.b.get("/api/v1/kb/articles", params={"limit": 500})).text,
        (await w.b.get(f"/api/v1/kb/articles/{w.ids['article_id']}/draft")).text,
        (await w.b.get(f"/api/v1/kb/articles/{w.ids['article_id']}/versions")).text,
        (await w.b.get("/api/v1/vxml-documents", params={"limit": 500})).text,
        (await w.b.get("/api/v1/flows", params={"limit": 500})).text,
        (await w.b.get("/api/v1/voicemail-boxes", params={"limit": 500})).text,
        (await w.b.get(f"/api/v1/voicemail-boxes/{w.ids['box_id']}/messages")).text,
        *[
            (await w.b.get(f"/api/v1/{what}", params={"limit": 500})).text
            for what in (
                "sms/gateways",
                "sms/templates",
                "sms/messages",
                "surveys",
                "survey-queues",
                "survey-responses",
            )
        ],
    ]
    return "\n".join(parts)


def _strip_volatile(text: str) -> str:
    return re.sub(r'"last_used_at":"[^"]*"', "", text)


async def test_every_route_keeps_tenant_b_out_of_reach_of_tenant_a(world: World) -> None:
    w = world
    spec = (await w.a.get("/api/openapi.json")).json()
    routes = _routes(spec)
    assert len(routes) >= 15
    before = _strip_volatile(await _b_objects(w))
    checked = 0
    for method, path in routes:
        params = re.findall(r"{(\w+)}", path)
        missing = [p for p in params if p not in w.ids]
        assert not missing, f"{method} {path}: add a tenant-B object for {missing} to this test"
        url = path.format(**{p: w.ids[p] for p in params})
        if params:
            body = {} if method in ("PATCH", "PUT") else None
            r = await w.a.request(method, url, json=body)
            assert r.status_code in (403, 404), f"{method} {url} -> {r.status_code} {r.text}"
            checked += 1
        elif method == "GET":
            r = await w.a.get(
                url, params={"limit": 500} if "limit" in str(spec["paths"][path]) else None
            )
            assert MARK not in r.text, f"GET {url} shows tenant B's objects"
            ok = (200, 403, 404) if path in NOT_FOUND_FOR_A else (200, 403)
            assert r.status_code in ok, f"GET {url} -> {r.status_code}"
            checked += 1
        elif f"{method} {path}" not in SKIPPED:
            key = f"{method} {path}"
            assert key in BODY_EXAMPLES, f"{key}: add a body example to this test"
            body = {**BODY_EXAMPLES[key], "tenant_id": w.b_tenant_id}
            r = await w.a.request(method, url, json=body)
            # The tenant comes from the principal: a body naming another tenant is refused
            # (422) or ignored; nothing made or changed ever lands in tenant B.
            assert r.status_code in (200, 201, 403, 422), f"{key} -> {r.status_code} {r.text}"
            checked += 1
    assert checked >= 12
    after = _strip_volatile(await _b_objects(w))
    assert before == after, "tenant B's objects changed while tenant A probed them"
    assert "made-by-a" not in after
    await w.a.aclose()
    await w.b.aclose()


def test_isolation_rules_cover_every_route_of_the_app(tmp_path: Any) -> None:
    """Guard for the guard: every unsafe route without parameters has an example above."""
    app = create_app(Runtime.build(Settings(data_dir=tmp_path)))
    for method, path in _routes(app.openapi()):
        key = f"{method} {path}"
        if method != "GET" and "{" not in path and key not in SKIPPED:
            assert key in BODY_EXAMPLES, key
