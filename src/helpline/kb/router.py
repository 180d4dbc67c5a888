"""HTTP routes for the knowledge base of the caller's tenant (agents read published
articles, supervisors and admins write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from helpline.api.deps import AnyUser, Db, Supervisor
from helpline.core.pagination import Page, PageParams
from helpline.kb import service
from helpline.kb.schemas import (
    MAX_QUERY,
    ArticleBrief,
    ArticleCreate,
    ArticleOut,
    ArticleSummary,
    ArticleUpdate,
    ArticleView,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    VersionOut,
    VersionSummary,
)
from helpline.prompts.language import Language

router = APIRouter(prefix="/kb", tags=["knowledge base"])


@router.get("/categories", response_model=Page[CategoryOut])
async def list_categories(
    db: Db, principal: AnyUser, params: Annotated[PageParams, Query()]
) -> object:
    """Categories of the tenant, by name unless ``sort`` says otherwise."""
    items, total = await service.list_categories(db, principal=principal, params=params)
    return Page[CategoryOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/categories", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(data: CategoryCreate, db: Db, principal: Supervisor) -> object:
    """A new category."""
    return await service.create_category(db, principal=principal, data=data)


@router.get("/categories/{category_id}", response_model=CategoryOut)
async def get_category(category_id: int, db: Db, principal: AnyUser) -> object:
    """One category."""
    return await service.get_category(db, principal=principal, category_id=category_id)


@router.patch("/categories/{category_id}", response_model=CategoryOut)
async def update_category(
    category_id: int, data: CategoryUpdate, db: Db, principal: Supervisor
) -> object:
    """Rename a category or change its description."""
    return await service.update_category(
        db, principal=principal, category_id=category_id, data=data
    )


@router.delete("/categories/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: int, db: Db, principal: Supervisor) -> None:
    """Remove a category no article is filed under (409 ``kb_category_in_use``)."""
    await service.delete_category(db, principal=principal, category_id=category_id)


@router.get("/articles", response_model=Page[ArticleSummary])
async def list_articles(
    db: Db,
    principal: AnyUser,
    params: Annotated[PageParams, Query()],
    language: Language | None = None,
    category_id: int | None = None,
    tag: str | None = None,
    published: bool | None = None,
) -> object:
    """Articles of the tenant, most recently changed first; agents see the published
    ones only (``published`` filters for editors)."""
    items, total = await service.list_articles(
        db,
        principal=principal,
        params=params,
        language=language,
        category_id=category_id,
        tag=tag,
        published=published,
    )
    return Page[ArticleSummary](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/articles", response_model=ArticleOut, status_code=status.HTTP_201_CREATED)
async def create_article(data: ArticleCreate, db: Db, principal: Supervisor) -> object:
    """A new, unpublished article; ``title`` and ``body`` are its draft."""
    article = await service.create_article(db, principal=principal, data=data)
    return await service.article_out(db, article)


@router.get("/articles/{article_id}", response_model=ArticleView)
async def read_article(article_id: int, db: Db, principal: AnyUser) -> object:
    """The live content of a published article; counts one view (404 if unpublished)."""
    return await service.read_article(db, principal=principal, article_id=article_id)


@router.get("/articles/{article_id}/draft", response_model=ArticleOut)
async def get_article(article_id: int, db: Db, principal: Supervisor) -> object:
    """An article as its editors see it: draft, live version, labels (no view counted)."""
    article = await service.get_article(db, principal=principal, article_id=article_id)
    return await service.article_out(db, article)


@router.patch("/articles/{article_id}", response_model=ArticleOut)
async def update_article(
    article_id: int, data: ArticleUpdate, db: Db, principal: Supervisor
) -> object:
    """Change the draft (title, body; agents keep reading the live version) or the
    metadata (language, category, tags, queues, IVR nodes; at once)."""
    article = await service.update_article(
        db, principal=principal, article_id=article_id, data=data
    )
    return await service.article_out(db, article)


@router.delete("/articles/{article_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_article(article_id: int, db: Db, principal: Supervisor) -> None:
    """Remove an article with its versions."""
    await service.delete_article(db, principal=principal, article_id=article_id)


@router.post(
    "/articles/{article_id}/publish",
    response_model=VersionOut,
    status_code=status.HTTP_201_CREATED,
)
async def publish_article(article_id: int, db: Db, principal: Supervisor) -> object:
    """Store the draft as the next version and make it live (409
    ``kb_nothing_to_publish`` if it is live already, 422 ``kb_article_empty``)."""
    return await service.publish_article(db, principal=principal, article_id=article_id)


@router.post("/articles/{article_id}/unpublish", response_model=ArticleOut)
async def unpublish_article(article_id: int, db: Db, principal: Supervisor) -> object:
    """Take an article offline; its versions stay."""
    article = await service.unpublish_article(db, principal=principal, article_id=article_id)
    return await service.article_out(db, article)


@router.get("/articles/{article_id}/versions", response_model=Page[VersionSummary])
async def list_versions(
    article_id: int, db: Db, principal: Supervisor, params: Annotated[PageParams, Query()]
) -> object:
    """Published versions of an article, newest first."""
    items, total = await service.list_versions(
        db, principal=principal, article_id=article_id, params=params
    )
    return Page[VersionSummary](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/articles/{article_id}/versions/{version}", response_model=VersionOut)
async def get_version(article_id: int, version: int, db: Db, principal: Supervisor) -> object:
    """One published version with its body."""
    return await service.get_version(
        db, principal=principal, article_id=article_id, version=version
    )


@router.get("/search", response_model=Page[ArticleBrief])
async def search(
    db: Db,
    principal: AnyUser,
    params: Annotated[PageParams, Query()],
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    language: Language | None = None,
    category_id: int | None = None,
    tag: str | None = None,
) -> object:
    """Published articles containing every word of ``q`` in their title or body (any
    length, Chinese and Korean too), title matches first, then the newest; without
    ``q``, the newest articles."""
    items, total = await service.search_articles(
        db,
        principal=principal,
        query=q,
        language=language,
        category_id=category_id,
        tag=tag,
        params=params,
    )
    return Page[ArticleBrief](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/suggest", response_model=list[ArticleBrief])
async def suggest(
    db: Db,
    principal: AnyUser,
    queue: str | None = None,
    node: Annotated[list[str] | None, Query(description="IVR nodes passed, in order.")] = None,
    call_id: str | None = None,
    language: Language | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = service.SUGGESTIONS,
) -> object:
    """Articles for a call, from the queue and the IVR nodes its caller passed: given
    as ``queue`` and repeated ``node``, or looked up from ``call_id`` (its call record
    and IVR path), or both."""
    nodes = list(node or [])
    if call_id:
        call_queue, path = await service.path_of_call(
            db, tenant_id=principal.tenant_id, call_id=call_id
        )
        queue = queue or call_queue
        nodes = path + nodes
    return await service.suggest(
        db, principal.tenant_id, queue=queue, ivr_nodes=nodes, language=language, limit=limit
    )
