"""Statistics tables: the 15-minute rollup of call figures and its watermark per tenant,
plus the indexes the reports need on other domains' tables.

Theory of operation: reports are computed in SQL from ``call_records`` (and its
segments, the IVR path steps, work orders and agent sessions). Reading a month of a
busy tenant's records for every report would be slow, so the call figures are also
kept pre-summed in :class:`StatsSlot`: one row per tenant, *slot* (a 15-minute
interval in UTC, numbered ``epoch seconds // 900``), dimension and key, holding the
counts and sums every report metric is derived from (never ratios: a ratio is derived
after summing). 15-minute UTC slots sum exactly into quarters, hours, days, months and
years of any time zone whose offset is a multiple of 15 minutes, which every zone's
has been since 1972.

:class:`RollupState` is each tenant's watermark: slots from ``settled_from`` to
before ``settled_until`` are in the rollup; ``checked_at`` is when records were last
looked at, so that a record changed later (a call closed after its slot was summed, a
crash recovered, a record written late) has its slot summed again
(:mod:`helpline.stats.rollup`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Double, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.calls.models import CallRecord, CallSegment, QueueEvent
from helpline.db.base import Base, TenantOwned, UtcDateTime, str_enum
from helpline.workorders.models import WorkOrder

#: Seconds in one slot of the rollup.
SLOT_SECONDS = 900
MAX_KEY_LENGTH = 200


class Dimension(StrEnum):
    """What the rows of a report are split by."""

    TENANT = "tenant"
    """One row per interval: the whole tenant."""
    QUEUE = "queue"
    AGENT = "agent"
    SERVICE = "service"
    """The routing service the call reached (its id)."""
    IVR_NODE = "ivr_node"
    """``flow/node`` of every IVR node the call entered."""


class StatsSlot(TenantOwned, Base):
    """The call figures of one tenant, 15-minute UTC slot, dimension and key."""

    __tablename__ = "stats_slots"
    __table_args__ = (
        Index("ix_stats_slots_tenant_dimension_slot", "tenant_id", "dimension", "slot"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dimension: Mapped[Dimension] = mapped_column(str_enum(Dimension))
    slot: Mapped[int] = mapped_column(BigInteger)
    """UTC epoch seconds of the slot's start // 900."""
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    """The queue, agent, service id or ``flow/node``; empty for the tenant."""
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answered_in_sl: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    short_abandoned: Mapped[int] = mapped_column(Integer, default=0)
    abandoned_ivr: Mapped[int] = mapped_column(Integer, default=0)
    callbacks: Mapped[int] = mapped_column(Integer, default=0)
    voicemail: Mapped[int] = mapped_column(Integer, default=0)
    transferred_out: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    ivr_hangups: Mapped[int] = mapped_column(Integer, default=0)
    answer_wait: Mapped[float] = mapped_column(Double, default=0.0)
    abandon_wait: Mapped[float] = mapped_column(Double, default=0.0)
    max_wait: Mapped[float] = mapped_column(Double, default=0.0)
    talk: Mapped[float] = mapped_column(Double, default=0.0)
    hold: Mapped[float] = mapped_column(Double, default=0.0)
    wrap_up: Mapped[float] = mapped_column(Double, default=0.0)
    survey_responses: Mapped[int] = mapped_column(Integer, default=0)
    survey_answers: Mapped[int] = mapped_column(Integer, default=0)
    survey_top_two: Mapped[int] = mapped_column(Integer, default=0)
    survey_score: Mapped[float] = mapped_column(Double, default=0.0)
    """Sum of the answers' scores on a 0-1 scale."""


class RollupState(TenantOwned, Base):
    """How far a tenant's rollup has got."""

    __tablename__ = "stats_rollup_state"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    settled_from: Mapped[int] = mapped_column(BigInteger)
    """The first slot in ``stats_slots``."""
    settled_until: Mapped[int] = mapped_column(BigInteger)
    """The slot after the last one in ``stats_slots``."""
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """Records changed since (less a margin for clocks) have their slots summed again."""


# Indexes the reports need on tables of other domains (declared here so that the
# models and migration 0015 agree).
Index("ix_call_records_tenant_started", CallRecord.tenant_id, CallRecord.started_at)
Index("ix_call_records_tenant_updated", CallRecord.tenant_id, CallRecord.updated_at)
Index("ix_call_records_tenant_caller", CallRecord.tenant_id, CallRecord.caller)
Index("ix_call_records_tenant_called", CallRecord.tenant_id, CallRecord.called)
Index("ix_call_segments_kind_record", CallSegment.kind, CallSegment.record_id)
Index("ix_queue_events_tenant_at", QueueEvent.tenant_id, QueueEvent.at)
Index("ix_queue_events_tenant_queue_at", QueueEvent.tenant_id, QueueEvent.queue, QueueEvent.at)
Index("ix_work_orders_tenant_created", WorkOrder.tenant_id, WorkOrder.created_at)
Index("ix_work_orders_tenant_closed", WorkOrder.tenant_id, WorkOrder.closed_at)

__all__ = ["SLOT_SECONDS", "Dimension", "RollupState", "StatsSlot"]
