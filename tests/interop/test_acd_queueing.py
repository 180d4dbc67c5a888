"""How the ACD orders and routes real calls (issue 7), SIPp on both sides: callers dial
5200 (the queue "sales"), agents' SIPp phones register and the agents log in through
the API.  A VIP caller overtakes a caller who waited longer; a returning caller gets
the agent of their last call; after N seconds a caller overflows to another queue's
agents; a full queue answers with its announcement; an agent who misses N offers in
a row is paused while the next agent takes the calls; round robin takes turns; a
caller who waited too long goes to the fallback queue.

Each test sets the queue up as it needs it and logs its agents out at the end; phones
and callers use fixed loopback ports.  Every SIPp process is bounded in time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.prompts.library import SYSTEM_DIR
from tests.interop.acd_helpers import (
    ADMIN,
    NUMBER,
    agent_state,
    api,
    caller,
    configure,
    finished,
    login,
    logout,
    make_number,
    make_tones,
    phone,
    records,
    registered,
    running,
    sales,
    state,
    until,
)
from tests.interop.audio import correlation, read_wav, sniff
from tests.interop.harness import Namespace, Node, helpline, sipp

VIP = "+8613800138000"
"""王伟, a VIP customer of the demo (the demo queues give VIPs 10 priority points)."""
AGENTS = ("2001", "2002", "2003")


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("acd-queueing"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_COOKIE_SECURE="0",
    ) as running_node:
        make_number(running_node)
        yield running_node


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tones(tmp_path_factory.mktemp("work"))


@pytest.fixture(autouse=True)
def agents_out(node: Node) -> Iterator[None]:
    """Every test starts and ends with its agents logged out, on a plain queue."""
    logout(node, *AGENTS)
    configure(
        node,
        strategy="longest_idle",
        ring_timeout=10,
        wrap_up_seconds=1,
        auto_pause_after=3,
        announce_interval=0,
        callback_enabled=False,
        sticky_seconds=0,
        max_length=None,
        max_wait_seconds=None,
        overflow=[],
        fallback=None,
        region_prefixes={},
        region_teams={},
        region_wait_seconds=0,
    )
    yield
    logout(node, *AGENTS)


def _set_region(node: Node, account: str, region: str) -> None:
    status, page = api(node, "GET", "/api/v1/agents?limit=100", None, login=ADMIN)
    assert status == 200, page
    (agent,) = [a for a in page["items"] if a["username"] == f"agent{account}"]
    body = {"region": region}
    status, answer = api(node, "PATCH", f"/api/v1/agents/{agent['id']}", body, login=ADMIN)
    assert status == 200, answer


def _answered_by(node: Node, number: str) -> list[str | None]:
    return [r["agent"] for r in records(node, number) if r["outcome"] == "answered"]


def test_a_vip_caller_overtakes_a_caller_who_waited_longer(
    ns: Namespace, node: Node, work: Path
) -> None:
    agent = phone(ns, node, work, "2001", 40, "agent_answer.xml")
    regular = caller(ns, node, work, "+12015550100", seconds=20, port=5090, rtp=16000)
    with running(agent, regular):
        registered(node, "2001")
        until(node, lambda v: sales(v)["waiting"] == 1)
        vip = caller(ns, node, work, VIP, seconds=8, port=5092, rtp=16100)
        with running(vip):
            view = until(node, lambda v: sales(v)["waiting"] == 2)
            # The VIP is first although the other caller has waited longer.
            assert [c["customer_type"] for c in sales(view)["callers"]] == ["vip", None]
            login(node, "2001")
            finished(vip, node)
        finished(regular, node)
    (vip_record,) = records(node, VIP)
    (regular_record,) = records(node, "+12015550100")
    assert (vip_record["outcome"], vip_record["agent"]) == ("answered", "2001")
    assert (regular_record["outcome"], regular_record["agent"]) == ("answered", "2001")
    assert vip_record["answered_at"] < regular_record["answered_at"]
    assert vip_record["started_at"] > regular_record["started_at"]


def test_a_returning_caller_reaches_the_agent_of_their_last_call(
    ns: Namespace, node: Node, work: Path
) -> None:
    # Linear hunting offers 2001 first; a returning caller goes to their last agent.
    configure(node, strategy="linear", sticky_seconds=300)
    phones = [phone(ns, node, work, a, 60, "agent_answer.xml") for a in ("2001", "2002")]
    with running(*phones):
        registered(node, "2001")
        registered(node, "2002")
        login(node, "2002")
        finished(caller(ns, node, work, "+12015550122", seconds=4, port=5090, rtp=16000), node)
        assert _answered_by(node, "+12015550122") == ["2002"]
        login(node, "2001")
        until(node, lambda v: all(agent_state(v, a) == "available" for a in ("2001", "2002")))
        finished(caller(ns, node, work, "+12015550122", seconds=4, port=5090, rtp=16000), node)
        until(node, lambda v: all(agent_state(v, a) == "available" for a in ("2001", "2002")))
        finished(caller(ns, node, work, "+12015550133", seconds=4, port=5092, rtp=16100), node)
    assert _answered_by(node, "+12015550122") == ["2002", "2002"]
    assert _answered_by(node, "+12015550133") == ["2001"]  # a new caller: linear order


def test_a_caller_overflows_to_another_queues_agents_after_n_seconds(
    ns: Namespace, node: Node, work: Path
) -> None:
    configure(node, overflow=[{"after_seconds": 4, "add_queues": ["support"]}])
    support = phone(ns, node, work, "2003", 40, "agent_answer.xml")
    with running(support):
        registered(node, "2003")
        login(node, "2003", queue="support")  # a support agent only
        finished(caller(ns, node, work, "+12015550144", seconds=9, port=5090, rtp=16000), node)
    assert _answered_by(node, "+12015550144") == ["2003"]
    status, events = api(node, "GET", "/api/v1/queue-events?limit=200", None, login=ADMIN)
    assert status == 200, events
    (record,) = records(node, "+12015550144")
    offers = [
        e for e in events["items"] if e["call_id"] == record["call_id"] and e["event"] == "offer"
    ]
    assert [o["agent"] for o in offers] == ["2003"]
    assert offers[0]["wait_seconds"] >= 4.0  # not before the overflow stage


def test_a_full_queue_answers_with_its_announcement(ns: Namespace, node: Node, work: Path) -> None:
    busy = {"kind": "announcement", "prompt": "queue/all-agents-busy"}
    configure(node, max_length=1, fallback=busy)
    first = caller(ns, node, work, "+12015550155", seconds=10, port=5090, rtp=16000)
    with running(first):
        until(node, lambda v: sales(v)["waiting"] == 1)
        with sniff(ns, work, 30, 16200) as captured:
            second = sipp(
                ns,
                node,
                "caller_hungup.xml",
                *("-s", NUMBER, "-mi", "127.0.0.1", "-mp", "16200", "-m", "1"),
                cwd=work,
                timeout=30,
            )
        # Helpline said its message and hung up (the caller's BYE was answered).
        assert second.returncode == 0, second.stderr[-2000:] + "\n".join(node.output[-30:])
        assert sales(until(node, lambda v: True))["waiting"] == 1
        finished(first, node)
    heard = captured[0].pcm(16200)
    _, prompt = read_wav(SYSTEM_DIR / "en" / "queue" / "all-agents-busy.wav")
    assert correlation(heard, prompt) >= 0.9
    full = [r for r in records(node) if r["caller"] == "caller"]
    assert [r["outcome"] for r in full] == ["rejected"]
    assert [r["outcome"] for r in records(node, "+12015550155")] == ["abandoned_queue"]


def test_an_agent_who_misses_n_offers_is_paused_and_the_next_agent_answers(
    ns: Namespace, node: Node, work: Path
) -> None:
    configure(node, strategy="linear", ring_timeout=3, auto_pause_after=2)
    ringing = phone(ns, node, work, "2001", 60, "agent_ring.xml")
    answering = phone(ns, node, work, "2002", 60, "agent_answer.xml")
    with running(ringing, answering):
        registered(node, "2001")
        registered(node, "2002")
        login(node, "2001")
        login(node, "2002")
        for number, port in (("+12015550166", 5090), ("+12015550177", 5092)):
            finished(caller(ns, node, work, number, seconds=8, port=port, rtp=16000), node)
            until(node, lambda v: agent_state(v, "2002") == "available")
    assert _answered_by(node, "+12015550166") == ["2002"]
    assert _answered_by(node, "+12015550177") == ["2002"]
    paused = state(node, "2001")
    assert (paused["state"], paused["reason"], paused["missed_offers"]) == (
        "not_ready",
        "missed-offers",
        2,
    )


def test_round_robin_takes_turns(ns: Namespace, node: Node, work: Path) -> None:
    configure(node, strategy="round_robin")
    phones = [phone(ns, node, work, a, 60, "agent_answer.xml") for a in ("2001", "2002")]
    with running(*phones):
        registered(node, "2001")
        registered(node, "2002")
        login(node, "2001")
        login(node, "2002")
        for index in range(3):
            number = f"+1201555020{index}"
            finished(caller(ns, node, work, number, seconds=3, port=5090, rtp=16000), node)
            until(
                node,
                lambda v: all(agent_state(v, a) == "available" for a in ("2001", "2002")),
            )
    served = [_answered_by(node, f"+1201555020{index}")[0] for index in range(3)]
    assert served[0] != served[1] and served[2] == served[0], served


def test_a_caller_who_waited_too_long_goes_to_the_fallback_queue(
    ns: Namespace, node: Node, work: Path
) -> None:
    configure(node, max_wait_seconds=4, fallback={"kind": "queue", "queue": "support"})
    support = phone(ns, node, work, "2003", 40, "agent_answer.xml")
    with running(support):
        registered(node, "2003")
        login(node, "2003", queue="support")  # nobody serves sales
        finished(caller(ns, node, work, "+12015550188", seconds=10, port=5090, rtp=16000), node)
    (record,) = records(node, "+12015550188")
    assert (record["outcome"], record["agent"]) == ("answered", "2003")
    status, events = api(node, "GET", "/api/v1/queue-events?limit=200", None, login=ADMIN)
    assert status == 200, events
    steps = [(e["queue"], e["event"]) for e in events["items"] if e["call_id"] == record["call_id"]]
    assert sorted(steps) == sorted(
        [
            ("sales", "join"),
            ("sales", "timeout"),
            ("support", "join"),
            ("support", "offer"),
            ("support", "answer"),
        ]
    ), steps


def test_a_caller_whose_number_has_a_regions_prefix_reaches_that_regions_agent(
    ns: Namespace, node: Node, work: Path
) -> None:
    # Linear hunting offers 2001 first; callers from +8251 belong to "south", whose
    # agent is 2002; for 30 s only the south team is offered them.
    configure(node, strategy="linear", region_prefixes={"+8251": "south"}, region_wait_seconds=30)
    _set_region(node, "2002", "south")
    phones = [phone(ns, node, work, a, 60, "agent_answer.xml") for a in ("2001", "2002")]
    try:
        with running(*phones):
            registered(node, "2001")
            registered(node, "2002")
            login(node, "2001")
            login(node, "2002")
            south = "+825155501234"
            finished(caller(ns, node, work, south, seconds=4, port=5090, rtp=16000), node)
            until(node, lambda v: all(agent_state(v, a) == "available" for a in ("2001", "2002")))
            other = "+12015550911"
            finished(caller(ns, node, work, other, seconds=4, port=5092, rtp=16100), node)
    finally:
        _set_region(node, "2002", "")
    assert _answered_by(node, "+825155501234") == ["2002"]
    assert _answered_by(node, "+12015550911") == ["2001"]  # no region: linear order
