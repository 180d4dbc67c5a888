"""Satisfaction survey tables: definitions, which queues use them, responses, answers.

A survey is asked either on the phone (keypad: the caller stays on the line after the
agent hangs up and presses one key per question, :mod:`helpline.surveys.runner`) or by
SMS (a link to a small public page, :mod:`helpline.surveys.page`). Both store a
``survey_responses`` row linked to the call (its call record, agent and queue) with
one ``survey_answers`` row per answered question. An SMS response is found by its
link's token, kept only as a SHA-256 digest.

The queue a survey is attached to is the ACD's (``acd_queues``); the link lives here,
in ``survey_queues``, one survey per queue.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.calls.models import MAX_QUEUE_LENGTH
from helpline.db.base import Base, TenantOwned, Timestamped, UtcDateTime, str_enum

MAX_NAME_LENGTH = 100
MAX_KEY_LENGTH = 40


class Channel(StrEnum):
    """How a survey was put to the caller."""

    KEYPAD = "keypad"
    SMS = "sms"


class ResponseStatus(StrEnum):
    """How far the caller got."""

    PENDING = "pending"
    """Offered (link sent, or the keypad survey started), nothing answered yet."""
    PARTIAL = "partial"
    """Some questions answered: the caller hung up or let some pass."""
    COMPLETE = "complete"


class Survey(TenantOwned, Timestamped, Base):
    """A tenant's survey: questions with their texts per language and answer range."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    description: Mapped[str] = mapped_column(String(500), default="")
    questions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Objects ``{key, text: {lang: text}, prompt, low, high}`` (shapes in schemas)."""
    intro: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Language -> text said (keypad) or shown (page) before the questions."""
    thanks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link_text: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Language -> the SMS carrying the link, a template with ``{link}``."""
    timeout_seconds: Mapped[float] = mapped_column(Double, default=5.0)
    """How long the keypad survey waits for a key."""
    retries: Mapped[int] = mapped_column(Integer, default=1)
    """How often a question is asked again after no key or a key out of range."""
    link_valid_hours: Mapped[int] = mapped_column(Integer, default=72)
    enabled: Mapped[bool] = mapped_column(default=True)


class SurveyQueue(TenantOwned, Base):
    """A queue whose callers are surveyed, and how."""

    __tablename__ = "survey_queues"
    __table_args__ = (UniqueConstraint("queue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("acd_queues.id", ondelete="CASCADE"))
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    keypad: Mapped[bool] = mapped_column(default=True)
    """Keep the caller on the line for the survey when the agent hangs up first."""
    sms: Mapped[bool] = mapped_column(default=False)
    """Text the caller a link to the survey after the call."""


class SurveyResponse(TenantOwned, Timestamped, Base):
    """One caller's answers to one survey about one call."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    status: Mapped[ResponseStatus] = mapped_column(str_enum(ResponseStatus), index=True)
    call_id: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    call_record_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    """The call's record (no foreign key: records and responses are kept apart)."""
    agent: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    queue: Mapped[str | None] = mapped_column(String(MAX_QUEUE_LENGTH), index=True, default=None)
    queue_id: Mapped[int | None] = mapped_column(Integer, default=None)
    caller: Mapped[str] = mapped_column(String(64), default="")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True, default=None
    )
    language: Mapped[str] = mapped_column(String(8), default="en")
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    sms_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SurveyAnswer(TenantOwned, Base):
    """The caller's answer to one question."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    position: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(Integer, default=0)
    """The question's scale when answered (statistics normalise by it)."""
    high: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SurveyLinkJob(TenantOwned, Base):
    """An after-call survey link to text once ``due_at`` has come (one per call), kept
    in the database so that a restart does not lose it (:mod:`helpline.surveys.dispatch`)."""

    __tablename__ = "survey_link_jobs"
    __table_args__ = (UniqueConstraint("tenant_id", "call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(100), default=None)
    """The agent whose call it was (when the record names none)."""
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True, default=None)
    """When the job was taken (sent or skipped); None while it waits."""
