"""Full-text search over published articles, for English, Chinese and Korean alike.

Chinese has no spaces and Korean words carry particles ("환불은", "환불을"), so word
tokenizers miss most matches; both backends index character trigrams instead and a
query term matches as a substring of the title or body:

* SQLite: an FTS5 table ``kb_search`` with the ``trigram`` tokenizer (SQLite >= 3.34)
  over ``kb_articles.title`` and ``body`` (external content: the text is not copied),
  kept in sync by triggers that migration 0014 creates. Terms of three characters or
  more go to ``MATCH``; shorter ones ("退款" is two characters) cannot form a trigram
  and are matched with ``LIKE`` on the article row.
* PostgreSQL: the ``pg_trgm`` extension and GIN trigram indexes on ``title`` and
  ``body``; every term is an ``ILIKE '%term%'``, which the index serves from three
  characters on (shorter patterns are still answered, by a scan).

The query is split on white space; an article must contain every term (in its title
or body). Results are ranked by the number of terms found in the title, then by
publication time, newest first, then by id, the same on both backends. Only the live
content is indexed (``title``/``body`` are null while an article is unpublished), so
drafts are never found.

The index objects are not in the models; :func:`include_name` keeps Alembic's
comparison of models and database from reporting them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, case, column, func, literal, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from helpline.kb.models import Article, ArticleLabel, LabelKind
from helpline.prompts.language import Language

MIN_TRIGRAM = 3
MAX_TERMS = 8
SNIPPET_BEFORE: Final = 60
SNIPPET_LENGTH: Final = 220

SEARCH_TABLE: Final = "kb_search"
"""The SQLite FTS5 table; FTS5 adds the shadow tables below."""
SEARCH_TABLES: Final = frozenset(
    {
        SEARCH_TABLE,
        *(f"{SEARCH_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config")),
    }
)
TRIGRAM_INDEXES: Final = frozenset({"ix_kb_articles_title_trgm", "ix_kb_articles_body_trgm"})
"""The PostgreSQL GIN trigram indexes."""

_FTS = table(SEARCH_TABLE, column("rowid"), column(SEARCH_TABLE))
_SPACE = re.compile(r"\s+")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: leave the search index objects (the FTS5 table and
    its shadow tables, the trigram indexes) out of autogenerate and model comparison."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    if type_ == "index":
        return name not in TRIGRAM_INDEXES
    return True


def terms(query: str) -> list[str]:
    """The distinct white-space separated terms of ``query`` (at most ``MAX_TERMS``)."""
    return list(dict.fromkeys(query.split()))[:MAX_TERMS]


def fts_query(words: Sequence[str]) -> str:
    """An FTS5 query requiring every word as a phrase (quotes doubled inside)."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _contains(col: InstrumentedAttribute[str | None], term: str) -> ColumnElement[bool]:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return col.ilike(f"%{escaped}%", escape="\\")


def _term_filter(dialect: str, words: list[str]) -> list[ColumnElement[bool]]:
    if dialect != "sqlite":
        return [_contains(Article.title, w) | _contains(Article.body, w) for w in words]
    long_terms = [w for w in words if len(w) >= MIN_TRIGRAM]
    where: list[ColumnElement[bool]] = [
        _contains(Article.title, w) | _contains(Article.body, w)
        for w in words
        if len(w) < MIN_TRIGRAM
    ]
    if long_terms:
        matched = select(_FTS.c.rowid).where(
            _FTS.c[SEARCH_TABLE].op("MATCH")(literal(fts_query(long_terms)))
        )
        where.append(Article.id.in_(matched))
    return where


def articles(
    tenant_id: int,
    *,
    published: bool | None = True,
    language: Language | None = None,
    category_id: int | None = None,
    tag: str | None = None,
) -> Select[Article]:
    """Articles of ``tenant_id``: published ones (``published=True``), unpublished ones
    (``False``) or all (``None``), optionally of one language, category or tag."""
    stmt = select(Article).where(Article.tenant_id == tenant_id)
    if published is not None:
        live = Article.live_version.is_not(None)
        stmt = stmt.where(live if published else ~live)
    if language is not None:
        stmt = stmt.where(Article.language == language)
    if category_id is not None:
        stmt = stmt.where(Article.category_id == category_id)
    if tag is not None:
        tagged = select(ArticleLabel.article_id).where(
            ArticleLabel.tenant_id == tenant_id,
            ArticleLabel.kind == LabelKind.TAG,
            ArticleLabel.value == tag.strip().lower(),
        )
        stmt = stmt.where(Article.id.in_(tagged))
    return stmt


@dataclass(frozen=True, slots=True)
class Hits:
    """One page of search results and how many there are in all."""

    articles: list[Article]
    total: int
    terms: list[str]


async def search(
    session: AsyncSession,
    *,
    tenant_id: int,
    query: str,
    language: Language | None = None,
    category_id: int | None = None,
    tag: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Hits:
    """Published articles of ``tenant_id`` containing every term of ``query``, best
    first; an empty query lists them all, newest first."""
    words = terms(query)
    dialect = session.get_bind().dialect.name
    stmt = articles(tenant_id, language=language, category_id=category_id, tag=tag)
    stmt = stmt.where(*_term_filter(dialect, words))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    title_hits: ColumnElement[Any] = literal(0)
    for word in words:
        title_hits = title_hits + case((_contains(Article.title, word), 1), else_=0)
    stmt = stmt.order_by(title_hits.desc(), Article.published_at.desc(), Article.id.desc())
    rows = await session.execute(stmt.limit(limit).offset(offset))
    return Hits(articles=list(rows.scalars()), total=total or 0, terms=words)


def snippet(body: str, words: Sequence[str]) -> str:
    """About ``SNIPPET_LENGTH`` characters of ``body`` on one line, starting a little
    before the first term found (or at the beginning)."""
    flat = _SPACE.sub(" ", body).strip()
    start = 0
    if words:
        folded = flat.lower()
        found = [i for i in (folded.find(w.lower()) for w in words) if i >= 0]
        if found and len(folded) == len(flat):
            start = max(0, min(found) - SNIPPET_BEFORE)
    piece = flat[start : start + SNIPPET_LENGTH]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + SNIPPET_LENGTH < len(flat) else ""
    return f"{prefix}{piece}{suffix}"
