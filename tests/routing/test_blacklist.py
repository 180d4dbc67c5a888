"""Pure blacklist matching and the decision call control takes on an inbound call."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from helpline.routing.blacklist import (
    BlockAction,
    BlockEntry,
    BlockKind,
    is_anonymous,
    match,
    normalize_number,
)
from helpline.routing.decide import Blocked, Routed, RoutingConfig, ServiceConfig, decide
from helpline.routing.models import OverLimitAction
from helpline.routing.schedule import AnnouncementTarget, FlowTarget, Weekday, WeeklyRule

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul
BUSY = BlockAction.REJECT_BUSY


def entry(ident: int, kind: BlockKind, number: str = "", **fields: object) -> BlockEntry:
    return BlockEntry(id=ident, kind=kind, number=number, action=BUSY, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("+82 10-1234-5678", "+821012345678"), ("(02) 123.4567", "021234567"), ("1000", "1000")],
)
def test_numbers_are_compared_without_separators(raw: str, normal: str) -> None:
    assert normalize_number(raw) == normal


@pytest.mark.parametrize(
    ("from_user", "privacy", "anonymous"),
    [
        ("anonymous", None, True),
        ("Anonymous", None, True),
        ("", None, True),
        (None, None, True),
        ("restricted", None, True),
        ("+821012345678", "id", True),
        ("+821012345678", "header;critical", True),
        ("+821012345678", "none", False),
        ("+821012345678", None, False),
    ],
)
def test_withheld_numbers_and_identity_privacy_make_a_caller_anonymous(
    from_user: str | None, privacy: str | None, anonymous: bool
) -> None:
    assert is_anonymous(from_user, privacy) is anonymous


def test_exact_entry_beats_longest_prefix_which_beats_a_shorter_one() -> None:
    entries = [
        entry(1, BlockKind.PREFIX, "+8210"),
        entry(2, BlockKind.PREFIX, "+821099"),
        entry(3, BlockKind.EXACT, "+821099990000"),
    ]
    assert match(entries, "+82 10-9999-0000", NOW, anonymous=False) == entries[2]
    assert match(entries, "+821099990001", NOW, anonymous=False) == entries[1]
    assert match(entries, "+821055550000", NOW, anonymous=False) == entries[0]
    assert match(entries, "+8231", NOW, anonymous=False) is None
    assert match(entries, "821099990000", NOW, anonymous=False) is None  # no + : other number


def test_anonymous_entry_catches_only_anonymous_callers() -> None:
    entries = [entry(1, BlockKind.ANONYMOUS), entry(2, BlockKind.EXACT, "+15550100")]
    assert match(entries, None, NOW, anonymous=True) == entries[0]
    assert match(entries, "+15550199", NOW, anonymous=False) is None
    # An asserted identity behind Privacy: id still meets its own exact entry first.
    assert match(entries, "+15550100", NOW, anonymous=True) == entries[1]


def test_an_expired_entry_no_longer_blocks() -> None:
    temporary = entry(1, BlockKind.EXACT, "1234", expires_at=NOW + timedelta(minutes=1))
    assert match([temporary], "1234", NOW, anonymous=False) == temporary
    assert match([temporary], "1234", NOW + timedelta(minutes=1), anonymous=False) is None


def config(*blacklist: BlockEntry) -> RoutingConfig:
    office = WeeklyRule(
        days=(Weekday.MON, Weekday.TUE), start=time(9), end=time(18), target=FlowTarget(flow_id=7)
    )
    service = ServiceConfig(
        id=5,
        tenant_id=9,
        name="hotline",
        timezone="Asia/Seoul",
        rules=(office,),
        default_target=AnnouncementTarget(prompt="closed"),
        max_calls=2,
        over_limit_action=OverLimitAction.ANNOUNCEMENT,
        over_limit_prompt="all-busy",
    )
    return RoutingConfig(
        number_id=1, number="1000", tenant_id=9, service=service, blacklist=blacklist
    )


def test_a_blacklisted_caller_is_blocked_with_the_entry_action() -> None:
    blocked = decide(
        config(
            BlockEntry(
                id=4,
                kind=BlockKind.EXACT,
                number="+15550100",
                action=BlockAction.REJECT_ANNOUNCEMENT,
                prompt="go-away",
            )
        ),
        "+1 555 0100",
        NOW,
        anonymous=False,
    )
    assert blocked == Blocked(entry_id=4, action=BlockAction.REJECT_ANNOUNCEMENT, prompt="go-away")
    assert blocked.sip_status is None
    busy = decide(config(entry(6, BlockKind.ANONYMOUS)), None, NOW, anonymous=True)
    assert isinstance(busy, Blocked) and busy.sip_status == 486


def test_other_callers_are_routed_by_schedule_with_the_service_limit() -> None:
    routed = decide(
        config(entry(4, BlockKind.EXACT, "+15550100")), "+15550101", NOW, anonymous=False
    )
    assert routed == Routed(
        tenant_id=9,
        service_id=5,
        target=FlowTarget(flow_id=7),
        rule_index=0,
        max_calls=2,
        over_limit_action=OverLimitAction.ANNOUNCEMENT,
        over_limit_prompt="all-busy",
    )
    night = decide(config(), "+15550101", NOW + timedelta(hours=12), anonymous=False)
    assert isinstance(night, Routed)
    assert night.target == AnnouncementTarget(prompt="closed") and night.rule_index is None
