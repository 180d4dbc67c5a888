"""Feature codes and mixing masks of supervised calls."""

from __future__ import annotations

import pytest

from helpline.media.backend import ParticipantMask, supervision_masks
from helpline.media.mixer import SupervisionMode
from helpline.telephony.supervision import masks, parse_feature


@pytest.mark.parametrize(
    ("dialed", "expected"),
    [
        ("*452001", (SupervisionMode.LISTEN, "2001")),
        ("*46alice", (SupervisionMode.WHISPER, "alice")),
        ("*4700", (SupervisionMode.BARGE, "00")),
        ("*45", None),
        ("*442001", None),
        ("2001", None),
    ],
)
def test_feature_codes(dialed: str, expected: tuple[SupervisionMode, str] | None) -> None:
    assert parse_feature(dialed) == expected


def _effective(table: dict[str, ParticipantMask]) -> dict[str, tuple[bool, frozenset[str]]]:
    """Who sends, and whom each actually hears: None in a mask means everyone else, and
    a participant that sends nothing is heard by no one."""
    everyone = frozenset(table)
    senders = frozenset(who for who, mask in table.items() if mask.sends)
    return {
        who: (mask.sends, (mask.hears if mask.hears is not None else everyone - {who}) & senders)
        for who, mask in table.items()
    }


@pytest.mark.parametrize("mode", list(SupervisionMode))
def test_one_supervisor_matches_the_engine_masks(mode: SupervisionMode) -> None:
    ours = masks("c", "a", {"s": mode})
    engine = supervision_masks(mode, supervisor="s", caller="c", agent="a")
    assert _effective(ours) == _effective(engine)


def test_two_supervisors_whisper_and_listen() -> None:
    got = masks("c", "a", {"w": SupervisionMode.WHISPER, "l": SupervisionMode.LISTEN})
    assert got["c"].hears == frozenset({"a"})  # the caller hears neither supervisor
    assert got["a"].hears == frozenset({"c", "w"})  # the agent hears the whisper only
    assert got["l"].sends is False and got["w"].sends is True
    assert got["l"].hears == got["w"].hears == frozenset({"c", "a"})
