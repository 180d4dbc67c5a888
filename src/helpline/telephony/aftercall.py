"""The after-call keypad survey: the caller stays on the line when the agent hangs up.

When the agent's leg of a call answered from an ACD queue ends first (the agent's
BYE) and that queue's survey asks for the keypad (:func:`helpline.surveys.runner.
survey_for_call`), the agent's leg is released as usual (the agent goes to wrap-up),
the caller's dialog and endpoint stay up, and the survey runs on the caller's channel
(:func:`helpline.surveys.runner.run_survey_on_call` stores each answer against the call
record, its agent and queue). Then Helpline hangs up. A caller who hangs up first, or a
queue without a keypad survey, ends the call as before.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from helpline.calls.models import CallRecord
from helpline.ivr.port import CallPort
from helpline.sip.dialog import DialogId
from helpline.sip.uri import SipUri
from helpline.surveys.runner import SurveyContext, SurveyPlan, run_survey_on_call, survey_for_call

if TYPE_CHECKING:
    from helpline.telephony.commands import CallCommands
    from helpline.telephony.legs import Call

log = logging.getLogger(__name__)


class AfterCallSurvey:
    """Keeps the caller for the survey when the agent hangs up (see the module)."""

    def __init__(self, commands: CallCommands) -> None:
        self.commands = commands

    async def agent_left(self, call: Call, dialog: DialogId) -> bool:
        """The agent's leg of ``call`` ended: True if the caller stays for a survey."""
        out = call.out
        if (
            out is None
            or out.dialog != dialog
            or out.answered_by is None
            or not call.queued
            or call.dialog is None
            or call.media is None
        ):
            return False
        plan = await self._plan(call)
        if plan is None or not plan.keypad or not plan.questions:
            return False
        out.dialog = None  # the agent's BYE ended it
        agent = out.answered_by
        await self.commands.release_agent(call)
        caller = call.request.from_.uri
        context = SurveyContext(
            call_id=call.call_id,
            caller=(caller.user or "") if isinstance(caller, SipUri) else "",
            agent=agent,
            call_record_id=call.log.handle.record_id if call.log.handle else None,
        )
        control = self.commands.control

        async def survey(port: CallPort) -> None:
            await run_survey_on_call(control.runtime.unit_of_work, port, plan, context)
            control.enqueue(call, lambda: control.hang_up(call))

        control.run_script(call, survey)
        return True

    async def _plan(self, call: Call) -> SurveyPlan | None:
        tenant_id = call.tenant.id
        try:
            async with self.commands.control.runtime.unit_of_work() as db:
                queue = await db.scalar(
                    select(CallRecord.queue).where(
                        CallRecord.tenant_id == tenant_id, CallRecord.call_id == call.call_id
                    )
                )
                if not queue:
                    return None
                return await survey_for_call(db, tenant_id=tenant_id, queue_name=queue)
        except SQLAlchemyError as exc:
            log.warning("call %s: no survey (database: %s)", call.call_id, exc)
            return None
