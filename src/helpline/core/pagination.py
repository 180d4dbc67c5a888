"""One convention for list endpoints: ``limit``/``offset``, ``sort`` and field filters.

``?limit=50&offset=0&sort=-created_at&name=foo``; the answer is
``{"items": [...], "total": N, "limit": 50, "offset": 0}``. ``sort`` names a field,
``-`` in front sorts descending. Filters are exact matches on the fields a route allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from helpline.core.errors import ApiError

T = TypeVar("T")


class PageParams(BaseModel):
    """Query parameters common to every list endpoint."""

    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)
    sort: str | None = None


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    *,
    sortable: Mapping[str, InstrumentedAttribute[Any]],
    filters: Mapping[str, tuple[InstrumentedAttribute[Any], Any]] | None = None,
    default_sort: Sequence[Any] = (),
) -> tuple[list[Any], int]:
    """Rows of ``stmt`` for one page and the total count, filtered and sorted."""
    for column, value in (filters or {}).values():
        if value is not None:
            stmt = stmt.where(column == value)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    if params.sort:
        key = params.sort.lstrip("-")
        if key not in sortable:
            raise ApiError(
                f"cannot sort by {key!r}",
                error_id="invalid_sort",
                status_code=422,
                details={"sortable": sorted(sortable)},
            )
        column = sortable[key]
        stmt = stmt.order_by(column.desc() if params.sort.startswith("-") else column.asc())
    else:
        stmt = stmt.order_by(*default_sort)
    rows = (await session.execute(stmt.limit(params.limit).offset(params.offset))).scalars()
    return list(rows), total
