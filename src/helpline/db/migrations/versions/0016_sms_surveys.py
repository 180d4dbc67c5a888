"""sms and surveys: gateways, templates, messages and delivery reports; surveys, their
queues, responses and answers

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_gateways",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("kannel", "smpp", name="gatewaykind", native_enum=False, length=14),
            nullable=False,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("password", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("callback_key_digest", sa.String(length=64), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_gateways_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_gateways")),
        sa.UniqueConstraint(
            "callback_key_digest", name=op.f("uq_sms_gateways_callback_key_digest")
        ),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_sms_gateways_tenant_id")),
    )
    op.create_index(op.f("ix_sms_gateways_tenant_id"), "sms_gateways", ["tenant_id"], unique=False)
    op.create_table(
        "sms_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("bodies", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_templates")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_sms_templates_tenant_id")),
    )
    op.create_index(
        op.f("ix_sms_templates_tenant_id"), "sms_templates", ["tenant_id"], unique=False
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("intro", sa.JSON(), nullable=False),
        sa.Column("thanks", sa.JSON(), nullable=False),
        sa.Column("link_text", sa.JSON(), nullable=False),
        sa.Column("timeout_seconds", sa.Double(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("link_valid_hours", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_surveys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_surveys_tenant_id")),
    )
    op.create_index(op.f("ix_surveys_tenant_id"), "surveys", ["tenant_id"], unique=False)
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("outbound", "inbound", name="direction", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sent",
                "delivered",
                "failed",
                "received",
                name="messagestatus",
                native_enum=False,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("gateway_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("own_number", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "coding",
            sa.Enum("gsm7", "ucs2", name="coding", native_enum=False, length=12),
            nullable=False,
        ),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=50), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_sms_messages_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["sms_gateways.id"],
            name=op.f("fk_sms_messages_gateway_id_sms_gateways"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["sms_templates.id"],
            name=op.f("fk_sms_messages_template_id_sms_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
    )
    op.create_index(
        op.f("ix_sms_messages_customer_id"), "sms_messages", ["customer_id"], unique=False
    )
    op.create_index(
        "ix_sms_messages_due", "sms_messages", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(op.f("ix_sms_messages_number"), "sms_messages", ["number"], unique=False)
    op.create_index(
        "ix_sms_messages_remote", "sms_messages", ["gateway_id", "remote_id"], unique=False
    )
    op.create_index(op.f("ix_sms_messages_status"), "sms_messages", ["status"], unique=False)
    op.create_index(op.f("ix_sms_messages_tenant_id"), "sms_messages", ["tenant_id"], unique=False)
    op.create_table(
        "survey_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("keypad", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["acd_queues.id"],
            name=op.f("fk_survey_queues_queue_id_acd_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_queues_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_survey_queues_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_queues")),
        sa.UniqueConstraint("queue_id", name=op.f("uq_survey_queues_queue_id")),
    )
    op.create_index(
        op.f("ix_survey_queues_survey_id"), "survey_queues", ["survey_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_queues_tenant_id"), "survey_queues", ["tenant_id"], unique=False
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("keypad", "sms", name="channel", native_enum=False, length=14),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "partial",
                "complete",
                name="responsestatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("call_id", sa.String(length=255), nullable=True),
        sa.Column("call_record_id", sa.Integer(), nullable=True),
        sa.Column("agent", sa.String(length=100), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("sms_message_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_survey_responses_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_responses_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_survey_responses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_survey_responses_token_digest")),
    )
    op.create_index(op.f("ix_survey_responses_agent"), "survey_responses", ["agent"], unique=False)
    op.create_index(
        op.f("ix_survey_responses_call_id"), "survey_responses", ["call_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_responses_call_record_id"),
        "survey_responses",
        ["call_record_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_survey_responses_customer_id"), "survey_responses", ["customer_id"], unique=False
    )
    op.create_index(op.f("ix_survey_responses_queue"), "survey_responses", ["queue"], unique=False)
    op.create_index(
        op.f("ix_survey_responses_status"), "survey_responses", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_survey_responses_survey_id"), "survey_responses", ["survey_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_responses_tenant_id"), "survey_responses", ["tenant_id"], unique=False
    )
    op.create_table(
        "sms_delivery_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "queued",
                "sent",
                "delivered",
                "failed",
                "received",
                name="messagestatus",
                native_enum=False,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["sms_messages.id"],
            name=op.f("fk_sms_delivery_reports_message_id_sms_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_delivery_reports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_delivery_reports")),
    )
    op.create_index(
        op.f("ix_sms_delivery_reports_message_id"),
        "sms_delivery_reports",
        ["message_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_sms_delivery_reports_tenant_id"),
        "sms_delivery_reports",
        ["tenant_id"],
        unique=False,
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("answered_at", UtcDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_responses.id"],
            name=op.f("fk_survey_answers_response_id_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_survey_answers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("response_id", "question", name=op.f("uq_survey_answers_response_id")),
    )
    op.create_index(
        op.f("ix_survey_answers_response_id"), "survey_answers", ["response_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_answers_tenant_id"), "survey_answers", ["tenant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_answers_tenant_id"), table_name="survey_answers")
    op.drop_index(op.f("ix_survey_answers_response_id"), table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index(op.f("ix_sms_delivery_reports_tenant_id"), table_name="sms_delivery_reports")
    op.drop_index(op.f("ix_sms_delivery_reports_message_id"), table_name="sms_delivery_reports")
    op.drop_table("sms_delivery_reports")
    op.drop_index(op.f("ix_survey_responses_tenant_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_survey_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_status"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_queue"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_customer_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_call_record_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_call_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_agent"), table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index(op.f("ix_survey_queues_tenant_id"), table_name="survey_queues")
    op.drop_index(op.f("ix_survey_queues_survey_id"), table_name="survey_queues")
    op.drop_table("survey_queues")
    op.drop_index(op.f("ix_sms_messages_tenant_id"), table_name="sms_messages")
    op.drop_index(op.f("ix_sms_messages_status"), table_name="sms_messages")
    op.drop_index("ix_sms_messages_remote", table_name="sms_messages")
    op.drop_index(op.f("ix_sms_messages_number"), table_name="sms_messages")
    op.drop_index("ix_sms_messages_due", table_name="sms_messages")
    op.drop_index(op.f("ix_sms_messages_customer_id"), table_name="sms_messages")
    op.drop_table("sms_messages")
    op.drop_index(op.f("ix_surveys_tenant_id"), table_name="surveys")
    op.drop_table("surveys")
    op.drop_index(op.f("ix_sms_templates_tenant_id"), table_name="sms_templates")
    op.drop_table("sms_templates")
    op.drop_index(op.f("ix_sms_gateways_tenant_id"), table_name="sms_gateways")
    op.drop_table("sms_gateways")
