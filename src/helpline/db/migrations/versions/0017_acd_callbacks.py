"""acd callbacks that keep the caller's place, queue settings for them and for customer
priority, and the per-tenant distributor lease

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALLBACK_STATES = (
    "pending",
    "dialing",
    "connected",
    "completed",
    "failed",
    "abandoned",
    "cancelled",
)


def upgrade() -> None:
    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("callback_attempts", sa.Integer(), nullable=False, server_default="3")
        )
        batch_op.add_column(
            sa.Column("callback_retry_seconds", sa.Integer(), nullable=False, server_default="60")
        )
        batch_op.add_column(
            sa.Column("customer_priority", sa.JSON(), nullable=False, server_default="{}")
        )
    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        for column in ("callback_attempts", "callback_retry_seconds", "customer_priority"):
            batch_op.alter_column(column, server_default=None)
    op.create_table(
        "acd_callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("called", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*CALLBACK_STATES, name="callbackstate", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("joined_at", UtcDateTime(), nullable=False),
        sa.Column("priority", sa.Double(), nullable=False),
        sa.Column("customer_type", sa.String(length=100), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_seconds", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("last_call_id", sa.String(length=255), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("agent", sa.String(length=100), nullable=True),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["acd_queues.id"],
            name=op.f("fk_acd_callbacks_queue_id_acd_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_acd_callbacks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acd_callbacks")),
    )
    with op.batch_alter_table("acd_callbacks", schema=None) as batch_op:
        for column in ("queue_id", "state", "tenant_id"):
            batch_op.create_index(batch_op.f(f"ix_acd_callbacks_{column}"), [column])
    op.create_table(
        "acd_leases",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("acquired_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_acd_leases_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_acd_leases")),
    )


def downgrade() -> None:
    op.drop_table("acd_leases")
    op.drop_table("acd_callbacks")
    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        batch_op.drop_column("customer_priority")
        batch_op.drop_column("callback_retry_seconds")
        batch_op.drop_column("callback_attempts")
