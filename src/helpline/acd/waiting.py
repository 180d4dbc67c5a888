"""What a waiting caller hears, and when: position and expected-wait announcements,
the queue's periodic message, the callback offer.

Theory of operation: the runner starts an :class:`AnnouncementSchedule` when a caller
joins a queue and asks it, with the current time, what is due
(:meth:`AnnouncementSchedule.take`) and when to ask again
(:meth:`AnnouncementSchedule.next_at`).  The position announcement ("you are number
3 in the queue, your expected wait is about 2 minutes", followed by the callback offer
when the queue has one) comes first, then every ``position_every`` seconds; the
periodic message every ``periodic_every`` seconds from the join.  A slot missed
because the caller was busy hearing something else is not caught up: the next one is
counted from when it was played.  :func:`announcement` turns what is due into prompt
names (:mod:`helpline.prompts.say`); :func:`expected_wait` estimates the wait from the
caller's position, the agents serving the queue and the queue's average handling time,
which :class:`HandleTime` keeps as an exponentially weighted average.  Nothing here
reads a clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from helpline.prompts.language import Language
from helpline.prompts.say import expected_wait_sentence, queue_position_sentence, say_digits

__all__ = [
    "CALLBACK_CONFIRMED",
    "CALLBACK_GREETING",
    "CALLBACK_OFFER",
    "DEFAULT_HANDLE_SECONDS",
    "AnnouncementSchedule",
    "Due",
    "HandleTime",
    "WaitingPolicy",
    "announcement",
    "callback_offer",
    "expected_wait",
]

CALLBACK_OFFER = "queue/callback-offer"
""""To be called back without losing your place, press" (then the key)."""
CALLBACK_CONFIRMED = "queue/callback-confirmed"
""""Thank you. We will call you back when it is your turn."."""
CALLBACK_GREETING = "queue/callback-greeting"
""""This is the call back you asked for. Please hold for an agent."."""
DEFAULT_HANDLE_SECONDS = 180.0
"""The handling time assumed before a queue has handled any call."""


class Due(StrEnum):
    """What can be due for a waiting caller."""

    POSITION = "position"
    PERIODIC = "periodic"


@dataclass(frozen=True, slots=True)
class WaitingPolicy:
    """A queue's announcements: intervals in seconds (0: never); ``callback_key`` is
    the key that asks for a callback (None: no callback is offered)."""

    position_every: float = 0.0
    periodic_every: float = 0.0
    periodic_prompt: str | None = None
    callback_key: str | None = None

    def __post_init__(self) -> None:
        if self.position_every < 0 or self.periodic_every < 0:
            raise ValueError("announcement intervals must be >= 0")


@dataclass(frozen=True, slots=True)
class AnnouncementSchedule:
    """When the next position announcement and periodic message are due (None: never)."""

    policy: WaitingPolicy
    next_position: float | None
    next_periodic: float | None

    @classmethod
    def start(
        cls, policy: WaitingPolicy, joined_at: float, *, first_after: float = 0.0
    ) -> AnnouncementSchedule:
        """The schedule of a caller who joined at ``joined_at``: the position (or the
        callback offer alone) ``first_after`` seconds in, so that a caller an agent
        takes at once hears nothing; the periodic message one interval in."""
        announces = policy.position_every > 0 or policy.callback_key
        first = joined_at + first_after if announces else None
        periodic = None
        if policy.periodic_every > 0 and policy.periodic_prompt:
            periodic = joined_at + policy.periodic_every
        return cls(policy, first, periodic)

    def next_at(self) -> float | None:
        """The earliest time something is due, or None when nothing ever is."""
        times = [t for t in (self.next_position, self.next_periodic) if t is not None]
        return min(times) if times else None

    def take(self, now: float) -> tuple[AnnouncementSchedule, tuple[Due, ...]]:
        """What is due at ``now`` (position first), and the schedule counted on from
        ``now`` for what was taken."""
        due: list[Due] = []
        position, periodic = self.next_position, self.next_periodic
        if position is not None and position <= now:
            due.append(Due.POSITION)
            every = self.policy.position_every
            position = now + every if every > 0 else None
        if periodic is not None and periodic <= now:
            due.append(Due.PERIODIC)
            periodic = now + self.policy.periodic_every
        return replace(self, next_position=position, next_periodic=periodic), tuple(due)


def expected_wait(position: int, serving: int, handle_seconds: float) -> float | None:
    """The expected wait of the caller at ``position`` (1 = next): the calls ahead of
    and including them, shared by the ``serving`` agents (logged in and not paused),
    each taking ``handle_seconds``.  None when nobody serves the queue."""
    if position < 1:
        raise ValueError("queue positions start at 1")
    if serving <= 0:
        return None
    return position * handle_seconds / serving


def callback_offer(key: str, language: Language) -> list[str]:
    """ "To be called back without losing your place, press 1" in ``language``."""
    spoken = say_digits(key, language) if key.isdigit() else []
    tail = ["ivr/press"] if language is Language.KO else []
    return [CALLBACK_OFFER, *spoken, *tail]


def announcement(
    due: tuple[Due, ...],
    *,
    policy: WaitingPolicy,
    position: int | None,
    wait_seconds: float | None,
    language: Language,
) -> list[str]:
    """The prompt names to play for what is ``due``: the position (when known and
    announced), the expected wait (when it can be estimated), the callback offer,
    then the periodic message."""
    names: list[str] = []
    if Due.POSITION in due:
        if position is not None and policy.position_every > 0:
            names += queue_position_sentence(position, language)
            if wait_seconds is not None:
                names += expected_wait_sentence(wait_seconds, language)
        if policy.callback_key:
            names += callback_offer(policy.callback_key, language)
    if Due.PERIODIC in due and policy.periodic_prompt:
        names.append(policy.periodic_prompt)
    return names


@dataclass(frozen=True, slots=True)
class HandleTime:
    """A queue's average handling time (talk plus wrap-up), exponentially weighted so
    that recent calls count most; ``weight`` is the share of each new call."""

    seconds: float = DEFAULT_HANDLE_SECONDS
    weight: float = 0.2
    samples: int = 0

    def add(self, seconds: float) -> HandleTime:
        """The average with one more handled call; the first call replaces the guess."""
        if seconds < 0:
            raise ValueError("a handling time cannot be negative")
        if self.samples == 0:
            return replace(self, seconds=seconds, samples=1)
        mixed = self.weight * seconds + (1 - self.weight) * self.seconds
        return replace(self, seconds=mixed, samples=self.samples + 1)
