"""Voicemail boxes for tests, made as rows and seen as call control sees them."""

from __future__ import annotations

from typing import Any

from helpline.runtime import Runtime
from helpline.tenants.models import Tenant
from helpline.voicemail import service
from helpline.voicemail.models import OwnerKind, VoicemailBox


async def make_box(
    runtime: Runtime,
    *,
    tenant: int,
    name: str = "sales",
    owner_kind: OwnerKind = OwnerKind.QUEUE,
    owner_ref: str = "sales",
    **fields: Any,
) -> service.BoxConfig:
    """A box of ``tenant``, in the frozen view call control works with."""
    async with runtime.unit_of_work() as session:
        row = VoicemailBox(
            tenant_id=tenant, name=name, owner_kind=owner_kind, owner_ref=owner_ref, **fields
        )
        session.add(row)
        await session.flush()
        owner = await session.get(Tenant, tenant)
        assert owner is not None
        return service.to_config(row, owner)
