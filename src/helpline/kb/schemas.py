"""API shapes for the knowledge base: categories, articles, versions, search results.

Supervisors edit an article's draft (:class:`ArticleCreate`, :class:`ArticleUpdate`)
and see it with :class:`ArticleOut`; agents read the live version
(:class:`ArticleView`) and get :class:`ArticleBrief` items from search and suggestions.
Labels (tags, queues, IVR nodes) are trimmed, deduplicated and free of control
characters; tags are also lowercased so that ``Refund`` and ``refund`` are one tag.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpline.kb.models import MAX_LABEL, MAX_TITLE
from helpline.prompts.language import Language

MAX_BODY = 100_000
MAX_LABELS = 50
MAX_QUERY = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_line(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if _CONTROL.search(value) or "\n" in value or "\r" in value:
        raise ValueError("control characters are not allowed")
    return value


def _clean_body(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _labels(values: list[str]) -> list[str]:
    return list(dict.fromkeys(_clean_line(v) for v in values))


def _tags(values: list[str]) -> list[str]:
    return list(dict.fromkeys(_clean_line(v).lower() for v in values))


Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE), AfterValidator(_clean_line)]
Body = Annotated[str, Field(max_length=MAX_BODY), AfterValidator(_clean_body)]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]
Labels = Annotated[list[Label], Field(max_length=MAX_LABELS), AfterValidator(_labels)]
Tags = Annotated[list[Label], Field(max_length=MAX_LABELS), AfterValidator(_tags)]
CategoryName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_clean_line)]
Description = Annotated[str, Field(max_length=500), AfterValidator(_clean_body)]


class CategoryCreate(BaseModel):
    """A new category of the principal's tenant."""

    model_config = ConfigDict(extra="forbid")

    name: CategoryName
    description: Description = ""


class CategoryUpdate(BaseModel):
    """Changes to a category; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    name: CategoryName | None = None
    description: Description | None = None


class CategoryOut(BaseModel):
    """A category."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


class ArticleCreate(BaseModel):
    """A new, unpublished article: its draft and where it belongs."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = ""
    language: Language = Language.EN
    category_id: int | None = None
    tags: Tags = Field(default_factory=list)
    queues: Labels = Field(default_factory=list, description="Suggest for these queues.")
    ivr_nodes: Labels = Field(
        default_factory=list, description="Suggest when the caller passed these IVR nodes."
    )


class ArticleUpdate(BaseModel):
    """Changes to an article's draft and metadata; omitted fields stay.

    Title and body change the draft only: agents keep reading the live version until
    the draft is published. Language, category and labels apply at once.
    ``category_id: null`` removes the category.
    """

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    language: Language | None = None
    category_id: int | None = None
    tags: Tags | None = None
    queues: Labels | None = None
    ivr_nodes: Labels | None = None


class ArticleOut(BaseModel):
    """An article as its editors see it: draft, live version and metadata."""

    id: int
    language: Language
    category_id: int | None
    tags: list[str]
    queues: list[str]
    ivr_nodes: list[str]
    draft_title: str
    draft_body: str
    latest_version: int
    live_version: int | None
    published: bool
    title: str | None
    body: str | None
    published_at: datetime | None
    view_count: int
    created_at: datetime
    updated_at: datetime


class ArticleView(BaseModel):
    """A published article as agents read it."""

    id: int
    language: Language
    category_id: int | None
    tags: list[str]
    title: str
    body: str
    version: int
    published_at: datetime
    view_count: int


class ArticleSummary(BaseModel):
    """An article in a list; ``title`` is the live title, or the draft's when unpublished."""

    id: int
    language: Language
    category_id: int | None
    tags: list[str]
    title: str
    published: bool
    live_version: int | None
    latest_version: int
    published_at: datetime | None
    view_count: int
    updated_at: datetime


class ArticleBrief(BaseModel):
    """A published article found by search or suggested for a call."""

    id: int
    language: Language
    category_id: int | None
    tags: list[str]
    title: str
    snippet: str
    """A piece of the body around the first match (or its beginning)."""
    published_at: datetime
    view_count: int


class VersionSummary(BaseModel):
    """A published version in a list."""

    model_config = ConfigDict(from_attributes=True)

    article_id: int
    version: int
    title: str
    published_at: datetime
    published_by: str


class VersionOut(VersionSummary):
    """A published version with its body."""

    body: str
