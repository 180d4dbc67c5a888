"""statistics: the 15-minute rollup, its watermark, and indexes for reports

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = ("tenant", "queue", "agent", "service", "ivr_node")
COUNTS = (
    "offered",
    "answered",
    "answered_in_sl",
    "abandoned",
    "short_abandoned",
    "abandoned_ivr",
    "callbacks",
    "voicemail",
    "transferred_out",
    "transfers",
    "ivr_hangups",
)
SECONDS = ("answer_wait", "abandon_wait", "max_wait", "talk", "hold", "wrap_up")
#: (table, index name, columns) of the indexes reports need on other tables.
INDEXES = (
    ("call_records", "ix_call_records_tenant_started", ["tenant_id", "started_at"]),
    ("call_records", "ix_call_records_tenant_updated", ["tenant_id", "updated_at"]),
    ("call_records", "ix_call_records_tenant_caller", ["tenant_id", "caller"]),
    ("call_records", "ix_call_records_tenant_called", ["tenant_id", "called"]),
    ("call_segments", "ix_call_segments_kind_record", ["kind", "record_id"]),
    ("queue_events", "ix_queue_events_tenant_at", ["tenant_id", "at"]),
    ("queue_events", "ix_queue_events_tenant_queue_at", ["tenant_id", "queue", "at"]),
    ("work_orders", "ix_work_orders_tenant_created", ["tenant_id", "created_at"]),
    ("work_orders", "ix_work_orders_tenant_closed", ["tenant_id", "closed_at"]),
)


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


def upgrade() -> None:
    op.create_table(
        "stats_slots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "dimension",
            sa.Enum(*DIMENSIONS, name="dimension", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        *[sa.Column(name, sa.Double(), nullable=False) for name in SECONDS],
        *_tenant("stats_slots"),
    )
    with op.batch_alter_table("stats_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stats_slots_tenant_id"), ["tenant_id"])
        batch_op.create_index(
            "ix_stats_slots_tenant_dimension_slot", ["tenant_id", "dimension", "slot"]
        )
    op.create_table(
        "stats_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settled_from", sa.BigInteger(), nullable=False),
        sa.Column("settled_until", sa.BigInteger(), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        *_tenant("stats_rollup_state"),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_stats_rollup_state_tenant_id")),
    )
    with op.batch_alter_table("stats_rollup_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stats_rollup_state_tenant_id"), ["tenant_id"])
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table("stats_rollup_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stats_rollup_state_tenant_id"))
    op.drop_table("stats_rollup_state")
    with op.batch_alter_table("stats_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_stats_slots_tenant_dimension_slot")
        batch_op.drop_index(batch_op.f("ix_stats_slots_tenant_id"))
    op.drop_table("stats_slots")
