"""DTMF keys carried in SIP INFO bodies."""

from __future__ import annotations

import pytest

from helpline.sip.dtmf_relay import InfoDigit, parse_info_dtmf


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", InfoDigit("5", 160)),
        ("application/dtmf-relay", b"Signal= #\nDuration= 250", InfoDigit("#", 250)),
        ("Application/DTMF-Relay; x=1", b"Signal=*\r\n", InfoDigit("*", 160)),
        ("application/dtmf-relay", b"Signal=11\r\nDuration=100", InfoDigit("#", 100)),
        ("application/dtmf-relay", b"Signal=a\r\nDuration=-5", InfoDigit("A", 160)),
        ("application/dtmf", b"7", InfoDigit("7", 160)),
        ("application/dtmf", b"10\r\n", InfoDigit("*", 160)),
    ],
)
def test_keys(content_type: str, body: bytes, expected: InfoDigit) -> None:
    assert parse_info_dtmf(content_type, body) == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (None, b"Signal=5"),
        ("application/dtmf-relay", b""),
        ("application/dtmf-relay", b"Duration=160"),
        ("application/dtmf-relay", b"Signal=16"),
        ("application/dtmf-relay", b"Signal=55"),
        ("application/dtmf-relay", "Signal=五".encode()),
        ("application/dtmf", b"x"),
        ("application/sdp", b"Signal=5"),
        ("application/dtmf-relay", b"Signal=5\r\n" + b"x" * 400),
    ],
)
def test_not_dtmf(content_type: str | None, body: bytes) -> None:
    assert parse_info_dtmf(content_type, body) is None
