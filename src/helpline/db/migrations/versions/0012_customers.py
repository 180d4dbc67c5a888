"""customers: profiles, the caller-number index, notes, events, CRM settings

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
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


def _customer(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f(f"fk_{table}_customer_id_customers"),
            ondelete="CASCADE",
        ),
    ]


def _timestamps() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column])


def upgrade() -> None:
    op.create_table(
        "customer_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("default_region", sa.String(length=2), nullable=True),
        *_timestamps(),
        *_tenant("customer_settings"),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_customer_settings_tenant_id")),
    )
    _indexes("customer_settings", "tenant_id")
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column(
            "tier", _enum("customertier", "regular", "silver", "gold", "vip"), nullable=False
        ),
        sa.Column("region", sa.String(length=50), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        *_timestamps(),
        *_tenant("customers"),
        sa.UniqueConstraint("tenant_id", "external_id", name=op.f("uq_customers_tenant_id")),
    )
    _indexes("customers", "tenant_id")
    op.create_index("ix_customers_tenant_name", "customers", ["tenant_id", "name"])
    op.create_table(
        "customer_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        *_customer("customer_phones"),
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column(
            "label", _enum("phonelabel", "mobile", "work", "home", "fax", "other"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        *_tenant("customer_phones"),
        sa.UniqueConstraint("customer_id", "e164", name=op.f("uq_customer_phones_customer_id")),
    )
    _indexes("customer_phones", "customer_id", "tenant_id")
    op.create_index("ix_customer_phones_tenant_e164", "customer_phones", ["tenant_id", "e164"])
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        *_customer("customer_notes"),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_timestamps(),
        *_tenant("customer_notes"),
    )
    _indexes("customer_notes", "customer_id", "tenant_id")
    op.create_table(
        "customer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        *_customer("customer_events"),
        sa.Column(
            "kind", _enum("eventkind", "order", "appointment", "repair", "visit"), nullable=False
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("scheduled_at", UtcDateTime(), nullable=True),
        sa.Column(
            "status",
            _enum("eventstatus", "planned", "confirmed", "done", "cancelled"),
            nullable=False,
        ),
        sa.Column("reminder_at", UtcDateTime(), nullable=True),
        sa.Column("reminded_at", UtcDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        *_timestamps(),
        *_tenant("customer_events"),
    )
    _indexes("customer_events", "customer_id", "reminder_at", "tenant_id")


def downgrade() -> None:
    for table in ("customer_events", "customer_notes", "customer_phones"):
        op.drop_table(table)
    op.drop_table("customers")
    op.drop_table("customer_settings")
