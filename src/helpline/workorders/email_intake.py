"""Work orders made from inbound e-mails: a new e-mail opens one, a reply (by ``[WO-n]``
in the subject or by the Message-ID it answers) becomes a public comment on it."""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.db.base import utcnow
from helpline.workorders import attachments, service, sla
from helpline.workorders.attachments import store_attachment
from helpline.workorders.models import (
    MAX_TITLE_LENGTH,
    Source,
    TimelineKind,
    WorkOrder,
    WorkOrderComment,
)
from helpline.workorders.sla import Priority, Status

_THREAD = re.compile(r"\[WO-(\d+)\]")


def _email_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    content = part.get_content()
    return content.strip() if isinstance(content, str) else ""


def _email_priority(message: EmailMessage) -> Priority:
    flag = str(message.get("X-Priority", "")).strip()[:1]
    return Priority.HIGH if flag in ("1", "2") else Priority.NORMAL


async def _thread_of(
    session: AsyncSession, tenant_id: int, message: EmailMessage
) -> WorkOrder | None:
    """The work order an e-mail answers: ``[WO-n]`` in the subject, or a reference to the
    Message-ID that created one."""
    if match := _THREAD.search(str(message.get("Subject", ""))):
        found = await session.get(WorkOrder, int(match.group(1)))
        if found is not None and found.tenant_id == tenant_id:
            return found
    references = f"{message.get('In-Reply-To', '')} {message.get('References', '')}".split()
    if references:
        return (
            await session.execute(
                select(WorkOrder)
                .where(WorkOrder.tenant_id == tenant_id, WorkOrder.email_message_id.in_(references))
                .limit(1)
            )
        ).scalar_one_or_none()
    return None


async def create_from_email(
    session: AsyncSession,
    tenant_id: int,
    message: EmailMessage,
    *,
    data_dir: Path | None = None,
    now: datetime | None = None,
) -> WorkOrder:
    """The work order an inbound e-mail makes for ``tenant_id``.

    The subject is the title, the text body the description, the sender the requester,
    ``X-Priority`` 1-2 makes it high.  A reply (``[WO-n]`` in the subject, or
    ``In-Reply-To``/``References`` naming the e-mail that opened one) is added to that
    work order as a public comment instead, and reopens it when it was resolved.  With
    ``data_dir`` the e-mail's attachments are kept (within the size limit).  Fetching
    mail (IMAP, POP3, an MTA pipe) is the caller's business.
    """
    now = now or utcnow()
    name, address = parseaddr(str(message.get("From", "")))
    sender = address or "unknown sender"
    text = _email_text(message)
    existing = await _thread_of(session, tenant_id, message)
    if existing is not None:
        comment = WorkOrderComment(
            tenant_id=tenant_id,
            work_order_id=existing.id,
            author=sender,
            body=text or "(empty e-mail)",
            internal=False,
            created_at=now,
        )
        session.add(comment)
        await session.flush()
        await service.record_change(
            session,
            existing,
            principal=None,
            actor=sender,
            kind=TimelineKind.EMAIL,
            detail={"comment_id": comment.id, "from": sender},
            summary=f"e-mail from {sender}",
            now=now,
        )
        if existing.status in sla.DONE:
            await service.set_status(
                session, existing, Status.OPEN, principal=None, actor=sender, now=now
            )
        work_order = existing
    else:
        subject = " ".join(str(message.get("Subject", "")).split())[:MAX_TITLE_LENGTH]
        work_order = await service.new_work_order(
            session,
            tenant_id=tenant_id,
            principal=None,
            actor=sender,
            source=Source.EMAIL,
            fields={
                "title": subject or "(no subject)",
                "description": text,
                "priority": _email_priority(message),
                "requester_name": name[:200] or None,
                "requester_email": address[:254] or None,
                "email_message_id": str(message.get("Message-ID", "")).strip()[:255] or None,
            },
            watcher_ids=(),
            now=now,
        )
    if data_dir is not None:
        for part in message.iter_attachments():
            if not isinstance(part, EmailMessage):
                continue
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes) or len(payload) > attachments.MAX_ATTACHMENT_BYTES:
                continue
            await store_attachment(
                session,
                work_order,
                data_dir=data_dir,
                filename=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                content=payload,
                principal=None,
                actor=sender,
                now=now,
            )
    return work_order
