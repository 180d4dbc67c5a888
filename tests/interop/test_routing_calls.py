"""Calls to numbers (DIDs) through routing (issue 6), configured through the API as an
administrator would, with SIPp callers: the prompt the schedule chooses is heard, a
blacklisted caller gets 486 without a media port, a service at its limit turns the
next caller away."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpline.prompts.library import SYSTEM_DIR
from tests.interop.audio import correlation, read_wav, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline, sipp

ADMIN = ("demo", "admin", "demo-web-pass")
CALLER_RTP = 16000
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(ns, tmp_path_factory.mktemp("routing"), HELPLINE_COOKIE_SECURE="0") as n:
        yield n


def _create(node: Node, path: str, body: dict[str, object]) -> int:
    status, answer = node.api("POST", path, body, login=ADMIN)
    assert status == 201, answer
    return int(answer["id"])


def _announce(prompt: str) -> dict[str, object]:
    return {"kind": "announcement", "prompt": prompt}


def _number(node: Node, number: str, **service: object) -> int:
    service_id = _create(node, "/api/v1/services", {"name": f"svc-{number}", **service})
    _create(node, "/api/v1/numbers", {"number": number, "service_id": service_id})
    return service_id


def _prompt(name: str) -> bytes:
    return read_wav(SYSTEM_DIR / "en" / f"{name}.wav")[1]


def _listen(ns: Namespace, node: Node, work: Path, number: str, seconds: int = 3) -> bytes:
    """Call ``number`` and return what the caller heard."""
    with sniff(ns, work, 20, CALLER_RTP) as captured:
        result = sipp(
            ns,
            node,
            "caller_hungup.xml",
            *("-s", number, "-mi", "127.0.0.1", "-mp", str(CALLER_RTP), "-m", "1"),
            cwd=work,
            timeout=30,
        )
    assert result.returncode == 0, result.stderr[-2000:] + "\n".join(node.output[-20:])
    return captured[0].pcm(CALLER_RTP)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("work")
    (base / "audio").mkdir()
    tone = str(base / "audio" / "tone1000.ulaw")
    sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw")
    subprocess.run([*sox, tone, "synth", "10", "sine", "1000"], check=True)
    return base


def test_the_schedule_chooses_what_the_caller_hears(ns: Namespace, node: Node, work: Path) -> None:
    now = datetime.now(UTC)
    later = (now + timedelta(hours=3)).strftime("%H:%M")
    much_later = (now + timedelta(hours=4)).strftime("%H:%M")
    # Open all day -> "thank you for calling"; open only in an hour that is not now ->
    # the closed (default) target, "goodbye".
    _number(
        node,
        "5001",
        timezone="UTC",
        rules=[
            {"kind": "weekly", "days": ALL_DAYS, "target": _announce("ivr/thank-you-for-calling")}
        ],
        default_target=_announce("ivr/goodbye"),
    )
    _number(
        node,
        "5002",
        timezone="UTC",
        rules=[
            {
                "kind": "weekly",
                "days": ALL_DAYS,
                "start": later,
                "end": much_later,
                "target": _announce("ivr/thank-you-for-calling"),
            }
        ],
        default_target=_announce("ivr/goodbye"),
    )
    open_heard = _listen(ns, node, work, "5001")
    assert correlation(open_heard, _prompt("ivr/thank-you-for-calling")) >= 0.9
    assert correlation(open_heard, _prompt("ivr/goodbye")) < 0.6
    closed_heard = _listen(ns, node, work, "5002")
    assert correlation(closed_heard, _prompt("ivr/goodbye")) >= 0.9
    assert correlation(closed_heard, _prompt("ivr/thank-you-for-calling")) < 0.6
    assert json.loads(node.http_get("/api/health"))["sip"]["calls"] == 0


def test_a_blacklisted_caller_gets_486_without_media(ns: Namespace, node: Node, work: Path) -> None:
    _number(node, "5003", default_target=_announce("ivr/goodbye"))
    entry = _create(node, "/api/v1/blacklist", {"number": "+99955500777", "note": "test"})
    scenario = work / "blocked.xml"
    text = (
        (SCENARIOS / "caller_refused.xml")
        .read_text()
        .replace('response="STATUS"', 'response="486"')
    )
    scenario.write_text(text.replace("sip:caller@", "sip:+99955500777@"))
    allocated = json.loads(node.http_get("/api/health"))["sip"]["media"]["allocated"]
    result = sipp(ns, node, str(scenario), "-s", "5003", "-m", "1", cwd=work)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(node.http_get("/api/health"))["sip"]["media"]["allocated"] == allocated
    status, answer = node.api("GET", f"/api/v1/blacklist/{entry}", None, login=ADMIN)
    assert status == 200 and answer["hit_count"] == 1, answer


def test_a_service_at_its_limit_turns_the_next_caller_away(
    ns: Namespace, node: Node, work: Path
) -> None:
    # One call at a time; the first caller stays on the line (music on hold loops).
    _number(
        node,
        "5004",
        max_calls=1,
        over_limit_action="busy",
        default_target=_announce("moh/default"),
    )
    first = ns.popen(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            *("-sf", str(SCENARIOS / "caller_tone.xml"), "-s", "5004"),
            *("-i", "127.0.0.1", "-p", "5075", "-mi", "127.0.0.1", "-mp", "16600"),
            *("-d", "6000", "-m", "1", "-nostdin", "-timeout", "30s"),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        scenario = work / "over.xml"
        text = (SCENARIOS / "caller_refused.xml").read_text()
        scenario.write_text(text.replace('response="STATUS"', 'response="486"'))
        node.wait_health(lambda h: h["sip"]["calls"] >= 1 and h["sip"]["dialogs"] >= 1)
        result = sipp(ns, node, str(scenario), "-s", "5004", "-m", "1", cwd=work)
        assert result.returncode == 0, result.stderr[-2000:]
        out, _ = first.communicate(timeout=40)
        assert first.returncode == 0, out[-2000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=10)
    # The slot is free again: the next caller gets in.
    heard = _listen(ns, node, work, "5004")
    assert len(heard) > 8000
