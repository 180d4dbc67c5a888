"""Declarative base and the mixins every table uses.

Every tenant-owned table carries ``tenant_id`` (``TenantOwned``); services filter on the
principal's tenant, never on anything a request body says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from helpline.core.errors import NotFound

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every Helpline table."""

    metadata = MetaData(naming_convention=NAMING)


_Owned = TypeVar("_Owned", bound="TenantOwned")


class Timestamped:
    """``created_at`` and ``updated_at`` maintained by the ORM."""

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class TenantOwned:
    """A row that belongs to one tenant."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(
            Integer, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
        )


def str_enum(enum_cls: type[StrEnum]) -> Enum:
    """A portable column type storing a ``StrEnum``'s values (not its member names)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=max(len(m.value) for m in enum_cls) + 8,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


async def get_owned(
    session: AsyncSession, model: type[_Owned], ident: int, *, tenant_id: int, what: str
) -> _Owned:
    """The row ``ident`` of ``model`` if it belongs to ``tenant_id``; else ``NotFound``
    (another tenant's row is indistinguishable from a missing one)."""
    row = await session.get(model, ident)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"no such {what}")
    return row
