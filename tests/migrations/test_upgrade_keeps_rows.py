"""Upgrading an existing SQLite database keeps its rows.

SQLite cannot alter a column in place: Alembic's batch mode copies the table, drops the
old one and renames the copy. With foreign keys enforced, that drop deletes (ON DELETE
CASCADE) or empties (SET NULL) every row elsewhere that points into the table. The test
fills one row into every table of an older schema, with every foreign key pointing at
those rows, upgrades to the newest schema, and checks that no row and no reference was
lost on the way.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    Table,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from helpline.db.engine import create_engine
from helpline.db.migrate import upgrade

#: Caches the reports rebuild from call records; migration 0020 empties them on purpose.
REBUILT = {"stats_slots", "stats_rollup_state"}


def _value(column: Any) -> object:
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float | Numeric):
        return 1.0
    if isinstance(kind, DateTime):
        return datetime(2026, 1, 1)
    if isinstance(kind, Date):
        return datetime(2026, 1, 1).date()
    if isinstance(kind, JSON):
        return {}
    return "x"


def _fill(connection: Connection) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(connection)
    filled = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version" or table.name.startswith("kb_search"):
            continue  # the full-text index (an FTS5 table and its shadows) fills itself
        row = {c.name: _value(c) for c in table.columns}
        connection.execute(insert(table).values(**row))
        filled[table.name] = _references(connection, table)
    return filled


def _references(connection: Connection, table: Table) -> int:
    """Rows of ``table`` with every foreign key column set (1 after _fill)."""
    columns = [fk.parent for fk in table.foreign_keys]
    stmt = select(func.count()).select_from(table)
    for column in columns:
        stmt = stmt.where(column.is_not(None))
    return int(connection.execute(stmt).scalar_one())


def _count(connection: Connection, names: list[str]) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(connection, only=names)
    return {name: _references(connection, metadata.tables[name]) for name in names}


@pytest.mark.parametrize("start", ["0016", "0020"])
async def test_upgrading_sqlite_keeps_every_row_and_reference(tmp_path: Path, start: str) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade(engine, start)
        async with engine.begin() as conn:
            filled = await conn.run_sync(_fill)
        assert filled and all(n == 1 for n in filled.values())
        await upgrade(engine)
        async with engine.connect() as conn:
            after = await conn.run_sync(_count, sorted(filled))
    finally:
        await engine.dispose()
    lost = {name: n for name, n in after.items() if n != 1 and name not in REBUILT}
    assert lost == {}, f"rows or references lost by the upgrade from {start}: {lost}"
