"""Parallel forking decisions (RFC 3261 §16.7 applied by the B2BUA)."""

from __future__ import annotations

import pytest

from helpline.telephony.fork import ForkSet, Relay, best_failure


def forks(*branches: str) -> ForkSet[str]:
    out: ForkSet[str] = ForkSet()
    for branch in branches:
        out.add(branch)
    return out


def test_first_ringing_is_relayed_once() -> None:
    f = forks("a", "b")
    assert f.progress("a", 100, has_sdp=False) is Relay.NOTHING
    assert f.progress("a", 180, has_sdp=False) is Relay.RINGING
    assert f.progress("b", 180, has_sdp=False) is Relay.NOTHING


def test_first_sdp_provisional_is_early_media_even_after_ringing() -> None:
    f = forks("a", "b")
    assert f.progress("a", 180, has_sdp=False) is Relay.RINGING
    assert f.progress("b", 183, has_sdp=True) is Relay.EARLY_MEDIA
    assert f.progress("a", 183, has_sdp=True) is Relay.NOTHING
    assert f.progress("a", 180, has_sdp=False) is Relay.NOTHING


def test_first_answer_wins_and_cancels_the_others() -> None:
    f = forks("a", "b", "c")
    step = f.answered("b")
    assert step.connect and not step.hang_up
    assert sorted(step.cancel) == ["a", "c"]
    assert f.winner == "b"
    late = f.answered("a")
    assert late.hang_up and not late.connect
    # the cancelled branches' 487s change nothing
    assert f.failed("c", 487).fail is None


def test_all_failed_gives_best_failure() -> None:
    f = forks("a", "b")
    assert f.failed("a", 408).fail is None
    assert f.failed("b", 486).fail == 486
    assert f.settled
    assert f.progress("a", 180, has_sdp=False) is Relay.NOTHING


def test_6xx_fails_at_once_and_cancels_the_rest() -> None:
    f = forks("a", "b")
    step = f.failed("a", 603)
    assert step.fail == 603 and step.cancel == ("b",)
    assert f.answered("b").hang_up


def test_cancel_returns_pending_and_settles() -> None:
    f = forks("a", "b")
    f.failed("a", 480)
    assert f.cancel() == ("b",)
    assert f.settled
    assert f.failed("b", 487).fail is None
    assert f.answered("b").hang_up


def test_unknown_branch_is_ignored() -> None:
    f = forks("a")
    assert f.failed("zz", 404).fail is None
    assert f.progress("zz", 180, has_sdp=False) is Relay.NOTHING
    assert not f.settled


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([408, 503], 480),
        ([480, 404], 404),
        ([404, 486, 500], 486),
        ([500, 403], 403),
        ([503, 500], 500),
        ([600, 404], 600),
        ([487], 480),
    ],
)
def test_best_failure(statuses: list[int], expected: int) -> None:
    assert best_failure(statuses) == expected
