"""recordings: call recording metadata, repaired after a crash

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("caller", sa.String(length=255), nullable=False),
        sa.Column("callee", sa.String(length=255), nullable=False),
        sa.Column("agent", sa.String(length=100), nullable=True),
        sa.Column(
            "direction",
            sa.Enum(
                "inbound",
                "outbound",
                "internal",
                name="calldirection",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("stereo", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "recording",
                "complete",
                "repaired",
                "failed",
                name="recordingstatus",
                native_enum=False,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_recordings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_call_id"), ["call_id"])
        batch_op.create_index(batch_op.f("ix_recordings_started_at"), ["started_at"])
        batch_op.create_index(batch_op.f("ix_recordings_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_recordings_tenant_id"), ["tenant_id"])


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_recordings_status"))
        batch_op.drop_index(batch_op.f("ix_recordings_started_at"))
        batch_op.drop_index(batch_op.f("ix_recordings_call_id"))
    op.drop_table("recordings")
