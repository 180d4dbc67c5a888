"""Screen-pop lookup time: ``lookup_by_number`` with 1 M customers on PostgreSQL.

Creates a scratch database on the PostgreSQL server (``--admin-url``), migrates it to
the customers revision, bulk-loads one tenant's customers with ``COPY`` (default
1,000,000 customers in Shanghai's time zone, each with a mobile number, every second one
also with an office number: 1.5 M rows in ``customer_phones``; 5% VIP) plus a second
tenant holding the same numbers (so the index holds every number twice and the tenant
condition has to work), runs ``ANALYZE`` and times, with ``time.perf_counter_ns``:

* ``lookup, session open``: :func:`helpline.customers.lookup.lookup_by_number` with the
  tenant's region given (call control caches it), in one open session, a random known
  caller in national form (``138xxxxxxxx``) 90% of the time, an unknown one 10%;
* ``lookup, region read``: the same without ``region``: the tenant's region is read
  first (one more query);
* ``lookup, own unit of work``: a session opened and committed around each lookup, as
  a call arriving does it;
* ``normalize only``: the ``phonenumbers`` part alone (no database);
* ``query only``: the lookup's SQL alone over a bare asyncpg connection, prepared once
  (what the database costs, without SQLAlchemy).

The scratch database is dropped at the end, also after an error.

Usage::

    .venv/bin/python bench/screen_pop.py
    .venv/bin/python bench/screen_pop.py --customers 1000000 --lookups 5000 \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from helpline.customers.lookup import caller_e164, lookup_by_number, tenant_region
from helpline.db.engine import create_engine, session_factory
from helpline.db.migrate import upgrade

log = logging.getLogger("screen_pop")

REVISION = "0012"
BATCH = 100_000
NOW = datetime(2026, 11, 24, tzinfo=UTC)
CUSTOMER_COLUMNS = (
    "id",
    "tenant_id",
    "external_id",
    "name",
    "title",
    "company",
    "tier",
    "region",
    "language",
    "emails",
    "addresses",
    "tags",
    "custom_fields",
    "notes",
    "created_at",
    "updated_at",
)
PHONE_COLUMNS = ("id", "tenant_id", "customer_id", "e164", "label", "position")
REGIONS = ("north", "south", "east", "west")


def mobile(n: int) -> str:
    """The ``n``-th customer's mobile number (valid Chinese 138 numbers)."""
    return f"+86138{n:08d}"


def office(n: int) -> str:
    """The ``n``-th customer's office number (Beijing, 010-5xxx xxxx)."""
    return f"+86105{n:07d}"


def customer_rows(
    tenant_id: int, first_id: int, start: int, stop: int
) -> Iterator[tuple[Any, ...]]:
    """Rows for ``customers``: customers ``start`` .. ``stop - 1`` of a tenant."""
    empty_list, empty_map = "[]", "{}"
    for n in range(start, stop):
        yield (
            first_id + n,
            tenant_id,
            f"X-{n}",
            f"Customer {n}",
            None,
            None,
            "vip" if n % 20 == 0 else "regular",
            REGIONS[n % 4],
            "zh",
            json.dumps([f"c{n}@example.cn"]),
            empty_list,
            empty_list,
            empty_map,
            None,
            NOW,
            NOW,
        )


def phone_rows(
    tenant_id: int, first_customer: int, first_phone: int, start: int, stop: int
) -> Iterator[tuple[Any, ...]]:
    """Rows for ``customer_phones`` of those customers; ids from ``first_phone + 2n``."""
    for n in range(start, stop):
        yield (first_phone + 2 * n, tenant_id, first_customer + n, mobile(n), "mobile", 0)
        if n % 2 == 0:
            yield (first_phone + 2 * n + 1, tenant_id, first_customer + n, office(n), "work", 1)


async def load(conn: asyncpg.Connection, customers: int) -> float:
    """Two tenants with ``customers`` customers each; seconds taken."""
    t0 = time.perf_counter()
    tenants = [(1, "bench-a", "Asia/Shanghai"), (2, "bench-b", "Asia/Seoul")]
    for tenant_id, slug, timezone in tenants:
        await conn.execute(
            "INSERT INTO tenants (id, slug, name, timezone, locale, sip_realm, tier, max_lines,"
            " max_agents, max_ivr_ports, active, created_at, updated_at)"
            " VALUES ($1, $2, $2, $3, 'zh', $2, 'custom', 1, 1, 1, true, $4, $4)",
            tenant_id,
            slug,
            timezone,
            NOW,
        )
    for index, (tenant_id, _slug, _tz) in enumerate(tenants):
        first_customer = 1 + index * customers
        first_phone = 1 + index * 2 * customers
        for start in range(0, customers, BATCH):
            stop = min(start + BATCH, customers)
            await conn.copy_records_to_table(
                "customers",
                records=customer_rows(tenant_id, first_customer, start, stop),
                columns=CUSTOMER_COLUMNS,
            )
            await conn.copy_records_to_table(
                "customer_phones",
                records=phone_rows(tenant_id, first_customer, first_phone, start, stop),
                columns=PHONE_COLUMNS,
            )
        log.info("tenant %s loaded", tenant_id)
    for table in ("tenants", "customers", "customer_phones"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    await conn.execute("ANALYZE")
    return time.perf_counter() - t0


def summary(name: str, samples_ns: list[int]) -> dict[str, Any]:
    """p50, p99 and max in milliseconds."""
    ordered = sorted(samples_ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # noqa: E731
    return {
        "what": name,
        "n": len(ordered),
        "p50_ms": round(pick(0.50), 3),
        "p99_ms": round(pick(0.99), 3),
        "max_ms": round(ordered[-1] / 1e6, 3),
        "mean_ms": round(statistics.fmean(ordered) / 1e6, 3),
    }


async def timed(count: int, make: Callable[[int], Awaitable[object]]) -> list[int]:
    """Nanoseconds of ``count`` awaits of ``make(i)``."""
    out = []
    for i in range(count):
        t0 = time.perf_counter_ns()
        await make(i)
        out.append(time.perf_counter_ns() - t0)
    return out


async def raw_sql(url: str, callers: list[str], lookups: int) -> dict[str, Any]:
    """The lookup's query alone over asyncpg, prepared once (the database's share)."""
    target = make_url(url)
    conn = await asyncpg.connect(
        host=target.host, port=target.port or 5432, user=target.username, database=target.database
    )
    try:
        query = await conn.prepare(
            "SELECT c.id, c.name, c.title, c.company, c.tier, c.region, c.language"
            " FROM customers c JOIN customer_phones p ON p.customer_id = c.id"
            " WHERE p.tenant_id = $1 AND p.e164 = $2 ORDER BY c.id LIMIT 2"
        )
        numbers = ["+86" + c for c in callers]
        return summary(
            "query only (asyncpg, prepared)",
            await timed(lookups, lambda i: query.fetch(1, numbers[i])),
        )
    finally:
        await conn.close()


async def measure(url: str, customers: int, lookups: int, seed: int) -> list[dict[str, Any]]:
    """Run the timings against the loaded database at ``url``."""
    rng = Random(seed)
    callers = [
        (f"138{rng.randrange(customers):08d}" if rng.random() < 0.9 else f"139{i:08d}")
        for i in range(lookups)
    ]
    engine = create_engine(url)
    sessions = session_factory(engine)
    results = []
    try:
        async with sessions() as session:
            region = await tenant_region(session, 1)
            assert region == "CN", region
            found = await lookup_by_number(session, 1, "138 0000 0042", region=region)
            assert found is not None and found.id == 43 and not found.ambiguous, found
            plan = await session.execute(
                text(
                    "EXPLAIN SELECT c.id FROM customers c JOIN customer_phones p"
                    " ON p.customer_id = c.id WHERE p.tenant_id = 1 AND p.e164 = :n"
                ),
                {"n": mobile(42)},
            )
            log.info("plan:\n%s", "\n".join(row[0] for row in plan))
            await timed(200, lambda i: lookup_by_number(session, 1, callers[i], region=region))
            hits = 0

            async def with_region(i: int) -> None:
                nonlocal hits
                hits += await lookup_by_number(session, 1, callers[i], region=region) is not None

            results.append(summary("lookup, session open", await timed(lookups, with_region)))
            results[-1]["hits"] = hits
            results.append(
                summary(
                    "lookup, region read",
                    await timed(lookups, lambda i: lookup_by_number(session, 1, callers[i])),
                )
            )

        async def own_session(i: int) -> None:
            async with sessions() as session, session.begin():
                await lookup_by_number(session, 1, callers[i], region=region)

        results.append(summary("lookup, own unit of work", await timed(lookups, own_session)))

        async def normalize_only(i: int) -> None:
            caller_e164(callers[i], "CN")

        results.append(summary("normalize only", await timed(lookups, normalize_only)))
        results.append(await raw_sql(url, callers, lookups))
    finally:
        await engine.dispose()
    return results


async def run(args: argparse.Namespace) -> None:
    """Create, load, measure, drop."""
    admin = make_url(args.admin_url)
    name = f"helpline_bench_screenpop_{uuid.uuid4().hex[:8]}"
    connect = {"host": admin.host, "port": admin.port or 5432, "user": admin.username}
    root = await asyncpg.connect(database=admin.database, **connect)
    await root.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
        engine = create_engine(url)
        await upgrade(engine, REVISION)
        await engine.dispose()
        conn = await asyncpg.connect(database=name, **connect)
        try:
            seconds = await load(conn, args.customers)
            size = await conn.fetchval(
                "SELECT pg_size_pretty(pg_relation_size('ix_customer_phones_tenant_e164'))"
            )
        finally:
            await conn.close()
        log.info(
            "loaded 2 x %d customers in %.1f s; (tenant_id, e164) index %s",
            args.customers,
            seconds,
            size,
        )
        for row in await measure(url, args.customers, args.lookups, args.seed):
            print(json.dumps(row, ensure_ascii=False))
    finally:
        await root.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await root.close()


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="per tenant")
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
