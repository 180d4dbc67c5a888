"""Call control's side of call records: one record per call, its segments, its outcome.

Theory of operation: every call that reaches a tenant (a number, a phone, a trunk;
the built-in test services excepted) gets a record when it is admitted. Call control
tells :class:`CallLog` what happens — the IVR starts, the caller waits in a queue, an
agent's phone rings, someone answers, voicemail — and the log ends the running segment
and starts the next one. When the call ends the record is closed with the outcome
those facts imply (answered; abandoned in IVR or queue; voicemail; rejected;
blacklisted) and which side hung up. Writing a record never fails a call: database
errors are logged. A record left open by a crash is closed on the node's next start
(:func:`helpline.calls.service.close_unfinished`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from helpline.calls.models import CallOutcome, HangupSide, SegmentKind, SegmentResult
from helpline.calls.recorder import CallRecorder, DetailValue, RecordHandle, SegmentHandle
from helpline.recordings.models import CallDirection
from helpline.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Entry:
    """What call control knows about one call's record."""

    handle: RecordHandle | None = None
    segment: SegmentHandle | None = None
    kinds: set[SegmentKind] = field(default_factory=set)
    answered: bool = False
    outcome: CallOutcome | None = None
    side: HangupSide = HangupSide.SYSTEM


class CallLog:
    """Writes call records for one node's call control."""

    def __init__(self, runtime: Runtime) -> None:
        self.recorder = CallRecorder(runtime.unit_of_work, runtime.settings.node_name)

    async def open(
        self, tenant_id: int, call_id: str, caller: str, called: str, direction: CallDirection
    ) -> Entry:
        """A record for a new call (an empty entry if the database refuses)."""
        entry = Entry()
        try:
            entry.handle = await self.recorder.open(
                tenant_id, call_id, direction, caller, called, datetime.now(UTC)
            )
        except SQLAlchemyError as exc:
            log.warning("call %s: no call record: %s", call_id, exc)
        return entry

    async def segment(
        self,
        entry: Entry,
        kind: SegmentKind,
        *,
        ended: SegmentResult | None = None,
        agent: str | None = None,
        queue: str | None = None,
        **detail: DetailValue,
    ) -> None:
        """End the running segment (with ``ended``) and start a ``kind`` segment;
        ``detail`` holds kind-specific facts (a transfer's target ...)."""
        if entry.handle is None:
            return
        now = datetime.now(UTC)
        try:
            if entry.segment is not None:
                await self.recorder.segment_end(entry.segment, now, ended)
            entry.segment = await self.recorder.segment_start(
                entry.handle, kind, now, agent=agent, queue=queue, **detail
            )
            entry.kinds.add(kind)
            if kind is SegmentKind.QUEUE and queue is not None:
                await self.recorder.set(entry.handle, queue=queue)  # the last queue joined
        except SQLAlchemyError as exc:
            log.warning("call record %d: segment not written: %s", entry.handle.record_id, exc)

    async def answered(self, entry: Entry, agent: str) -> None:
        """Someone took the call: a talk segment starts."""
        entry.answered = True
        await self.segment(entry, SegmentKind.TALK, ended=SegmentResult.ANSWERED, agent=agent)
        if entry.handle is not None:
            try:
                await self.recorder.answered(entry.handle, datetime.now(UTC), agent)
            except SQLAlchemyError as exc:
                log.warning("call record %d: answer not written: %s", entry.handle.record_id, exc)

    async def recorded(self, entry: Entry, recording_id: int) -> None:
        """Link the call's recording to its record."""
        if entry.handle is None:
            return
        try:
            await self.recorder.set(entry.handle, recording_id=recording_id)
        except SQLAlchemyError as exc:
            log.warning("call record %d: recording not linked: %s", entry.handle.record_id, exc)

    async def close(self, entry: Entry) -> None:
        """Close the record with the outcome the call's history implies."""
        if entry.handle is None:
            return
        outcome = entry.outcome or self.outcome(entry)
        try:
            await self.recorder.close(entry.handle, datetime.now(UTC), outcome, entry.side)
        except SQLAlchemyError as exc:
            log.warning("call record %d: not closed: %s", entry.handle.record_id, exc)

    @staticmethod
    def outcome(entry: Entry) -> CallOutcome:
        """Answered; else abandoned where the caller was (queue, IVR); else rejected."""
        if entry.answered:
            return CallOutcome.ANSWERED
        if SegmentKind.VOICEMAIL in entry.kinds:
            return CallOutcome.VOICEMAIL
        if SegmentKind.QUEUE in entry.kinds:
            return CallOutcome.ABANDONED_QUEUE
        if SegmentKind.IVR in entry.kinds:
            return CallOutcome.ABANDONED_IVR
        return CallOutcome.REJECTED
