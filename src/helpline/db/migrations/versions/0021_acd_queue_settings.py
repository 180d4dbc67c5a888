"""acd queues: region routing settings (caller number prefixes -> regions -> teams)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COLUMNS = ("region_prefixes", "region_teams", "region_wait_seconds")


def upgrade() -> None:
    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("region_prefixes", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("region_teams", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("region_wait_seconds", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
