"""registrations: SIP bindings that survive a restart

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sip_account_id", sa.Integer(), nullable=False),
        sa.Column("contact", sa.String(length=1024), nullable=False),
        sa.Column("source_host", sa.String(length=64), nullable=False),
        sa.Column("source_port", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("bound_to_source", sa.Boolean(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("cseq", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=False),
        sa.Column("instance_id", sa.String(length=255), nullable=True),
        sa.Column("reg_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sip_account_id"],
            ["sip_accounts.id"],
            name=op.f("fk_registrations_sip_account_id_sip_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_registrations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint(
            "sip_account_id", "contact", name=op.f("uq_registrations_sip_account_id")
        ),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registrations_expires_at"), ["expires_at"])
        batch_op.create_index(batch_op.f("ix_registrations_sip_account_id"), ["sip_account_id"])
        batch_op.create_index(batch_op.f("ix_registrations_tenant_id"), ["tenant_id"])


def downgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_registrations_sip_account_id"))
        batch_op.drop_index(batch_op.f("ix_registrations_expires_at"))
    op.drop_table("registrations")
