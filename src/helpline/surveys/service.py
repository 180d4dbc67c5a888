"""Surveys of a tenant, the queues they are attached to, SMS links and results.

:func:`send_link` is the SMS side: it opens a ``pending`` response about a call, makes a
random token (kept as a SHA-256 digest; the link is ``<public URL>/survey/<token>``)
and queues an SMS with the link through :func:`helpline.sms.service.send_sms`, all in
the caller's transaction. The page (:mod:`helpline.surveys.page`) finds the response
by the token (:func:`response_by_token`) and stores the answers
(:func:`answer_by_link`). The keypad side is :mod:`helpline.surveys.runner`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.acd.models import Queue
from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.calls.models import CallRecord
from helpline.core.errors import ApiError, NotFound
from helpline.core.pagination import PageParams, paginate
from helpline.customers.models import Customer
from helpline.db.base import get_owned, utcnow
from helpline.ivr.templating import render
from helpline.prompts.language import FALLBACK
from helpline.sms.service import send_sms
from helpline.surveys.models import (
    Channel,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyQueue,
    SurveyResponse,
)
from helpline.surveys.runner import (
    SurveyContext,
    SurveyPlan,
    add_answer,
    open_response,
    pick,
    plan_of,
)
from helpline.surveys.schemas import (
    LinkRequest,
    QuestionSummary,
    SurveyCreate,
    SurveyQueuePut,
    SurveySummary,
    SurveyUpdate,
)

AUDITED = ("name", "description", "enabled", "timeout_seconds", "retries")
TOKEN_BYTES: Final = 24
LINK_PATH: Final = "/survey/"
DEFAULT_LINK_TEXTS: Final[dict[str, str]] = {
    "en": "How did we do? Rate your call: {link}",
    "zh": "请为本次通话评分：{link}",
    "ko": "상담은 만족스러우셨나요? 평가해 주세요: {link}",
}


def token_digest(token: str) -> str:
    """The stored form of a link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _stored(data: SurveyCreate | SurveyUpdate) -> dict[str, Any]:
    """The given fields (nested ones whole, defaults included), JSON-ready."""
    dumped = data.model_dump(exclude_none=True, mode="json")
    given = set(dumped) if isinstance(data, SurveyCreate) else data.model_fields_set
    return {k: v for k, v in dumped.items() if k in given}


async def _name_free(
    session: AsyncSession, tenant_id: int, name: str, own_id: int | None = None
) -> None:
    stmt = select(Survey.id).where(Survey.tenant_id == tenant_id, Survey.name == name)
    if own_id is not None:
        stmt = stmt.where(Survey.id != own_id)
    if (await session.execute(stmt)).first() is not None:
        raise ApiError(f"survey {name!r} exists", error_id="survey_name_taken", status_code=409)


async def list_surveys(
    session: AsyncSession, *, principal: Principal, params: PageParams
) -> tuple[list[Survey], int]:
    """The tenant's surveys, by name."""
    return await paginate(
        session,
        select(Survey).where(Survey.tenant_id == principal.tenant_id),
        params,
        sortable={"id": Survey.id, "name": Survey.name, "created_at": Survey.created_at},
        default_sort=(Survey.name,),
    )


async def get_survey(session: AsyncSession, *, tenant_id: int, survey_id: int) -> Survey:
    """A survey of ``tenant_id``."""
    return await get_owned(session, Survey, survey_id, tenant_id=tenant_id, what="survey")


async def create_survey(
    session: AsyncSession, *, principal: Principal, data: SurveyCreate
) -> Survey:
    """A new survey."""
    await _name_free(session, principal.tenant_id, data.name)
    survey = Survey(tenant_id=principal.tenant_id, **_stored(data))
    session.add(survey)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="create",
        entity="survey",
        obj=survey,
        fields=AUDITED,
    )
    return survey


async def update_survey(
    session: AsyncSession, *, principal: Principal, survey_id: int, data: SurveyUpdate
) -> Survey:
    """Change a survey; answers given before keep their question keys."""
    survey = await get_survey(session, tenant_id=principal.tenant_id, survey_id=survey_id)
    before = audit.snapshot(survey, AUDITED)
    changes = _stored(data)
    if "name" in changes:
        await _name_free(session, survey.tenant_id, changes["name"], survey.id)
    audit.apply_changes(survey, changes)
    await audit.log_change(
        session,
        actor=principal,
        tenant_id=survey.tenant_id,
        action="update",
        entity="survey",
        obj=survey,
        fields=AUDITED,
        before=before,
    )
    return survey


async def delete_survey(session: AsyncSession, *, principal: Principal, survey_id: int) -> None:
    """Remove a survey with its queue links and responses."""
    survey = await get_survey(session, tenant_id=principal.tenant_id, survey_id=survey_id)
    await audit.delete_logged(session, actor=principal, entity="survey", obj=survey, fields=AUDITED)


# Queues ----------------------------------------------------------------------------


async def _queue(session: AsyncSession, *, tenant_id: int, queue_id: int) -> Queue:
    return await get_owned(session, Queue, queue_id, tenant_id=tenant_id, what="queue")


async def check_queue(session: AsyncSession, *, principal: Principal, queue_id: int) -> None:
    """404 unless ``queue_id`` is an ACD queue of the principal's tenant."""
    await _queue(session, tenant_id=principal.tenant_id, queue_id=queue_id)


async def list_survey_queues(session: AsyncSession, *, principal: Principal) -> list[SurveyQueue]:
    """The tenant's surveyed queues."""
    return list(
        (
            await session.execute(
                select(SurveyQueue)
                .where(SurveyQueue.tenant_id == principal.tenant_id)
                .order_by(SurveyQueue.queue_id)
            )
        ).scalars()
    )


async def get_survey_queue(
    session: AsyncSession, *, principal: Principal, queue_id: int
) -> SurveyQueue:
    """How the tenant's queue ``queue_id`` is surveyed (404 when it is not)."""
    await _queue(session, tenant_id=principal.tenant_id, queue_id=queue_id)
    link = (
        await session.execute(select(SurveyQueue).where(SurveyQueue.queue_id == queue_id))
    ).scalar_one_or_none()
    if link is None:
        raise NotFound("the queue has no survey", error_id="survey_queue_not_found")
    return link


async def put_survey_queue(
    session: AsyncSession, *, principal: Principal, queue_id: int, data: SurveyQueuePut
) -> SurveyQueue:
    """Attach ``data.survey_id`` to the queue (replacing any survey it had)."""
    tenant_id = principal.tenant_id
    await _queue(session, tenant_id=tenant_id, queue_id=queue_id)
    await get_survey(session, tenant_id=tenant_id, survey_id=data.survey_id)
    link = (
        await session.execute(select(SurveyQueue).where(SurveyQueue.queue_id == queue_id))
    ).scalar_one_or_none()
    if link is None:
        link = SurveyQueue(tenant_id=tenant_id, queue_id=queue_id, survey_id=data.survey_id)
        session.add(link)
    link.survey_id = data.survey_id
    link.keypad = data.keypad
    link.sms = data.sms
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        tenant_id=tenant_id,
        action="update",
        entity="survey_queue",
        entity_id=queue_id,
        after={"survey_id": data.survey_id, "keypad": data.keypad, "sms": data.sms},
    )
    return link


async def delete_survey_queue(
    session: AsyncSession, *, principal: Principal, queue_id: int
) -> None:
    """Stop surveying the queue's callers."""
    link = await get_survey_queue(session, principal=principal, queue_id=queue_id)
    await session.delete(link)
    await audit.record(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="delete",
        entity="survey_queue",
        entity_id=queue_id,
    )


# SMS links -------------------------------------------------------------------------


def link_url(public_url: str, token: str) -> str:
    """The page of a survey link."""
    return f"{public_url}{LINK_PATH}{token}"


async def send_link(
    session: AsyncSession,
    *,
    plan: SurveyPlan,
    context: SurveyContext,
    public_url: str,
    to: str | None = None,
    language: str | None = None,
    created_by: str = "system",
    now: datetime | None = None,
) -> SurveyResponse:
    """Open a ``pending`` SMS response about the call in ``context`` and text the
    caller (or ``to``) the link, in ``language`` (else the customer's, else the
    tenant's ... English). Errors of :func:`~helpline.sms.service.send_sms` (no
    gateway, not a phone number) propagate."""
    at = now or utcnow()
    response = await open_response(
        session, plan=plan, context=context, channel=Channel.SMS, language=FALLBACK.value
    )
    if language is None and response.customer_id is not None:
        customer = await session.get(Customer, response.customer_id)
        language = customer.language if customer else None
    response.language = language or FALLBACK.value
    token = secrets.token_urlsafe(TOKEN_BYTES)
    response.token_digest = token_digest(token)
    response.expires_at = at + timedelta(hours=plan.link_valid_hours)
    template = pick(plan.link_text, response.language) or pick(
        DEFAULT_LINK_TEXTS, response.language
    )
    message = await send_sms(
        session,
        tenant_id=plan.tenant_id,
        to=to or context.caller,
        text=render(template, {"link": link_url(public_url, token)}),
        created_by=created_by,
        purpose="survey",
        customer_id=response.customer_id,
        now=at,
    )
    response.sms_message_id = message.id
    return response


async def send_link_for(
    session: AsyncSession,
    *,
    principal: Principal,
    survey_id: int,
    data: LinkRequest,
    public_url: str,
) -> SurveyResponse:
    """Text a survey link about a call record of the tenant, or to a number."""
    survey = await get_survey(session, tenant_id=principal.tenant_id, survey_id=survey_id)
    context = SurveyContext(call_id="", caller=data.to or "")
    if data.call_record_id is not None:
        record = await get_owned(
            session,
            CallRecord,
            data.call_record_id,
            tenant_id=principal.tenant_id,
            what="call record",
        )
        context = SurveyContext(
            call_id=record.call_id,
            caller=data.to or record.caller,
            agent=record.agent,
            queue=record.queue,
            call_record_id=record.id,
        )
    return await send_link(
        session,
        plan=plan_of(survey),
        context=context,
        public_url=public_url,
        language=data.language.value if data.language else None,
        created_by=principal.display,
    )


async def response_by_token(
    session: AsyncSession, token: str
) -> tuple[SurveyResponse, Survey] | None:
    """The SMS response of a link token and its survey (whatever its state)."""
    row = (
        await session.execute(
            select(SurveyResponse, Survey)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .where(SurveyResponse.token_digest == token_digest(token))
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def link_open(response: SurveyResponse, *, now: datetime) -> bool:
    """Whether a link may still be answered (not answered, not expired)."""
    return response.status is ResponseStatus.PENDING and (
        response.expires_at is None or response.expires_at > now
    )


async def answer_by_link(
    session: AsyncSession,
    *,
    response: SurveyResponse,
    survey: Survey,
    values: dict[str, int],
    now: datetime,
) -> None:
    """Store the page's answers (those in range; the rest are left unanswered)."""
    plan = plan_of(survey)
    for position, question in enumerate(plan.questions):
        value = values.get(question.key)
        if value is not None and question.low <= value <= question.high:
            add_answer(
                session,
                response,
                question=question,
                position=position,
                value=value,
                at=now,
            )
    answered = sum(
        1 for q in plan.questions if (v := values.get(q.key)) is not None and q.low <= v <= q.high
    )
    response.status = (
        ResponseStatus.COMPLETE if answered == len(plan.questions) else ResponseStatus.PARTIAL
    )
    response.completed_at = now


# Results ---------------------------------------------------------------------------


async def list_responses(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    survey_id: int | None = None,
    agent: str | None = None,
    queue: str | None = None,
    channel: Channel | None = None,
    status: ResponseStatus | None = None,
    call_record_id: int | None = None,
) -> tuple[list[SurveyResponse], int]:
    """The tenant's responses, newest first."""
    return await paginate(
        session,
        select(SurveyResponse).where(SurveyResponse.tenant_id == principal.tenant_id),
        params,
        sortable={"id": SurveyResponse.id, "created_at": SurveyResponse.created_at},
        filters={
            "survey_id": (SurveyResponse.survey_id, survey_id),
            "agent": (SurveyResponse.agent, agent),
            "queue": (SurveyResponse.queue, queue),
            "channel": (SurveyResponse.channel, channel),
            "status": (SurveyResponse.status, status),
            "call_record_id": (SurveyResponse.call_record_id, call_record_id),
        },
        default_sort=(SurveyResponse.id.desc(),),
    )


async def answers_of(
    session: AsyncSession, response_ids: list[int]
) -> dict[int, list[SurveyAnswer]]:
    """The answers of each response, in question order."""
    out: dict[int, list[SurveyAnswer]] = defaultdict(list)
    if not response_ids:
        return out
    rows = (
        await session.execute(
            select(SurveyAnswer)
            .where(SurveyAnswer.response_id.in_(response_ids))
            .order_by(SurveyAnswer.response_id, SurveyAnswer.position)
        )
    ).scalars()
    for answer in rows:
        out[answer.response_id].append(answer)
    return out


async def get_response(
    session: AsyncSession, *, principal: Principal, response_id: int
) -> SurveyResponse:
    """A response of the tenant."""
    return await get_owned(
        session, SurveyResponse, response_id, tenant_id=principal.tenant_id, what="response"
    )


async def summary(
    session: AsyncSession,
    *,
    principal: Principal,
    survey_id: int,
    agent: str | None = None,
    queue: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SurveySummary:
    """Per question: how many answered, the average and the distribution."""
    survey = await get_survey(session, tenant_id=principal.tenant_id, survey_id=survey_id)
    responses = select(SurveyResponse.id).where(
        SurveyResponse.tenant_id == survey.tenant_id, SurveyResponse.survey_id == survey.id
    )
    if agent is not None:
        responses = responses.where(SurveyResponse.agent == agent)
    if queue is not None:
        responses = responses.where(SurveyResponse.queue == queue)
    if since is not None:
        responses = responses.where(SurveyResponse.created_at >= since)
    if until is not None:
        responses = responses.where(SurveyResponse.created_at < until)
    sub = responses.subquery()
    counts = (
        await session.execute(
            select(SurveyResponse.status, func.count())
            .where(SurveyResponse.id.in_(select(sub.c.id)))
            .group_by(SurveyResponse.status)
        )
    ).all()
    by_status = {status: count for status, count in counts}
    rows = (
        await session.execute(
            select(SurveyAnswer.question, SurveyAnswer.value, func.count())
            .where(SurveyAnswer.response_id.in_(select(sub.c.id)))
            .group_by(SurveyAnswer.question, SurveyAnswer.value)
        )
    ).all()
    distribution: dict[str, dict[int, int]] = defaultdict(dict)
    for question, value, count in rows:
        distribution[question][value] = count
    questions = []
    for q in plan_of(survey).questions:
        dist = dict(sorted(distribution.get(q.key, {}).items()))
        answered = sum(dist.values())
        average = sum(v * n for v, n in dist.items()) / answered if answered else None
        questions.append(
            QuestionSummary(
                key=q.key,
                answers=answered,
                average=round(average, 3) if average is not None else None,
                distribution=dist,
            )
        )
    return SurveySummary(
        survey_id=survey.id,
        responses=sum(by_status.values()),
        complete=by_status.get(ResponseStatus.COMPLETE, 0),
        questions=questions,
    )
