"""Recordings for tests: rows made through the call-control functions, real WAV files."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from helpline.db.base import utcnow
from helpline.media.tones import tone
from helpline.media.wav import WavWriter
from helpline.recordings import service
from helpline.recordings.models import CallDirection, Recording
from helpline.runtime import Runtime
from helpline.tenants.models import Tenant


async def tenant_id(runtime: Runtime, slug: str) -> int:
    """The id of the tenant ``slug``."""
    async with runtime.unit_of_work() as session:
        return (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).scalar_one()


async def recorded_call(
    runtime: Runtime,
    *,
    tenant: int,
    call_id: str = "call-1@test",
    caller: str = "+4930123456",
    callee: str = "2001",
    agent: str | None = "agent2001",
    started_at: datetime | None = None,
    seconds: float = 0.5,
) -> Recording:
    """A finished call recording of ``seconds`` of 440 Hz tone, as call control makes it."""
    started = started_at or utcnow()
    where = service.recording_path(runtime.settings.data_dir, tenant, started)
    async with runtime.unit_of_work() as session:
        row = await service.begin(
            session,
            tenant_id=tenant,
            call_id=call_id,
            caller=caller,
            callee=callee,
            path=where.relative,
            stereo=False,
            started_at=started,
            direction=CallDirection.INBOUND,
            agent=agent,
        )
    with WavWriter(where.absolute) as writer:
        writer.write(tone([440], seconds))
    async with runtime.unit_of_work() as session:
        done = await service.finish(
            session,
            recording_id=row.id,
            ended_at=started + timedelta(seconds=seconds),
            duration=seconds,
            size=where.absolute.stat().st_size,
        )
        assert done is not None
    return done
