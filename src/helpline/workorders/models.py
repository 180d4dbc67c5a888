"""Work orders and what hangs off them: departments and members, SLA targets, comments,
attachments, watchers and the timeline.

A work order may name the call it came from (``call_record_id``) and a customer
(``customer_id``, a plain integer: the customer records live in their own domain and a
work order outlives them).  The SLA due times are stored on the row, computed from the
tenant's targets when the work order is created or its priority changes, so that
"breached" is a plain query (:mod:`helpline.workorders.sla`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum, utcnow
from helpline.workorders.sla import Priority, Status

MAX_TITLE_LENGTH = 200
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254
MAX_PARTY_LENGTH = 255
MAX_FILENAME_LENGTH = 255


class Source(StrEnum):
    """How a work order came in."""

    CALL = "call"
    API = "api"
    EMAIL = "email"


class TimelineKind(StrEnum):
    """What a timeline entry records."""

    CREATED = "created"
    UPDATED = "updated"
    STATUS = "status"
    ASSIGNED = "assigned"
    COMMENT = "comment"
    NOTE = "note"
    ATTACHMENT = "attachment"
    WATCHER_ADDED = "watcher_added"
    WATCHER_REMOVED = "watcher_removed"
    EMAIL = "email"


class Department(TenantOwned, Timestamped, Base):
    """A group of people work orders are assigned to ("technical support", "billing")."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    description: Mapped[str] = mapped_column(String(500), default="")
    email: Mapped[str | None] = mapped_column(String(MAX_EMAIL_LENGTH), default=None)
    """A shared mailbox told about the department's work orders, besides its members."""


class DepartmentMember(TenantOwned, Base):
    """A user belonging to a department."""

    __tablename__ = "department_members"
    __table_args__ = (UniqueConstraint("department_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class SlaPolicy(TenantOwned, Timestamped, Base):
    """A tenant's SLA targets for one priority (missing priorities use the defaults)."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class WorkOrder(TenantOwned, Timestamped, Base):
    """One work order (ticket)."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(MAX_TITLE_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[Status] = mapped_column(str_enum(Status), index=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), index=True)
    source: Mapped[Source] = mapped_column(str_enum(Source))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True, default=None
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    """The customer (no foreign key: work orders outlive customer records)."""
    call_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_records.id", ondelete="SET NULL"), index=True, default=None
    )
    caller_number: Mapped[str | None] = mapped_column(String(MAX_PARTY_LENGTH), default=None)
    queue: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    agent: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    """The username of the agent who took the call the work order came from."""
    requester_name: Mapped[str | None] = mapped_column(String(200), default=None)
    requester_email: Mapped[str | None] = mapped_column(String(MAX_EMAIL_LENGTH), default=None)
    email_message_id: Mapped[str | None] = mapped_column(String(MAX_PARTY_LENGTH), default=None)
    """The Message-ID of the e-mail the work order came from."""
    first_response_due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    resolution_due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    first_responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class WorkOrderComment(TenantOwned, Timestamped, Base):
    """A comment on a work order; internal notes are never sent to the requester."""

    __tablename__ = "work_order_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    author: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    """``user@tenant``, or the sender's address for comments that came by e-mail."""
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)


class WorkOrderAttachment(TenantOwned, Timestamped, Base):
    """A file attached to a work order, stored under the data directory."""

    __tablename__ = "work_order_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(MAX_FILENAME_LENGTH))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))
    """Relative to the data directory."""
    uploaded_by: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))


class WorkOrderWatcher(TenantOwned, Base):
    """A user told about every change of a work order."""

    __tablename__ = "work_order_watchers"
    __table_args__ = (UniqueConstraint("work_order_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class TimelineEntry(TenantOwned, Base):
    """One change of a work order, in order."""

    __tablename__ = "work_order_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor: Mapped[str] = mapped_column(String(MAX_PARTY_LENGTH))
    kind: Mapped[TimelineKind] = mapped_column(str_enum(TimelineKind))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What changed: ``{"field": [before, after]}``, the comment id, the file name ..."""
