"""HTTP routes for surveys (supervisors), surveyed queues, SMS links and results.

Importing this module puts survey responses on the customer timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from helpline.api.deps import AnyUser, Db, Supervisor, get_runtime
from helpline.core.pagination import Page, PageParams
from helpline.runtime import Runtime
from helpline.surveys import service, timeline
from helpline.surveys.models import Channel, ResponseStatus, SurveyResponse
from helpline.surveys.schemas import (
    AnswerOut,
    LinkRequest,
    ResponseOut,
    SurveyCreate,
    SurveyOut,
    SurveyQueueOut,
    SurveyQueuePut,
    SurveySummary,
    SurveyUpdate,
)

timeline.register()
router = APIRouter(tags=["surveys"])
Params = Annotated[PageParams, Query()]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _owned_survey(survey_id: int, db: Db, principal: AnyUser) -> int:
    """The path's survey, checked before the body so that a foreign one is a 404."""
    await service.get_survey(db, tenant_id=principal.tenant_id, survey_id=survey_id)
    return survey_id


async def _owned_queue(queue_id: int, db: Db, principal: Supervisor) -> int:
    await service.check_queue(db, principal=principal, queue_id=queue_id)
    return queue_id


OwnedSurvey = Annotated[int, Depends(_owned_survey)]
OwnedQueue = Annotated[int, Depends(_owned_queue)]


async def _responses_out(db: Db, responses: list[SurveyResponse]) -> list[ResponseOut]:
    answers = await service.answers_of(db, [r.id for r in responses])
    return [
        ResponseOut.model_validate(
            {
                **{k: getattr(r, k) for k in ResponseOut.model_fields if k != "answers"},
                "answers": [AnswerOut.model_validate(a) for a in answers.get(r.id, [])],
            }
        )
        for r in responses
    ]


@router.get("/surveys", response_model=Page[SurveyOut])
async def list_surveys(db: Db, principal: Supervisor, params: Params) -> object:
    """The tenant's surveys, by name."""
    items, total = await service.list_surveys(db, principal=principal, params=params)
    return Page[SurveyOut](items=items, total=total, limit=params.limit, offset=params.offset)


@router.post("/surveys", response_model=SurveyOut, status_code=status.HTTP_201_CREATED)
async def create_survey(data: SurveyCreate, db: Db, principal: Supervisor) -> object:
    """A new survey."""
    return await service.create_survey(db, principal=principal, data=data)


@router.get("/surveys/{survey_id}", response_model=SurveyOut)
async def get_survey(survey_id: int, db: Db, principal: Supervisor) -> object:
    """One survey."""
    return await service.get_survey(db, tenant_id=principal.tenant_id, survey_id=survey_id)


@router.patch("/surveys/{survey_id}", response_model=SurveyOut)
async def update_survey(
    survey_id: OwnedSurvey, data: SurveyUpdate, db: Db, principal: Supervisor
) -> object:
    """Change a survey; omitted fields stay."""
    return await service.update_survey(db, principal=principal, survey_id=survey_id, data=data)


@router.delete("/surveys/{survey_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_survey(survey_id: int, db: Db, principal: Supervisor) -> None:
    """Remove a survey with its queue links and responses."""
    await service.delete_survey(db, principal=principal, survey_id=survey_id)


@router.get("/surveys/{survey_id}/summary", response_model=SurveySummary)
async def survey_summary(
    survey_id: int,
    db: Db,
    principal: Supervisor,
    agent: str | None = None,
    queue: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> object:
    """Results per question (count, average, distribution), for an agent or a queue."""
    return await service.summary(
        db,
        principal=principal,
        survey_id=survey_id,
        agent=agent,
        queue=queue,
        since=since,
        until=until,
    )


@router.post(
    "/surveys/{survey_id}/sms-links",
    response_model=ResponseOut,
    status_code=status.HTTP_201_CREATED,
)
async def send_link(
    survey_id: OwnedSurvey, data: LinkRequest, db: Db, principal: AnyUser, runtime: RuntimeDep
) -> object:
    """Text the caller of a call record (or a number) a link to the survey."""
    response = await service.send_link_for(
        db,
        principal=principal,
        survey_id=survey_id,
        data=data,
        public_url=runtime.settings.effective_public_url,
    )
    return (await _responses_out(db, [response]))[0]


@router.get("/survey-queues", response_model=list[SurveyQueueOut])
async def list_survey_queues(db: Db, principal: Supervisor) -> object:
    """The tenant's surveyed queues."""
    return await service.list_survey_queues(db, principal=principal)


@router.get("/survey-queues/{queue_id}", response_model=SurveyQueueOut)
async def get_survey_queue(queue_id: int, db: Db, principal: Supervisor) -> object:
    """How a queue is surveyed (404 when it is not)."""
    return await service.get_survey_queue(db, principal=principal, queue_id=queue_id)


@router.put("/survey-queues/{queue_id}", response_model=SurveyQueueOut)
async def put_survey_queue(
    queue_id: OwnedQueue, data: SurveyQueuePut, db: Db, principal: Supervisor
) -> object:
    """Survey a queue's callers: keypad when the agent hangs up first, SMS after."""
    return await service.put_survey_queue(db, principal=principal, queue_id=queue_id, data=data)


@router.delete("/survey-queues/{queue_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_survey_queue(queue_id: int, db: Db, principal: Supervisor) -> None:
    """Stop surveying a queue's callers."""
    await service.delete_survey_queue(db, principal=principal, queue_id=queue_id)


@router.get("/survey-responses", response_model=Page[ResponseOut])
async def list_responses(
    db: Db,
    principal: Supervisor,
    params: Params,
    survey_id: int | None = None,
    agent: str | None = None,
    queue: str | None = None,
    channel: Channel | None = None,
    status: ResponseStatus | None = None,
    call_record_id: int | None = None,
) -> object:
    """Responses with their answers, newest first."""
    items, total = await service.list_responses(
        db,
        principal=principal,
        params=params,
        survey_id=survey_id,
        agent=agent,
        queue=queue,
        channel=channel,
        status=status,
        call_record_id=call_record_id,
    )
    return Page[ResponseOut](
        items=await _responses_out(db, items),
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@router.get("/survey-responses/{response_id}", response_model=ResponseOut)
async def get_response(response_id: int, db: Db, principal: Supervisor) -> object:
    """One response with its answers."""
    response = await service.get_response(db, principal=principal, response_id=response_id)
    return (await _responses_out(db, [response]))[0]
