"""The objects of a live call: the caller's leg (:class:`Call`) and the side call control
placed for it (:class:`Outbound`), shared by call control and its CTI commands."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from helpline.media.backend import (
    BridgeId,
    ConferenceId,
    LocalMedia,
    PlaybackId,
    RecordingId,
)
from helpline.media.mixer import SupervisionMode
from helpline.sdp import SessionDescription
from helpline.sdp.negotiate import LocalSession
from helpline.sip.dialog import DialogId
from helpline.sip.message import Request, Response
from helpline.sip.transaction import TransactionKey
from helpline.sip.uri import SipUri
from helpline.telephony.acd import Offered
from helpline.telephony.calllog import Entry
from helpline.telephony.channel import Channel
from helpline.telephony.cti import Cti
from helpline.telephony.fork import ForkSet
from helpline.telephony.phones import SipTenant
from helpline.trunks.rules import TrunkConfig

SDP_TYPE = "application/sdp"


@dataclass(slots=True)
class Outbound:
    """The B side of a bridged call: one endpoint, one offer, a branch per contact."""

    media: LocalMedia
    session: LocalSession
    offer: SessionDescription
    forks: ForkSet[TransactionKey] = field(default_factory=ForkSet)
    dialog: DialogId | None = None
    bridge: BridgeId | None = None
    conference: ConferenceId | None = None
    timer: asyncio.TimerHandle | None = None
    dialed: str = ""
    callee: str = ""
    """The SIP account rung (for supervisors to find the call)."""
    fallback: list[TrunkConfig] = field(default_factory=list)
    offered: asyncio.Future[Offered] | None = None
    """Set for an ACD offer: the caller stays up whatever happens to the offer."""
    accounts: dict[TransactionKey, str] = field(default_factory=dict)
    """The SIP account each branch rings (an ACD offer's agents)."""
    answered_by: str | None = None
    acd_call: str = ""
    """The call the ACD knows the answering agent's call by (a consultation's, after
    the leg moved to the customer's call); empty: the call holding the leg."""

    @property
    def bridged(self) -> bool:
        """True once the callee's media is connected to the caller's (a bridge, or a
        conference once a supervisor joined)."""
        return self.bridge is not None or self.conference is not None


@dataclass(slots=True)
class Call:
    """One inbound call and whatever it is connected to."""

    key: TransactionKey
    request: Request
    tenant: SipTenant
    media: LocalMedia | None = None
    session: LocalSession | None = None
    answer: bytes = b""
    dialog: DialogId | None = None
    ended: bool = False
    out: Outbound | None = None
    channel: Channel | None = None
    script: asyncio.Task[None] | None = None
    ringback: PlaybackId | None = None
    service_id: int | None = None
    ivr_port: bool = False
    supervising: Call | None = None
    """For a supervisor's call: the agent's call it joined."""
    spy_mode: SupervisionMode = SupervisionMode.LISTEN
    supervisors: list[Call] = field(default_factory=list)
    queued: bool = False
    """Waiting in (or offered from) an ACD queue."""
    queue: str | None = None
    """The ACD queue the call last waited in (shown with the live call)."""
    record: bool = False
    """Record the call once an agent answers (the queue it waited in records calls)."""
    log: Entry = field(default_factory=Entry)
    """The call's record (an empty entry for the built-in test services)."""
    account: str | None = None
    """The SIP account on the caller's side, when it authenticated as one (a phone's
    outbound call, a supervisor) or was rung first (click-to-dial)."""
    affinity: str | None = None
    """Media placement key when the call must share a worker with another call (a
    consultation); None: its own Call-ID."""
    recording: tuple[RecordingId, int, Path] | None = None
    """The recording of the caller's endpoint; it outlives transfers."""
    cti: Cti = field(default_factory=Cti)
    """What CTI commands keep about the call (:mod:`helpline.telephony.commands`)."""

    @property
    def call_id(self) -> str:
        """The caller's Call-ID (the call's reference)."""
        return self.request.call_id


def user_of(uri: object) -> str:
    """The user part of a SIP URI ("" for others)."""
    return (uri.user or "") if isinstance(uri, SipUri) else ""


def is_sdp(response: Response) -> bool:
    """Whether the response carries an SDP body."""
    content_type = response.header("Content-Type") or ""
    return content_type.split(";", 1)[0].strip().lower() == SDP_TYPE
