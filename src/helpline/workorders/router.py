"""HTTP routes for work orders, departments and SLA targets of the caller's tenant.

Every user works with work orders; supervisors configure SLA targets, tenant admins
departments.  Routes with a body and a work order in the path check the work order
first, so that another tenant's is a 404 whatever the body says.
"""

from __future__ import annotations

from email import message_from_string, policy
from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, Depends, Query, UploadFile, status
from fastapi.responses import FileResponse

from helpline.api.deps import AnyUser, Db, Supervisor, TenantAdmin, get_runtime
from helpline.core.errors import ApiError
from helpline.core.pagination import Page, PageParams
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.workorders import attachments, departments, email_intake, service
from helpline.workorders.models import WorkOrder
from helpline.workorders.schemas import (
    AttachmentOut,
    CommentCreate,
    CommentOut,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    InboundEmail,
    SearchFilters,
    SlaTargetOut,
    SlaTargetsPut,
    StatusChange,
    TimelineOut,
    WorkOrderCreate,
    WorkOrderOut,
    WorkOrderUpdate,
)

router = APIRouter(tags=["workorders"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _owned(work_order_id: int, db: Db, principal: AnyUser) -> int:
    """The path's work order, checked before the body so that a foreign one is a 404."""
    await service.get_work_order(db, principal=principal, work_order_id=work_order_id)
    return work_order_id


async def _owned_department(department_id: int, db: Db, principal: TenantAdmin) -> int:
    """The path's department, checked before the body."""
    await departments.get_department(db, principal=principal, department_id=department_id)
    return department_id


OwnedWorkOrder = Annotated[int, Depends(_owned)]
OwnedDepartment = Annotated[int, Depends(_owned_department)]


async def _one(db: Db, work_order: WorkOrder) -> dict[str, object]:
    return (await service.views(db, [work_order], now=utcnow()))[0]


# Departments -----------------------------------------------------------------------


@router.get("/departments", response_model=Page[DepartmentOut])
async def list_departments(
    db: Db, principal: AnyUser, params: Annotated[PageParams, Query()]
) -> object:
    """The tenant's departments with their members."""
    items, total = await departments.list_departments(db, principal=principal, params=params)
    views = await departments.department_views(db, items)
    return Page[DepartmentOut](
        items=[DepartmentOut.model_validate(v) for v in views],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.post("/departments", response_model=DepartmentOut, status_code=status.HTTP_201_CREATED)
async def create_department(data: DepartmentCreate, db: Db, principal: TenantAdmin) -> object:
    """A new department; 404 names member ids that are not users of the tenant."""
    department = await departments.create_department(db, principal=principal, data=data)
    return (await departments.department_views(db, [department]))[0]


@router.get("/departments/{department_id}", response_model=DepartmentOut)
async def get_department(department_id: int, db: Db, principal: AnyUser) -> object:
    """One department."""
    department = await departments.get_department(
        db, principal=principal, department_id=department_id
    )
    return (await departments.department_views(db, [department]))[0]


@router.patch("/departments/{department_id}", response_model=DepartmentOut)
async def update_department(
    department_id: OwnedDepartment, data: DepartmentUpdate, db: Db, principal: TenantAdmin
) -> object:
    """Change a department; ``member_ids`` replaces its members."""
    department = await departments.update_department(
        db, principal=principal, department_id=department_id, data=data
    )
    return (await departments.department_views(db, [department]))[0]


@router.delete("/departments/{department_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_department(department_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a department; its work orders stay, without a department."""
    await departments.delete_department(db, principal=principal, department_id=department_id)


# SLA targets -----------------------------------------------------------------------


@router.get("/sla-targets", response_model=list[SlaTargetOut])
async def list_sla_targets(db: Db, principal: AnyUser) -> object:
    """The SLA targets in force for each priority."""
    return await departments.list_sla_targets(db, principal=principal)


@router.put("/sla-targets", response_model=list[SlaTargetOut])
async def put_sla_targets(data: SlaTargetsPut, db: Db, principal: Supervisor) -> object:
    """Replace the tenant's SLA targets; left-out priorities use the defaults."""
    return await departments.put_sla_targets(db, principal=principal, data=data)


# Work orders -----------------------------------------------------------------------


@router.get("/workorders", response_model=Page[WorkOrderOut])
async def list_work_orders(
    db: Db,
    principal: AnyUser,
    params: Annotated[PageParams, Query()],
    filters: Annotated[SearchFilters, Query()],
) -> object:
    """Work orders matching every filter given, newest first; ``q`` searches title and
    description, ``breached`` the SLA state now."""
    now = utcnow()
    items, total = await service.search_work_orders(
        db, principal=principal, params=params, filters=filters, now=now
    )
    views = await service.views(db, items, now=now)
    return Page[WorkOrderOut](
        items=[WorkOrderOut.model_validate(v) for v in views],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.post("/workorders", response_model=WorkOrderOut, status_code=status.HTTP_201_CREATED)
async def create_work_order(data: WorkOrderCreate, db: Db, principal: AnyUser) -> object:
    """A new work order; with ``call_record_id`` linked to the call and pre-filled."""
    return await _one(db, await service.create_work_order(db, principal=principal, data=data))


@router.post(
    "/workorders/inbound-email", response_model=WorkOrderOut, status_code=status.HTTP_201_CREATED
)
async def inbound_email(
    data: InboundEmail, db: Db, principal: Supervisor, runtime: RuntimeDep
) -> object:
    """Hand over a received e-mail (RFC 5322 text): a new work order, or a comment on the
    one it answers.  For a mail gateway with an API token; fetching mail is not done here."""
    message = message_from_string(data.message, policy=policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise ApiError("not an e-mail message", error_id="invalid_email", status_code=422)
    work_order = await email_intake.create_from_email(
        db, principal.tenant_id, message, data_dir=runtime.settings.data_dir
    )
    return await _one(db, work_order)


@router.get("/workorders/{work_order_id}", response_model=WorkOrderOut)
async def get_work_order(work_order_id: int, db: Db, principal: AnyUser) -> object:
    """One work order with its SLA state now."""
    return await _one(
        db, await service.get_work_order(db, principal=principal, work_order_id=work_order_id)
    )


@router.patch("/workorders/{work_order_id}", response_model=WorkOrderOut)
async def update_work_order(
    work_order_id: OwnedWorkOrder, data: WorkOrderUpdate, db: Db, principal: AnyUser
) -> object:
    """Change a work order (title, description, priority, assignment, customer)."""
    work_order = await service.update_work_order(
        db, principal=principal, work_order_id=work_order_id, data=data
    )
    return await _one(db, work_order)


@router.post("/workorders/{work_order_id}/status", response_model=WorkOrderOut)
async def change_status(
    work_order_id: OwnedWorkOrder, data: StatusChange, db: Db, principal: AnyUser
) -> object:
    """Move a work order in its workflow; 409 ``illegal_transition`` names the allowed
    moves."""
    work_order = await service.change_status(
        db, principal=principal, work_order_id=work_order_id, data=data
    )
    return await _one(db, work_order)


@router.get("/workorders/{work_order_id}/comments", response_model=list[CommentOut])
async def list_comments(work_order_id: int, db: Db, principal: AnyUser) -> object:
    """Comments and internal notes, oldest first."""
    return await service.list_comments(db, principal=principal, work_order_id=work_order_id)


@router.post(
    "/workorders/{work_order_id}/comments",
    response_model=CommentOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_comment(
    work_order_id: OwnedWorkOrder, data: CommentCreate, db: Db, principal: AnyUser
) -> object:
    """A comment, or an internal note with ``internal: true``."""
    return await service.add_comment(
        db, principal=principal, work_order_id=work_order_id, data=data
    )


@router.get("/workorders/{work_order_id}/timeline", response_model=list[TimelineOut])
async def get_timeline(work_order_id: int, db: Db, principal: AnyUser) -> object:
    """Every change of the work order, oldest first."""
    return await service.timeline(db, principal=principal, work_order_id=work_order_id)


@router.get("/workorders/{work_order_id}/attachments", response_model=list[AttachmentOut])
async def list_attachments(work_order_id: int, db: Db, principal: AnyUser) -> object:
    """The work order's attachments."""
    return await attachments.list_attachments(db, principal=principal, work_order_id=work_order_id)


@router.post(
    "/workorders/{work_order_id}/attachments",
    response_model=AttachmentOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_attachment(
    work_order_id: OwnedWorkOrder,
    file: UploadFile,
    db: Db,
    principal: AnyUser,
    runtime: RuntimeDep,
) -> object:
    """Attach a file (multipart ``file``); 413 ``attachment_too_large`` over the limit."""
    content = await file.read(attachments.MAX_ATTACHMENT_BYTES + 1)
    return await attachments.add_attachment(
        db,
        principal=principal,
        work_order_id=work_order_id,
        data_dir=runtime.settings.data_dir,
        filename=file.filename or "attachment",
        content_type=file.content_type or "application/octet-stream",
        content=content,
    )


@router.get("/workorders/{work_order_id}/attachments/{attachment_id}", response_class=FileResponse)
async def download_attachment(
    work_order_id: int, attachment_id: int, db: Db, principal: AnyUser, runtime: RuntimeDep
) -> FileResponse:
    """The attached file, as uploaded."""
    attachment = await attachments.get_attachment(
        db, principal=principal, work_order_id=work_order_id, attachment_id=attachment_id
    )
    path = attachments.attachment_path(data_dir=runtime.settings.data_dir, attachment=attachment)
    return FileResponse(path, media_type=attachment.content_type, filename=attachment.filename)


@router.put("/workorders/{work_order_id}/watchers/{user_id}", response_model=WorkOrderOut)
async def add_watcher(work_order_id: int, user_id: int, db: Db, principal: AnyUser) -> object:
    """Make a user of the tenant watch the work order."""
    work_order = await service.add_watcher(
        db, principal=principal, work_order_id=work_order_id, user_id=user_id
    )
    return await _one(db, work_order)


@router.delete("/workorders/{work_order_id}/watchers/{user_id}", response_model=WorkOrderOut)
async def remove_watcher(work_order_id: int, user_id: int, db: Db, principal: AnyUser) -> object:
    """Stop a user watching the work order."""
    work_order = await service.remove_watcher(
        db, principal=principal, work_order_id=work_order_id, user_id=user_id
    )
    return await _one(db, work_order)
