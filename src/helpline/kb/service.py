"""The knowledge base of a tenant: categories, article drafts, publication, reading,
search and suggestions.

The API functions take the tenant from the principal. Supervisors and admins edit an
article's draft; :func:`publish_article` stores it as the next version, which nothing
changes afterwards, and makes it the live content agents read and search (publishing
a draft equal to the latest version just puts that version back online).
:func:`unpublish_article` takes an article offline; its versions stay.

Agents see published articles only: an unpublished article is a 404 for them, like
another tenant's. :func:`read_article` is how anybody reads the live content and
counts one view; the editors' view (:func:`get_article`) counts none.

:func:`suggest` proposes articles for a call from the IVR nodes the caller passed and
the queue the call is in (the labels articles carry); it takes a tenant id, not a
principal, so that call control and the agent desktop can both use it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.calls.models import CallRecord
from helpline.core.errors import ApiError, Conflict, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned, utcnow
from helpline.ivr.models import IvrPathStep
from helpline.kb import search as kb_search
from helpline.kb.models import Article, ArticleLabel, ArticleVersion, Category, LabelKind
from helpline.kb.schemas import (
    ArticleBrief,
    ArticleCreate,
    ArticleOut,
    ArticleSummary,
    ArticleUpdate,
    ArticleView,
    CategoryCreate,
    CategoryUpdate,
)
from helpline.prompts.language import Language
from helpline.users.models import Role

ARTICLE_AUDITED = ("draft_title", "language", "category_id", "latest_version", "live_version")
CATEGORY_AUDITED = ("name", "description")
SUGGESTIONS = 5
MAX_PATH = 50

Labels = dict[LabelKind, list[str]]


def _editor(principal: Principal) -> bool:
    return principal.has(Role.SUPERVISOR)


# Categories


async def _category_name_free(
    session: AsyncSession, tenant_id: int, name: str, *, own_id: int | None = None
) -> None:
    stmt = select(Category.id).where(Category.tenant_id == tenant_id, Category.name == name)
    if own_id is not None:
        stmt = stmt.where(Category.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"category {name!r} exists", error_id="kb_category_name_taken")


async def list_categories(
    session: AsyncSession, *, principal: Principal, params: PageParams
) -> tuple[list[Category], int]:
    """The categories of the principal's tenant, by name."""
    return await paginate(
        session,
        select(Category).where(Category.tenant_id == principal.tenant_id),
        params,
        sortable={"id": Category.id, "name": Category.name, "created_at": Category.created_at},
        default_sort=(Category.name,),
    )


async def get_category(
    session: AsyncSession, *, principal: Principal, category_id: int
) -> Category:
    """A category of the principal's tenant."""
    return await get_owned(
        session, Category, category_id, tenant_id=principal.tenant_id, what="category"
    )


async def create_category(
    session: AsyncSession, *, principal: Principal, data: CategoryCreate
) -> Category:
    """A new category of the principal's tenant."""
    await _category_name_free(session, principal.tenant_id, data.name)
    category = Category(tenant_id=principal.tenant_id, **data.model_dump())
    session.add(category)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="kb_category",
        obj=category,
        fields=CATEGORY_AUDITED,
    )
    return category


async def update_category(
    session: AsyncSession, *, principal: Principal, category_id: int, data: CategoryUpdate
) -> Category:
    """Rename a category or change its description."""
    category = await get_category(session, principal=principal, category_id=category_id)
    before = audit.snapshot(category, CATEGORY_AUDITED)
    if data.name is not None and data.name != category.name:
        await _category_name_free(session, category.tenant_id, data.name, own_id=category.id)
        category.name = data.name
    if data.description is not None:
        category.description = data.description
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=category.tenant_id,
        action="update",
        entity="kb_category",
        obj=category,
        fields=CATEGORY_AUDITED,
        before=before,
    )
    return category


async def delete_category(session: AsyncSession, *, principal: Principal, category_id: int) -> None:
    """Remove a category no article is filed under (409 ``kb_category_in_use``)."""
    category = await get_category(session, principal=principal, category_id=category_id)
    used = await session.scalar(
        select(func.count()).where(
            Article.tenant_id == category.tenant_id, Article.category_id == category.id
        )
    )
    if used:
        raise Conflict(
            "articles are filed under this category",
            error_id="kb_category_in_use",
            details={"articles": used},
        )
    before = audit.snapshot(category, CATEGORY_AUDITED)
    await session.delete(category)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=category.tenant_id,
        action="delete",
        entity="kb_category",
        obj=category,
        fields=CATEGORY_AUDITED,
        before=before,
    )


# Labels and views


async def _labels(session: AsyncSession, article_ids: Iterable[int]) -> dict[int, Labels]:
    ids = list(article_ids)
    out: dict[int, Labels] = {i: {kind: [] for kind in LabelKind} for i in ids}
    if not ids:
        return out
    rows = await session.execute(
        select(ArticleLabel.article_id, ArticleLabel.kind, ArticleLabel.value)
        .where(ArticleLabel.article_id.in_(ids))
        .order_by(ArticleLabel.id)
    )
    for article_id, kind, value in rows:
        out[article_id][kind].append(value)
    return out


async def _set_labels(
    session: AsyncSession, article: Article, kind: LabelKind, values: Sequence[str]
) -> None:
    await session.execute(
        delete(ArticleLabel).where(ArticleLabel.article_id == article.id, ArticleLabel.kind == kind)
    )
    session.add_all(
        ArticleLabel(tenant_id=article.tenant_id, article_id=article.id, kind=kind, value=value)
        for value in values
    )


async def article_out(session: AsyncSession, article: Article) -> ArticleOut:
    """The editors' view of an article."""
    labels = (await _labels(session, [article.id]))[article.id]
    return ArticleOut(
        id=article.id,
        language=article.language,
        category_id=article.category_id,
        tags=labels[LabelKind.TAG],
        queues=labels[LabelKind.QUEUE],
        ivr_nodes=labels[LabelKind.IVR_NODE],
        draft_title=article.draft_title,
        draft_body=article.draft_body,
        latest_version=article.latest_version,
        live_version=article.live_version,
        published=article.published,
        title=article.title,
        body=article.body,
        published_at=article.published_at,
        view_count=article.view_count,
        created_at=article.created_at,
        updated_at=article.updated_at,
    )


async def _briefs(
    session: AsyncSession, articles: Sequence[Article], words: Sequence[str]
) -> list[ArticleBrief]:
    labels = await _labels(session, (a.id for a in articles))
    return [
        ArticleBrief(
            id=a.id,
            language=a.language,
            category_id=a.category_id,
            tags=labels[a.id][LabelKind.TAG],
            title=a.title or "",
            snippet=kb_search.snippet(a.body or "", words),
            published_at=a.published_at or a.updated_at,
            view_count=a.view_count,
        )
        for a in articles
    ]


# Articles


async def _check_category(session: AsyncSession, tenant_id: int, category_id: int | None) -> None:
    if category_id is None:
        return
    found = await session.get(Category, category_id)
    if found is None or found.tenant_id != tenant_id:
        raise ApiError(
            "no such category",
            error_id="kb_category_unknown",
            status_code=422,
            details={"field": "category_id"},
        )


async def list_articles(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    language: Language | None,
    category_id: int | None,
    tag: str | None,
    published: bool | None,
) -> tuple[list[ArticleSummary], int]:
    """Articles of the principal's tenant, most recently changed first; agents see the
    published ones only."""
    stmt = kb_search.articles(
        principal.tenant_id,
        published=published if _editor(principal) else True,
        language=language,
        category_id=category_id,
        tag=tag,
    )
    rows, total = await paginate(
        session,
        stmt,
        params,
        sortable={
            "id": Article.id,
            "updated_at": Article.updated_at,
            "published_at": Article.published_at,
            "view_count": Article.view_count,
            "title": Article.draft_title,
        },
        default_sort=(Article.updated_at.desc(), Article.id.desc()),
    )
    labels = await _labels(session, (a.id for a in rows))
    return [
        ArticleSummary(
            id=a.id,
            language=a.language,
            category_id=a.category_id,
            tags=labels[a.id][LabelKind.TAG],
            title=a.title if a.title is not None else a.draft_title,
            published=a.published,
            live_version=a.live_version,
            latest_version=a.latest_version,
            published_at=a.published_at,
            view_count=a.view_count,
            updated_at=a.updated_at,
        )
        for a in rows
    ], total


async def get_article(session: AsyncSession, *, principal: Principal, article_id: int) -> Article:
    """An article of the principal's tenant, for its editors (no view counted)."""
    return await get_owned(
        session, Article, article_id, tenant_id=principal.tenant_id, what="article"
    )


async def read_article(
    session: AsyncSession, *, principal: Principal, article_id: int
) -> ArticleView:
    """The live content of a published article, counting one view; an unpublished
    article does not exist for readers."""
    article = await get_article(session, principal=principal, article_id=article_id)
    if article.live_version is None or article.title is None or article.published_at is None:
        raise NotFound("no such article")
    views = await session.scalar(
        update(Article)
        .where(Article.id == article.id)
        .values(view_count=Article.view_count + 1, updated_at=Article.updated_at)
        .returning(Article.view_count)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(article, "view_count", views)
    labels = (await _labels(session, [article.id]))[article.id]
    return ArticleView(
        id=article.id,
        language=article.language,
        category_id=article.category_id,
        tags=labels[LabelKind.TAG],
        title=article.title,
        body=article.body or "",
        version=article.live_version,
        published_at=article.published_at,
        view_count=article.view_count,
    )


async def create_article(
    session: AsyncSession, *, principal: Principal, data: ArticleCreate
) -> Article:
    """A new, unpublished article of the principal's tenant."""
    await _check_category(session, principal.tenant_id, data.category_id)
    article = Article(
        tenant_id=principal.tenant_id,
        language=data.language,
        category_id=data.category_id,
        draft_title=data.title,
        draft_body=data.body,
        latest_version=0,
        view_count=0,
    )
    session.add(article)
    await session.flush()
    await _set_labels(session, article, LabelKind.TAG, data.tags)
    await _set_labels(session, article, LabelKind.QUEUE, data.queues)
    await _set_labels(session, article, LabelKind.IVR_NODE, data.ivr_nodes)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="kb_article",
        obj=article,
        fields=ARTICLE_AUDITED,
    )
    return article


async def update_article(
    session: AsyncSession, *, principal: Principal, article_id: int, data: ArticleUpdate
) -> Article:
    """Change an article's draft (title, body) or metadata (language, category,
    labels); ``category_id: null`` removes the category."""
    article = await get_article(session, principal=principal, article_id=article_id)
    before = audit.snapshot(article, ARTICLE_AUDITED)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "category_id" in changes:
        await _check_category(session, article.tenant_id, data.category_id)
        article.category_id = data.category_id
    if data.title is not None:
        article.draft_title = data.title
    if data.body is not None:
        article.draft_body = data.body
    if data.language is not None:
        article.language = data.language
    for kind, values in (
        (LabelKind.TAG, data.tags),
        (LabelKind.QUEUE, data.queues),
        (LabelKind.IVR_NODE, data.ivr_nodes),
    ):
        if values is not None:
            await _set_labels(session, article, kind, values)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=article.tenant_id,
        action="update",
        entity="kb_article",
        obj=article,
        fields=ARTICLE_AUDITED,
        before=before,
    )
    return article


async def delete_article(session: AsyncSession, *, principal: Principal, article_id: int) -> None:
    """Remove an article with its versions and labels."""
    article = await get_article(session, principal=principal, article_id=article_id)
    before = audit.snapshot(article, ARTICLE_AUDITED)
    await session.delete(article)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=article.tenant_id,
        action="delete",
        entity="kb_article",
        obj=article,
        fields=ARTICLE_AUDITED,
        before=before,
    )


async def _version_row(
    session: AsyncSession, *, tenant_id: int, article_id: int, version: int
) -> ArticleVersion | None:
    stmt = select(ArticleVersion).where(
        ArticleVersion.tenant_id == tenant_id,
        ArticleVersion.article_id == article_id,
        ArticleVersion.version == version,
    )
    return (await session.execute(stmt)).scalars().first()


async def publish_article(
    session: AsyncSession, *, principal: Principal, article_id: int
) -> ArticleVersion:
    """Store the draft as the next version and make it live; a draft equal to the latest
    version puts that version back online (409 ``kb_nothing_to_publish`` if it is
    live already, 422 ``kb_article_empty`` for a draft without a body)."""
    article = await get_article(session, principal=principal, article_id=article_id)
    if not article.draft_body.strip():
        raise ApiError(
            "an article needs a body to be published",
            error_id="kb_article_empty",
            status_code=422,
            details={"field": "body"},
        )
    before = audit.snapshot(article, ARTICLE_AUDITED)
    latest = await _version_row(
        session,
        tenant_id=article.tenant_id,
        article_id=article.id,
        version=article.latest_version,
    )
    unchanged = (
        latest is not None
        and latest.title == article.draft_title
        and latest.body == article.draft_body
    )
    if latest is not None and unchanged:
        if article.live_version == latest.version:
            raise Conflict(
                "the draft is the live version already",
                error_id="kb_nothing_to_publish",
                details={"live_version": latest.version},
            )
        version = latest
    else:
        article.latest_version += 1
        version = ArticleVersion(
            tenant_id=article.tenant_id,
            article_id=article.id,
            version=article.latest_version,
            title=article.draft_title,
            body=article.draft_body,
            published_by=principal.display,
        )
        session.add(version)
    article.live_version = version.version
    article.title = version.title
    article.body = version.body
    article.published_at = utcnow()
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=article.tenant_id,
        action="publish",
        entity="kb_article",
        obj=article,
        fields=ARTICLE_AUDITED,
        before=before,
    )
    return version


async def unpublish_article(
    session: AsyncSession, *, principal: Principal, article_id: int
) -> Article:
    """Take an article offline (agents no longer find or read it); its versions stay."""
    article = await get_article(session, principal=principal, article_id=article_id)
    if article.live_version is None:
        return article
    before = audit.snapshot(article, ARTICLE_AUDITED)
    article.live_version = None
    article.title = None
    article.body = None
    article.published_at = None
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=article.tenant_id,
        action="unpublish",
        entity="kb_article",
        obj=article,
        fields=ARTICLE_AUDITED,
        before=before,
    )
    return article


async def list_versions(
    session: AsyncSession, *, principal: Principal, article_id: int, params: PageParams
) -> tuple[list[ArticleVersion], int]:
    """The published versions of an article, newest first."""
    article = await get_article(session, principal=principal, article_id=article_id)
    return await paginate(
        session,
        select(ArticleVersion).where(
            ArticleVersion.tenant_id == article.tenant_id,
            ArticleVersion.article_id == article.id,
        ),
        params,
        sortable={"version": ArticleVersion.version, "published_at": ArticleVersion.published_at},
        default_sort=(ArticleVersion.version.desc(),),
    )


async def get_version(
    session: AsyncSession, *, principal: Principal, article_id: int, version: int
) -> ArticleVersion:
    """One published version of an article of the principal's tenant."""
    row = await _version_row(
        session, tenant_id=principal.tenant_id, article_id=article_id, version=version
    )
    if row is None:
        raise NotFound("no such article version")
    return row


# Search and suggestions


async def search_articles(
    session: AsyncSession,
    *,
    principal: Principal,
    query: str,
    language: Language | None,
    category_id: int | None,
    tag: str | None,
    params: PageParams,
) -> tuple[list[ArticleBrief], int]:
    """Published articles of the principal's tenant containing every term of ``query``,
    ranked (see :mod:`helpline.kb.search`); results cannot be sorted otherwise."""
    if params.sort:
        raise ApiError(
            "search results are ranked and cannot be sorted",
            error_id="invalid_sort",
            status_code=422,
            details={"sortable": []},
        )
    hits = await kb_search.search(
        session,
        tenant_id=principal.tenant_id,
        query=query,
        language=language,
        category_id=category_id,
        tag=tag,
        limit=params.limit,
        offset=params.offset,
    )
    return await _briefs(session, hits.articles, hits.terms), hits.total


async def path_of_call(
    session: AsyncSession, *, tenant_id: int, call_id: str
) -> tuple[str | None, list[str]]:
    """The queue of a call of ``tenant_id`` (from its call record) and the IVR nodes
    its caller passed, in order."""
    queue = await session.scalar(
        select(CallRecord.queue)
        .where(CallRecord.tenant_id == tenant_id, CallRecord.call_id == call_id)
        .order_by(CallRecord.started_at.desc())
        .limit(1)
    )
    nodes = await session.scalars(
        select(IvrPathStep.node)
        .where(IvrPathStep.tenant_id == tenant_id, IvrPathStep.call_id == call_id)
        .order_by(IvrPathStep.entered_at, IvrPathStep.id)
        .limit(MAX_PATH)
    )
    return queue, list(nodes)


async def suggest(
    session: AsyncSession,
    tenant_id: int,
    *,
    queue: str | None = None,
    ivr_nodes: Sequence[str] = (),
    language: Language | None = None,
    limit: int = SUGGESTIONS,
) -> list[ArticleBrief]:
    """Published articles of ``tenant_id`` for a call that passed ``ivr_nodes`` (in
    order) and waits in or was answered from ``queue``.

    Articles matching more of the call's labels come first; among equals, the one
    whose match lies later in the call's path (the queue counts as its end: the later,
    the more specific the caller's choice), then the most read, then the newest.
    """
    path = list(dict.fromkeys(ivr_nodes))[:MAX_PATH]
    position = {(LabelKind.IVR_NODE, node): i for i, node in enumerate(path)}
    if queue:
        position[(LabelKind.QUEUE, queue)] = len(path)
    if not position:
        return []
    wanted = [
        and_(ArticleLabel.kind == LabelKind.IVR_NODE, ArticleLabel.value.in_(path)),
        and_(ArticleLabel.kind == LabelKind.QUEUE, ArticleLabel.value == (queue or "")),
    ]
    stmt = (
        select(ArticleLabel.article_id, ArticleLabel.kind, ArticleLabel.value)
        .join(Article, Article.id == ArticleLabel.article_id)
        .where(
            ArticleLabel.tenant_id == tenant_id,
            Article.tenant_id == tenant_id,
            Article.live_version.is_not(None),
            or_(*wanted),
        )
    )
    if language is not None:
        stmt = stmt.where(Article.language == language)
    matches: defaultdict[int, list[int]] = defaultdict(list)
    for article_id, kind, value in await session.execute(stmt):
        matches[article_id].append(position[(kind, value)])
    if not matches:
        return []
    rows = await session.scalars(select(Article).where(Article.id.in_(list(matches))))
    found = sorted(
        rows,
        key=lambda a: (
            -len(matches[a.id]),
            -max(matches[a.id]),
            -a.view_count,
            -(a.published_at or a.updated_at).timestamp(),
            -a.id,
        ),
    )
    return await _briefs(session, found[:limit], ())
