"""Pure work-order rules: the status workflow and SLA due times and breaches.

Theory of operation: a work order moves through ``new -> open -> pending -> resolved ->
closed``; :data:`TRANSITIONS` lists every allowed move (reopening included) and
:func:`check_transition` raises on any other, never ignoring it.  Each priority has SLA
targets (time to the first response, time to resolution) per tenant, falling back to
:data:`DEFAULT_TARGETS`; due times count from the work order's creation and a target is
breached when its moment (the first response, the resolution) came after the due time,
or has not come and the due time is past.  Nothing here reads a clock: the caller passes
``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

__all__ = [
    "DEFAULT_TARGETS",
    "DONE",
    "TRANSITIONS",
    "IllegalTransition",
    "Priority",
    "SlaState",
    "SlaTarget",
    "Status",
    "check_transition",
    "due_times",
    "evaluate",
    "is_reopen",
]


class Priority(StrEnum):
    """How urgent a work order is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Status(StrEnum):
    """Where a work order stands in its workflow."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    """Waiting for the customer or a third party."""
    RESOLVED = "resolved"
    CLOSED = "closed"


#: Every allowed status change; moving back to ``open`` from resolved or closed reopens.
TRANSITIONS: Final[dict[Status, frozenset[Status]]] = {
    Status.NEW: frozenset({Status.OPEN, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset({Status.OPEN}),
}

#: Statuses that count as done for the resolution target.
DONE: Final = frozenset({Status.RESOLVED, Status.CLOSED})


class IllegalTransition(ValueError):
    """A status change the workflow does not allow."""

    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"a work order cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target
        self.allowed = sorted(s.value for s in TRANSITIONS[current])


def check_transition(current: Status, target: Status) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def is_reopen(current: Status, target: Status) -> bool:
    """Whether ``current -> target`` reopens a finished work order."""
    return current in DONE and target is Status.OPEN


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """How soon a work order of one priority must get its first response and be resolved."""

    first_response: timedelta
    resolution: timedelta


DEFAULT_TARGETS: Final[dict[Priority, SlaTarget]] = {
    Priority.URGENT: SlaTarget(timedelta(minutes=15), timedelta(hours=4)),
    Priority.HIGH: SlaTarget(timedelta(hours=1), timedelta(hours=8)),
    Priority.NORMAL: SlaTarget(timedelta(hours=4), timedelta(hours=24)),
    Priority.LOW: SlaTarget(timedelta(hours=8), timedelta(hours=72)),
}


@dataclass(frozen=True, slots=True)
class SlaState:
    """The SLA view of one work order at one moment."""

    first_response_due_at: datetime
    resolution_due_at: datetime
    first_response_breached: bool
    resolution_breached: bool

    @property
    def breached(self) -> bool:
        """Whether either target is breached."""
        return self.first_response_breached or self.resolution_breached


def due_times(created_at: datetime, target: SlaTarget) -> tuple[datetime, datetime]:
    """The first-response and resolution due times of a work order created at
    ``created_at``."""
    return created_at + target.first_response, created_at + target.resolution


def evaluate(
    *,
    created_at: datetime,
    target: SlaTarget,
    first_responded_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
) -> SlaState:
    """Due times and breach flags at ``now``; a moment still to come counts as ``now``."""
    response_due, resolution_due = due_times(created_at, target)
    return SlaState(
        first_response_due_at=response_due,
        resolution_due_at=resolution_due,
        first_response_breached=(first_responded_at or now) > response_due,
        resolution_breached=(resolved_at or now) > resolution_due,
    )
