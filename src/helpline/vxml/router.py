"""HTTP routes for the tenant's VoiceXML documents (supervisors read, admins write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from helpline.api.deps import Db, Supervisor, TenantAdmin
from helpline.core.pagination import Page, PageParams
from helpline.vxml import service
from helpline.vxml.schemas import VxmlDocumentCreate, VxmlDocumentDetail, VxmlDocumentOut

router = APIRouter(tags=["vxml"])


@router.get("/vxml-documents", response_model=Page[VxmlDocumentOut])
async def list_documents(
    db: Db, principal: Supervisor, params: Annotated[PageParams, Query()], name: str | None = None
) -> object:
    """Documents of the tenant, by name."""
    items, total = await service.list_documents(db, principal=principal, params=params, name=name)
    return Page[VxmlDocumentOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post(
    "/vxml-documents", response_model=VxmlDocumentDetail, status_code=status.HTTP_201_CREATED
)
async def upload_document(data: VxmlDocumentCreate, db: Db, principal: TenantAdmin) -> object:
    """Upload a document; one outside the supported subset is refused with
    ``unsupported_vxml`` (or ``invalid_vxml``) naming each problem's line."""
    return await service.create_document(db, principal=principal, data=data)


@router.get("/vxml-documents/{vxml_document_id}", response_model=VxmlDocumentDetail)
async def get_document(vxml_document_id: int, db: Db, principal: Supervisor) -> object:
    """One document with its text."""
    return await service.get_document(db, principal=principal, document_id=vxml_document_id)


@router.delete("/vxml-documents/{vxml_document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(vxml_document_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a document."""
    await service.delete_document(db, principal=principal, document_id=vxml_document_id)
