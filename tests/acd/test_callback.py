"""The callback state machine: attempts, retry delays, final states, restarts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from helpline.acd.callback import (
    FINAL,
    TRANSITIONS,
    CallbackPolicy,
    CallbackRecord,
    CallbackState,
    Cancel,
    Completed,
    Connected,
    Dial,
    DialFailed,
    Hangup,
    IllegalCallbackTransition,
    Recover,
    apply,
    get_timer,
    is_due,
)

POLICY = CallbackPolicy(max_attempts=3, retry_seconds=60.0)


def _pending(**changes: Any) -> CallbackRecord:
    return replace(CallbackRecord(7, POLICY, since=0.0), **changes)


def test_a_pending_request_is_due_at_once_and_has_no_timer() -> None:
    record = _pending()
    assert is_due(record, 0.0)
    assert get_timer(record) is None


def test_dialing_counts_an_attempt_and_remembers_the_call() -> None:
    record = apply(_pending(), Dial("cb-7-1"), 10.0)
    assert (record.state, record.attempts, record.call_id, record.since) == (
        CallbackState.DIALING,
        1,
        "cb-7-1",
        10.0,
    )
    assert not is_due(record, 10.0)


def test_a_failed_dial_waits_out_the_retry_delay_before_its_turn_comes_again() -> None:
    record = apply(apply(_pending(), Dial("cb-7-1"), 10.0), DialFailed(486), 40.0)
    assert record.state is CallbackState.PENDING
    assert (record.retry_at, record.last_status) == (100.0, 486)
    assert get_timer(record) == 100.0
    assert not is_due(record, 99.9)
    assert is_due(record, 100.0)
    again = apply(record, Dial("cb-7-2"), 100.0)
    assert (again.attempts, again.retry_at) == (2, None)


def test_the_request_fails_when_the_last_attempt_is_not_answered() -> None:
    record = _pending()
    for attempt in range(1, 4):
        record = apply(record, Dial(f"cb-7-{attempt}"), 10.0 * attempt)
        record = apply(record, DialFailed(408), 10.0 * attempt + 5)
    assert record.state is CallbackState.FAILED
    assert record.attempts == 3
    assert get_timer(record) is None and not is_due(record, 1e9)


def test_an_answered_callback_completes_when_an_agent_takes_it() -> None:
    record = apply(apply(_pending(), Dial("cb-7-1"), 1.0), Connected(), 5.0)
    assert record.state is CallbackState.CONNECTED
    done = apply(record, Completed("2001"), 9.0)
    assert (done.state, done.agent) == (CallbackState.COMPLETED, "2001")


def test_a_caller_who_hangs_up_before_an_agent_answers_abandons_the_callback() -> None:
    record = apply(apply(_pending(), Dial("cb-7-1"), 1.0), Connected(), 5.0)
    assert apply(record, Hangup(), 6.0).state is CallbackState.ABANDONED


def test_a_restart_during_an_attempt_counts_it_as_failed() -> None:
    dialing = apply(_pending(), Dial("cb-7-1"), 1.0)
    recovered = apply(dialing, Recover(), 50.0)
    assert (recovered.state, recovered.attempts, recovered.retry_at) == (
        CallbackState.PENDING,
        1,
        110.0,
    )
    last = _pending(state=CallbackState.CONNECTED, attempts=3)
    assert apply(last, Recover(), 50.0).state is CallbackState.FAILED


def test_a_pending_request_survives_a_restart_unchanged() -> None:
    record = _pending(retry_at=30.0, attempts=1)
    assert apply(record, Recover(), 5.0) == record


def test_only_pending_or_dialing_requests_can_be_cancelled() -> None:
    assert apply(_pending(), Cancel(), 1.0).state is CallbackState.CANCELLED
    assert apply(apply(_pending(), Dial("x"), 1.0), Cancel(), 2.0).state is CallbackState.CANCELLED
    connected = _pending(state=CallbackState.CONNECTED, attempts=1)
    with pytest.raises(IllegalCallbackTransition):
        apply(connected, Cancel(), 2.0)


@pytest.mark.parametrize("state", sorted(FINAL))
def test_final_states_accept_no_event(state: CallbackState) -> None:
    record = _pending(state=state)
    for event in (Dial("x"), DialFailed(480), Connected(), Completed("a"), Hangup(), Cancel()):
        with pytest.raises(IllegalCallbackTransition):
            apply(record, event, 1.0)
    assert not any(origin is state for origin, _ in TRANSITIONS)


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError):
        CallbackPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        CallbackPolicy(retry_seconds=-1)
