"""Alembic migrations run from code: on ``serve`` and by ``helpline db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str = "") -> Config:
    """An Alembic configuration pointing at Helpline's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` inside one transaction.

    On SQLite, foreign keys are not enforced while migrating: altering a column there
    copies the table and drops the old one (Alembic's batch mode), and an enforced drop
    would delete or empty every row pointing into it (ON DELETE CASCADE / SET NULL).
    The pragma only takes effect outside a transaction, so it is set before and after;
    ``PRAGMA foreign_key_check`` then proves the migrated rows still hold together.
    """
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        if sqlite:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()  # ends the autobegun (empty) transaction
        try:
            async with conn.begin():
                await conn.run_sync(_upgrade, revision)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()
