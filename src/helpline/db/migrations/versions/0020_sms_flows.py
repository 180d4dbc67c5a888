"""satisfaction in the statistics rollup (answers keep their scale), durable
after-call survey link jobs, and the parts of SMPP messages sent in several

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-23 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOT_COUNTS = ("survey_responses", "survey_answers", "survey_top_two")


def _backfill_scales() -> None:
    """Give stored answers the scale of their question (1-5 unless the survey says)."""
    bind = op.get_bind()
    surveys = sa.table("surveys", sa.column("id", sa.Integer), sa.column("questions", sa.JSON))
    responses = sa.table(
        "survey_responses", sa.column("id", sa.Integer), sa.column("survey_id", sa.Integer)
    )
    answers = sa.table(
        "survey_answers",
        sa.column("response_id", sa.Integer),
        sa.column("question", sa.String),
        sa.column("low", sa.Integer),
        sa.column("high", sa.Integer),
    )
    for survey_id, questions in bind.execute(sa.select(surveys.c.id, surveys.c.questions)):
        for question in questions or []:
            ids = sa.select(responses.c.id).where(responses.c.survey_id == survey_id)
            bind.execute(
                answers.update()
                .where(answers.c.response_id.in_(ids), answers.c.question == question.get("key"))
                .values(low=int(question.get("low", 1)), high=int(question.get("high", 5)))
            )


def upgrade() -> None:
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("low", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("high", sa.Integer(), nullable=False, server_default="0"))
    _backfill_scales()
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        for column in ("low", "high"):
            batch_op.alter_column(column, server_default=None)
    with op.batch_alter_table("stats_slots", schema=None) as batch_op:
        for column in SLOT_COUNTS:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("survey_score", sa.Double(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("stats_slots", schema=None) as batch_op:
        for column in (*SLOT_COUNTS, "survey_score"):
            batch_op.alter_column(column, server_default=None)
    # The rollup is summed again from the records (now with the surveys) on next read.
    op.execute("DELETE FROM stats_slots")
    op.execute("DELETE FROM stats_rollup_state")
    op.create_table(
        "survey_link_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("done_at", UtcDateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_survey_link_jobs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_link_jobs")),
        sa.UniqueConstraint("tenant_id", "call_id", name=op.f("uq_survey_link_jobs_tenant_id")),
    )
    with op.batch_alter_table("survey_link_jobs", schema=None) as batch_op:
        for column in ("due_at", "done_at", "tenant_id"):
            batch_op.create_index(batch_op.f(f"ix_survey_link_jobs_{column}"), [column])
    _create_sms_parts()


def _create_sms_parts() -> None:
    statuses = ("queued", "sent", "delivered", "failed", "received")
    op.create_table(
        "sms_message_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("gateway_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*statuses, name="messagestatus", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["sms_messages.id"],
            name=op.f("fk_sms_message_parts_message_id_sms_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_message_parts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message_parts")),
        sa.UniqueConstraint("message_id", "seq", name=op.f("uq_sms_message_parts_message_id")),
    )
    with op.batch_alter_table("sms_message_parts", schema=None) as batch_op:
        batch_op.create_index("ix_sms_message_parts_remote", ["gateway_id", "remote_id"])
        batch_op.create_index(batch_op.f("ix_sms_message_parts_tenant_id"), ["tenant_id"])


def downgrade() -> None:
    op.drop_table("sms_message_parts")
    op.drop_table("survey_link_jobs")
    with op.batch_alter_table("stats_slots", schema=None) as batch_op:
        for column in ("survey_score", *reversed(SLOT_COUNTS)):
            batch_op.drop_column(column)
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.drop_column("high")
        batch_op.drop_column("low")
