"""trunks: SIP trunks per tenant

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column(
            "transport",
            sa.Enum("UDP", "TCP", "TLS", name="transport", native_enum=False, length=11),
            nullable=False,
        ),
        sa.Column(
            "inbound_mode",
            sa.Enum("allowlist", "digest", name="inboundmode", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("allowed_sources", sa.JSON(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=True),
        sa.Column("password", sa.String(length=200), nullable=True),
        sa.Column("auth_realm", sa.String(length=200), nullable=True),
        sa.Column("register_enabled", sa.Boolean(), nullable=False),
        sa.Column("register_expires", sa.Integer(), nullable=False),
        sa.Column("from_domain", sa.String(length=255), nullable=True),
        sa.Column("prefixes", sa.JSON(), nullable=False),
        sa.Column("strip_digits", sa.Integer(), nullable=False),
        sa.Column("prepend", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "caller_id_mode",
            sa.Enum("account", "fixed", name="calleridmode", native_enum=False, length=15),
            nullable=False,
        ),
        sa.Column("caller_id_number", sa.String(length=32), nullable=True),
        sa.Column("caller_id_name", sa.String(length=100), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("max_channels", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_trunks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trunks")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_trunks_tenant_id")),
    )
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trunks_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trunks_tenant_id"))

    op.drop_table("trunks")
