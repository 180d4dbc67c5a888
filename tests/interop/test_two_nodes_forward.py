"""A caller reaching a node that does not lead the tenant's ACD is sent on to the node
that does (issue 7, multi-node).

Two ``helpline serve`` nodes share one PostgreSQL database in one loopback-only
namespace (as in ``test_two_nodes.py``). Node A holds the demo tenant's ACD lease; the
agent's phone (SIPp) registers with node A and the agent logs in there. The caller
(SIPp) dials the queue's number on node B:

* node B answers, finds node A leading the tenant and alive in the registry, and places
  a leg to node A's SIP address with the forwarding headers; node A puts the call in
  "sales" and offers it to the agent, who answers. Caller and agent hear each other's
  tones through both nodes; the caller's BYE ends both calls. Node A's record has the
  original caller number, the agent and the origin (node B's call); node B's record
  closes ``transferred_out``;
* the same headers sent to node A by a phone (not a node's SIP address) are ignored:
  the INVITE is routed by its Request-URI like any other, and refused 404.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.interop import test_two_nodes as two_nodes
from tests.interop.acd_helpers import (
    ADMIN,
    PHONE_PORTS,
    api,
    caller,
    finished,
    login,
    phone,
    records,
    registered,
    running,
)
from tests.interop.audio import frequency_of, sniff
from tests.interop.harness import Namespace, Node, sipp

SOCKET_DIR = two_nodes.SOCKET_DIR
CALLER = "+99955507"
CALLER_PORT, CALLER_RTP = 5090, 16000
AGENT_RTP = PHONE_PORTS["2001"][1]

# The two nodes on one fresh database and the tones, as ``test_two_nodes.py`` has them.
database = two_nodes.database
nodes = two_nodes.nodes
work = two_nodes.work


async def _sql(name: str, sql: str, *args: object) -> Any:
    conn = await asyncpg.connect(host=SOCKET_DIR, user="postgres", database=name)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def _name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


def _tenant_id(url: str) -> int:
    return int(asyncio.run(_sql(_name(url), "SELECT id FROM tenants WHERE slug = 'demo'")))


@pytest.fixture(scope="module")
def leading(nodes: tuple[Node, Node], database: str) -> tuple[Node, Node]:
    """Node A (and not node B) holds the demo tenant's ACD lease, as if it had taken the
    tenant's first call."""
    asyncio.run(
        _sql(
            _name(database),
            "INSERT INTO acd_leases (tenant_id, node, expires_at, acquired_at) "
            "VALUES ($1, 'node-a', now() + interval '10 minutes', now()) "
            "ON CONFLICT (tenant_id) DO UPDATE SET node = 'node-a', "
            "expires_at = excluded.expires_at",
            _tenant_id(database),
        )
    )
    return nodes


def _closed(node: Node, number: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    """The ``count`` records of ``number`` once all are closed (waiting for them)."""
    deadline = time.monotonic() + timeout
    while True:
        found = records(node, number)
        if len(found) == count and not any(r["open"] for r in found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.3)


def test_a_caller_on_node_b_talks_to_an_agent_of_the_leader_node_a(
    ns: Namespace, leading: tuple[Node, Node], work: Path
) -> None:
    a, b = leading
    agent = phone(ns, a, work, "2001", 40, "agent_answer.xml")
    with running(agent):
        registered(a, "2001")
        login(a, "2001")
        with sniff(ns, work, 40, CALLER_RTP, AGENT_RTP) as captured:
            talking = caller(ns, b, work, CALLER, seconds=8, port=CALLER_PORT, rtp=CALLER_RTP)
            with running(talking):
                # caller_queued.xml hangs up with BYE 8 s after node B answered
                finished(talking, b)
            # oldest first: node B opened its record before it sent the caller on
            forwarded, taken = _closed(a, CALLER, 2)
    heard_by_caller = captured[0].pcm(CALLER_RTP)
    heard_by_agent = captured[0].pcm(AGENT_RTP)
    # the agent's 2 kHz reached the caller, the caller's 1 kHz the agent, across both nodes
    assert abs(frequency_of(heard_by_caller[-2 * 8000 * 3 :], skip=0.5) - 2000) < 15
    assert abs(frequency_of(heard_by_agent[-2 * 8000 * 2 :], skip=0.5) - 1000) < 15
    # node B's record: sent on, not abandoned
    assert forwarded["outcome"] == "transferred_out", forwarded
    assert forwarded["hangup_side"] == "caller"
    # node A's record: the original caller, answered by the agent, naming the origin
    assert (taken["caller"], taken["called"]) == (CALLER, "5200")
    assert (taken["outcome"], taken["agent"], taken["queue"]) == ("answered", "2001", "sales")
    status, segments = api(
        a, "GET", f"/api/v1/call-records/{taken['id']}/segments", None, login=ADMIN
    )
    assert status == 200, segments
    assert segments[0]["kind"] == "queue"
    assert segments[0]["detail"] == {"from_node": "node-b", "from_call": forwarded["call_id"]}
    status, segments = api(
        a, "GET", f"/api/v1/call-records/{forwarded['id']}/segments", None, login=ADMIN
    )
    assert status == 200, segments
    transfer = next(s for s in segments if s["kind"] == "transfer")
    assert transfer["detail"] == {"target": "node:node-a"}


def test_forwarding_headers_from_a_phone_are_ignored(
    ns: Namespace, leading: tuple[Node, Node], work: Path, database: str
) -> None:
    a, _ = leading
    tenant = str(_tenant_id(database))
    result = sipp(
        ns,
        a,
        "caller_forged_forward.xml",
        *("-s", "nobody-here", "-key", "tenant", tenant, "-m", "1"),
        cwd=work,
        timeout=20,
    )
    # 404: routed by the Request-URI, as if the headers were not there (an answer, the
    # call put in "sales" by the forged headers, would fail the scenario)
    assert result.returncode == 0, result.stdout[-2000:] + "\n".join(a.output[-30:])
    assert any("not a node: ignored" in line for line in a.output), a.output[-30:]
