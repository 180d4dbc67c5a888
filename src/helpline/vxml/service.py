"""VoiceXML documents of a tenant: upload (validated), list, get, delete.

A document is parsed and checked against the supported subset before it is stored
(:func:`helpline.vxml.parser.parse_document`); a refused one raises an
:class:`~helpline.core.errors.ApiError` ``unsupported_vxml`` or ``invalid_vxml`` (422)
whose details list each problem with its line, element and attribute. The audit log
records name and size, not the text.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, Conflict
from helpline.core.pagination import PageParams, paginate
from helpline.db.base import get_owned
from helpline.vxml.models import VxmlDocument
from helpline.vxml.parser import VxmlError, parse_document
from helpline.vxml.schemas import VxmlDocumentCreate

AUDITED = ("name", "size_bytes")


def validate(source: str) -> None:
    """Raise the API error for a document outside the supported subset."""
    try:
        parse_document(source)
    except VxmlError as exc:
        raise ApiError(
            str(exc),
            error_id=exc.error_id,
            status_code=422,
            details=[p.as_detail() for p in exc.problems],
        ) from None


async def list_documents(
    session: AsyncSession, *, principal: Principal, params: PageParams, name: str | None
) -> tuple[list[VxmlDocument], int]:
    """The documents of the principal's tenant, by name."""
    return await paginate(
        session,
        select(VxmlDocument).where(VxmlDocument.tenant_id == principal.tenant_id),
        params,
        sortable={
            "id": VxmlDocument.id,
            "name": VxmlDocument.name,
            "created_at": VxmlDocument.created_at,
        },
        filters={"name": (VxmlDocument.name, name)},
        default_sort=(VxmlDocument.name,),
    )


async def get_document(
    session: AsyncSession, *, principal: Principal, document_id: int
) -> VxmlDocument:
    """A document of the principal's tenant."""
    return await get_owned(
        session, VxmlDocument, document_id, tenant_id=principal.tenant_id, what="vxml document"
    )


async def source_by_name(session: AsyncSession, *, tenant_id: int, name: str) -> str | None:
    """The text of ``tenant_id``'s document ``name`` (for call control), None if absent."""
    return await _source(session, tenant_id, VxmlDocument.name == name)


async def source_by_id(session: AsyncSession, *, tenant_id: int, document_id: int) -> str | None:
    """The text of ``tenant_id``'s document ``document_id`` (a service's target)."""
    return await _source(session, tenant_id, VxmlDocument.id == document_id)


async def _source(session: AsyncSession, tenant_id: int, which: ColumnElement[bool]) -> str | None:
    stmt = select(VxmlDocument.source).where(VxmlDocument.tenant_id == tenant_id, which)
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_document(
    session: AsyncSession, *, principal: Principal, data: VxmlDocumentCreate
) -> VxmlDocument:
    """Validate and store a new document of the principal's tenant."""
    stmt = select(VxmlDocument.id).where(
        VxmlDocument.tenant_id == principal.tenant_id, VxmlDocument.name == data.name
    )
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"vxml document {data.name!r} exists", error_id="vxml_name_taken")
    validate(data.source)
    document = VxmlDocument(
        tenant_id=principal.tenant_id,
        name=data.name,
        source=data.source,
        size_bytes=len(data.source.encode()),
    )
    session.add(document)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="vxml_document",
        obj=document,
        fields=AUDITED,
    )
    return document


async def delete_document(session: AsyncSession, *, principal: Principal, document_id: int) -> None:
    """Remove a document of the principal's tenant."""
    document = await get_document(session, principal=principal, document_id=document_id)
    before = audit.snapshot(document, AUDITED)
    await session.delete(document)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=document.tenant_id,
        action="delete",
        entity="vxml_document",
        obj=document,
        fields=AUDITED,
        before=before,
    )
