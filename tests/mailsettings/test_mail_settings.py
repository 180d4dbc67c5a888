"""A tenant's own SMTP server: the API (password write-only, stable errors), the test
e-mail, and voicemail and work-order e-mail going through it before the node's server.

The SMTP servers are real (aiosmtpd on 127.0.0.1, tests/voicemail/smtp.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from helpline.api.app import create_app
from helpline.mailsettings import service
from helpline.runtime import Runtime
from helpline.voicemail.deposit import leave_message
from helpline.voicemail.notify import Notifier, SmtpConfig
from helpline.workorders.notify import WorkOrderChanged, WorkOrderNotifier
from tests.conftest import DEMO_PASSWORD, login
from tests.recordings.factory import tenant_id
from tests.voicemail.factory import make_box
from tests.voicemail.fakes import FakePort
from tests.voicemail.smtp import Inbox, free_port, smtp_server


@pytest.fixture
def tenant_smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as found:
        yield found


@pytest.fixture
def node_smtp() -> Iterator[tuple[Inbox, SmtpConfig]]:
    with smtp_server() as (inbox, port):
        yield (
            inbox,
            SmtpConfig(host="127.0.0.1", port=port, sender="node@helpline.test", starttls=False),
        )


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        await login(client, "demo", "admin", DEMO_PASSWORD)
        yield client


def _settings(port: int, **changes: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "username": "mailer",
        "password": "smtp-secret-1",
        "sender": "support@demo.example",
        "starttls": False,
        **changes,
    }


async def test_password_is_write_only_and_kept_when_omitted(
    admin: httpx.AsyncClient, tenant_smtp: tuple[Inbox, int]
) -> None:
    _inbox, port = tenant_smtp
    empty = await admin.get("/api/v1/mail-settings")
    assert empty.status_code == 200 and empty.json()["settings"] is None
    r = await admin.put("/api/v1/mail-settings", json=_settings(port))
    assert r.status_code == 200, r.text
    assert "smtp-secret-1" not in r.text and r.json()["has_password"] is True
    keep = _settings(port, username="mailer2")
    del keep["password"]
    r = await admin.put("/api/v1/mail-settings", json=keep)
    assert r.status_code == 200, r.text
    shown = (await admin.get("/api/v1/mail-settings")).json()["settings"]
    assert shown["username"] == "mailer2" and shown["has_password"] is True
    assert "password" not in shown
    audit = (await admin.get("/api/v1/audit", params={"entity": "mail_settings"})).text
    assert "mailer2" in audit and "smtp-secret-1" not in audit
    bad = await admin.put("/api/v1/mail-settings", json=_settings(port, sender="not an address"))
    assert bad.status_code == 422
    cleared = await admin.put("/api/v1/mail-settings", json=_settings(port, password=""))
    assert cleared.json()["has_password"] is False


async def test_test_email_goes_through_the_tenants_server_with_its_login(
    admin: httpx.AsyncClient, tenant_smtp: tuple[Inbox, int]
) -> None:
    inbox, port = tenant_smtp
    assert (await admin.put("/api/v1/mail-settings", json=_settings(port))).status_code == 200
    r = await admin.post("/api/v1/mail-settings/test", json={"to": "ops@demo.example"})
    assert r.status_code == 200, r.text
    assert r.json() == {"sent": True, "server": f"127.0.0.1:{port}", "source": "tenant"}
    (mail,) = inbox.mails
    assert mail["From"] == "support@demo.example" and mail["To"] == "ops@demo.example"
    assert "demo" in mail["Subject"]
    assert inbox.logins == [("mailer", "smtp-secret-1")]


async def test_test_email_reports_stable_errors(admin: httpx.AsyncClient) -> None:
    none = await admin.post("/api/v1/mail-settings/test", json={"to": "ops@demo.example"})
    assert none.status_code == 409 and none.json()["error_id"] == "smtp_not_configured"
    dead = free_port()
    assert (await admin.put("/api/v1/mail-settings", json=_settings(dead))).status_code == 200
    down = await admin.post("/api/v1/mail-settings/test", json={"to": "ops@demo.example"})
    assert down.status_code == 502, down.text
    assert down.json()["error_id"] == "smtp_failed" and down.json()["details"]["reason"]
    off = await admin.put("/api/v1/mail-settings", json=_settings(dead, enabled=False))
    assert off.status_code == 200
    back = await admin.post("/api/v1/mail-settings/test", json={"to": "ops@demo.example"})
    assert back.json()["error_id"] == "smtp_not_configured", "disabled: the node's (none)"


async def test_tenant_server_is_preferred_and_node_server_is_the_fallback(
    runtime: Runtime, tenant_smtp: tuple[Inbox, int], node_smtp: tuple[Inbox, SmtpConfig]
) -> None:
    _inbox, port = tenant_smtp
    _node_inbox, node = node_smtp
    demo = await tenant_id(runtime, "demo")
    async with runtime.unit_of_work() as session:
        assert await service.smtp_for(session, tenant_id=demo, fallback=node) is node
        assert await service.smtp_for(session, tenant_id=None, fallback=node) is node
    await _use_tenant_server(runtime, port)
    async with runtime.unit_of_work() as session:
        mine = await service.smtp_for(session, tenant_id=demo, fallback=node)
    assert mine is not None and (mine.port, mine.sender, mine.password) == (
        port,
        "support@demo.example",
        "smtp-secret-1",
    )


async def _use_tenant_server(runtime: Runtime, port: int) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)), base_url="https://testserver"
    ) as client:
        await login(client, "demo", "admin", DEMO_PASSWORD)
        assert (await client.put("/api/v1/mail-settings", json=_settings(port))).status_code == 200


async def test_voicemail_email_goes_through_the_tenants_server(
    runtime: Runtime, tenant_smtp: tuple[Inbox, int], node_smtp: tuple[Inbox, SmtpConfig]
) -> None:
    inbox, port = tenant_smtp
    node_inbox, node = node_smtp
    await _use_tenant_server(runtime, port)
    demo = await tenant_id(runtime, "demo")
    box = await make_box(runtime, tenant=demo, notify_emails=["boss@demo.example"])
    notifier = Notifier(node)
    message = await leave_message(FakePort(tenant_id=demo), box, runtime=runtime, notifier=notifier)
    await notifier.drain()
    assert message is not None
    (mail,) = inbox.mails
    assert mail["From"] == "support@demo.example" and mail["To"] == "boss@demo.example"
    assert node_inbox.mails == []


async def test_work_order_email_goes_through_the_tenants_server(
    runtime: Runtime, tenant_smtp: tuple[Inbox, int], node_smtp: tuple[Inbox, SmtpConfig]
) -> None:
    inbox, port = tenant_smtp
    node_inbox, node = node_smtp
    await _use_tenant_server(runtime, port)
    demo = await tenant_id(runtime, "demo")
    notifier = WorkOrderNotifier(node, resolve=service.resolver(runtime, node))
    for tenant in (demo, None):
        notifier.submit(
            WorkOrderChanged(
                tenant_id=tenant,
                work_order_id=7,
                title="Broken router",
                status="open",
                priority="high",
                action="created",
                actor="admin",
                summary="new",
                recipients=("desk@demo.example",),
            )
        )
    await notifier.drain()
    (mail,) = inbox.mails
    assert mail["Subject"].startswith("[WO-7]") and mail["From"] == "support@demo.example"
    (fallback,) = node_inbox.mails
    assert fallback["From"] == "node@helpline.test"
