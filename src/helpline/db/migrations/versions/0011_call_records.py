"""call_records: call records, their segments and the queue event log

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 17:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=max(map(len, values)) + 8)


def _tenant(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _timestamps() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column(
            "direction", _enum("calldirection", "inbound", "outbound", "internal"), nullable=False
        ),
        sa.Column("caller", sa.String(length=255), nullable=False),
        sa.Column("called", sa.String(length=255), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("agent", sa.String(length=100), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column(
            "outcome",
            _enum(
                "calloutcome",
                "in_progress",
                "answered",
                "abandoned_ivr",
                "abandoned_queue",
                "callback",
                "voicemail",
                "rejected",
                "blacklisted",
                "failed",
                "transferred_out",
            ),
            nullable=False,
        ),
        sa.Column("ivr_seconds", sa.Double(), nullable=False),
        sa.Column("wait_seconds", sa.Double(), nullable=False),
        sa.Column("talk_seconds", sa.Double(), nullable=False),
        sa.Column("hold_seconds", sa.Double(), nullable=False),
        sa.Column("wrap_up_seconds", sa.Double(), nullable=False),
        sa.Column("hangup_side", _enum("hangupside", "caller", "agent", "system"), nullable=True),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(length=50), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        *_timestamps(),
        *_tenant("call_records"),
        sa.UniqueConstraint("tenant_id", "call_id", name=op.f("uq_call_records_tenant_id")),
    )
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        for column in ("agent", "open", "outcome", "queue", "started_at", "tenant_id"):
            batch_op.create_index(batch_op.f(f"ix_call_records_{column}"), [column])
    op.create_table(
        "call_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "segmentkind",
                "ivr",
                "queue",
                "offer",
                "ring",
                "talk",
                "hold",
                "transfer",
                "wrap_up",
                "voicemail",
            ),
            nullable=False,
        ),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("agent", sa.String(length=100), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column(
            "result",
            _enum(
                "segmentresult",
                "answered",
                "no_answer",
                "rejected",
                "busy",
                "cancelled",
                "completed",
                "abandoned",
                "overflow",
                "timeout",
                "callback",
                "failed",
                "interrupted",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["call_records.id"],
            name=op.f("fk_call_segments_record_id_call_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_segments")),
        sa.UniqueConstraint("record_id", "seq", name=op.f("uq_call_segments_record_id")),
    )
    with op.batch_alter_table("call_segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_segments_record_id"), ["record_id"])
    op.create_table(
        "dispositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        *_tenant("dispositions"),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_dispositions_tenant_id")),
    )
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispositions_tenant_id"), ["tenant_id"])
    op.create_table(
        "queue_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column(
            "event",
            _enum(
                "queueeventkind",
                "join",
                "offer",
                "answer",
                "abandon",
                "overflow",
                "timeout",
                "callback_requested",
                "leave",
            ),
            nullable=False,
        ),
        sa.Column("agent", sa.String(length=100), nullable=True),
        sa.Column("wait_seconds", sa.Double(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        *_tenant("queue_events"),
    )
    with op.batch_alter_table("queue_events", schema=None) as batch_op:
        for column in ("at", "queue", "tenant_id"):
            batch_op.create_index(batch_op.f(f"ix_queue_events_{column}"), [column])


def downgrade() -> None:
    with op.batch_alter_table("queue_events", schema=None) as batch_op:
        for column in ("tenant_id", "queue", "at"):
            batch_op.drop_index(batch_op.f(f"ix_queue_events_{column}"))
    op.drop_table("queue_events")
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispositions_tenant_id"))
    op.drop_table("dispositions")
    with op.batch_alter_table("call_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_segments_record_id"))
    op.drop_table("call_segments")
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        for column in ("tenant_id", "started_at", "queue", "outcome", "open", "agent"):
            batch_op.drop_index(batch_op.f(f"ix_call_records_{column}"))
    op.drop_table("call_records")
