"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, an app, clients.

Data-layer and API tests take ``runtime`` and run once per backend. PostgreSQL is the
server on this machine (``HELPLINE_TEST_POSTGRES_URL``, default the local trust-auth
server); each test session creates its own database there and drops it at the end.

Every test starts from the same seeded state: the platform admin and the whole demo
(users, phones, IVR, queues, customers, articles ...). Loading it takes about a second,
so it is loaded once per session and backend: into the SQLite template every test
copies, and on PostgreSQL into a ``seed`` schema that each test copies back into the
emptied tables (identity sequences included).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from helpline.api.app import create_app
from helpline.config import Settings
from helpline.db.engine import create_engine
from helpline.db.migrate import upgrade
from helpline.db.models import Base
from helpline.runtime import Runtime
from helpline.server import prepare

ADMIN_PASSWORD = "platform-secret-1"
DEMO_PASSWORD = "demo-web-secret-1"
DEMO_SIP_PASSWORD = "demo-sip-secret-1"
PG_ADMIN_URL = os.environ.get(
    "HELPLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(PG_ADMIN_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


async def _seed(url: str, data_dir: Path) -> None:
    """Load the platform admin and the demo into a migrated database."""
    runtime = Runtime.build(make_settings(data_dir, url, demo=True))
    await prepare(runtime, report=lambda _line: None)
    await runtime.close()


def _tables() -> list[str]:
    return [t.name for t in Base.metadata.sorted_tables]


async def _snapshot_pg(url: str) -> None:
    """Keep a copy of every seeded table in the ``seed`` schema."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA seed"))
        for table in _tables():
            await conn.execute(text(f"CREATE TABLE seed.{table} AS TABLE public.{table}"))
    await engine.dispose()


async def _restore_pg(runtime: Runtime) -> None:
    """Empty every table and copy the seeded rows back, sequences included."""
    tables = _tables()
    async with runtime.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for table in tables:
            await conn.execute(text(f"INSERT INTO public.{table} SELECT * FROM seed.{table}"))
            sequence = (
                (
                    await conn.execute(text(f"SELECT pg_get_serial_sequence('{table}', 'id')"))
                ).scalar_one_or_none()
                if "id" in Base.metadata.tables[table].c
                else None
            )
            if sequence is not None:
                await conn.execute(
                    text(
                        f"SELECT setval('{sequence}', coalesce(max(id), 1), max(id) IS NOT NULL)"
                        f" FROM public.{table}"
                    )
                )


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"helpline_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    asyncio.run(_seed(url, tmp_path_factory.mktemp("seed-postgres")))
    asyncio.run(_snapshot_pg(url))
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated and seeded SQLite database, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    asyncio.run(_seed(f"sqlite+aiosqlite:///{path}", tmp_path_factory.mktemp("seed-sqlite")))
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database on each backend, holding the seeded state."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "helpline.db"
        target.write_bytes(template.read_bytes())
        return f"sqlite+aiosqlite:///{target}"
    return str(request.getfixturevalue("postgres_url"))


def make_settings(tmp_path: Path, database_url: str, **extra: object) -> Settings:
    """Settings for tests: known passwords, the given database, and no generated call
    history with the demo (tests count the calls they make)."""
    options: dict[str, object] = {"demo_history": False, **extra}
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        demo_password=DEMO_PASSWORD,
        demo_sip_password=DEMO_SIP_PASSWORD,
        **options,
    )


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    """A runtime on a database holding just the platform admin and the demo tenant."""
    rt = Runtime.build(make_settings(tmp_path, database_url, demo=True))
    if rt.engine.dialect.name == "postgresql":
        await _restore_pg(rt)
    yield rt
    await rt.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTPS client of the app (Secure cookies are sent)."""
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


async def login(
    client: httpx.AsyncClient, tenant: str, username: str, password: str
) -> dict[str, object]:
    """Log ``client`` in and make it send the CSRF token; the login answer."""
    r = await client.post(
        "/api/v1/auth/login", json={"tenant": tenant, "username": username, "password": password}
    )
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    client.headers["X-CSRF-Token"] = str(body["csrf_token"])
    return body
