"""The pure workflow table and SLA arithmetic."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from helpline.workorders.sla import (
    DEFAULT_TARGETS,
    TRANSITIONS,
    IllegalTransition,
    Priority,
    SlaTarget,
    Status,
    check_transition,
    evaluate,
    is_reopen,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET = SlaTarget(first_response=timedelta(minutes=30), resolution=timedelta(hours=4))


def test_the_happy_path_and_reopening_are_allowed() -> None:
    path = [Status.NEW, Status.OPEN, Status.PENDING, Status.OPEN, Status.RESOLVED, Status.CLOSED]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)
    assert is_reopen(Status.CLOSED, Status.OPEN)
    assert is_reopen(Status.RESOLVED, Status.OPEN)
    assert not is_reopen(Status.PENDING, Status.OPEN)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.NEW, Status.RESOLVED),
        (Status.NEW, Status.PENDING),
        (Status.CLOSED, Status.RESOLVED),
        (Status.RESOLVED, Status.PENDING),
        (Status.OPEN, Status.OPEN),
        (Status.OPEN, Status.NEW),
    ],
)
def test_illegal_transitions_raise_with_the_allowed_moves(current: Status, target: Status) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, target)
    assert caught.value.allowed == sorted(s.value for s in TRANSITIONS[current])


def test_every_status_can_be_left_and_every_priority_has_a_default() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert all(TRANSITIONS[s] for s in Status)
    assert set(DEFAULT_TARGETS) == set(Priority)
    assert all(t.first_response < t.resolution for t in DEFAULT_TARGETS.values())


def test_nothing_is_breached_before_the_due_times() -> None:
    state = evaluate(
        created_at=T0,
        target=TARGET,
        first_responded_at=None,
        resolved_at=None,
        now=T0 + timedelta(minutes=30),
    )
    assert state.first_response_due_at == T0 + timedelta(minutes=30)
    assert state.resolution_due_at == T0 + timedelta(hours=4)
    assert not state.breached


def test_a_missing_first_response_breaches_once_due_time_passes() -> None:
    state = evaluate(
        created_at=T0,
        target=TARGET,
        first_responded_at=None,
        resolved_at=None,
        now=T0 + timedelta(minutes=31),
    )
    assert state.first_response_breached
    assert not state.resolution_breached
    assert state.breached


def test_a_late_response_stays_breached_and_a_timely_resolution_does_not() -> None:
    state = evaluate(
        created_at=T0,
        target=TARGET,
        first_responded_at=T0 + timedelta(minutes=45),
        resolved_at=T0 + timedelta(hours=3),
        now=T0 + timedelta(days=10),
    )
    assert state.first_response_breached
    assert not state.resolution_breached


def test_resolution_breaches_when_still_open_after_due() -> None:
    state = evaluate(
        created_at=T0,
        target=TARGET,
        first_responded_at=T0 + timedelta(minutes=5),
        resolved_at=None,
        now=T0 + timedelta(hours=4, seconds=1),
    )
    assert not state.first_response_breached
    assert state.resolution_breached
