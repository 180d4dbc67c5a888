"""Browser-phone SIP credentials: issued for one's own account only, accepted by the
registrar until they expire; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.browserphone.models import BrowserCredential
from helpline.browserphone.service import MAX_LIVE_PER_ACCOUNT
from helpline.registrations import service as registrations
from helpline.runtime import Runtime
from helpline.sip.digest import build_authorization, parse_challenge
from helpline.sip.registrar import Registrar, Verdict
from helpline.sip.routing import Address
from tests.conftest import DEMO_PASSWORD, DEMO_SIP_PASSWORD, login
from tests.registrations.test_service import _demo_tenant_id, _register

REGISTRAR = Registrar(secret=b"browser-secret")
PATH = "/api/v1/agents/me/browser-phone"


async def _issue(client: httpx.AsyncClient, user: str) -> dict[str, object]:
    await login(client, "demo", user, DEMO_PASSWORD)
    r = await client.post(PATH)
    assert r.status_code == 200, r.text
    answer: dict[str, object] = r.json()
    return answer


async def _register_with(runtime: Runtime, *, user: str, password: str, now: datetime) -> Verdict:
    """Challenge, then answer with ``password`` for ``user``: the second verdict."""
    tenant_id = await _demo_tenant_id(runtime)
    auth: str | None = None
    for cseq in (1, 2):
        request = _register(user, f"<sip:{user}@192.168.1.10:5060>", cseq, auth, 600)
        async with runtime.unit_of_work() as session:
            account = await registrations.get_credentials(
                session, tenant_id=tenant_id, username=user, now=now
            )
            outcome = REGISTRAR.handle(
                request,
                source=Address("203.0.113.9", 5060),
                transport="WSS",
                realm="demo",
                account=account,
                bindings=(),
                now=now.timestamp(),
                entropy=b"e",
            )
        if cseq == 2:
            return outcome.verdict
        challenge = parse_challenge(outcome.response.headers("WWW-Authenticate")[0])
        assert challenge is not None
        auth = build_authorization(
            challenge,
            username=user,
            password=password,
            method="REGISTER",
            uri="sip:demo",
            cnonce="c",
        )
    raise AssertionError("unreachable")


async def test_agent_gets_a_credential_the_registrar_accepts(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    issued = await _issue(client, "agent2001")
    assert issued["uri"] == "sip:2001@demo" and issued["username"] == "2001"
    assert issued["ws_url"] == "wss://testserver:5066"
    assert issued["expires_in"] == 900 and issued["ice_servers"] == []
    password = str(issued["password"])
    assert len(password) >= 24 and password != DEMO_SIP_PASSWORD
    now = datetime.now(UTC)
    assert await _register_with(runtime, user="2001", password=password, now=now) is (
        Verdict.REGISTERED
    )
    # The desk phone's own password keeps working beside it.
    assert await _register_with(runtime, user="2001", password=DEMO_SIP_PASSWORD, now=now) is (
        Verdict.REGISTERED
    )
    async with runtime.unit_of_work() as session:
        stored = (await session.execute(select(BrowserCredential))).scalar_one()
        audited = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.entity == "browser_credential")
            )
        ).scalar_one()
    assert password not in (stored.ha1_md5, stored.ha1_sha256)
    assert audited.action == "issue" and audited.after is not None
    assert audited.after["sip_account"] == "2001" and "password" not in str(audited.after)


async def test_expired_credential_is_refused_and_purged(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    issued = await _issue(client, "agent2001")
    expires = datetime.fromisoformat(str(issued["expires_at"]))
    password = str(issued["password"])
    just_before = expires - timedelta(seconds=1)
    after = expires + timedelta(seconds=1)
    assert await _register_with(runtime, user="2001", password=password, now=just_before) is (
        Verdict.REGISTERED
    )
    assert await _register_with(runtime, user="2001", password=password, now=after) is (
        Verdict.AUTH_FAILED
    )
    async with runtime.unit_of_work() as session:
        row = (await session.execute(select(BrowserCredential))).scalar_one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await _issue(client, "agent2001")
    async with runtime.unit_of_work() as session:
        left = (await session.execute(select(BrowserCredential))).scalars().all()
    (fresh,) = left
    assert fresh.expires_at > datetime.now(UTC)


async def test_credential_cannot_register_another_users_account(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    issued = await _issue(client, "agent2001")
    password = str(issued["password"])
    now = datetime.now(UTC)
    assert await _register_with(runtime, user="2002", password=password, now=now) is (
        Verdict.AUTH_FAILED
    )


async def test_user_without_sip_account_gets_no_credential(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    r = await client.post(PATH)
    assert r.status_code == 403 and r.json()["error_id"] == "no_sip_account"
    async with runtime.unit_of_work() as session:
        count = (await session.execute(select(func.count(BrowserCredential.id)))).scalar_one()
    assert count == 0


async def test_only_the_newest_credentials_of_an_account_stay_live(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    passwords = [str((await _issue(client, "agent2003"))["password"]) for _ in range(5)]
    now = datetime.now(UTC)
    assert await _register_with(runtime, user="2003", password=passwords[0], now=now) is (
        Verdict.AUTH_FAILED
    )
    for password in passwords[-MAX_LIVE_PER_ACCOUNT:]:
        assert await _register_with(runtime, user="2003", password=password, now=now) is (
            Verdict.REGISTERED
        )
