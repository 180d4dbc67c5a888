"""rtpengine's DTMF log records parsed into key presses; anything else is ignored."""

from __future__ import annotations

import json

from helpline.media.rtpengine.dtmflog import DtmfLog, parse_dtmf_log

RECORD = {
    "callid": "hl-088ba0d8-1",
    "source_tag": "w0.e1",
    "tags": ["w0.e2-in", "w0.e1", "w0.e2", "w0.e1-in"],
    "type": "DTMF",
    "timestamp": 1795487833,
    "source_ip": "127.0.0.1",
    "event": 5,
    "duration": 100,
    "volume": 10,
}


def _digit(event: int) -> str | None:
    parsed = parse_dtmf_log(json.dumps({**RECORD, "event": event}).encode())
    return parsed.digit if parsed is not None else None


def test_a_record_as_rtpengine_sends_it_is_a_key_press_of_its_source_tag() -> None:
    assert parse_dtmf_log(json.dumps(RECORD).encode()) == DtmfLog(
        "hl-088ba0d8-1", "w0.e1", "5", 100.0
    )
    assert _digit(11) == "#" and _digit(16) == "!" and _digit(17) is None


def test_malformed_or_foreign_records_are_ignored() -> None:
    assert parse_dtmf_log(b"{not json") is None
    assert parse_dtmf_log(b"\xff\xfe") is None
    assert parse_dtmf_log(b"[1, 2]") is None
    assert parse_dtmf_log(json.dumps({**RECORD, "type": "other"}).encode()) is None
    assert parse_dtmf_log(json.dumps({**RECORD, "event": 17}).encode()) is None
    assert parse_dtmf_log(json.dumps({**RECORD, "event": "5"}).encode()) is None
    missing = {k: v for k, v in RECORD.items() if k != "source_tag"}
    assert parse_dtmf_log(json.dumps(missing).encode()) is None
    odd = parse_dtmf_log(json.dumps({**RECORD, "duration": "long"}).encode())
    assert odd is not None and odd.duration_ms == 0.0
