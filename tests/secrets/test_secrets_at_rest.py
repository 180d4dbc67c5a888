"""The passwords Helpline logs in with are encrypted at rest, on SQLite and PostgreSQL.

The raw columns are read with SQL (never through the model), the round trip through
the models gives the clear text back, a node with another key reports the problem in
its log and health endpoint and keeps running, and migration 0024 encrypts existing
clear values and its downgrade decrypts them.
"""

from __future__ import annotations

import logging
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, make_url

from helpline.api.app import create_app
from helpline.config import Settings
from helpline.core.secrets import KEY_FILE, EncryptedString, Keyring, SecretsUnavailable
from helpline.db.migrate import alembic_config, upgrade
from helpline.mailsettings.models import TenantMailSettings
from helpline.runtime import Runtime
from helpline.sms.models import (
    Coding,
    Direction,
    GatewayKind,
    MessageStatus,
    SmsGateway,
    SmsMessage,
)
from helpline.tenants.models import Tenant
from helpline.trunks.models import Trunk
from helpline.trunks.rules import CallerIdMode, InboundMode, Transport
from tests.conftest import _pg_admin, _restore_pg, make_settings

#: table -> the clear password stored in it.
CLEAR = {
    "trunks": "trunk-pass-1",
    "tenant_mail_settings": "smtp-pass-1",
    "sms_gateways": "sms-pass-1",
}


async def _add_secrets(runtime: Runtime) -> None:
    """A trunk, the demo tenant's SMTP server and an SMS gateway with passwords, and a
    message sent through the gateway (its link must survive the migration)."""
    async with runtime.unit_of_work() as session:
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == "demo"))
        assert tenant_id is not None
        gateway = SmsGateway(
            tenant_id=tenant_id, name="gw", kind=GatewayKind.KANNEL, password=CLEAR["sms_gateways"]
        )
        session.add_all(
            [
                *(
                    Trunk(
                        tenant_id=tenant_id,
                        name=name,
                        host=f"{name}.invalid",
                        transport=Transport.UDP,
                        inbound_mode=InboundMode.ALLOWLIST,
                        caller_id_mode=CallerIdMode.ACCOUNT,
                        username="4420001",
                        password=password,
                    )
                    for name, password in (("provider", CLEAR["trunks"]), ("open", None))
                ),
                TenantMailSettings(
                    tenant_id=tenant_id,
                    host="smtp.invalid",
                    sender="help@example.com",
                    password=CLEAR["tenant_mail_settings"],
                ),
                gateway,
            ]
        )
        await session.flush()
        session.add(
            SmsMessage(
                tenant_id=tenant_id,
                direction=Direction.OUTBOUND,
                status=MessageStatus.SENT,
                gateway_id=gateway.id,
                number="+4930555000",
                body="hi",
                coding=Coding.GSM7,
            )
        )


async def _raw(runtime: Runtime) -> dict[str, str]:
    """The stored password column of each table, read with SQL."""
    async with runtime.engine.connect() as conn:
        return {
            table: (
                await conn.execute(text(f"SELECT password FROM {table} WHERE password <> ''"))
            ).scalar_one()
            for table in CLEAR
        }


async def _read(runtime: Runtime) -> dict[str, str | None]:
    """The passwords as the models give them."""
    async with runtime.unit_of_work() as session:
        return {
            "trunks": await session.scalar(select(Trunk.password).where(Trunk.name == "provider")),
            "tenant_mail_settings": await session.scalar(select(TenantMailSettings.password)),
            "sms_gateways": await session.scalar(select(SmsGateway.password)),
        }


def _key(runtime: Runtime) -> Keyring:
    return Keyring.load(secret_key=None, data_dir=runtime.settings.data_dir)


async def test_stored_passwords_are_ciphertext_and_read_back_in_clear(runtime: Runtime) -> None:
    await _add_secrets(runtime)
    raw = await _raw(runtime)
    key = _key(runtime)
    for table, clear in CLEAR.items():
        assert clear not in raw[table], table
        assert raw[table].startswith("gAAAAA"), "a Fernet token"
        assert key.decrypt(raw[table]) == clear
    assert await _read(runtime) == CLEAR
    async with runtime.engine.connect() as conn:
        empty = await conn.scalar(text("SELECT password FROM trunks WHERE name = 'open'"))
    assert empty is None, "no password stays NULL"


async def test_a_node_with_another_key_says_so_and_keeps_running(
    runtime: Runtime, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await _add_secrets(runtime)
    stranger = Runtime.build(make_settings(tmp_path / "stranger", database_url))
    try:
        with caplog.at_level(logging.ERROR, logger="helpline.core.secrets"):
            assert await _read(stranger) == dict.fromkeys(CLEAR, "")
            assert await _read(stranger) == dict.fromkeys(CLEAR, "")
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 3, "one error per value, not per read"
        assert any("cannot decrypt a stored trunks.password" in e for e in errors)
        transport = httpx.ASGITransport(app=create_app(stranger))
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            r = await client.get("/api/health")
        assert r.status_code == 200, "reported, not failed: a restart would not help"
        secrets = r.json()["secrets"]
        assert (secrets["ok"], secrets["key"], secrets["undecryptable"]) == (
            False,
            "data_dir",
            3,
        )
        assert secrets["columns"] == sorted(f"{table}.password" for table in CLEAR)
        assert "secret key" in secrets["error"]
    finally:
        await stranger.close()
    shared_key = (runtime.settings.data_dir / KEY_FILE).read_text().strip()
    sibling = Runtime.build(
        make_settings(tmp_path / "sibling", database_url, secret_key=shared_key)
    )
    try:
        assert await _read(sibling) == CLEAR, "HELPLINE_SECRET_KEY shared by the nodes"
    finally:
        await sibling.close()
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        assert (await client.get("/api/health")).json()["secrets"] == {
            "ok": True,
            "key": "data_dir",
        }


def test_the_generated_key_is_private_and_kept(tmp_path: Path) -> None:
    first = Keyring.load(secret_key=None, data_dir=tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Keyring.load(secret_key=None, data_dir=tmp_path / "data")
    assert again.decrypt(first.encrypt("s3cret")) == "s3cret"
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE], "no draft left behind"


def test_keys_rotate_and_a_bad_key_is_refused_at_start() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Keyring.load(secret_key=old, data_dir=Path("/nonexistent")).encrypt("s3cret")
    rotated = Keyring.load(secret_key=f"{new}, {old}", data_dir=Path("/nonexistent"))
    assert rotated.decrypt(token) == "s3cret", "the old key still decrypts"
    fresh = rotated.encrypt("s3cret")
    assert Keyring.load(secret_key=new, data_dir=Path("/nonexistent")).decrypt(fresh) == "s3cret"
    with pytest.raises(ValidationError, match="not a Fernet key"):
        Settings(secret_key="correct horse battery staple")


def test_an_engine_without_a_key_refuses_to_store_secrets() -> None:
    column = EncryptedString("trunks.password")
    with pytest.raises(SecretsUnavailable):
        column.process_bind_param("s3cret", sqlite.dialect())


@pytest.fixture
async def own_database(database_url: str) -> AsyncIterator[str]:
    """A database of its own for migrating down and up: the test's SQLite copy, or a
    PostgreSQL copy of the session's database."""
    if database_url.startswith("sqlite"):
        yield database_url
        return
    url = make_url(database_url)
    name = f"helpline_secrets_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def test_migration_0024_encrypts_clear_passwords_and_its_downgrade_decrypts(
    own_database: str, tmp_path: Path
) -> None:
    runtime = Runtime.build(make_settings(tmp_path, own_database))
    try:
        if runtime.engine.dialect.name == "postgresql":
            await _restore_pg(runtime)
        await _add_secrets(runtime)
        async with runtime.engine.begin() as conn:
            await conn.run_sync(_downgrade, "0023")
        assert await _raw(runtime) == CLEAR, "0023 keeps passwords in clear"
        await upgrade(runtime.engine)
        raw = await _raw(runtime)
        key = _key(runtime)
        assert {table: key.decrypt(value) for table, value in raw.items()} == CLEAR
        assert not set(raw.values()) & set(CLEAR.values())
        assert await _read(runtime) == CLEAR
        async with runtime.engine.connect() as conn:
            linked = await conn.scalar(
                text("SELECT count(*) FROM sms_messages WHERE gateway_id IS NOT NULL")
            )
        assert linked == 1, "the messages keep their gateway"
    finally:
        await runtime.close()
