"""CTI commands on live calls: the state table, destinations and keys, conference
masks, and the INVITE a call of our own making carries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.media.backend import ParticipantMask
from helpline.media.mixer import SupervisionMode
from helpline.sip.uri import SipUri
from helpline.telephony.cti import (
    OVERLAY,
    TRANSITIONS,
    CallState,
    Command,
    DestinationKind,
    Happening,
    IllegalCommand,
    advance,
    destination,
    dtmf_digits,
    effective,
    overlay_of,
)
from helpline.telephony.originate import Originator
from helpline.telephony.phones import SipTenant
from helpline.telephony.supervision import masks

LIVE = [s for s in CallState if s is not CallState.ENDED]
TRIGGERS = [*Command, *Happening]


def test_hold_then_resume_goes_back_to_talking() -> None:
    held = advance(CallState.TALKING, Command.HOLD)
    assert held is CallState.HELD
    assert advance(held, Command.RESUME) is CallState.TALKING


def test_resuming_a_call_that_is_not_held_is_refused_with_its_state() -> None:
    with pytest.raises(IllegalCommand) as refused:
        advance(CallState.TALKING, Command.RESUME)
    error = refused.value
    assert (error.status_code, error.error_id) == (409, "call_wrong_state")
    assert error.details == {"state": "talking", "command": "resume"}


@pytest.mark.parametrize(
    "command",
    [Command.HOLD, Command.TRANSFER, Command.CONSULT, Command.DTMF, Command.INTERCEPT],
)
def test_a_call_still_connecting_takes_no_command_but_hang_up(command: Command) -> None:
    with pytest.raises(IllegalCommand):
        advance(CallState.CONNECTING, command)
    assert advance(CallState.CONNECTING, Command.HANG_UP) is CallState.ENDED


def test_a_consultation_completes_or_merges_only_once_answered() -> None:
    ringing = advance(CallState.HELD, Command.CONSULT)
    assert ringing is CallState.CONSULT_RINGING
    for command in (Command.COMPLETE, Command.CONFERENCE, Command.HOLD, Command.CONSULT):
        with pytest.raises(IllegalCommand):
            advance(ringing, command)
    assert advance(ringing, Command.CANCEL) is CallState.TALKING
    answered = advance(ringing, Happening.CONSULT_ANSWERED)
    assert advance(answered, Command.COMPLETE) is CallState.TALKING
    assert advance(answered, Command.CONFERENCE) is CallState.CONFERENCE
    assert advance(answered, Happening.CONSULT_FAILED) is CallState.TALKING


def test_the_agent_leaving_a_consultation_transfers_only_if_the_third_party_answered() -> None:
    assert advance(CallState.CONSULTING, Happening.AGENT_LEFT) is CallState.TALKING
    assert advance(CallState.CONSULT_RINGING, Happening.AGENT_LEFT) is CallState.ENDED


def test_a_conference_is_left_by_one_party_and_goes_on_with_two() -> None:
    assert advance(CallState.CONFERENCE, Happening.THIRD_LEFT) is CallState.TALKING
    assert advance(CallState.CONFERENCE, Happening.AGENT_LEFT) is CallState.TALKING
    with pytest.raises(IllegalCommand):
        advance(CallState.CONFERENCE, Command.HOLD)


def test_an_ended_call_takes_nothing() -> None:
    for trigger in TRIGGERS:
        with pytest.raises(IllegalCommand):
            advance(CallState.ENDED, trigger)


@given(st.lists(st.sampled_from(TRIGGERS), max_size=30))
def test_whatever_happens_a_live_call_can_always_be_hung_up(triggers: list[object]) -> None:
    state = CallState.TALKING
    for trigger in triggers:
        assert isinstance(trigger, Command | Happening)
        if (state, trigger) in TRANSITIONS:
            state = advance(state, trigger)
        if state is CallState.ENDED:
            return
        assert advance(state, Command.HANG_UP) is CallState.ENDED


def test_overlay_states_are_kept_and_the_others_follow_from_the_legs() -> None:
    assert effective(None, connected=True) is CallState.TALKING
    assert effective(None, connected=False) is CallState.CONNECTING
    assert effective(CallState.HELD, connected=True) is CallState.HELD
    assert {s for s in CallState if overlay_of(s) is not None} == OVERLAY
    assert overlay_of(CallState.TALKING) is None


@pytest.mark.parametrize(
    ("kind", "target", "ok"),
    [
        (DestinationKind.EXTENSION, "2002", True),
        (DestinationKind.EXTENSION, "alice.b", True),
        (DestinationKind.QUEUE, "sales", True),
        (DestinationKind.NUMBER, "+99955501", True),
        (DestinationKind.NUMBER, "00 99", False),
        (DestinationKind.NUMBER, "sip:x@y", False),
        (DestinationKind.EXTENSION, "2002@evil", False),
        (DestinationKind.EXTENSION, "", False),
    ],
)
def test_destinations_are_dialable_strings(kind: DestinationKind, target: str, ok: bool) -> None:
    if ok:
        assert destination(kind, target).target == target
    else:
        with pytest.raises(ValueError):
            destination(kind, target)


def test_dtmf_keys_are_rfc4733_events_only() -> None:
    assert dtmf_digits("12ab*#") == "12AB*#"
    for bad in ("", "12x", "1" * 33, "1 2"):
        with pytest.raises(ValueError):
            dtmf_digits(bad)


def _heard(table: dict[str, ParticipantMask]) -> dict[str, frozenset[str]]:
    """Whom each participant actually hears (a silent sender is heard by no one)."""
    senders = frozenset(who for who, mask in table.items() if mask.sends)
    everyone = frozenset(table)
    return {
        who: (mask.hears if mask.hears is not None else everyone - {who}) & senders
        for who, mask in table.items()
    }


def test_in_a_conference_everyone_hears_everyone() -> None:
    heard = _heard(masks("c", "a", {}, others=("t",)))
    assert heard == {"c": {"a", "t"}, "a": {"c", "t"}, "t": {"c", "a"}}


def test_a_whisper_in_a_conference_reaches_the_agent_only() -> None:
    heard = _heard(masks("c", "a", {"s": SupervisionMode.WHISPER}, others=("t",)))
    assert "s" in heard["a"] and "s" not in heard["c"] and "s" not in heard["t"]
    assert heard["s"] == {"c", "a", "t"}


def test_a_held_caller_is_heard_by_no_one() -> None:
    heard = _heard(masks("c", "a", {"s": SupervisionMode.BARGE}, held=True))
    assert "c" not in heard["a"] and "c" not in heard["s"]
    assert heard["a"] == {"s"}


def test_a_call_of_our_own_carries_the_invite_it_would_have_come_with() -> None:
    tenant = SipTenant(7, "demo")
    request = Originator.request(tenant, "cti-1@demo", caller="2001", called="+99955501")
    assert request.call_id == "cti-1@demo"
    assert request.from_.uri == SipUri("demo", "2001") and request.from_.tag
    assert request.to.uri == SipUri("demo", "+99955501") and request.to.tag is None
    assert request.uri == SipUri("demo", "+99955501")
    assert request.cseq.method == "INVITE"
