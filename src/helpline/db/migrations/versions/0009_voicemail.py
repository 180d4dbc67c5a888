"""voicemail: voicemail boxes and messages

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps_and_tenant(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
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
        "voicemail_boxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "owner_kind",
            sa.Enum("queue", "department", "agent", name="ownerkind", native_enum=False, length=18),
            nullable=False,
        ),
        sa.Column("owner_ref", sa.String(length=100), nullable=False),
        sa.Column("greeting", sa.String(length=200), nullable=True),
        sa.Column("max_seconds", sa.Integer(), nullable=False),
        sa.Column("silence_seconds", sa.Double(), nullable=False),
        sa.Column("notify_emails", sa.JSON(), nullable=False),
        sa.Column(
            "language",
            sa.Enum("en", "zh", "ko", name="language", native_enum=False, length=10),
            nullable=True,
        ),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_timestamps_and_tenant("voicemail_boxes"),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_voicemail_boxes_tenant_id")),
    )
    with op.batch_alter_table("voicemail_boxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voicemail_boxes_tenant_id"), ["tenant_id"])
    op.create_table(
        "voicemail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("box_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("caller", sa.String(length=255), nullable=False),
        sa.Column("called", sa.String(length=255), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "recording",
                "complete",
                "repaired",
                "failed",
                name="messagestatus",
                native_enum=False,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("heard", sa.Boolean(), nullable=False),
        sa.Column("heard_at", UtcDateTime(), nullable=True),
        sa.Column("heard_by", sa.String(length=100), nullable=True),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["box_id"],
            ["voicemail_boxes.id"],
            name=op.f("fk_voicemail_messages_box_id_voicemail_boxes"),
            ondelete="CASCADE",
        ),
        *_timestamps_and_tenant("voicemail_messages"),
    )
    with op.batch_alter_table("voicemail_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voicemail_messages_box_id"), ["box_id"])
        batch_op.create_index(batch_op.f("ix_voicemail_messages_received_at"), ["received_at"])
        batch_op.create_index(batch_op.f("ix_voicemail_messages_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_voicemail_messages_tenant_id"), ["tenant_id"])


def downgrade() -> None:
    with op.batch_alter_table("voicemail_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voicemail_messages_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_voicemail_messages_status"))
        batch_op.drop_index(batch_op.f("ix_voicemail_messages_received_at"))
        batch_op.drop_index(batch_op.f("ix_voicemail_messages_box_id"))
    op.drop_table("voicemail_messages")
    with op.batch_alter_table("voicemail_boxes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voicemail_boxes_tenant_id"))
    op.drop_table("voicemail_boxes")
