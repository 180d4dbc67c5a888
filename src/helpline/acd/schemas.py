"""API shapes for queues, skills, agents, teams, reason codes and agent state.

Field shapes are checked here (a 422 ``validation_error`` names the field).  What needs
outside knowledge (a fallback queue, a skill or a reason code exists, a user may take
calls ...) is checked by the service with a stable ``error_id``, also after a partial
update.  Queues, skills and reason codes are named like routing's queue targets, so a
service's ``{"kind": "queue", "queue": "sales"}`` reaches the queue named ``sales``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpline.acd.callback import CallbackState
from helpline.acd.models import JoinWhenEmpty, LeaveWhenEmpty, Strategy
from helpline.acd.state import AgentState
from helpline.customers.models import CustomerTier
from helpline.routing.schedule import (
    AnnouncementTarget,
    PromptName,
    QueueName,
    QueueTarget,
    VoicemailTarget,
)

MAX_LIST = 100
MAX_SECONDS = 86_400

Seconds = Annotated[int, Field(ge=0, le=MAX_SECONDS)]
RingSeconds = Annotated[int, Field(ge=1, le=600)]
Level = Annotated[int, Field(ge=0, le=5)]
SkillName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
ReasonName = SkillName
TeamName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Description = Annotated[str, Field(max_length=500)]
Label = Annotated[str, Field(min_length=1, max_length=100)]
Region = Annotated[str, Field(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
Weight = Annotated[int, Field(ge=1, le=1000)]
Order = Annotated[int, Field(ge=0, le=10_000)]
MohClass = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
DtmfKey = Annotated[str, Field(pattern=r"^[0-9*#]$")]
Skills = Annotated[dict[SkillName, Level], Field(max_length=MAX_LIST)]
RegionPrefix = Annotated[str, Field(pattern=r"^[+]?[0-9]{1,16}$")]
RegionName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
RegionPrefixes = Annotated[dict[RegionPrefix, RegionName], Field(max_length=1000)]
RegionTeams = Annotated[dict[RegionName, RegionName], Field(max_length=1000)]
CustomerPriority = Annotated[
    dict[CustomerTier, Annotated[float, Field(ge=0, le=1000)]], Field(max_length=10)
]
Attempts = Annotated[int, Field(ge=1, le=10)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallbackTarget(_Frozen):
    """The caller is offered a callback that keeps their place, then the call ends."""

    kind: Literal["callback"] = "callback"


Fallback = Annotated[
    VoicemailTarget | QueueTarget | AnnouncementTarget | CallbackTarget,
    Field(discriminator="kind"),
]
"""Where callers go when the queue is full, they waited too long, or it has no agents."""


def _ascending(stages: list[OverflowStage]) -> list[OverflowStage]:
    times = [stage.after_seconds for stage in stages]
    if times != sorted(set(times)):
        raise ValueError("overflow stages must have strictly increasing after_seconds")
    return stages


class OverflowStage(_Frozen):
    """After ``after_seconds`` of waiting the call accepts agents ``min_level_drop``
    levels below its skill requirements, without ``drop_skills``, and agents of
    ``add_queues`` as well (stages accumulate)."""

    after_seconds: Annotated[int, Field(ge=1, le=MAX_SECONDS)]
    min_level_drop: Level = 0
    add_queues: Annotated[list[QueueName], Field(max_length=MAX_LIST)] = Field(default_factory=list)
    drop_skills: Annotated[list[SkillName], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Skills no longer required from this stage on."
    )


Overflow = Annotated[list[OverflowStage], Field(max_length=20), AfterValidator(_ascending)]


class QueueSettings(BaseModel):
    """Every setting of a queue, with the defaults a new queue gets."""

    model_config = ConfigDict(extra="forbid")

    name: QueueName
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout: RingSeconds = Field(default=15, description="Seconds per offer.")
    wrap_up_seconds: Seconds = 10
    auto_pause_after: Annotated[int, Field(ge=0, le=100)] = Field(
        default=3, description="Missed offers in a row that pause the agent; 0 never."
    )
    max_length: Annotated[int, Field(ge=1, le=100_000)] | None = None
    max_wait_seconds: Annotated[int, Field(ge=1, le=MAX_SECONDS)] | None = None
    fallback: Fallback | None = None
    join_when_empty: JoinWhenEmpty = JoinWhenEmpty.JOIN
    leave_when_empty: LeaveWhenEmpty = LeaveWhenEmpty.STAY
    leave_empty_seconds: Seconds = 0
    music_on_hold: MohClass = "default"
    announce_interval: Seconds = Field(
        default=0, description="Position and expected wait every N seconds; 0 off."
    )
    periodic_prompt: PromptName | None = None
    periodic_interval: Seconds = 0
    required_skills: Skills = Field(default_factory=dict)
    priority_aging: Annotated[float, Field(ge=0, le=1000)] = Field(
        default=0.0, description="Priority points gained per minute of waiting."
    )
    overflow: Overflow = Field(default_factory=list)
    sticky_seconds: Seconds = Field(
        default=0, description="Returning callers reach their last agent within N s; 0 off."
    )
    callback_enabled: bool = Field(
        default=False, description="Waiting callers may press callback_key to be called back."
    )
    callback_key: DtmfKey = "1"
    callback_attempts: Attempts = Field(
        default=3, description="Calls placed to reach a caller before the callback fails."
    )
    callback_retry_seconds: Annotated[int, Field(ge=0, le=MAX_SECONDS)] = Field(
        default=60, description="Seconds between two attempts to reach the caller."
    )
    customer_priority: CustomerPriority = Field(
        default_factory=dict,
        description='Priority points added to callers by customer tier, e.g. {"vip": 10}.',
    )
    recording: bool = False
    service_level_seconds: Annotated[int, Field(ge=1, le=3600)] = 20
    short_abandon_seconds: Annotated[int, Field(ge=0, le=3600)] = 5
    region_prefixes: RegionPrefixes = Field(
        default_factory=dict,
        description="Caller number prefix -> caller region (longest prefix wins), e.g. "
        '{"+8210": "seoul"}; a customer record\'s region comes first.',
    )
    region_teams: RegionTeams = Field(
        default_factory=dict,
        description="Caller region -> the agents' region offered the caller first; a region "
        "of region_prefixes not listed here goes to the agents of the same region.",
    )
    region_wait_seconds: Seconds = Field(
        default=0,
        description="Seconds only the caller's region team is offered the call; preferred after.",
    )


class QueueCreate(QueueSettings):
    """A new queue of the principal's tenant."""


class QueueUpdate(BaseModel):
    """Changes to a queue; omitted fields stay, ``null`` clears the optional ones."""

    model_config = ConfigDict(extra="forbid")

    name: QueueName | None = None
    strategy: Strategy | None = None
    ring_timeout: RingSeconds | None = None
    wrap_up_seconds: Seconds | None = None
    auto_pause_after: Annotated[int, Field(ge=0, le=100)] | None = None
    max_length: Annotated[int, Field(ge=1, le=100_000)] | None = None
    max_wait_seconds: Annotated[int, Field(ge=1, le=MAX_SECONDS)] | None = None
    fallback: Fallback | None = None
    join_when_empty: JoinWhenEmpty | None = None
    leave_when_empty: LeaveWhenEmpty | None = None
    leave_empty_seconds: Seconds | None = None
    music_on_hold: MohClass | None = None
    announce_interval: Seconds | None = None
    periodic_prompt: PromptName | None = None
    periodic_interval: Seconds | None = None
    required_skills: Skills | None = None
    priority_aging: Annotated[float, Field(ge=0, le=1000)] | None = None
    overflow: Overflow | None = None
    sticky_seconds: Seconds | None = None
    callback_enabled: bool | None = None
    callback_key: DtmfKey | None = None
    callback_attempts: Attempts | None = None
    callback_retry_seconds: Annotated[int, Field(ge=0, le=MAX_SECONDS)] | None = None
    customer_priority: CustomerPriority | None = None
    recording: bool | None = None
    service_level_seconds: Annotated[int, Field(ge=1, le=3600)] | None = None
    short_abandon_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    region_prefixes: RegionPrefixes | None = None
    region_teams: RegionTeams | None = None
    region_wait_seconds: Seconds | None = None


#: Fields of :class:`QueueUpdate` that an explicit ``null`` clears.
QUEUE_NULLABLE = ("max_length", "max_wait_seconds", "fallback", "periodic_prompt")


class QueueOut(QueueSettings):
    """A queue as the API shows it (and as the ACD runtime loads it)."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    created_at: datetime
    updated_at: datetime


class SkillCreate(BaseModel):
    """A new skill."""

    model_config = ConfigDict(extra="forbid")

    name: SkillName
    description: Description = ""


class SkillUpdate(BaseModel):
    """Changes to a skill; renaming it renames it in every agent's skills."""

    model_config = ConfigDict(extra="forbid")

    name: SkillName | None = None
    description: Description | None = None


class SkillOut(BaseModel):
    """A skill."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


class TeamCreate(BaseModel):
    """A new team; ``supervisor_ids`` are users with the supervisor role or above."""

    model_config = ConfigDict(extra="forbid")

    name: TeamName
    description: Description = ""
    supervisor_ids: Annotated[list[int], Field(max_length=MAX_LIST)] = Field(default_factory=list)


class TeamUpdate(BaseModel):
    """Changes to a team; ``supervisor_ids`` replaces the list when given."""

    model_config = ConfigDict(extra="forbid")

    name: TeamName | None = None
    description: Description | None = None
    supervisor_ids: Annotated[list[int], Field(max_length=MAX_LIST)] | None = None


class TeamOut(BaseModel):
    """A team with its supervisors."""

    id: int
    name: str
    description: str
    supervisor_ids: list[int]
    created_at: datetime
    updated_at: datetime


class ReasonLabels(_Frozen):
    """The label of a reason code per desktop language; missing ones show the name."""

    en: Label | None = None
    zh: Label | None = None
    ko: Label | None = None


class ReasonCodeCreate(BaseModel):
    """A new not-ready reason."""

    model_config = ConfigDict(extra="forbid")

    name: ReasonName
    labels: ReasonLabels = ReasonLabels()


class ReasonCodeUpdate(BaseModel):
    """Changes to a reason code; ``labels`` replaces all labels when given."""

    model_config = ConfigDict(extra="forbid")

    name: ReasonName | None = None
    labels: ReasonLabels | None = None


class ReasonCodeOut(BaseModel):
    """A not-ready reason."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    labels: ReasonLabels
    created_at: datetime
    updated_at: datetime


class AgentCreate(BaseModel):
    """The ACD profile of a user with the agent or supervisor role."""

    model_config = ConfigDict(extra="forbid")

    user_id: int
    team_id: int | None = None
    weight: Weight = 1
    region: Region = ""
    enabled: bool = True


class AgentUpdate(BaseModel):
    """Changes to an agent profile; ``null`` takes the agent out of its team."""

    model_config = ConfigDict(extra="forbid")

    team_id: int | None = None
    weight: Weight | None = None
    region: Region | None = None
    enabled: bool | None = None


#: Fields of :class:`AgentUpdate` that an explicit ``null`` clears.
AGENT_NULLABLE = ("team_id",)


class AgentOut(BaseModel):
    """An agent profile with its user's name and the SIP accounts its phones use."""

    id: int
    user_id: int
    username: str
    display_name: str
    team_id: int | None
    weight: int
    region: str
    enabled: bool
    sip_accounts: list[str]
    created_at: datetime
    updated_at: datetime


class MembershipIn(_Frozen):
    """An agent's place in a queue: lower ``penalty`` is offered first, ``position``
    orders the linear strategy."""

    queue_id: int
    position: Order = 0
    penalty: Order = 0


class MembershipsPut(BaseModel):
    """The agent's queues, replacing the current ones."""

    model_config = ConfigDict(extra="forbid")

    memberships: Annotated[list[MembershipIn], Field(max_length=MAX_LIST)] = Field(
        default_factory=list
    )


class MembershipOut(BaseModel):
    """An agent's place in a queue."""

    queue_id: int
    queue: str
    position: int
    penalty: int


class SkillsPut(BaseModel):
    """The agent's skills by name with proficiency 0-5, replacing the current ones."""

    model_config = ConfigDict(extra="forbid")

    skills: Skills = Field(default_factory=dict)


class SkillsOut(BaseModel):
    """An agent's skills by name with proficiency 0-5."""

    skills: dict[str, int]


class AgentLogin(BaseModel):
    """Log in to some of one's queues (omitted: all of them)."""

    model_config = ConfigDict(extra="forbid")

    queue_ids: Annotated[list[int], Field(max_length=MAX_LIST)] | None = None


class StateChange(BaseModel):
    """The state an agent (or their supervisor) asks for; ``reason`` names a reason
    code and is only given with ``not_ready``."""

    model_config = ConfigDict(extra="forbid")

    state: Literal[AgentState.AVAILABLE, AgentState.NOT_READY]
    reason: ReasonName | None = None


class AgentStateOut(BaseModel):
    """An agent's current state."""

    agent_id: int
    user_id: int
    username: str
    team_id: int | None
    state: AgentState = AgentState.OFFLINE
    since: datetime | None = Field(default=None, description="None: never logged in.")
    reason: str | None = None
    call_id: str | None = None
    queue_ids: list[int] = Field(default_factory=list)
    missed_offers: int = 0
    calls_today: int = 0
    talk_seconds_today: float = 0.0
    last_call_ended_at: datetime | None = None


class WaitingCaller(BaseModel):
    """A caller waiting in a queue, or a callback keeping a caller's place."""

    call_id: str
    position: int
    joined_at: datetime
    waited_seconds: float
    priority: float
    customer_type: str | None = None
    callback: bool = False


class QueueRealtime(BaseModel):
    """A queue's live figures; the waiting callers, callbacks, busy agents and expected
    wait come from the ACD runtime (zero or empty when only the stored agent states are
    known)."""

    queue_id: int
    name: str
    waiting: int = 0
    longest_wait_seconds: float = 0.0
    callbacks_pending: int = 0
    offering: int = 0
    agents_logged_in: int
    agents_available: int
    agents_busy: int = 0
    expected_wait_seconds: float | None = None
    callers: list[WaitingCaller] = Field(default_factory=list)


class RealtimeOut(BaseModel):
    """The live state of the tenant's queues and agents."""

    at: datetime
    source: Literal["runtime", "stored"]
    node: str | None = Field(default=None, description="The node whose runtime answered.")
    queues: list[QueueRealtime]
    agents: list[AgentStateOut]


class CallbackOut(BaseModel):
    """A callback request: a caller who keeps their place and is called back."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    queue_id: int
    call_id: str
    number: str
    called: str
    state: CallbackState
    joined_at: datetime
    priority: float
    customer_type: str | None
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    last_call_id: str | None
    last_status: int | None
    agent: str | None
    created_at: datetime
    updated_at: datetime
