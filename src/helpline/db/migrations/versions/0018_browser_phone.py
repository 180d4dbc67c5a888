"""browser phone credentials: short-lived HA1s of SIP accounts for the desktop

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "browser_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sip_account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ha1_md5", sa.String(length=64), nullable=False),
        sa.Column("ha1_sha256", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sip_account_id"],
            ["sip_accounts.id"],
            name=op.f("fk_browser_credentials_sip_account_id_sip_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_browser_credentials_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_browser_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_credentials")),
    )
    with op.batch_alter_table("browser_credentials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_browser_credentials_account_expiry", ["sip_account_id", "expires_at"]
        )
        for column in ("expires_at", "tenant_id", "user_id"):
            batch_op.create_index(batch_op.f(f"ix_browser_credentials_{column}"), [column])


def downgrade() -> None:
    op.drop_table("browser_credentials")
