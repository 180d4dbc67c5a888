"""acd: queues, skills, agent memberships and states

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 17:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tables in creation order (dropped in reverse) with their single-column indexes.
INDEXES: dict[str, tuple[str, ...]] = {
    "acd_queues": ("tenant_id",),
    "acd_reason_codes": ("tenant_id",),
    "acd_skills": ("tenant_id",),
    "acd_teams": ("tenant_id",),
    "acd_agents": ("team_id", "tenant_id"),
    "acd_team_supervisors": ("user_id",),
    "acd_agent_sessions": ("agent_id", "login_at", "tenant_id"),
    "acd_agent_skills": ("skill_id",),
    "acd_agent_states": ("tenant_id",),
    "acd_memberships": ("queue_id",),
}


def _enum(name: str, length: int, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=length)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _tenant(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk(table, "tenant_id", "tenants", "CASCADE"),
    ]


def _timestamps() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _named(table: str, *columns: sa.schema.SchemaItem) -> None:
    """A tenant's table of named objects (unique name per tenant) with timestamps."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        *columns,
        *_tenant(table),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f(f"uq_{table}_tenant_id")),
    )


def _link(
    table: str, left: tuple[str, str], right: tuple[str, str], *extra: sa.schema.SchemaItem
) -> None:
    """A link table keyed by two foreign keys, both deleted with their rows."""
    (lcol, ltarget), (rcol, rtarget) = left, right
    op.create_table(
        table,
        sa.Column(lcol, sa.Integer(), nullable=False),
        sa.Column(rcol, sa.Integer(), nullable=False),
        *extra,
        _fk(table, lcol, ltarget, "CASCADE"),
        _fk(table, rcol, rtarget, "CASCADE"),
        sa.PrimaryKeyConstraint(lcol, rcol, name=op.f(f"pk_{table}")),
    )


def _queues() -> None:
    _named(
        "acd_queues",
        sa.Column(
            "strategy",
            _enum(
                "strategy",
                23,
                "ring_all",
                "longest_idle",
                "round_robin",
                "fewest_calls",
                "least_talk_time",
                "linear",
                "random",
                "weighted_random",
            ),
            nullable=False,
        ),
        sa.Column("ring_timeout", sa.Integer(), nullable=False),
        sa.Column("wrap_up_seconds", sa.Integer(), nullable=False),
        sa.Column("auto_pause_after", sa.Integer(), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("max_wait_seconds", sa.Integer(), nullable=True),
        sa.Column("fallback", sa.JSON(), nullable=True),
        sa.Column("join_when_empty", _enum("joinwhenempty", 14, "join", "refuse"), nullable=False),
        sa.Column("leave_when_empty", _enum("leavewhenempty", 13, "stay", "leave"), nullable=False),
        sa.Column("leave_empty_seconds", sa.Integer(), nullable=False),
        sa.Column("music_on_hold", sa.String(length=100), nullable=False),
        sa.Column("announce_interval", sa.Integer(), nullable=False),
        sa.Column("periodic_prompt", sa.String(length=200), nullable=True),
        sa.Column("periodic_interval", sa.Integer(), nullable=False),
        sa.Column("required_skills", sa.JSON(), nullable=False),
        sa.Column("priority_aging", sa.Double(), nullable=False),
        sa.Column("overflow", sa.JSON(), nullable=False),
        sa.Column("sticky_seconds", sa.Integer(), nullable=False),
        sa.Column("callback_enabled", sa.Boolean(), nullable=False),
        sa.Column("callback_key", sa.String(length=1), nullable=False),
        sa.Column("recording", sa.Boolean(), nullable=False),
        sa.Column("service_level_seconds", sa.Integer(), nullable=False),
        sa.Column("short_abandon_seconds", sa.Integer(), nullable=False),
    )


def _agents() -> None:
    op.create_table(
        "acd_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_tenant("acd_agents"),
        *_timestamps(),
        _fk("acd_agents", "team_id", "acd_teams", "SET NULL"),
        _fk("acd_agents", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acd_agents")),
        sa.UniqueConstraint("user_id", name=op.f("uq_acd_agents_user_id")),
    )


def _runtime_tables() -> None:
    op.create_table(
        "acd_agent_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("login_at", UtcDateTime(), nullable=False),
        sa.Column("logout_at", UtcDateTime(), nullable=True),
        sa.Column("queue_ids", sa.JSON(), nullable=False),
        sa.Column("logout_reason", sa.String(length=100), nullable=False),
        *_tenant("acd_agent_sessions"),
        _fk("acd_agent_sessions", "agent_id", "acd_agents", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acd_agent_sessions")),
    )
    op.create_table(
        "acd_agent_states",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            _enum(
                "agentstate",
                17,
                "offline",
                "available",
                "reserved",
                "on_call",
                "wrap_up",
                "not_ready",
            ),
            nullable=False,
        ),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("pending_reason", sa.String(length=100), nullable=True),
        sa.Column("call_id", sa.String(length=255), nullable=True),
        sa.Column("call_queue_id", sa.Integer(), nullable=True),
        sa.Column("wrap_up_until", UtcDateTime(), nullable=True),
        sa.Column("queue_ids", sa.JSON(), nullable=False),
        sa.Column("missed_offers", sa.Integer(), nullable=False),
        sa.Column("calls_today", sa.Integer(), nullable=False),
        sa.Column("talk_seconds_today", sa.Double(), nullable=False),
        sa.Column("last_call_ended_at", UtcDateTime(), nullable=True),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        *_tenant("acd_agent_states"),
        _fk("acd_agent_states", "agent_id", "acd_agents", "CASCADE"),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_acd_agent_states")),
    )


def upgrade() -> None:
    _queues()
    _named("acd_reason_codes", sa.Column("labels", sa.JSON(), nullable=False))
    _named("acd_skills", sa.Column("description", sa.String(length=500), nullable=False))
    _named("acd_teams", sa.Column("description", sa.String(length=500), nullable=False))
    _agents()
    _link("acd_team_supervisors", ("team_id", "acd_teams"), ("user_id", "users"))
    _runtime_tables()
    _link(
        "acd_agent_skills",
        ("agent_id", "acd_agents"),
        ("skill_id", "acd_skills"),
        sa.Column("level", sa.Integer(), nullable=False),
    )
    _link(
        "acd_memberships",
        ("agent_id", "acd_agents"),
        ("queue_id", "acd_queues"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("penalty", sa.Integer(), nullable=False),
    )
    for table, columns in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column])


def downgrade() -> None:
    for table in reversed(INDEXES):
        op.drop_table(table)
