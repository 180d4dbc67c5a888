"""The keypad survey: a caller rates the call with one key per question.

Theory of operation: call control asks :func:`survey_for_call` whether the call's queue
has a survey; the answer is a :class:`SurveyPlan` (everything the survey needs, read
once, no database session held). When the agent hangs up first and ``plan.keypad`` is
set, call control keeps the caller's leg and runs :func:`run_keypad_survey` over the
call's :class:`~helpline.ivr.port.CallPort`, then hangs up:

* the intro is said (TTS in the port's language, else English, else any), then each
  question: its recorded prompt (if any) and its text, interruptible, and one key is
  collected within ``timeout_seconds``;
* a key in the question's range is the answer and is stored at once (a caller who
  hangs up mid-survey keeps the answers given); no key, or one out of range, plays
  the system prompt ``ivr/invalid-option`` and asks again, ``retries`` times, then the
  question is skipped;
* the thanks text (else the system prompt ``ivr/thank-you-for-calling``) ends it.

Storing goes through a :class:`SurveyRecorder`; :class:`DbSurveyRecorder` writes a
``survey_responses`` row linked to the call record, agent and queue, and one
``survey_answers`` row per answer, each in its own short transaction (a database error
is logged, never raised into the call). :func:`run_survey_on_call` puts the two
together for call control.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.models import Queue
from helpline.calls.models import CallRecord
from helpline.customers.lookup import lookup_by_number
from helpline.db.base import utcnow
from helpline.ivr.port import CallGone, CallPort
from helpline.media.backend import Source
from helpline.prompts.language import FALLBACK
from helpline.surveys.models import (
    Channel,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyQueue,
    SurveyResponse,
)

log = logging.getLogger(__name__)

INVALID_PROMPT: Final = "ivr/invalid-option"
THANKS_PROMPT: Final = "ivr/thank-you-for-calling"


def pick(texts: Mapping[str, str], language: str) -> str:
    """The text in ``language``, else English, else any, else ""."""
    for lang in (language, FALLBACK.value):
        if texts.get(lang):
            return texts[lang]
    return next(iter(texts.values()), "")


@dataclass(frozen=True, slots=True)
class PlanQuestion:
    """One question as the runner asks it."""

    key: str
    texts: Mapping[str, str]
    prompt: str | None
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class SurveyPlan:
    """A survey, ready to run on a call of ``queue`` (no database needed)."""

    tenant_id: int
    survey_id: int
    name: str
    questions: tuple[PlanQuestion, ...]
    intro: Mapping[str, str] = field(default_factory=dict)
    thanks: Mapping[str, str] = field(default_factory=dict)
    link_text: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 5.0
    retries: int = 1
    link_valid_hours: int = 72
    keypad: bool = True
    """Run on the keypad when the agent hangs up first."""
    sms: bool = False
    """Text the caller a link after the call."""
    queue_id: int | None = None
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class SurveyContext:
    """The call a survey is about. Without ``call_record_id`` the record is found by
    ``call_id``; ``agent`` and ``queue`` default to the record's."""

    call_id: str
    caller: str
    agent: str | None = None
    queue: str | None = None
    call_record_id: int | None = None


@dataclass(frozen=True, slots=True)
class SurveyOutcome:
    """What the caller answered (question key -> value)."""

    answers: Mapping[str, int]
    complete: bool
    """Every question was answered."""
    hung_up: bool
    """The caller hung up before the end."""


class SurveyRecorder(Protocol):
    """Where a running survey's answers go."""

    async def start(self, language: str) -> None:
        """The survey begins, in ``language``."""
        ...

    async def answer(self, question: PlanQuestion, position: int, value: int) -> None:
        """``question`` (the ``position``-th, from 0) was answered ``value``."""
        ...

    async def finish(self, outcome: SurveyOutcome) -> None:
        """The survey ended."""
        ...


def plan_of(
    survey: Survey, link: SurveyQueue | None = None, queue: str | None = None
) -> SurveyPlan:
    """The plan of ``survey`` (as attached by ``link`` to ``queue``)."""
    return SurveyPlan(
        tenant_id=survey.tenant_id,
        survey_id=survey.id,
        name=survey.name,
        questions=tuple(
            PlanQuestion(
                key=q["key"],
                texts=dict(q.get("text", {})),
                prompt=q.get("prompt"),
                low=int(q.get("low", 1)),
                high=int(q.get("high", 5)),
            )
            for q in survey.questions
        ),
        intro=dict(survey.intro),
        thanks=dict(survey.thanks),
        link_text=dict(survey.link_text),
        timeout_seconds=survey.timeout_seconds,
        retries=survey.retries,
        link_valid_hours=survey.link_valid_hours,
        keypad=link.keypad if link else True,
        sms=link.sms if link else False,
        queue_id=link.queue_id if link else None,
        queue=queue,
    )


async def survey_for_call(
    session: AsyncSession,
    *,
    tenant_id: int,
    queue_id: int | None = None,
    queue_name: str | None = None,
) -> SurveyPlan | None:
    """The survey of the queue (by id or by name) a call of ``tenant_id`` went through,
    or ``None`` when the queue has none or it is disabled."""
    stmt = (
        select(SurveyQueue, Survey, Queue.name)
        .join(Survey, Survey.id == SurveyQueue.survey_id)
        .join(Queue, Queue.id == SurveyQueue.queue_id)
        .where(SurveyQueue.tenant_id == tenant_id, Survey.enabled.is_(True))
    )
    if queue_id is not None:
        stmt = stmt.where(SurveyQueue.queue_id == queue_id)
    elif queue_name is not None:
        stmt = stmt.where(Queue.name == queue_name)
    else:
        return None
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    link, survey, name = row
    return plan_of(survey, link, name)


async def _play(port: CallPort, names: list[str], text: str, *, interruptible: bool) -> None:
    sources: list[Source] = []
    for name in names:
        try:
            sources += port.prompts([name])
        except LookupError:
            log.warning("call %s: no prompt %r; skipped", port.call_id, name)
    if text.strip():
        sources.append(await port.speak(text))
    if sources:
        await port.play(sources, interruptible=interruptible)


async def _ask(port: CallPort, plan: SurveyPlan, question: PlanQuestion) -> int | None:
    language = port.language.value
    for attempt in range(plan.retries + 1):
        if attempt:
            await _play(port, [INVALID_PROMPT], "", interruptible=True)
        names = [question.prompt] if question.prompt else []
        await _play(port, names, pick(question.texts, language), interruptible=True)
        key = await port.collect(
            max_digits=1,
            terminator="",
            first_timeout=plan.timeout_seconds,
            inter_timeout=plan.timeout_seconds,
        )
        if key.isdigit() and question.low <= int(key) <= question.high:
            return int(key)
    return None


async def run_keypad_survey(
    port: CallPort, plan: SurveyPlan, recorder: SurveyRecorder
) -> SurveyOutcome:
    """Ask ``plan``'s questions on ``port`` and store the answers through ``recorder``.
    Never raises :class:`~helpline.ivr.port.CallGone`: a hang-up ends the survey with
    the answers given so far. The caller is not hung up here."""
    answers: dict[str, int] = {}
    hung_up = False
    language = port.language.value
    await recorder.start(language)
    try:
        await _play(port, [], pick(plan.intro, language), interruptible=True)
        for position, question in enumerate(plan.questions):
            value = await _ask(port, plan, question)
            if value is not None:
                answers[question.key] = value
                await recorder.answer(question, position, value)
        thanks = pick(plan.thanks, language)
        await _play(port, [] if thanks else [THANKS_PROMPT], thanks, interruptible=False)
    except CallGone:
        hung_up = True
    outcome = SurveyOutcome(
        answers=answers, complete=len(answers) == len(plan.questions), hung_up=hung_up
    )
    await recorder.finish(outcome)
    return outcome


UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def open_response(
    session: AsyncSession,
    *,
    plan: SurveyPlan,
    context: SurveyContext,
    channel: Channel,
    language: str,
) -> SurveyResponse:
    """A new ``pending`` response to ``plan`` about the call in ``context``, linked to
    its call record (agent and queue from it unless given) and the caller's customer."""
    record: CallRecord | None = None
    if context.call_record_id is not None:
        record = await session.get(CallRecord, context.call_record_id)
    elif context.call_id:
        record = (
            await session.execute(
                select(CallRecord).where(
                    CallRecord.tenant_id == plan.tenant_id, CallRecord.call_id == context.call_id
                )
            )
        ).scalar_one_or_none()
    if record is not None and record.tenant_id != plan.tenant_id:
        record = None
    customer = (
        await lookup_by_number(session, plan.tenant_id, context.caller) if context.caller else None
    )
    response = SurveyResponse(
        tenant_id=plan.tenant_id,
        survey_id=plan.survey_id,
        channel=channel,
        status=ResponseStatus.PENDING,
        call_id=context.call_id or (record.call_id if record else None),
        call_record_id=record.id if record else None,
        agent=context.agent or (record.agent if record else None),
        queue=context.queue or plan.queue or (record.queue if record else None),
        queue_id=plan.queue_id,
        caller=context.caller[:64],
        customer_id=customer.id if customer else None,
        language=language,
    )
    session.add(response)
    await session.flush()
    return response


def add_answer(
    session: AsyncSession,
    response: SurveyResponse,
    *,
    question: PlanQuestion,
    position: int,
    value: int,
    at: datetime,
) -> None:
    """Store one answer of ``response`` with its question's scale."""
    session.add(
        SurveyAnswer(
            tenant_id=response.tenant_id,
            response_id=response.id,
            question=question.key,
            position=position,
            value=value,
            low=question.low,
            high=question.high,
            answered_at=at,
        )
    )


class DbSurveyRecorder:
    """Stores a keypad survey as it goes, one short transaction per step."""

    def __init__(
        self,
        unit_of_work: UnitOfWork,
        *,
        plan: SurveyPlan,
        context: SurveyContext,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.plan = plan
        self.context = context
        self.clock = clock
        self.response_id: int | None = None

    async def start(self, language: str) -> None:
        """Write the ``pending`` response."""
        try:
            async with self.unit_of_work() as session:
                response = await open_response(
                    session,
                    plan=self.plan,
                    context=self.context,
                    channel=Channel.KEYPAD,
                    language=language,
                )
                self.response_id = response.id
        except SQLAlchemyError as exc:
            log.warning("call %s: survey response not stored: %s", self.context.call_id, exc)

    async def answer(self, question: PlanQuestion, position: int, value: int) -> None:
        """Write one answer; the response becomes ``partial``."""
        if self.response_id is None:
            return
        try:
            async with self.unit_of_work() as session:
                response = await session.get(SurveyResponse, self.response_id)
                if response is None:
                    return
                add_answer(
                    session,
                    response,
                    question=question,
                    position=position,
                    value=value,
                    at=self.clock(),
                )
                response.status = ResponseStatus.PARTIAL
        except SQLAlchemyError as exc:
            log.warning("call %s: survey answer not stored: %s", self.context.call_id, exc)

    async def finish(self, outcome: SurveyOutcome) -> None:
        """Mark the response ``complete`` when every question was answered."""
        if not outcome.complete or self.response_id is None:
            return
        try:
            async with self.unit_of_work() as session:
                response = await session.get(SurveyResponse, self.response_id)
                if response is not None:
                    response.status = ResponseStatus.COMPLETE
                    response.completed_at = self.clock()
        except SQLAlchemyError as exc:
            log.warning("call %s: survey end not stored: %s", self.context.call_id, exc)


async def run_survey_on_call(
    unit_of_work: UnitOfWork, port: CallPort, plan: SurveyPlan, context: SurveyContext
) -> SurveyOutcome:
    """Call control's entry point: run ``plan`` on the caller's ``port`` and store the
    answers against the call in ``context``. Never raises for a hang-up or a database
    error (those are logged); the caller is not hung up here."""
    recorder = DbSurveyRecorder(unit_of_work, plan=plan, context=context)
    return await run_keypad_survey(port, plan, recorder)
