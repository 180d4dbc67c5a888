"""What a waiting caller hears and when, with a fake clock: announcements, the callback
offer, the periodic message, expected waits and handling times."""

from __future__ import annotations

import pytest

from helpline.acd.waiting import (
    CALLBACK_OFFER,
    AnnouncementSchedule,
    Due,
    HandleTime,
    WaitingPolicy,
    announcement,
    callback_offer,
    expected_wait,
)
from helpline.prompts.language import Language

POLICY = WaitingPolicy(
    position_every=30.0, periodic_every=45.0, periodic_prompt="promo", callback_key="1"
)


def test_the_first_announcement_waits_so_that_a_caller_taken_at_once_hears_none() -> None:
    schedule = AnnouncementSchedule.start(POLICY, 100.0, first_after=2.0)
    assert schedule.next_at() == 102.0
    same, due = schedule.take(101.9)
    assert due == () and same == schedule


def test_position_every_interval_and_periodic_message_on_its_own_clock() -> None:
    schedule = AnnouncementSchedule.start(POLICY, 0.0, first_after=2.0)
    heard: list[tuple[float, tuple[Due, ...]]] = []
    while (at := schedule.next_at()) is not None and at < 100.0:
        schedule, due = schedule.take(at)
        heard.append((at, due))
    assert heard == [
        (2.0, (Due.POSITION,)),
        (32.0, (Due.POSITION,)),
        (45.0, (Due.PERIODIC,)),
        (62.0, (Due.POSITION,)),
        (90.0, (Due.PERIODIC,)),
        (92.0, (Due.POSITION,)),
    ]


def test_a_late_announcement_is_not_caught_up_but_counted_on_from_when_it_played() -> None:
    schedule = AnnouncementSchedule.start(POLICY, 0.0)
    schedule, due = schedule.take(0.0)
    schedule, due = schedule.take(70.0)  # the caller was busy (a ringing offer) meanwhile
    assert due == (Due.POSITION, Due.PERIODIC)
    assert (schedule.next_position, schedule.next_periodic) == (100.0, 115.0)


def test_a_queue_without_announcements_never_wakes_the_caller() -> None:
    quiet = AnnouncementSchedule.start(WaitingPolicy(), 0.0)
    assert quiet.next_at() is None
    only_callback = AnnouncementSchedule.start(WaitingPolicy(callback_key="2"), 0.0)
    assert only_callback.next_at() == 0.0
    after, due = only_callback.take(0.0)
    assert due == (Due.POSITION,) and after.next_at() is None


def test_the_announcement_names_position_wait_callback_offer_then_the_message() -> None:
    names = announcement(
        (Due.POSITION, Due.PERIODIC),
        policy=POLICY,
        position=3,
        wait_seconds=150.0,
        language=Language.EN,
    )
    assert names == [
        "queue/you-are-number",
        "digits/3",
        "queue/in-the-queue",
        "queue/expected-wait",
        "words/about",
        "digits/3",
        "time/minutes",
        CALLBACK_OFFER,
        "digits/1",
        "promo",
    ]


def test_no_expected_wait_is_said_when_nobody_serves_the_queue() -> None:
    names = announcement(
        (Due.POSITION,), policy=POLICY, position=1, wait_seconds=None, language=Language.ZH
    )
    assert names[:3] == ["queue/you-are-number", "digits/1", "queue/in-the-queue"]
    assert "queue/expected-wait" not in names


def test_the_callback_offer_follows_each_languages_word_order() -> None:
    assert callback_offer("1", Language.EN) == [CALLBACK_OFFER, "digits/1"]
    assert callback_offer("2", Language.ZH) == [CALLBACK_OFFER, "digits/2"]
    assert callback_offer("3", Language.KO) == [CALLBACK_OFFER, "digits/3", "ivr/press"]
    assert callback_offer("*", Language.EN) == [CALLBACK_OFFER]


def test_expected_wait_shares_the_calls_ahead_among_the_serving_agents() -> None:
    assert expected_wait(1, 1, 120.0) == 120.0
    assert expected_wait(4, 2, 90.0) == 180.0
    assert expected_wait(3, 0, 90.0) is None
    with pytest.raises(ValueError):
        expected_wait(0, 1, 90.0)


def test_the_handling_time_follows_recent_calls() -> None:
    first = HandleTime().add(60.0)
    assert (first.seconds, first.samples) == (60.0, 1)
    second = first.add(160.0)
    assert second.seconds == pytest.approx(80.0)
    with pytest.raises(ValueError):
        second.add(-1.0)
