"""Survey responses on the customer timeline, with their average score."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.customers.models import Customer
from helpline.customers.timeline import TimelineEntry, register_source
from helpline.surveys.models import Survey, SurveyAnswer, SurveyResponse


class SurveySource:
    """The customer's survey responses (offered, partly or fully answered)."""

    name = "surveys"

    async def entries(
        self,
        session: AsyncSession,
        *,
        customer: Customer,
        before: datetime | None,
        limit: int,
    ) -> list[TimelineEntry]:
        """The customer's responses, newest first."""
        average = (
            select(func.avg(SurveyAnswer.value))
            .where(SurveyAnswer.response_id == SurveyResponse.id)
            .scalar_subquery()
        )
        stmt = (
            select(SurveyResponse, Survey.name, average)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .where(
                SurveyResponse.tenant_id == customer.tenant_id,
                SurveyResponse.customer_id == customer.id,
            )
            .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(SurveyResponse.created_at < before)
        out = []
        for response, name, mean in (await session.execute(stmt)).all():
            score = round(float(mean), 2) if mean is not None else None
            out.append(
                TimelineEntry(
                    kind="survey",
                    at=response.created_at,
                    ref_id=response.id,
                    title=f"survey {name}: {response.status.value}"
                    + (f", average {score}" if score is not None else ""),
                    detail={
                        "survey": name,
                        "channel": response.channel.value,
                        "status": response.status.value,
                        "average": score,
                        "agent": response.agent,
                        "queue": response.queue,
                        "call_record_id": response.call_record_id,
                    },
                )
            )
        return out


def register() -> None:
    """Put survey responses on every customer's timeline."""
    register_source(SurveySource())
