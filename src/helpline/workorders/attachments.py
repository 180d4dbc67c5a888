"""Files attached to work orders: stored under the node's data directory, their
metadata (name, type, size, SHA-256) in the database, each addition on the timeline."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.core.errors import ApiError, NotFound
from helpline.db.base import get_owned, utcnow
from helpline.workorders import service
from helpline.workorders.models import (
    MAX_FILENAME_LENGTH,
    TimelineKind,
    WorkOrder,
    WorkOrderAttachment,
)

MAX_ATTACHMENT_BYTES: Final = 10 * 1024 * 1024
ATTACHMENT_DIR: Final = "workorders"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_filename(name: str) -> str:
    base = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rpartition("/")[2]).strip(" .")
    return (base or "attachment")[:MAX_FILENAME_LENGTH]


async def store_attachment(
    session: AsyncSession,
    work_order: WorkOrder,
    *,
    data_dir: Path,
    filename: str,
    content_type: str,
    content: bytes,
    principal: Principal | None,
    actor: str,
    now: datetime,
) -> WorkOrderAttachment:
    relative = f"{ATTACHMENT_DIR}/{work_order.tenant_id}/{work_order.id}/{uuid.uuid4().hex}"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    attachment = WorkOrderAttachment(
        tenant_id=work_order.tenant_id,
        work_order_id=work_order.id,
        filename=safe_filename(filename),
        content_type=content_type[:100] or "application/octet-stream",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        path=relative,
        uploaded_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(attachment)
    await session.flush()
    await service.record_change(
        session,
        work_order,
        principal=principal,
        actor=actor,
        kind=TimelineKind.ATTACHMENT,
        detail={"attachment_id": attachment.id, "filename": attachment.filename},
        summary=f"attached {attachment.filename}",
        now=now,
    )
    return attachment


async def add_attachment(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: int,
    data_dir: Path,
    filename: str,
    content_type: str,
    content: bytes,
    now: datetime | None = None,
) -> WorkOrderAttachment:
    """Attach a file (at most :data:`MAX_ATTACHMENT_BYTES`, else 413
    ``attachment_too_large``), stored under ``data_dir``."""
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ApiError(
            "the file is too large",
            error_id="attachment_too_large",
            status_code=413,
            details={"max_bytes": MAX_ATTACHMENT_BYTES},
        )
    work_order = await service.get_work_order(
        session, principal=principal, work_order_id=work_order_id
    )
    return await store_attachment(
        session,
        work_order,
        data_dir=data_dir,
        filename=filename,
        content_type=content_type,
        content=content,
        principal=principal,
        actor=principal.display,
        now=now or utcnow(),
    )


async def list_attachments(
    session: AsyncSession, *, principal: Principal, work_order_id: int
) -> list[WorkOrderAttachment]:
    """The attachments of a work order, oldest first."""
    work_order = await service.get_work_order(
        session, principal=principal, work_order_id=work_order_id
    )
    rows = await session.execute(
        select(WorkOrderAttachment)
        .where(WorkOrderAttachment.work_order_id == work_order.id)
        .order_by(WorkOrderAttachment.id)
    )
    return list(rows.scalars())


async def get_attachment(
    session: AsyncSession, *, principal: Principal, work_order_id: int, attachment_id: int
) -> WorkOrderAttachment:
    """One attachment of a work order of the principal's tenant."""
    work_order = await service.get_work_order(
        session, principal=principal, work_order_id=work_order_id
    )
    attachment = await get_owned(
        session,
        WorkOrderAttachment,
        attachment_id,
        tenant_id=work_order.tenant_id,
        what="attachment",
    )
    if attachment.work_order_id != work_order.id:
        raise NotFound("no such attachment")
    return attachment


def attachment_path(*, data_dir: Path, attachment: WorkOrderAttachment) -> Path:
    """Where the file of ``attachment`` is; 404 ``attachment_missing`` if it is gone."""
    path = data_dir / attachment.path
    if not path.is_file():
        raise NotFound("the attachment's file is missing", error_id="attachment_missing")
    return path
