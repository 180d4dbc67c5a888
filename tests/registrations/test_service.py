"""Registrar bindings in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from helpline.api.app import create_app
from helpline.registrations import service as registrations
from helpline.runtime import Runtime
from helpline.sip.digest import build_authorization, parse_challenge
from helpline.sip.message import Request, parse_message
from helpline.sip.registrar import RegisterOutcome, Registrar, Verdict
from helpline.sip.routing import Address
from helpline.tenants.models import Tenant
from helpline.users.models import SipAccount
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, DEMO_SIP_PASSWORD, login

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SOURCE = Address("203.0.113.7", 40123)
REGISTRAR = Registrar(secret=b"test-secret")


def _register(user: str, contact: str, cseq: int, auth: str | None, expires: int) -> Request:
    lines = [
        "REGISTER sip:demo SIP/2.0",
        "Via: SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bK-x",
        f"From: <sip:{user}@demo>;tag=f1",
        f"To: <sip:{user}@demo>",
        f"Call-ID: call-{user}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: {contact}",
        f"Expires: {expires}",
        "User-Agent: Phone/2",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


async def _demo_tenant_id(runtime: Runtime) -> int:
    async with runtime.unit_of_work() as session:
        tenant_id = (await session.execute(select(Tenant.id).where(Tenant.slug == "demo"))).scalar()
    assert tenant_id is not None
    return tenant_id


async def register_phone(
    runtime: Runtime,
    *,
    user: str = "2001",
    contact: str = "<sip:2001@192.168.1.10:5060>",
    expires: int = 600,
    now: datetime = NOW,
    cseq: int = 1,
) -> RegisterOutcome:
    """Challenge, answer with the demo SIP password, register: one unit of work each."""
    tenant_id = await _demo_tenant_id(runtime)
    auth: str | None = None
    for attempt in (cseq, cseq + 1):
        request = _register(user, contact, attempt, auth, expires)
        async with runtime.unit_of_work() as session:
            account = await registrations.get_credentials(
                session, tenant_id=tenant_id, username=user
            )
            bindings = await registrations.load_bindings(
                session, tenant_id=tenant_id, username=user, lock=True
            )
            outcome: RegisterOutcome = REGISTRAR.handle(
                request,
                source=SOURCE,
                transport="UDP",
                realm="demo",
                account=account,
                bindings=bindings,
                now=now.timestamp(),
                entropy=b"fresh",
            )
            await registrations.apply_outcome(session, outcome=outcome, now=now)
        if outcome.response.status != 401:
            return outcome
        challenge = parse_challenge(outcome.response.headers("WWW-Authenticate")[0])
        assert challenge is not None
        auth = build_authorization(
            challenge,
            username=user,
            password=DEMO_SIP_PASSWORD,
            method="REGISTER",
            uri="sip:demo",
            cnonce="abc",
        )
    raise AssertionError("still challenged after answering")


async def test_registered_phone_survives_a_restart(runtime: Runtime) -> None:
    outcome = await register_phone(runtime)
    assert outcome.verdict is Verdict.REGISTERED
    tenant_id = await _demo_tenant_id(runtime)
    restarted = Runtime.build(runtime.settings)
    try:
        async with restarted.unit_of_work() as session:
            (binding,) = await registrations.contacts_for(
                session, tenant_id=tenant_id, username="2001", now=NOW + timedelta(seconds=1)
            )
    finally:
        await restarted.close()
    assert binding.contact == "sip:2001@192.168.1.10:5060"
    assert binding.destination == SOURCE and binding.bound_to_source
    assert binding.expires_at == (NOW + timedelta(seconds=600)).timestamp()
    assert (binding.call_id, binding.cseq, binding.user_agent) == ("call-2001", 2, "Phone/2")


async def test_refresh_updates_the_row_and_unregister_deletes_it(runtime: Runtime) -> None:
    tenant_id = await _demo_tenant_id(runtime)
    await register_phone(runtime, expires=600)
    later = NOW + timedelta(seconds=100)
    await register_phone(runtime, expires=1200, now=later, cseq=3)
    async with runtime.unit_of_work() as session:
        (binding,) = await registrations.load_bindings(
            session, tenant_id=tenant_id, username="2001"
        )
    assert binding.expires_at == (later + timedelta(seconds=1200)).timestamp()
    assert binding.cseq == 4
    outcome = await register_phone(
        runtime, contact="<sip:2001@192.168.1.10:5060>;expires=0", cseq=5
    )
    assert outcome.response.status == 200
    async with runtime.unit_of_work() as session:
        assert (
            await registrations.load_bindings(session, tenant_id=tenant_id, username="2001") == ()
        )


async def test_wrong_password_changes_nothing(runtime: Runtime) -> None:
    tenant_id = await _demo_tenant_id(runtime)
    async with runtime.unit_of_work() as session:
        account = await registrations.get_credentials(session, tenant_id=tenant_id, username="2002")
    assert account is not None and account.realm == "demo"
    request = _register("2002", "<sip:2002@h>", 1, None, 600)
    challenged = REGISTRAR.handle(
        request,
        source=SOURCE,
        transport="UDP",
        realm="demo",
        account=account,
        bindings=(),
        now=NOW.timestamp(),
        entropy=b"x",
    )
    challenge = parse_challenge(challenged.response.headers("WWW-Authenticate")[1])
    assert challenge is not None
    auth = build_authorization(
        challenge, username="2002", password="nope", method="REGISTER", uri="sip:demo"
    )
    outcome = REGISTRAR.handle(
        _register("2002", "<sip:2002@h>", 2, auth, 600),
        source=SOURCE,
        transport="UDP",
        realm="demo",
        account=account,
        bindings=(),
        now=NOW.timestamp(),
        entropy=b"y",
    )
    assert outcome.verdict is Verdict.AUTH_FAILED
    async with runtime.unit_of_work() as session:
        await registrations.apply_outcome(session, outcome=outcome, now=NOW)
        assert (
            await registrations.load_bindings(session, tenant_id=tenant_id, username="2002") == ()
        )


async def test_purge_and_listing_see_only_unexpired_bindings(runtime: Runtime) -> None:
    tenant_id = await _demo_tenant_id(runtime)
    await register_phone(runtime, user="2001", contact="<sip:2001@h1>", expires=60)
    await register_phone(runtime, user="2002", contact="<sip:2002@h2>", expires=900)
    await register_phone(runtime, user="2002", contact="<sip:2002@h3>", cseq=3)
    later = NOW + timedelta(seconds=120)
    async with runtime.unit_of_work() as session:
        active = await registrations.active_bindings(session, tenant_id=tenant_id, now=later)
        assert [(b.aor.username, b.contact) for b in active] == [
            ("2002", "sip:2002@h2"),
            ("2002", "sip:2002@h3"),
        ]
        assert (
            await registrations.contacts_for(
                session, tenant_id=tenant_id, username="2001", now=later
            )
            == ()
        )
        assert await registrations.purge_expired(session, now=later) == 1
    async with runtime.unit_of_work() as session:
        assert (
            await registrations.load_bindings(session, tenant_id=tenant_id, username="2001") == ()
        )


async def test_unknown_or_inactive_accounts_have_no_credentials(runtime: Runtime) -> None:
    tenant_id = await _demo_tenant_id(runtime)
    async with runtime.unit_of_work() as session:
        assert await registrations.tenant_id_for_realm(session, realm="demo") == tenant_id
        assert await registrations.tenant_id_for_realm(session, realm="nowhere") is None
        assert (
            await registrations.get_credentials(session, tenant_id=tenant_id, username="9") is None
        )
        account = (
            await session.execute(select(SipAccount).where(SipAccount.username == "2003"))
        ).scalar_one()
        account.active = False
    async with runtime.unit_of_work() as session:
        assert (
            await registrations.get_credentials(session, tenant_id=tenant_id, username="2003")
            is None
        )


async def test_deleting_the_account_deletes_its_bindings(runtime: Runtime) -> None:
    tenant_id = await _demo_tenant_id(runtime)
    await register_phone(runtime, user="2004", contact="<sip:2004@h>")
    async with runtime.unit_of_work() as session:
        account = (
            await session.execute(select(SipAccount).where(SipAccount.username == "2004"))
        ).scalar_one()
        await session.delete(account)
    async with runtime.unit_of_work() as session:
        active = await registrations.active_bindings(session, tenant_id=tenant_id, now=NOW)
    assert active == ()


async def _api(runtime: Runtime) -> httpx.AsyncClient:
    app: FastAPI = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def test_supervisor_lists_and_reads_registrations(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    await register_phone(runtime, user="2001", contact="<sip:2001@h1>", now=now)
    await register_phone(runtime, user="2002", contact="<sip:2002@h2>", now=now)
    async with await _api(runtime) as client:
        await login(client, "demo", "supervisor", DEMO_PASSWORD)
        r = await client.get("/api/v1/registrations", params={"username": "2002"})
        assert r.status_code == 200, r.text
        page = r.json()
        assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
        (item,) = page["items"]
        assert (item["username"], item["contact"]) == ("2002", "sip:2002@h2")
        assert (item["source_host"], item["source_port"]) == (SOURCE.host, SOURCE.port)
        r = await client.get("/api/v1/registrations", params={"sort": "-username"})
        assert [i["username"] for i in r.json()["items"]] == ["2002", "2001"]
        r = await client.get(f"/api/v1/registrations/{item['id']}")
        assert r.status_code == 200 and r.json()["contact"] == "sip:2002@h2"
        assert (await client.get("/api/v1/registrations/999999")).status_code == 404
    async with await _api(runtime) as other_tenant:
        await login(other_tenant, "system", "admin", ADMIN_PASSWORD)
        assert (await other_tenant.get("/api/v1/registrations")).json()["total"] == 0
        r = await other_tenant.get(f"/api/v1/registrations/{item['id']}")
        assert r.status_code == 404
    async with await _api(runtime) as agent:
        await login(agent, "demo", "agent2001", DEMO_PASSWORD)
        assert (await agent.get("/api/v1/registrations")).status_code == 403
