"""routing: numbers, services, schedules and the blacklist

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from helpline.db.base import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owned(table: str) -> list[SchemaItem]:
    """The tenant column and its foreign key, as every tenant-owned table has them."""
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
    ]


def _stamps() -> list[SchemaItem]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("max_calls", sa.Integer(), nullable=True),
        sa.Column(
            "over_limit_action",
            sa.Enum("busy", "announcement", name="overlimitaction", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("over_limit_prompt", sa.String(length=200), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("default_target", sa.JSON(), nullable=False),
        *_owned("services"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_services_tenant_id")),
    )
    op.create_table(
        "numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_owned("numbers"),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_numbers_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_numbers_number")),
    )
    op.create_table(
        "blacklist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("exact", "prefix", "anonymous", name="blockkind", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "reject_busy",
                "reject_announcement",
                "drop",
                name="blockaction",
                native_enum=False,
                length=27,
            ),
            nullable=False,
        ),
        sa.Column("prompt", sa.String(length=200), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("last_hit_at", UtcDateTime(), nullable=True),
        *_owned("blacklist_entries"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entries")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "number", name=op.f("uq_blacklist_entries_tenant_id")
        ),
    )
    op.create_table(
        "service_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("acquired_at", UtcDateTime(), nullable=False),
        *_owned("service_slots"),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_slots_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_slots")),
        sa.UniqueConstraint("service_id", "ref", name=op.f("uq_service_slots_service_id")),
    )
    for table in ("services", "numbers", "blacklist_entries", "service_slots"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_tenant_id"), ["tenant_id"])
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_numbers_service_id"), ["service_id"])
    with op.batch_alter_table("service_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_slots_node"), ["node"])


def downgrade() -> None:
    for table in ("service_slots", "blacklist_entries", "numbers", "services"):
        op.drop_table(table)
