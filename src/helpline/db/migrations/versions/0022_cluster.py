"""cluster: the registry of nodes and the store of bus events too large to NOTIFY

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_nodes",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sip_host", sa.String(length=255), nullable=False),
        sa.Column("sip_port", sa.Integer(), nullable=False),
        sa.Column("http_url", sa.String(length=500), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_nodes")),
    )
    with op.batch_alter_table("cluster_nodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cluster_nodes_heartbeat_at"), ["heartbeat_at"])
    op.create_table(
        "cluster_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_events")),
    )
    with op.batch_alter_table("cluster_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cluster_events_created_at"), ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("cluster_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_events_created_at"))
    op.drop_table("cluster_events")
    with op.batch_alter_table("cluster_nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_nodes_heartbeat_at"))
    op.drop_table("cluster_nodes")
