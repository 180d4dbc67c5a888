"""Texting survey links after calls: the task behind a queue's ``sms`` survey option.

Theory of operation: when an agent's call ends the ACD publishes
:class:`~helpline.acd.events.CallFinished`. :class:`SurveyLinkSender` reads the call's
record (its queue and caller) and, if the queue's survey asks for an SMS, texts the
caller the link (:func:`helpline.surveys.service.send_link`). When the queue also has
the keypad survey, the caller may be answering it right then, so the sender first
waits as long as that survey can take (:func:`keypad_grace`) and sends nothing if the
caller completed it. One link per call at most; a caller without a usable number, or a
tenant without an SMS gateway, is logged and skipped. Waits are in memory: links
pending when the process stops are not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import select

from helpline.acd.events import CallFinished
from helpline.calls.models import CallRecord
from helpline.core.errors import ApiError
from helpline.core.events import Event
from helpline.runtime import Runtime
from helpline.surveys import service
from helpline.surveys.models import Channel, ResponseStatus, SurveyResponse
from helpline.surveys.runner import SurveyContext, SurveyPlan, survey_for_call

log = logging.getLogger(__name__)

MARGIN_SECONDS = 30.0


def keypad_grace(plan: SurveyPlan) -> float:
    """Seconds the keypad survey of ``plan`` can take at most (plus a margin)."""
    per_question = plan.timeout_seconds * (plan.retries + 1) + 10.0
    return per_question * len(plan.questions) + MARGIN_SECONDS


class SurveyLinkSender:
    """Texts survey links after calls; one per process, started by the server."""

    def __init__(
        self, runtime: Runtime, *, grace: Callable[[SurveyPlan], float] = keypad_grace
    ) -> None:
        self.runtime = runtime
        self.grace = grace
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def wanted(event: Event) -> bool:
        """Whether ``event`` ends an agent's call."""
        return isinstance(event, CallFinished) and event.tenant_id is not None

    async def _already(self, tenant_id: int, call_id: str) -> list[SurveyResponse]:
        async with self.runtime.unit_of_work() as session:
            return list(
                (
                    await session.execute(
                        select(SurveyResponse).where(
                            SurveyResponse.tenant_id == tenant_id,
                            SurveyResponse.call_id == call_id,
                        )
                    )
                ).scalars()
            )

    async def handle(self, event: CallFinished) -> SurveyResponse | None:
        """Text the link for the call ``event`` ended, if its queue wants one."""
        tenant_id = event.tenant_id
        if tenant_id is None:
            return None
        async with self.runtime.unit_of_work() as session:
            record = (
                await session.execute(
                    select(CallRecord).where(
                        CallRecord.tenant_id == tenant_id, CallRecord.call_id == event.call_id
                    )
                )
            ).scalar_one_or_none()
            if record is None or record.queue is None:
                return None
            plan = await survey_for_call(session, tenant_id=tenant_id, queue_name=record.queue)
        if plan is None or not plan.sms:
            return None
        if plan.keypad:
            await asyncio.sleep(self.grace(plan))
        earlier = await self._already(tenant_id, event.call_id)
        if any(
            r.channel is Channel.SMS
            or (r.channel is Channel.KEYPAD and r.status is ResponseStatus.COMPLETE)
            for r in earlier
        ):
            return None
        context = SurveyContext(
            call_id=record.call_id,
            caller=record.caller,
            agent=record.agent or event.username,
            queue=record.queue,
            call_record_id=record.id,
        )
        try:
            async with self.runtime.unit_of_work() as session:
                return await service.send_link(
                    session,
                    plan=plan,
                    context=context,
                    public_url=self.runtime.settings.effective_public_url,
                )
        except ApiError as exc:
            log.info("call %s: no survey link sent: %s", event.call_id, exc.message)
            return None

    async def _handle(self, event: CallFinished) -> None:
        try:
            await self.handle(event)
        except Exception:
            log.exception("call %s: sending the survey link failed", event.call_id)

    async def run(self) -> None:
        """Handle call ends until cancelled (each in its own task: some wait)."""
        sub = self.runtime.bus.subscribe(self.wanted)
        try:
            async for event in sub:
                assert isinstance(event, CallFinished)
                task = asyncio.get_running_loop().create_task(self._handle(event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            sub.close()
            for task in list(self._tasks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
