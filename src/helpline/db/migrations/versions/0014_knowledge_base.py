"""knowledge_base: categories, articles, their versions and labels, the search index

The search index is per backend (see helpline.kb.search): on SQLite an FTS5 table
``kb_search`` with the trigram tokenizer over ``kb_articles.title``/``body`` (external
content) and triggers keeping it in sync; on PostgreSQL the pg_trgm extension and GIN
trigram indexes on the same columns. A later migration that rebuilds ``kb_articles``
on SQLite (batch mode copies the table) must recreate the triggers and run
``INSERT INTO kb_search(kb_search) VALUES ('rebuild')``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpline.db.base import UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FTS_INSERT = "INSERT INTO kb_search(rowid, title, body) VALUES (new.id, new.title, new.body);"
_FTS_DELETE = (
    "INSERT INTO kb_search(kb_search, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body);"
)
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE kb_search USING fts5("
    "title, body, content='kb_articles', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER kb_articles_search_insert AFTER INSERT ON kb_articles BEGIN {_FTS_INSERT} END",
    f"CREATE TRIGGER kb_articles_search_delete AFTER DELETE ON kb_articles BEGIN {_FTS_DELETE} END",
    "CREATE TRIGGER kb_articles_search_update AFTER UPDATE OF title, body ON kb_articles "
    f"BEGIN {_FTS_DELETE} {_FTS_INSERT} END",
)
POSTGRES_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_kb_articles_title_trgm ON kb_articles USING gin (title gin_trgm_ops)",
    "CREATE INDEX ix_kb_articles_body_trgm ON kb_articles USING gin (body gin_trgm_ops)",
)


def _enum(*values: str) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, length=max(map(len, values)) + 8)


def _tenant(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
    ]


def _article_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["article_id"],
        ["kb_articles.id"],
        name=op.f(f"fk_{table}_article_id_kb_articles"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "kb_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        *_tenant("kb_categories"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_categories")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_kb_categories_tenant_id")),
    )
    op.create_index(op.f("ix_kb_categories_tenant_id"), "kb_categories", ["tenant_id"])
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("language", _enum("en", "zh", "ko"), nullable=False),
        sa.Column("draft_title", sa.String(length=200), nullable=False),
        sa.Column("draft_body", sa.Text(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("live_version", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        *_tenant("kb_articles"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_articles_category_id_kb_categories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    op.create_index(op.f("ix_kb_articles_tenant_id"), "kb_articles", ["tenant_id"])
    op.create_index(op.f("ix_kb_articles_category_id"), "kb_articles", ["category_id"])
    op.create_index("ix_kb_articles_tenant_live", "kb_articles", ["tenant_id", "live_version"])
    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        *_tenant("kb_article_versions"),
        _article_fk("kb_article_versions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint(
            "article_id", "version", name=op.f("uq_kb_article_versions_article_id")
        ),
    )
    op.create_index(op.f("ix_kb_article_versions_tenant_id"), "kb_article_versions", ["tenant_id"])
    op.create_table(
        "kb_article_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("tag", "queue", "ivr_node"), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        *_tenant("kb_article_labels"),
        _article_fk("kb_article_labels"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_labels")),
        sa.UniqueConstraint(
            "article_id", "kind", "value", name=op.f("uq_kb_article_labels_article_id")
        ),
    )
    op.create_index(op.f("ix_kb_article_labels_tenant_id"), "kb_article_labels", ["tenant_id"])
    op.create_index(
        "ix_kb_article_labels_lookup", "kb_article_labels", ["tenant_id", "kind", "value"]
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS kb_articles_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS kb_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_kb_articles_body_trgm")
        op.execute("DROP INDEX IF EXISTS ix_kb_articles_title_trgm")
    op.drop_table("kb_article_labels")
    op.drop_table("kb_article_versions")
    op.drop_table("kb_articles")
    op.drop_table("kb_categories")
