"""Knowledge base: categories, articles with an editable draft, their published versions.

An :class:`Article` holds its draft (``draft_title``, ``draft_body``), edited freely by
supervisors, and the content agents read (``title``, ``body``: a copy of the live
version, null while the article is unpublished). Publishing stores the draft as the next
:class:`ArticleVersion`, which nothing changes afterwards, and makes it live. Tags and
the queues and IVR nodes an article is suggested for are :class:`ArticleLabel` rows, so
that "articles for queue *support*" is an indexed lookup.

The search index over ``title`` and ``body`` is not part of these models: an FTS5
``trigram`` table kept in sync by triggers on SQLite, ``pg_trgm`` GIN indexes on
PostgreSQL, both created by migration 0014 (see :mod:`helpline.kb.search`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum, utcnow
from helpline.prompts.language import Language

MAX_TITLE = 200
MAX_LABEL = 100


class LabelKind(StrEnum):
    """What an :class:`ArticleLabel` says about its article."""

    TAG = "tag"
    QUEUE = "queue"
    """Suggest the article to agents answering calls from this queue."""
    IVR_NODE = "ivr_node"
    """Suggest the article when the caller passed this IVR node."""


class Category(TenantOwned, Timestamped, Base):
    """A category of a tenant's articles ("Billing", "Accounts" ...)."""

    __tablename__ = "kb_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")


class Article(TenantOwned, Timestamped, Base):
    """An article: its draft, its live content and how often agents read it."""

    __tablename__ = "kb_articles"
    __table_args__ = (Index("ix_kb_articles_tenant_live", "tenant_id", "live_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="SET NULL"), index=True, default=None
    )
    language: Mapped[Language] = mapped_column(str_enum(Language))
    draft_title: Mapped[str] = mapped_column(String(MAX_TITLE))
    draft_body: Mapped[str] = mapped_column(Text, default="")
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    """0 until the first publication."""
    live_version: Mapped[int | None] = mapped_column(Integer, default=None)
    """The version agents read; null while unpublished."""
    title: Mapped[str | None] = mapped_column(String(MAX_TITLE), default=None)
    """The live version's title (what search and agents see); null while unpublished."""
    body: Mapped[str | None] = mapped_column(Text, default=None)
    """The live version's body; null while unpublished."""
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """When the live version went live."""
    view_count: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def published(self) -> bool:
        """Whether agents can read the article."""
        return self.live_version is not None


class ArticleVersion(TenantOwned, Base):
    """A published, immutable version of an article's title and body."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))
    """``user@tenant`` of the publisher (kept when the user is deleted)."""


class ArticleLabel(TenantOwned, Base):
    """A tag of an article, or a queue or IVR node it is suggested for."""

    __tablename__ = "kb_article_labels"
    __table_args__ = (
        UniqueConstraint("article_id", "kind", "value"),
        Index("ix_kb_article_labels_lookup", "tenant_id", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    kind: Mapped[LabelKind] = mapped_column(str_enum(LabelKind))
    value: Mapped[str] = mapped_column(String(MAX_LABEL))
