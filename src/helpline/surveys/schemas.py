"""API shapes of surveys, their queues, responses and results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helpline.ivr.templating import TemplateError, placeholders
from helpline.prompts.language import NAME_PATTERN, Language
from helpline.surveys.models import MAX_NAME_LENGTH, Channel, ResponseStatus

Name = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Said = Annotated[str, Field(min_length=1, max_length=500)]
Texts = dict[Language, Said]


class Question(BaseModel):
    """One question: its text per language (spoken by TTS on the phone, shown on the
    page), an optional recorded prompt played before the text, and the answer range
    (one key, so within 0-9; 1-5 by default)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    text: Texts = Field(min_length=1)
    prompt: str | None = Field(default=None, pattern=NAME_PATTERN)
    low: int = Field(default=1, ge=0, le=8)
    high: int = Field(default=5, ge=1, le=9)

    @model_validator(mode="after")
    def _range(self) -> Question:
        if self.low >= self.high:
            raise ValueError("low must be below high")
        return self


def _keys_unique(questions: list[Question]) -> list[Question]:
    keys = [q.key for q in questions]
    if len(set(keys)) != len(keys):
        raise ValueError("question keys must be unique")
    return questions


def _link_texts(texts: Texts) -> Texts:
    for lang, text in texts.items():
        try:
            used = placeholders(text)
        except TemplateError as exc:
            raise ValueError(f"{lang.value}: {exc}") from None
        if "link" not in used:
            raise ValueError(f"{lang.value}: the text must contain {{link}}")
    return texts


class SurveyCreate(BaseModel):
    """A new survey."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=500)
    questions: list[Question] = Field(min_length=1, max_length=10)
    intro: Texts = Field(default_factory=dict)
    thanks: Texts = Field(default_factory=dict)
    link_text: Texts = Field(default_factory=dict)
    """The SMS with the link, per language (``{link}`` is the link); built-in if empty."""
    timeout_seconds: float = Field(default=5.0, ge=1.0, le=30.0)
    retries: int = Field(default=1, ge=0, le=3)
    link_valid_hours: int = Field(default=72, ge=1, le=24 * 30)
    enabled: bool = True

    @field_validator("questions")
    @classmethod
    def _unique(cls, value: list[Question]) -> list[Question]:
        return _keys_unique(value)

    @field_validator("link_text")
    @classmethod
    def _links(cls, value: Texts) -> Texts:
        return _link_texts(value)


class SurveyUpdate(BaseModel):
    """Changes to a survey; omitted fields stay, lists and texts are replaced whole."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=500)
    questions: list[Question] | None = Field(default=None, min_length=1, max_length=10)
    intro: Texts | None = None
    thanks: Texts | None = None
    link_text: Texts | None = None
    timeout_seconds: float | None = Field(default=None, ge=1.0, le=30.0)
    retries: int | None = Field(default=None, ge=0, le=3)
    link_valid_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    enabled: bool | None = None

    @field_validator("questions")
    @classmethod
    def _unique(cls, value: list[Question] | None) -> list[Question] | None:
        return None if value is None else _keys_unique(value)

    @field_validator("link_text")
    @classmethod
    def _links(cls, value: Texts | None) -> Texts | None:
        return None if value is None else _link_texts(value)


class SurveyOut(BaseModel):
    """A survey."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    questions: list[Question]
    intro: dict[str, str]
    thanks: dict[str, str]
    link_text: dict[str, str]
    timeout_seconds: float
    retries: int
    link_valid_hours: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class SurveyQueuePut(BaseModel):
    """Survey a queue's callers with ``survey_id``: on the keypad when the agent hangs
    up first, and/or by an SMS link after the call."""

    model_config = ConfigDict(extra="forbid")

    survey_id: int
    keypad: bool = True
    sms: bool = False

    @model_validator(mode="after")
    def _some_channel(self) -> SurveyQueuePut:
        if not (self.keypad or self.sms):
            raise ValueError("choose keypad, sms or both")
        return self


class SurveyQueueOut(BaseModel):
    """A surveyed queue."""

    model_config = ConfigDict(from_attributes=True)

    queue_id: int
    survey_id: int
    keypad: bool
    sms: bool


class LinkRequest(BaseModel):
    """Text a survey link about a call: by its call record (the caller's number, agent
    and queue come from it) and/or straight to ``to``."""

    model_config = ConfigDict(extra="forbid")

    call_record_id: int | None = None
    to: str | None = Field(default=None, min_length=1, max_length=40)
    language: Language | None = None

    @model_validator(mode="after")
    def _something(self) -> LinkRequest:
        if self.call_record_id is None and self.to is None:
            raise ValueError("give call_record_id or to")
        return self


class AnswerOut(BaseModel):
    """One answer."""

    model_config = ConfigDict(from_attributes=True)

    question: str
    value: int
    answered_at: datetime


class ResponseOut(BaseModel):
    """A response with its answers."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    survey_id: int
    channel: Channel
    status: ResponseStatus
    call_id: str | None
    call_record_id: int | None
    agent: str | None
    queue: str | None
    caller: str
    customer_id: int | None
    language: str
    expires_at: datetime | None
    sms_message_id: int | None
    completed_at: datetime | None
    created_at: datetime
    answers: list[AnswerOut]


class QuestionSummary(BaseModel):
    """Results of one question."""

    key: str
    answers: int
    average: float | None
    distribution: dict[int, int]
    """Answer value -> how many gave it."""


class SurveySummary(BaseModel):
    """Results of a survey, optionally for one agent or queue and a time range."""

    survey_id: int
    responses: int
    complete: int
    questions: list[QuestionSummary]
