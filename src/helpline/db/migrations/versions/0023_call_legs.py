"""call records: the legs Helpline places inside a call (parent_call_id)

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-24 02:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_call_id", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_call_records_parent_call_id"), ["parent_call_id"])


def downgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_records_parent_call_id"))
        batch_op.drop_column("parent_call_id")
