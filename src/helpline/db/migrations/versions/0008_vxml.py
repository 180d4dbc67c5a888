"""vxml: VoiceXML documents

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vxml_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_vxml_documents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vxml_documents")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_vxml_documents_tenant_id")),
    )
    with op.batch_alter_table("vxml_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vxml_documents_tenant_id"), ["tenant_id"])


def downgrade() -> None:
    with op.batch_alter_table("vxml_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vxml_documents_tenant_id"))
    op.drop_table("vxml_documents")
