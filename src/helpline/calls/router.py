"""HTTP routes for call records, dispositions and the queue event log.

Supervisors and tenant admins read every record, an agent the calls they took; the
agent who took a call or a supervisor sets its disposition and notes. Everybody reads
the disposition codes, supervisors manage the custom ones and read the queue event log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from helpline.api.deps import AnyUser, Db, Supervisor
from helpline.calls import service
from helpline.calls.models import CallDirection, CallOutcome, CallRecord, QueueEventKind
from helpline.calls.schemas import (
    CallLegOut,
    CallRecordDetail,
    CallRecordOut,
    CallRecordUpdate,
    DispositionCreate,
    DispositionOut,
    DispositionUpdate,
    QueueEventOut,
    SegmentOut,
)
from helpline.core.pagination import Page, PageParams

router = APIRouter(tags=["call records"])


@router.get("/call-records", response_model=Page[CallRecordOut])
async def list_call_records(
    db: Db,
    principal: AnyUser,
    params: Annotated[PageParams, Query()],
    started_from: AwareDatetime | None = None,
    started_to: AwareDatetime | None = None,
    queue: str | None = None,
    agent: str | None = None,
    outcome: CallOutcome | None = None,
    caller: str | None = None,
    called: str | None = None,
    direction: CallDirection | None = None,
    disposition: str | None = None,
    call_id: str | None = None,
    parent_call_id: str | None = None,
) -> object:
    """Call records, newest first; ``started_from`` (inclusive) and ``started_to``
    (exclusive) bound the start time and need a UTC offset; ``parent_call_id`` gives
    the legs placed inside that call."""
    items, total = await service.list_records(
        db,
        principal=principal,
        params=params,
        started_from=started_from,
        started_to=started_to,
        queue=queue,
        agent=agent,
        outcome=outcome,
        caller=caller,
        called=called,
        direction=direction,
        disposition=disposition,
        call_id=call_id,
        parent_call_id=parent_call_id,
    )
    return Page[CallRecordOut](
        items=[CallRecordOut.model_validate(i) for i in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.get("/call-records/{record_id}", response_model=CallRecordDetail)
async def get_call_record(record_id: int, db: Db, principal: AnyUser) -> object:
    """One call record with its segments and the legs placed inside it."""
    return await _detail(db, await service.get_record(db, principal=principal, record_id=record_id))


@router.patch("/call-records/{record_id}", response_model=CallRecordDetail)
async def update_call_record(
    record_id: int, data: CallRecordUpdate, db: Db, principal: AnyUser
) -> object:
    """Set a call's disposition and notes; omitted fields stay, ``null`` clears."""
    record = await service.update_record(db, principal=principal, record_id=record_id, data=data)
    return await _detail(db, record)


async def _detail(db: Db, record: CallRecord) -> CallRecordDetail:
    legs = await service.legs_of(db, record=record)
    detail = CallRecordDetail.model_validate(record)
    detail.legs = [CallLegOut.model_validate(leg) for leg in legs]
    return detail


@router.get("/call-records/{record_id}/segments", response_model=list[SegmentOut])
async def list_call_segments(record_id: int, db: Db, principal: AnyUser) -> object:
    """A call's segments in the order they started."""
    return (await service.get_record(db, principal=principal, record_id=record_id)).segments


@router.get("/dispositions", response_model=list[DispositionOut])
async def list_dispositions(db: Db, principal: AnyUser, active: bool | None = None) -> object:
    """Every disposition code: the built-in ones, then the tenant's custom ones by code."""
    return await service.list_dispositions(db, principal=principal, active=active)


@router.post("/dispositions", response_model=DispositionOut, status_code=status.HTTP_201_CREATED)
async def create_disposition(data: DispositionCreate, db: Db, principal: Supervisor) -> object:
    """A new custom disposition code."""
    return await service.create_disposition(db, principal=principal, data=data)


@router.get("/dispositions/{disposition_id}", response_model=DispositionOut)
async def get_disposition(disposition_id: int, db: Db, principal: AnyUser) -> object:
    """One custom disposition."""
    return await service.get_disposition(db, principal=principal, disposition_id=disposition_id)


@router.patch("/dispositions/{disposition_id}", response_model=DispositionOut)
async def update_disposition(
    disposition_id: int, data: DispositionUpdate, db: Db, principal: Supervisor
) -> object:
    """Relabel a custom disposition or take it out of use; omitted fields stay."""
    return await service.update_disposition(
        db, principal=principal, disposition_id=disposition_id, data=data
    )


@router.delete("/dispositions/{disposition_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_disposition(disposition_id: int, db: Db, principal: Supervisor) -> None:
    """Remove a custom disposition; records keep the code they were given."""
    await service.delete_disposition(db, principal=principal, disposition_id=disposition_id)


@router.get("/queue-events", response_model=Page[QueueEventOut])
async def list_queue_events(
    db: Db,
    principal: Supervisor,
    params: Annotated[PageParams, Query()],
    at_from: AwareDatetime | None = None,
    at_to: AwareDatetime | None = None,
    queue: str | None = None,
    event: QueueEventKind | None = None,
    agent: str | None = None,
    call_id: str | None = None,
) -> object:
    """The queue event log, newest first; ``at_from`` (inclusive) and ``at_to``
    (exclusive) need a UTC offset."""
    items, total = await service.list_queue_events(
        db,
        principal=principal,
        params=params,
        at_from=at_from,
        at_to=at_to,
        queue=queue,
        event=event,
        agent=agent,
        call_id=call_id,
    )
    return Page[QueueEventOut](
        items=[QueueEventOut.model_validate(i) for i in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )
