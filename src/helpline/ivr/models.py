"""IVR flows: the editable draft, the published versions calls run, and callers' paths.

A :class:`Flow` holds its draft document (any JSON object; checked when published).
Publishing copies the checked draft to a new :class:`FlowVersion`, which is never
changed afterwards. Each node a call enters becomes an :class:`IvrPathStep` row, for
"what callers look up, and when".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, utcnow


class Flow(TenantOwned, Timestamped, Base):
    """An IVR flow of a tenant: its name, draft document and latest version number."""

    __tablename__ = "ivr_flows"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    draft: Mapped[dict[str, Any]] = mapped_column(JSON)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    """0 until the first publication."""


class FlowVersion(TenantOwned, Base):
    """A published, immutable version of a flow's document."""

    __tablename__ = "ivr_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))
    """``user@tenant`` of the publisher (kept when the user is deleted)."""


class IvrPathStep(TenantOwned, Base):
    """One node one call entered: when, which digits, with what result."""

    __tablename__ = "ivr_path_steps"
    __table_args__ = (Index("ix_ivr_path_steps_flow_entered", "flow_id", "entered_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(255), index=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(64))
    node_type: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    digits: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str] = mapped_column(String(32))
