"""Texting survey links after calls: the task behind a queue's ``sms`` survey option.

Theory of operation: when an agent's call ends the ACD publishes
:class:`~helpline.acd.events.CallFinished`. :class:`SurveyLinkSender` reads the call's
record (its queue) and, if the queue's survey asks for an SMS, stores a
:class:`~helpline.surveys.models.SurveyLinkJob` due at once, or, when the queue also
has the keypad survey (the caller may be answering it right then), as long after as
that survey can take (:func:`keypad_grace`). Its pass loop
(:func:`helpline.core.passes.run_passes`, woken by call ends and every few seconds)
takes the due jobs, each claimed with a conditional update so that two nodes never
send the same link, and texts the caller the link
(:func:`helpline.surveys.service.send_link`) unless the caller completed the keypad
survey or already got a link. Jobs live in the database: a restart delays a link,
never loses it. One link per call at most; a caller without a usable number, or a
tenant without an SMS gateway, is logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from helpline.acd.events import CallFinished
from helpline.calls.models import CallRecord
from helpline.core.errors import ApiError
from helpline.core.events import Event
from helpline.core.passes import claim, run_passes
from helpline.db.base import utcnow
from helpline.runtime import Runtime
from helpline.surveys import service
from helpline.surveys.models import Channel, ResponseStatus, SurveyLinkJob, SurveyResponse
from helpline.surveys.runner import SurveyContext, SurveyPlan, survey_for_call

log = logging.getLogger(__name__)

MARGIN_SECONDS: Final = 30.0
BATCH: Final = 20
POLL_SECONDS: Final = 5.0


def keypad_grace(plan: SurveyPlan) -> float:
    """Seconds the keypad survey of ``plan`` can take at most (plus a margin)."""
    per_question = plan.timeout_seconds * (plan.retries + 1) + 10.0
    return per_question * len(plan.questions) + MARGIN_SECONDS


class SurveyLinkSender:
    """Schedules and texts survey links after calls; one per process, started by the
    server."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        grace: Callable[[SurveyPlan], float] = keypad_grace,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runtime = runtime
        self.grace = grace
        self.clock = clock
        self._wake = asyncio.Event()

    @staticmethod
    def wanted(event: Event) -> bool:
        """Whether ``event`` ends an agent's call."""
        return isinstance(event, CallFinished) and event.tenant_id is not None

    async def schedule(self, event: CallFinished) -> SurveyLinkJob | None:
        """Store the link job of the call ``event`` ended, if its queue wants a link
        (None if not, or if the call has one already)."""
        tenant_id = event.tenant_id
        if tenant_id is None:
            return None
        async with self.runtime.unit_of_work() as session:
            queue = await session.scalar(
                select(CallRecord.queue).where(
                    CallRecord.tenant_id == tenant_id, CallRecord.call_id == event.call_id
                )
            )
            if queue is None:
                return None
            plan = await survey_for_call(session, tenant_id=tenant_id, queue_name=queue)
            if plan is None or not plan.sms:
                return None
            wait = self.grace(plan) if plan.keypad else 0.0
            job = SurveyLinkJob(
                tenant_id=tenant_id,
                call_id=event.call_id,
                username=event.username,
                due_at=self.clock() + timedelta(seconds=wait),
            )
            try:
                async with session.begin_nested():
                    session.add(job)
            except IntegrityError:
                return None
        return job

    async def _claim(self) -> list[SurveyLinkJob]:
        now = self.clock()
        async with self.runtime.unit_of_work() as session:
            due = list(
                (
                    await session.execute(
                        select(SurveyLinkJob)
                        .where(SurveyLinkJob.done_at.is_(None), SurveyLinkJob.due_at <= now)
                        .order_by(SurveyLinkJob.due_at, SurveyLinkJob.id)
                        .limit(BATCH)
                    )
                ).scalars()
            )
            claimed = []
            for job in due:
                if await claim(
                    session,
                    update(SurveyLinkJob)
                    .where(SurveyLinkJob.id == job.id, SurveyLinkJob.done_at.is_(None))
                    .values(done_at=now),
                ):
                    claimed.append(job)
            return claimed

    async def _send(self, job: SurveyLinkJob) -> SurveyResponse | None:
        tenant_id = job.tenant_id
        async with self.runtime.unit_of_work() as session:
            record = await session.scalar(
                select(CallRecord).where(
                    CallRecord.tenant_id == tenant_id, CallRecord.call_id == job.call_id
                )
            )
            if record is None or record.queue is None:
                return None
            plan = await survey_for_call(session, tenant_id=tenant_id, queue_name=record.queue)
            if plan is None or not plan.sms:
                return None
            earlier = (
                await session.execute(
                    select(SurveyResponse.channel, SurveyResponse.status).where(
                        SurveyResponse.tenant_id == tenant_id,
                        SurveyResponse.call_id == job.call_id,
                    )
                )
            ).all()
            if any(
                channel is Channel.SMS
                or (channel is Channel.KEYPAD and status is ResponseStatus.COMPLETE)
                for channel, status in earlier
            ):
                return None
            context = SurveyContext(
                call_id=record.call_id,
                caller=record.caller,
                agent=record.agent or job.username,
                queue=record.queue,
                call_record_id=record.id,
            )
            try:
                async with session.begin_nested():
                    return await service.send_link(
                        session,
                        plan=plan,
                        context=context,
                        public_url=self.runtime.settings.effective_public_url,
                    )
            except ApiError as exc:
                log.info("call %s: no survey link sent: %s", job.call_id, exc.message)
                return None

    async def send_due(self) -> list[SurveyResponse | None]:
        """Text the links of the jobs due now (one batch): per job taken, the response
        made, or None when it was skipped or failed."""
        taken: list[SurveyResponse | None] = []
        for job in await self._claim():
            try:
                taken.append(await self._send(job))
            except Exception:
                log.exception("call %s: sending the survey link failed", job.call_id)
                taken.append(None)
        return taken

    async def pass_once(self) -> int:
        """One pass of the loop: how many due jobs were taken."""
        return len(await self.send_due())

    async def run(self) -> None:
        """Schedule links as calls end and send them when due, until cancelled."""
        sub = self.runtime.bus.subscribe(self.wanted, local_only=True)
        loop = asyncio.get_running_loop().create_task(
            run_passes(
                self.runtime.bus,
                self.wanted,
                self.pass_once,
                self._wake,
                batch=BATCH,
                poll=POLL_SECONDS,
                name="survey link sender",
            )
        )
        try:
            async for event in sub:
                assert isinstance(event, CallFinished)
                try:
                    await self.schedule(event)
                except Exception:
                    log.exception("call %s: scheduling the survey link failed", event.call_id)
                self._wake.set()
        finally:
            sub.close()
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
