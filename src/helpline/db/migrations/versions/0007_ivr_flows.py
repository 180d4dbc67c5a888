"""ivr_flows: IVR flow documents, their versions and callers' paths

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def _flow_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["flow_id"],
        ["ivr_flows.id"],
        name=op.f(f"fk_{table}_flow_id_ivr_flows"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "ivr_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        _tenant_fk("ivr_flows"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_flows")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_ivr_flows_tenant_id")),
    )
    op.create_index(op.f("ix_ivr_flows_tenant_id"), "ivr_flows", ["tenant_id"])
    op.create_table(
        "ivr_flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _flow_fk("ivr_flow_versions"),
        _tenant_fk("ivr_flow_versions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_flow_versions")),
        sa.UniqueConstraint("flow_id", "version", name=op.f("uq_ivr_flow_versions_flow_id")),
    )
    op.create_index(op.f("ix_ivr_flow_versions_tenant_id"), "ivr_flow_versions", ["tenant_id"])
    op.create_table(
        "ivr_path_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("node_type", sa.String(length=16), nullable=False),
        sa.Column("entered_at", UtcDateTime(), nullable=False),
        sa.Column("digits", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _flow_fk("ivr_path_steps"),
        _tenant_fk("ivr_path_steps"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_path_steps")),
    )
    op.create_index(op.f("ix_ivr_path_steps_call_id"), "ivr_path_steps", ["call_id"])
    op.create_index(op.f("ix_ivr_path_steps_tenant_id"), "ivr_path_steps", ["tenant_id"])
    op.create_index("ix_ivr_path_steps_flow_entered", "ivr_path_steps", ["flow_id", "entered_at"])


def downgrade() -> None:
    op.drop_index("ix_ivr_path_steps_flow_entered", table_name="ivr_path_steps")
    op.drop_index(op.f("ix_ivr_path_steps_tenant_id"), table_name="ivr_path_steps")
    op.drop_index(op.f("ix_ivr_path_steps_call_id"), table_name="ivr_path_steps")
    op.drop_table("ivr_path_steps")
    op.drop_index(op.f("ix_ivr_flow_versions_tenant_id"), table_name="ivr_flow_versions")
    op.drop_table("ivr_flow_versions")
    op.drop_index(op.f("ix_ivr_flows_tenant_id"), table_name="ivr_flows")
    op.drop_table("ivr_flows")
