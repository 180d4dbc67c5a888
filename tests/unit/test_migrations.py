"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from helpline.db.models import Base
from helpline.kb.search import include_name
from helpline.runtime import Runtime


async def test_models_and_migrations_agree(runtime: Runtime) -> None:
    def diff(connection: object) -> list[object]:
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(connection, opts=opts)  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with runtime.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
