"""HTTP routes for the customers of the caller's tenant.

Agents read, create and change customers, write notes and book events; supervisors
delete notes and events; tenant admins delete customers, import, export and set the
default region. Routes with a customer in the path check it before the body, so that
another tenant's customer is a 404 whatever the body says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, UploadFile, status
from fastapi.responses import Response

from helpline.api.deps import AnyUser, Db, Supervisor, TenantAdmin
from helpline.core.errors import ApiError
from helpline.core.pagination import Page, PageParams
from helpline.customers import importer, service
from helpline.customers.models import CustomerTier, EventStatus
from helpline.customers.schemas import (
    CustomerBriefOut,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    EventCreate,
    EventOut,
    EventUpdate,
    ImportMode,
    ImportReport,
    LookupOut,
    NoteCreate,
    NoteOut,
    SettingsOut,
    SettingsUpdate,
    TimelineEntryOut,
    TimelineOut,
)

router = APIRouter(tags=["customers"])
Params = Annotated[PageParams, Query()]


async def _customer(customer_id: int, db: Db, principal: AnyUser) -> int:
    """The path's customer, checked before the body so that a foreign one is a 404."""
    await service.get_customer(db, principal=principal, customer_id=customer_id)
    return customer_id


CustomerId = Annotated[int, Depends(_customer)]


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise ApiError(
                f"the file is larger than {limit // (1024 * 1024)} MiB",
                error_id="upload_too_large",
                status_code=413,
                details={"max_bytes": limit},
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/customer-settings", response_model=SettingsOut)
async def get_settings(db: Db, principal: AnyUser) -> object:
    """The region national numbers are read in."""
    configured, effective = await service.get_settings(db, principal=principal)
    return SettingsOut(default_region=configured, effective_region=effective)


@router.put("/customer-settings", response_model=SettingsOut)
async def put_settings(data: SettingsUpdate, db: Db, principal: TenantAdmin) -> object:
    """Set the default region (ISO 3166 code; ``null`` derives it from the tenant)."""
    configured, effective = await service.update_settings(db, principal=principal, data=data)
    return SettingsOut(default_region=configured, effective_region=effective)


@router.get("/customers", response_model=Page[CustomerOut])
async def list_customers(
    db: Db,
    principal: AnyUser,
    params: Params,
    q: str | None = None,
    tier: CustomerTier | None = None,
    region: str | None = None,
    tag: str | None = None,
    external_id: str | None = None,
) -> object:
    """Customers by name unless ``sort`` says otherwise; ``q`` searches name, company
    and phone number."""
    items, total = await service.list_customers(
        db,
        principal=principal,
        params=params,
        q=q,
        tier=tier,
        region=region,
        tag=tag,
        external_id=external_id,
    )
    return Page[CustomerOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/customers", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
async def create_customer(data: CustomerCreate, db: Db, principal: AnyUser) -> object:
    """A new customer; national numbers are read in the tenant's region."""
    return await service.create_customer(db, principal=principal, data=data)


@router.get("/customers/lookup", response_model=LookupOut)
async def lookup(db: Db, principal: AnyUser, number: str = "") -> object:
    """The customer calling from ``number`` (any spelling: national, ``+``, ``00``, a
    SIP URI); ``customer`` is null for unknown or withheld numbers."""
    e164, brief = await service.lookup(db, principal=principal, number=number)
    customer = CustomerBriefOut.model_validate(brief) if brief else None
    return LookupOut(number=number, e164=e164, customer=customer)


@router.post("/customers/import", response_model=ImportReport)
async def import_customers(
    db: Db,
    principal: TenantAdmin,
    file: UploadFile,
    mode: ImportMode = ImportMode.ALL_OR_NOTHING,
    dry_run: bool = False,
) -> object:
    """Import a CSV file (multipart field ``file``); the report lists every bad row."""
    data = await _read_limited(file, importer.MAX_IMPORT_BYTES)
    return await importer.import_customers(
        db, principal=principal, data=data, mode=mode, dry_run=dry_run
    )


@router.get("/customers/export", response_class=Response)
async def export_customers(db: Db, principal: TenantAdmin) -> Response:
    """Every customer as CSV, in the import's format."""
    text = await importer.export_customers(db, principal=principal)
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: int, db: Db, principal: AnyUser) -> object:
    """One customer."""
    return await service.get_customer(db, principal=principal, customer_id=customer_id)


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
async def update_customer(
    customer_id: CustomerId, data: CustomerUpdate, db: Db, principal: AnyUser
) -> object:
    """Change a customer; omitted fields stay, given lists replace the old ones."""
    return await service.update_customer(
        db, principal=principal, customer_id=customer_id, data=data
    )


@router.delete("/customers/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_customer(customer_id: int, db: Db, principal: TenantAdmin) -> None:
    """Remove a customer with their notes and events (call records stay)."""
    await service.delete_customer(db, principal=principal, customer_id=customer_id)


@router.get("/customers/{customer_id}/timeline", response_model=TimelineOut)
async def timeline(
    customer_id: int,
    db: Db,
    principal: AnyUser,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    source: Annotated[list[str] | None, Query()] = None,
) -> object:
    """Calls, notes and events, newest first; ``source`` (repeatable: ``calls``,
    ``notes``, ``events``) keeps only those."""
    items, next_before = await service.customer_timeline(
        db,
        principal=principal,
        customer_id=customer_id,
        before=before,
        limit=limit,
        only=frozenset(source) if source else None,
    )
    return TimelineOut(
        items=[
            TimelineEntryOut(kind=e.kind, at=e.at, ref_id=e.ref_id, title=e.title, detail=e.detail)
            for e in items
        ],
        next_before=next_before,
    )


@router.get("/customers/{customer_id}/notes", response_model=Page[NoteOut])
async def list_notes(customer_id: int, db: Db, principal: AnyUser, params: Params) -> object:
    """The customer's notes, newest first."""
    items, total = await service.list_notes(
        db, principal=principal, customer_id=customer_id, params=params
    )
    return Page[NoteOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post(
    "/customers/{customer_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED
)
async def add_note(customer_id: CustomerId, data: NoteCreate, db: Db, principal: AnyUser) -> object:
    """A note about the customer, signed by the caller."""
    return await service.add_note(db, principal=principal, customer_id=customer_id, data=data)


@router.delete("/customers/{customer_id}/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_note(customer_id: int, note_id: int, db: Db, principal: Supervisor) -> None:
    """Remove a note."""
    await service.delete_note(db, principal=principal, customer_id=customer_id, note_id=note_id)


@router.get("/customers/{customer_id}/events", response_model=Page[EventOut])
async def list_events(
    customer_id: int,
    db: Db,
    principal: AnyUser,
    params: Params,
    status: EventStatus | None = None,
) -> object:
    """The customer's orders, appointments, repair bookings and visits."""
    items, total = await service.list_events(
        db, principal=principal, customer_id=customer_id, params=params, status=status
    )
    return Page[EventOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post(
    "/customers/{customer_id}/events",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_event(
    customer_id: CustomerId, data: EventCreate, db: Db, principal: AnyUser
) -> object:
    """Book an order, appointment, repair or visit, with an optional reminder."""
    return await service.add_event(db, principal=principal, customer_id=customer_id, data=data)


@router.patch("/customers/{customer_id}/events/{event_id}", response_model=EventOut)
async def update_event(
    customer_id: CustomerId, event_id: int, data: EventUpdate, db: Db, principal: AnyUser
) -> object:
    """Change an event (status: planned -> confirmed -> done, or cancelled)."""
    return await service.update_event(
        db, principal=principal, customer_id=customer_id, event_id=event_id, data=data
    )


@router.delete("/customers/{customer_id}/events/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_event(customer_id: int, event_id: int, db: Db, principal: Supervisor) -> None:
    """Remove an event."""
    await service.delete_event(db, principal=principal, customer_id=customer_id, event_id=event_id)
