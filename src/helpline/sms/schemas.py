"""API shapes of SMS gateways, templates and messages.

A gateway's ``password`` is write-only. A Kannel gateway's inbound key is shown once,
in the answer that made it (:class:`GatewayCreated`, :class:`CallbackKey`), inside the
``get-url`` to paste into Kannel's ``sms-service`` group.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from helpline.ivr.templating import TemplateError, placeholders
from helpline.prompts.language import Language
from helpline.sms.models import (
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    Coding,
    Direction,
    GatewayKind,
    MessageStatus,
)

Name = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Sender = Annotated[str, Field(max_length=21, pattern=r"^[\x20-\x7e]*$")]
"""SMPP's ``source_addr`` holds 21 octets; alphanumeric senders are 11 characters."""
SMPP_PASSWORD_LENGTH = 8
"""SMPP 3.4 §4.1.1: ``password`` is a C-Octet String of at most 9 octets."""
Password = Annotated[str, Field(max_length=200, pattern=r"^[\x20-\x7e]*$")]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]


class KannelSettings(BaseModel):
    """Kannel's smsbox: where ``/cgi-bin/sendsms`` is and which sendsms-user to be."""

    model_config = ConfigDict(extra="forbid")

    sendsms_url: AnyHttpUrl
    """e.g. ``http://127.0.0.1:13013/cgi-bin/sendsms``."""
    username: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    smsc_id: str | None = Field(default=None, max_length=100, pattern=r"^[\x21-\x7e]+$")
    """Route through this smsc-id (Kannel's ``smsc`` parameter)."""
    dlr_mask: int = Field(default=31, ge=0, le=31)
    """Which delivery reports to ask for: 1 delivered, 2 failed, 4 buffered, 8 SMSC
    accepted, 16 SMSC rejected."""

    @field_validator("sendsms_url")
    @classmethod
    def _http(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if len(str(value)) > 500:
            raise ValueError("the URL is too long")
        return value


class SmppSettings(BaseModel):
    """An SMPP 3.4 SMSC: where it is and how to bind (always as transceiver)."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:\-\[\]]+$")
    port: int = Field(default=2775, ge=1, le=65535)
    system_id: str = Field(min_length=1, max_length=15, pattern=r"^[\x21-\x7e]+$")
    system_type: str = Field(default="", max_length=12, pattern=r"^[\x21-\x7e]*$")
    source_ton: int | None = Field(default=None, ge=0, le=6)
    """Type of number of the sender; ``None``: 1 (international) for ``+`` numbers,
    5 (alphanumeric) for names, else 0 (unknown)."""
    source_npi: int | None = Field(default=None, ge=0, le=18)
    dest_ton: int = Field(default=1, ge=0, le=6)
    dest_npi: int = Field(default=1, ge=0, le=18)
    enquire_link_seconds: float = Field(default=30.0, ge=1.0, le=600.0)


GatewaySettings = KannelSettings | SmppSettings


def parse_settings(kind: GatewayKind, raw: dict[str, Any]) -> GatewaySettings:
    """The settings of a ``kind`` gateway, validated."""
    if kind is GatewayKind.KANNEL:
        return KannelSettings.model_validate(raw)
    return SmppSettings.model_validate(raw)


class GatewayCreate(BaseModel):
    """A new gateway; the first of a tenant becomes its default."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: GatewayKind
    settings: dict[str, Any]
    password: Password = ""
    sender: Sender = ""
    is_default: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _settings(self) -> GatewayCreate:
        self.settings = parse_settings(self.kind, self.settings).model_dump(mode="json")
        if self.kind is GatewayKind.SMPP and len(self.password) > SMPP_PASSWORD_LENGTH:
            raise ValueError(f"an SMPP password has at most {SMPP_PASSWORD_LENGTH} characters")
        return self


class GatewayUpdate(BaseModel):
    """Changes to a gateway; omitted fields stay (``settings`` is replaced whole)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    settings: dict[str, Any] | None = None
    password: Password | None = None
    sender: Sender | None = None
    is_default: bool | None = None
    enabled: bool | None = None


class GatewayOut(BaseModel):
    """A gateway as the API shows it (never its password)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: GatewayKind
    settings: dict[str, Any]
    sender: str
    has_password: bool
    is_default: bool
    enabled: bool
    created_at: datetime
    updated_at: datetime


class CallbackKey(BaseModel):
    """A Kannel gateway's inbound key, shown this once, and the URLs that carry it."""

    callback_key: str
    kannel_get_url: str
    """The ``get-url`` for Kannel's ``sms-service`` group (escape codes included)."""


class GatewayCreated(GatewayOut):
    """A new gateway; for Kannel with its inbound key (``None`` for SMPP)."""

    callback: CallbackKey | None = None


def _check_template(text: str) -> str:
    try:
        placeholders(text)
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    return text


TemplateText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]


class TemplateCreate(BaseModel):
    """A new template: one text per language, ``{variable}`` placeholders."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    bodies: dict[Language, TemplateText] = Field(min_length=1)
    description: str = Field(default="", max_length=500)

    @field_validator("bodies")
    @classmethod
    def _valid(cls, value: dict[Language, str]) -> dict[Language, str]:
        return {lang: _check_template(text) for lang, text in value.items()}


class TemplateUpdate(BaseModel):
    """Changes to a template; ``bodies`` is replaced whole."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    bodies: dict[Language, TemplateText] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)

    @field_validator("bodies")
    @classmethod
    def _valid(cls, value: dict[Language, str] | None) -> dict[Language, str] | None:
        if value is None:
            return None
        return {lang: _check_template(text) for lang, text in value.items()}


class TemplateOut(BaseModel):
    """A template and the variables it uses."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    bodies: dict[str, str]
    description: str
    variables: list[str]
    created_at: datetime
    updated_at: datetime


Variables = dict[
    Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]
]


class SendRequest(BaseModel):
    """Send one message: to a number or a customer (their first number), a text or a
    template (in ``language``, else the customer's, else English)."""

    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(default=None, min_length=1, max_length=40)
    customer_id: int | None = None
    text: Text | None = None
    template_id: int | None = None
    variables: Variables = Field(default_factory=dict, max_length=50)
    language: Language | None = None
    gateway_id: int | None = None

    @model_validator(mode="after")
    def _one_each(self) -> SendRequest:
        if self.to is None and self.customer_id is None:
            raise ValueError("give `to` or `customer_id`")
        if (self.text is None) == (self.template_id is None):
            raise ValueError("give either `text` or `template_id`")
        return self


class ReportOut(BaseModel):
    """One delivery report."""

    model_config = ConfigDict(from_attributes=True)

    received_at: datetime
    outcome: MessageStatus
    code: str
    detail: str


class MessageOut(BaseModel):
    """A message and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: Direction
    status: MessageStatus
    gateway_id: int | None
    customer_id: int | None
    number: str
    own_number: str
    body: str
    coding: Coding
    parts: int
    template_id: int | None
    purpose: str
    created_by: str
    attempts: int
    error: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class MessageDetail(MessageOut):
    """A message with its delivery reports, oldest first."""

    reports: list[ReportOut]
