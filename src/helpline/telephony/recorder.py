"""Recording of connected calls (``record_calls``): from the caller's endpoint, what the
caller says left, what the caller hears (the callee) right; it goes on when supervisors
join (the call moves from a bridge into a conference) and through transfers, and ends
with the call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path

from helpline.media.backend import MediaBackend, MediaBackendError
from helpline.media.errors import MediaError
from helpline.media.wav import check_wav
from helpline.recordings import service as recordings
from helpline.recordings.models import CallDirection
from helpline.runtime import Runtime
from helpline.sip.message import Response
from helpline.telephony.calllog import CallLog
from helpline.telephony.legs import Call

log = logging.getLogger(__name__)


class Recorder:
    """Starts a call's recording when it connects and files it when the call ends."""

    def __init__(self, runtime: Runtime, media: MediaBackend, calllog: CallLog) -> None:
        self.runtime = runtime
        self.media = media
        self.calllog = calllog

    async def start(self, call: Call, answer: Response, agent: str | None = None) -> None:
        """Record the connected call (``answer``: the callee's 200; ``agent``: who took
        it, so that they find the recording) and link it to the call's record."""
        now = datetime.now(UTC)
        settings = self.runtime.settings
        where = recordings.recording_path(settings.data_dir, call.tenant.id, now)
        async with self.runtime.unit_of_work() as db:
            row = await recordings.begin(
                db,
                tenant_id=call.tenant.id,
                call_id=call.call_id,
                caller=str(call.request.from_.uri),
                callee=str(answer.to.uri),
                path=where.relative,
                stereo=True,
                started_at=now,
                direction=CallDirection.INBOUND,
                agent=agent,
                node=settings.node_name,
            )
        await self.calllog.recorded(call.log, row.id)
        try:
            assert call.media is not None
            made = await self.media.start_recording(call.media.endpoint, str(where.absolute))
        except MediaBackendError as exc:
            log.warning("call %s: recording failed to start: %s", call.call_id, exc)
            await self._finish(row.id, where.absolute, error=str(exc))
            return
        call.recording = (made, row.id, where.absolute)

    async def stop(self, call: Call) -> None:
        """Stop the call's recording (if any) and file its duration and size."""
        if call.recording is None:
            return
        made, row_id, path = call.recording
        with contextlib.suppress(MediaBackendError):
            await self.media.stop_recording(made)
        await self._finish(row_id, path)

    async def _finish(self, row_id: int, path: Path, *, error: str | None = None) -> None:
        duration, size = await asyncio.to_thread(_measure, path)
        async with self.runtime.unit_of_work() as db:
            await recordings.finish(
                db,
                recording_id=row_id,
                ended_at=datetime.now(UTC),
                duration=duration,
                size=size,
                error=error,
            )


def _measure(path: Path) -> tuple[float, int]:
    """Duration (s) and size (bytes) of a finished WAV recording; zeros if unreadable."""
    try:
        return check_wav(path).duration, path.stat().st_size
    except (OSError, MediaError):
        return 0.0, 0
