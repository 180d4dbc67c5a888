"""HTTP routes to see which phones are registered (read-only; supervisors and up).

Theory of operation: registrations are written only by the SIP registrar (RFC 3261 §10.3
bindings of digest-authenticated REGISTERs, RFC 7616; NAT source per RFC 3581); the API
only shows the unexpired ones of the principal's tenant, paginated and filterable by
SIP username.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from helpline.api.deps import Db, Supervisor
from helpline.core.pagination import Page, PageParams
from helpline.db.base import utcnow
from helpline.registrations import service
from helpline.registrations.schemas import RegistrationOut

router = APIRouter(tags=["registrations"])


@router.get("/registrations", response_model=Page[RegistrationOut])
async def list_registrations(
    db: Db,
    principal: Supervisor,
    params: Annotated[PageParams, Query()],
    username: str | None = None,
) -> object:
    """Unexpired registrations of the tenant; ``username`` filters by SIP account."""
    items, total = await service.list_registrations(
        db, principal=principal, params=params, username=username, now=utcnow()
    )
    return Page[RegistrationOut](
        items=[RegistrationOut.model_validate(i) for i in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.get("/registrations/{registration_id}", response_model=RegistrationOut)
async def get_registration(registration_id: int, db: Db, principal: Supervisor) -> object:
    """One registration of the tenant."""
    return await service.get_registration(db, principal=principal, registration_id=registration_id)
