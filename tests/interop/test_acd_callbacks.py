"""Callbacks that keep the caller's place (issue 7), with SIPp callers, phones and a
provider: the caller dials 5200 (the queue "sales"), hears the callback offer, presses
1, hears the confirmation and is hung up on; their call record says ``callback`` and
their place stays in the queue.  When an agent logs in, the agent is reserved,
Helpline calls the caller back (their registered phone, or their number out the
tenant's trunk), greets them and connects them to the agent, who hears them and is
heard.  (:mod:`tests.interop.test_acd_callback_restart`: across a restart.)"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.acd_helpers import (
    ADMIN,
    api,
    ask_for_callback,
    callback_row,
    finished,
    heard_tone,
    login,
    make_number,
    make_tones,
    offer_callbacks,
    phone,
    prompt,
    records,
    registered,
    running,
    sales,
    until,
)
from tests.interop.audio import correlation, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline

CUSTOMER = "2003"
"""The caller's own SIP account (its phone is rung for the callback)."""
EXTERNAL = "+99955501"
"""An outside number (+999: no such country); the trunk to it points at loopback."""
CUSTOMER_RTP, PROVIDER_RTP = 17600, 17000
ENV = {"HELPLINE_SIP_QUALIFY_SECONDS": "0", "HELPLINE_COOKIE_SECURE": "0"}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = make_tones(tmp_path_factory.mktemp("work"))
    sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw")
    target = str(work / "audio" / "tone2000.ulaw")  # the provider's own voice
    subprocess.run([*sox, target, "synth", "60", "sine", "2000", "vol", "0.4"], check=True)
    return work


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(ns, tmp_path_factory.mktemp("acd-callbacks"), **ENV) as running_node:
        make_number(running_node)
        yield running_node


def test_a_callback_keeps_the_place_and_connects_the_callers_phone_to_the_agent(
    ns: Namespace, node: Node, work: Path
) -> None:
    offer_callbacks(node)
    customer = phone(ns, node, work, CUSTOMER, 60, "customer_answer.xml")
    agent = phone(ns, node, work, "2001", 60, "agent_hangup.xml")
    with running(customer, agent):
        registered(node, CUSTOMER)
        registered(node, "2001")
        ask_for_callback(ns, node, work, CUSTOMER)
        assert callback_row(node, CUSTOMER)["state"] == "pending"
        with sniff(ns, work, 40, CUSTOMER_RTP, 17200) as captured:
            login(node, "2001")
            until(node, lambda v: sales(v)["callbacks_pending"] == 0, timeout=30)
            until(node, lambda v: all(a["call_id"] is None for a in v["agents"]), timeout=30)
    done = callback_row(node, CUSTOMER)
    assert (done["state"], done["agent"], done["attempts"]) == ("completed", "2001", 1)
    (back,) = [r for r in records(node, CUSTOMER) if r["called"] == CUSTOMER]
    assert (back["direction"], back["caller"], back["agent"], back["outcome"]) == (
        "outbound",
        "5200",
        "2001",
        "answered",
    )
    heard_by_customer = captured[0].pcm(CUSTOMER_RTP)
    heard_by_agent = captured[0].pcm(17200)
    assert correlation(heard_by_customer, prompt("queue/callback-greeting")) >= 0.9
    assert heard_tone(heard_by_customer, 2000) > 0.2  # the agent
    assert heard_tone(heard_by_agent, 1000) > 0.2  # the customer


def test_an_outside_caller_is_called_back_through_the_trunk(
    ns: Namespace, node: Node, work: Path
) -> None:
    offer_callbacks(node)
    trunk = {
        "name": "provider",
        "host": "127.0.0.3",
        "port": 5090,
        "prefixes": ["+999"],
        "username": "trunk-user",
        "password": "trunk-pass",
    }
    status, made = api(node, "POST", "/api/v1/trunks", trunk, login=ADMIN)
    assert status == 201, made
    # The caller comes in from the provider's side of the loopback (its own address).
    ask_for_callback(ns, node, work, EXTERNAL, host="127.0.0.3", port=5092)
    provider = ns.popen(
        [
            "sipp",
            *("-sf", str(SCENARIOS / "provider_uas.xml")),
            *("-i", "127.0.0.3", "-p", "5090", "-mi", "127.0.0.3", "-mp", str(PROVIDER_RTP)),
            *("-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error"),
            *("-trace_msg", "-message_file", str(work / "provider.log")),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    agent = phone(ns, node, work, "2001", 60, "agent_hangup.xml")
    with running(provider, agent):
        registered(node, "2001")
        with sniff(ns, work, 40, PROVIDER_RTP) as captured:
            login(node, "2001")
            finished(provider, node)  # answered (after a digest challenge), then BYE
    sent = (work / "provider.log").read_text()
    assert f"INVITE sip:{EXTERNAL}@127.0.0.3:5090 SIP/2.0" in sent
    assert 'Authorization: Digest username="trunk-user"' in sent
    done = callback_row(node, EXTERNAL)
    assert (done["state"], done["agent"]) == ("completed", "2001")
    assert heard_tone(captured[0].pcm(PROVIDER_RTP), 2000) > 0.2


def test_a_callback_fails_over_to_the_next_trunk_when_the_first_is_out_of_service(
    ns: Namespace, node: Node, work: Path
) -> None:
    offer_callbacks(node)
    number = "+99955502"
    trunk = {"name": "down", "host": "127.0.0.4", "port": 5090, "prefixes": ["+999"]}
    status, made = api(node, "POST", "/api/v1/trunks", {**trunk, "priority": 1}, login=ADMIN)
    assert status == 201, made
    working = {
        "name": "working",
        "host": "127.0.0.3",
        "port": 5090,
        "prefixes": ["+999"],
        "priority": 2,
        "username": "trunk-user",
        "password": "trunk-pass",
    }
    status, made = api(node, "POST", "/api/v1/trunks", working, login=ADMIN)
    assert status == 201, made
    ask_for_callback(ns, node, work, number, host="127.0.0.3", port=5092)

    def provider(scenario: str, host: str) -> subprocess.Popen[str]:
        return ns.popen(
            [
                "sipp",
                *("-sf", str(SCENARIOS / scenario)),
                *("-i", host, "-p", "5090", "-mi", host, "-mp", str(PROVIDER_RTP)),
                *("-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error"),
                *("-trace_msg", "-message_file", str(work / f"provider-{host}.log")),
            ],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    down = provider("provider_unavailable.xml", "127.0.0.4")
    up = provider("provider_uas.xml", "127.0.0.3")
    agent = phone(ns, node, work, "2001", 60, "agent_hangup.xml")
    with running(down, up, agent):
        registered(node, "2001")
        with sniff(ns, work, 40, PROVIDER_RTP) as captured:
            login(node, "2001")
            finished(down, node)  # refused with 503
            finished(up, node)  # then answered, then BYE
    assert "SIP/2.0 503" in (work / "provider-127.0.0.4.log").read_text()
    assert (
        f"INVITE sip:{number}@127.0.0.3:5090 SIP/2.0"
        in (work / "provider-127.0.0.3.log").read_text()
    )
    done = callback_row(node, number)
    assert (done["state"], done["agent"], done["attempts"]) == ("completed", "2001", 1)
    assert heard_tone(captured[0].pcm(PROVIDER_RTP), 2000) > 0.2
