"""API shapes of live calls and of the commands on them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from helpline.media.mixer import SupervisionMode
from helpline.telephony.cti import (
    CallState,
    Destination,
    DestinationKind,
    LiveCall,
    Party,
    Side,
    destination,
    dtmf_digits,
)


class PartyOut(BaseModel):
    """One party of a live call."""

    side: Side
    account: str | None = Field(description="the tenant's SIP account on that side, if any")
    number: str


class SupervisorOut(BaseModel):
    """A supervisor in the call."""

    account: str | None
    mode: SupervisionMode


class CallOut(BaseModel):
    """A live call as CTI commands see it."""

    call_id: str = Field(description="the SIP Call-ID of the call's first leg (as in call records)")
    state: CallState
    agent: str | None = Field(description="the agent's SIP account on the call")
    parties: list[PartyOut]
    supervisors: list[SupervisorOut]
    consultation: PartyOut | None = Field(description="the party being consulted")
    queue: str | None = Field(default=None, description="the ACD queue the call came through")

    @classmethod
    def of(cls, call: LiveCall) -> CallOut:
        """The API view of a live call."""
        return cls(
            call_id=call.call_id,
            state=call.state,
            agent=call.agent,
            parties=[_party(p) for p in call.parties],
            supervisors=[SupervisorOut(account=s.account, mode=s.mode) for s in call.supervisors],
            consultation=None if call.consultation is None else _party(call.consultation),
            queue=call.queue,
        )


def _party(party: Party) -> PartyOut:
    return PartyOut(side=party.side, account=party.account, number=party.number)


class DestinationIn(BaseModel):
    """Where to transfer or consult: an ``extension`` (a SIP account of the tenant, all
    its phones ring), a ``queue`` (by name; blind transfers only) or a ``number``
    dialed out through the tenant's trunks."""

    kind: DestinationKind
    target: str = Field(min_length=1, max_length=64, examples=["2002"])

    def destination(self) -> Destination:
        """The validated destination."""
        return destination(self.kind, self.target)

    @field_validator("target")
    @classmethod
    def _dialable(cls, value: str, info: ValidationInfo) -> str:
        data = info.data
        kind = data.get("kind", DestinationKind.EXTENSION)
        return destination(kind, value).target


class DialKind(StrEnum):
    """Where click-to-dial calls."""

    EXTENSION = "extension"
    NUMBER = "number"


class DialIn(BaseModel):
    """Click-to-dial: ring my phone(s), then call ``target``."""

    kind: DialKind = DialKind.NUMBER
    target: str = Field(min_length=1, max_length=64, examples=["+99955501"])
    account: str | None = Field(
        default=None, description="which of my SIP accounts rings (default: all of them)"
    )

    def destination(self) -> Destination:
        """The validated destination."""
        return destination(DestinationKind(self.kind.value), self.target)

    @field_validator("target")
    @classmethod
    def _dialable(cls, value: str, info: ValidationInfo) -> str:
        data = info.data
        kind = DestinationKind(data.get("kind", DialKind.NUMBER).value)
        return destination(kind, value).target


class DtmfIn(BaseModel):
    """Keys to send to the customer (RFC 4733)."""

    digits: str = Field(examples=["1234#"])

    @field_validator("digits")
    @classmethod
    def _keys(cls, value: str) -> str:
        return dtmf_digits(value)


class SuperviseIn(BaseModel):
    """How the supervisor joins: ``listen`` (hears both, heard by no one), ``whisper``
    (heard by the agent only) or ``barge`` (heard by both)."""

    mode: SupervisionMode = SupervisionMode.LISTEN
