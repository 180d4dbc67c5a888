"""Calls through SIP trunks (issue 4 item 9), against SIPp playing the provider.

The trunks are created through the API as an administrator would. A phone (SIPp with
digest credentials) dials an outside number: Helpline challenges it, picks the trunk by
prefix, rewrites the number, presents the trunk's caller ID, answers the provider's
challenge with the trunk's credentials and bridges the media; a provider answering 503
makes Helpline try the next trunk; a request from a trunk's allowlisted address is
taken as that trunk's (no challenge).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.audio import frequency_of, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline, sipp

ADMIN = ("demo", "admin", "demo-web-pass")
PHONE, PHONE_PASSWORD = "2001", "demo-sip-pass"
NUMBER = "+99955501"  # +999: no such country code; and the trunks point at loopback
PHONE_RTP = 16000


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(ns, tmp_path_factory.mktemp("trunks"), HELPLINE_COOKIE_SECURE="0") as n:
        yield n


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    (work / "audio").mkdir()
    for freq in (1000, 2000):
        subprocess.run(
            [
                *("sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw"),
                str(work / "audio" / f"tone{freq}.ulaw"),
                *("synth", "10", "sine", str(freq), "vol", "0.5"),
            ],
            check=True,
        )
    return work


def _trunk(node: Node, **fields: object) -> int:
    status, answer = node.api("POST", "/api/v1/trunks", fields, login=ADMIN)
    assert status == 201, answer
    return int(answer["id"])


def _provider(ns: Namespace, work: Path, scenario: str, host: str) -> subprocess.Popen[str]:
    """SIPp as a provider on ``host``:5090 (its own loopback address: a trunk's own
    address counts as its allowlist, and the phones call from 127.0.0.1)."""
    return ns.popen(
        [
            "sipp",
            *("-sf", str(SCENARIOS / scenario)),
            *("-i", host, "-p", "5090"),
            *("-mi", host, "-mp", "17000"),
            *("-m", "1", "-nostdin", "-timeout", "40s"),
            "-trace_msg",
            *("-message_file", str(work / f"provider-{host}.log")),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _done(proc: subprocess.Popen[str]) -> None:
    try:
        out, _ = proc.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out[-3000:]


def _call(
    ns: Namespace, node: Node, work: Path, *, password: str = PHONE_PASSWORD
) -> subprocess.CompletedProcess[str]:
    return sipp(
        ns,
        node,
        "phone_outbound.xml",
        *("-s", NUMBER, "-au", PHONE, "-ap", password),
        *("-mi", "127.0.0.1", "-mp", str(PHONE_RTP), "-d", "2000", "-m", "1"),
        cwd=work,
        timeout=40,
    )


def test_outbound_call_through_a_trunk_with_failover(
    ns: Namespace, node: Node, audio: Path
) -> None:
    # Priority 1: a provider out of service; priority 2: the working one.
    _trunk(node, name="down", host="127.0.0.4", port=5090, prefixes=["+999"], priority=1)
    _trunk(
        node,
        name="provider",
        host="127.0.0.3",
        port=5090,
        prefixes=["+999"],
        priority=2,
        strip_digits=1,
        prepend="00",
        username="trunk-user",
        password="trunk-pass",
        caller_id_mode="fixed",
        caller_id_number="+99955500",
        caller_id_name="Helpdesk",
    )
    down = _provider(ns, audio, "provider_unavailable.xml", "127.0.0.4")
    up = _provider(ns, audio, "provider_uas.xml", "127.0.0.3")
    try:
        with sniff(ns, audio, 30, PHONE_RTP) as captured:
            result = _call(ns, node, audio)
        assert result.returncode == 0, result.stderr[-3000:] + "\n".join(node.output[-30:])
        _done(down)
        _done(up)
    finally:
        for proc in (down, up):
            if proc.poll() is None:
                proc.kill()
    sent = (audio / "provider-127.0.0.3.log").read_text()
    # The number rewritten (strip "+", prepend "00"), the trunk's caller ID, its credentials.
    assert "INVITE sip:0099955501@127.0.0.3:5090 SIP/2.0" in sent
    assert 'From: "Helpdesk" <sip:+99955500@127.0.0.3>' in sent
    assert "P-Asserted-Identity: <sip:+99955500@127.0.0.3>" in sent
    assert 'Authorization: Digest username="trunk-user", realm="provider"' in sent
    # The first trunk was tried first and refused with 503.
    assert "SIP/2.0 503" in (audio / "provider-127.0.0.4.log").read_text()
    # The phone heard the provider's 2 kHz tone through the bridge.
    heard = captured[0].pcm(PHONE_RTP)
    assert abs(frequency_of(heard, skip=1.0) - 2000) < 15


def test_wrong_phone_password_is_refused(ns: Namespace, node: Node, audio: Path) -> None:
    result = _call(ns, node, audio, password="wrong")
    assert result.returncode != 0
    assert "403" in result.stdout + result.stderr


def test_a_number_without_a_route_is_404_without_a_challenge(
    ns: Namespace, node: Node, audio: Path
) -> None:
    scenario = audio / "refused.xml"
    text = (SCENARIOS / "caller_refused.xml").read_text()
    scenario.write_text(text.replace('response="STATUS"', 'response="404"'))
    result = sipp(ns, node, str(scenario), "-s", "+8881234", "-m", "1", cwd=audio)
    assert result.returncode == 0, result.stdout[-2000:]


def test_a_trunk_source_is_not_challenged(ns: Namespace, node: Node, audio: Path) -> None:
    # From the trunk's allowlisted address a number is delivered, not dialed out:
    # no challenge (and until numbers are routed to services, 404).
    _trunk(node, name="inbound", host="127.0.0.2", allowed_sources=["127.0.0.2/32"])
    scenario = audio / "from-trunk.xml"
    text = (SCENARIOS / "caller_refused.xml").read_text()
    scenario.write_text(text.replace('response="STATUS"', 'response="404"'))
    argv = ["sipp", f"127.0.0.1:{node.sip_port}", "-sf", str(scenario), "-s", NUMBER]
    argv += ["-i", "127.0.0.2", "-p", "5062", "-m", "1", "-nostdin", "-timeout", "20s"]
    result = ns.run([*argv, "-timeout_error"], timeout=40, cwd=audio)
    assert result.returncode == 0, result.stdout[-2000:]
