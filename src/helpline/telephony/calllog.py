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

A leg Helpline places inside a call's life (an agent's consultation, a supervisor's
leg) gets a record of its own, opened with the ``parent`` call it belongs to: internal,
or outbound when it leaves through a trunk. Such a leg that nobody answered ends
``busy``, ``no_answer`` (the final SIP status call control refused it with, see
:meth:`Entry.failed`), ``cancelled`` (given up while ringing) or ``failed``; its
ringing segment ends with the same result.
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
    parent: str | None = None
    """The call a leg Helpline placed belongs to (None for calls)."""
    failure: int | None = None
    """The final SIP status the call's other side failed with, if it did."""

    def failed(self, status: int) -> None:
        """The other side could not be reached (``status``: 486 busy, 480 no answer ...)."""
        self.failure = status


class CallLog:
    """Writes call records for one node's call control."""

    def __init__(self, runtime: Runtime) -> None:
        self.recorder = CallRecorder(runtime.unit_of_work, runtime.settings.node_name)

    async def open(
        self,
        tenant_id: int,
        call_id: str,
        caller: str,
        called: str,
        direction: CallDirection,
        *,
        parent: str | None = None,
    ) -> Entry:
        """A record for a new call, or for a leg placed inside the call ``parent``
        (an empty entry if the database refuses)."""
        entry = Entry(parent=parent)
        try:
            entry.handle = await self.recorder.open(
                tenant_id,
                call_id,
                direction,
                caller,
                called,
                datetime.now(UTC),
                parent_call_id=parent,
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

    async def answered(self, entry: Entry, agent: str, *, mode: str | None = None) -> None:
        """Someone took the call: a talk segment starts (a supervisor's names the
        supervision ``mode``)."""
        entry.answered = True
        answered = SegmentResult.ANSWERED
        if mode is None:
            await self.segment(entry, SegmentKind.TALK, ended=answered, agent=agent)
        else:
            await self.segment(entry, SegmentKind.TALK, ended=answered, agent=agent, mode=mode)
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
        now = datetime.now(UTC)
        try:
            if entry.segment is not None and entry.parent is not None and not entry.answered:
                await self.recorder.segment_end(entry.segment, now, _LEG_RESULTS.get(outcome))
            await self.recorder.close(entry.handle, now, outcome, entry.side)
        except SQLAlchemyError as exc:
            log.warning("call record %d: not closed: %s", entry.handle.record_id, exc)

    @staticmethod
    def outcome(entry: Entry) -> CallOutcome:
        """Answered; else abandoned where the caller was (queue, IVR); else rejected.
        A placed leg nobody answered: busy, no answer, cancelled or failed."""
        if entry.answered:
            return CallOutcome.ANSWERED
        if entry.parent is not None:
            if entry.failure is None:
                return CallOutcome.CANCELLED
            return _FAILURES.get(entry.failure, CallOutcome.FAILED)
        if SegmentKind.VOICEMAIL in entry.kinds:
            return CallOutcome.VOICEMAIL
        if SegmentKind.QUEUE in entry.kinds:
            return CallOutcome.ABANDONED_QUEUE
        if SegmentKind.IVR in entry.kinds:
            return CallOutcome.ABANDONED_IVR
        return CallOutcome.REJECTED


#: A placed leg's outcome from the final SIP status it failed with.
_FAILURES = {
    486: CallOutcome.BUSY,
    600: CallOutcome.BUSY,
    408: CallOutcome.NO_ANSWER,
    480: CallOutcome.NO_ANSWER,
    487: CallOutcome.CANCELLED,
}
#: How the ringing of a placed leg nobody answered ended.
_LEG_RESULTS = {
    CallOutcome.BUSY: SegmentResult.BUSY,
    CallOutcome.NO_ANSWER: SegmentResult.NO_ANSWER,
    CallOutcome.CANCELLED: SegmentResult.CANCELLED,
    CallOutcome.FAILED: SegmentResult.FAILED,
}
