"""Two ``helpline serve`` nodes sharing one PostgreSQL database (issue 7, multi-node).

Both run in one loopback-only namespace, each with its own name, ports, RTP range and
data directory, on a fresh database reached through PostgreSQL's unix socket. Callers
and agents' phones (SIPp) talk to node A, which leads the demo tenant's ACD (the first
caller's arrival makes it take the lease); the agents use node B's API and event stream:

* an agent made available through node B is offered node A's waiting caller (the
  leader heard the state change over the cluster bus), and the agent's desktop on node
  B receives the offer and the hold made by node A;
* the agent holds, resumes and hangs up node A's calls through node B's REST API,
  which relays the commands to node A (the caller's SIPp sees the re-INVITEs and the
  BYE); node B's live-call listing shows node A's call;
* the registry lists both nodes, alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import _migrate
from tests.interop.acd_helpers import (
    api,
    caller,
    finished,
    login,
    make_number,
    make_tones,
    phone,
    registered,
    running,
    sales,
    until,
    web,
)
from tests.interop.harness import Namespace, Node, helpline

SOCKET_DIR = "/var/run/postgresql"
LISTENER = Path(__file__).with_name("ws_listen.py")
PLATFORM_ADMIN = ("system", "admin", "admin-pass-1")
CALLER_PORT, CALLER_RTP = 5090, 16000


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=SOCKET_DIR, user="postgres", database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh, migrated database both nodes share, dropped at the end."""
    name = f"helpline_nodes_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://postgres@/{name}?host={SOCKET_DIR}"
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def nodes(
    ns: Namespace, tmp_path_factory: pytest.TempPathFactory, database: str
) -> Iterator[tuple[Node, Node]]:
    """Node A then node B (started one after the other: A loads the demo). Inside a
    namespace the harness gives every node the same fixed ports, so node B's are set
    here (and told to its ``Node``)."""
    with contextlib.ExitStack() as stack:
        started = []
        for name, offset in (("node-a", 0), ("node-b", 100)):
            ports = {"HTTP": 8080 + offset, "SIP": 5060 + offset}
            node = stack.enter_context(
                helpline(
                    ns,
                    tmp_path_factory.mktemp(name),
                    HELPLINE_NODE_NAME=name,
                    HELPLINE_DATABASE_URL=database,
                    HELPLINE_HTTP_PORT=str(ports["HTTP"]),
                    HELPLINE_SIP_PORT=str(ports["SIP"]),
                    HELPLINE_SIP_TLS_PORT=str(5061 + offset),
                    HELPLINE_SIP_WS_PORT=str(5066 + offset),
                    HELPLINE_RTP_PORT_MIN=str(20000 + 10 * offset),
                    HELPLINE_RTP_PORT_MAX=str(20999 + 10 * offset),
                    HELPLINE_SIP_QUALIFY_SECONDS="0",
                    HELPLINE_COOKIE_SECURE="0",
                    HELPLINE_CLUSTER_HEARTBEAT_SECONDS="1",
                )
            )
            node.http_port, node.sip_port = ports["HTTP"], ports["SIP"]
            started.append(node)
        a, b = started
        make_number(a)
        yield a, b


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tones(tmp_path_factory.mktemp("two-nodes"))


def _caller(
    ns: Namespace, node: Node, work: Path, scenario: str, *, talk_seconds: float
) -> subprocess.Popen[str]:
    return caller(
        ns,
        node,
        work,
        "+99955501",
        seconds=talk_seconds,
        port=CALLER_PORT,
        rtp=CALLER_RTP,
        scenario=scenario,
    )


def _live_call(node: Node, account: str, timeout: float = 20) -> dict[str, Any]:
    """The agent's talking call as ``node``'s listing shows it (waiting for it)."""
    deadline = time.monotonic() + timeout
    while True:
        status, calls = api(node, "GET", "/api/v1/calls", None, login=web(account))
        assert status == 200, calls
        talking = [c for c in calls if c["agent"] == account and c["state"] == "talking"]
        if talking:
            return dict(talking[0])
        assert time.monotonic() < deadline, f"no talking call of {account}: {calls}"
        time.sleep(0.3)


def test_both_nodes_are_in_the_registry(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    status, listed = api(b, "GET", "/api/v1/cluster/nodes", None, login=PLATFORM_ADMIN)
    assert status == 200, listed
    by_name = {n["name"]: n for n in listed}
    assert by_name["node-a"]["alive"] and by_name["node-b"]["alive"]
    assert by_name["node-a"]["http_url"] == f"http://127.0.0.1:{a.http_port}"
    assert by_name["node-b"]["this_node"] and not by_name["node-a"]["this_node"]
    health = json.loads(a.http_get("/api/health"))
    assert health["cluster"]["node"] == "node-a"
    assert health["cluster"]["bus"]["connected"] is True


def test_an_agent_readied_on_node_b_gets_node_a_caller_and_holds_it_through_b(
    ns: Namespace, nodes: tuple[Node, Node], work: Path
) -> None:
    a, b = nodes
    listener = ns.popen(
        [sys.executable, str(LISTENER), str(b.http_port), *web("2001"), "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert listener.stdout is not None
    assert listener.stdout.readline().strip() == "ready"
    agent = phone(ns, a, work, "2001", 40, "agent_answer.xml")
    try:
        with running(agent):
            registered(a, "2001")
            held = _caller(ns, a, work, "caller_held.xml", talk_seconds=1.5)
            with running(held):
                # The caller waits in "sales" on node A, which now leads the tenant.
                until(a, lambda v: sales(v)["waiting"] == 1)
                login(b, "2001")
                call = _live_call(b, "2001")
                assert call["queue"] == "sales", "node A's listing names the queue"
                path = f"/api/v1/calls/{call['call_id']}"
                for command in ("hold", "resume"):
                    status, answer = api(b, "POST", f"{path}/{command}", {}, login=web("2001"))
                    assert status == 200, answer
                    assert answer["call_id"] == call["call_id"]
                # caller_held.xml checks the re-INVITEs: a=sendonly, then a=sendrecv.
                finished(held, a)
    finally:
        listener.terminate()
        out = listener.communicate(timeout=20)[0]
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    offered = next(e for e in events if e["event"] == "acd.call_offered")
    assert (offered["call_id"], offered["queue"]) == (call["call_id"], "sales")
    assert names.index("acd.call_offered") < names.index("call.held")
    assert names.index("call.held") < names.index("call.resumed")


def test_an_agent_hangs_up_node_a_call_through_node_b(
    ns: Namespace, nodes: tuple[Node, Node], work: Path
) -> None:
    a, b = nodes
    agent = phone(ns, a, work, "2002", 40, "agent_answer.xml")
    with running(agent):
        registered(a, "2002")
        login(b, "2002")
        hung_up = _caller(ns, a, work, "caller_hungup.xml", talk_seconds=1)
        with running(hung_up):
            call = _live_call(b, "2002")
            path = f"/api/v1/calls/{call['call_id']}"
            status, answer = api(b, "POST", f"{path}/hangup", {}, login=web("2002"))
            assert status == 200, answer
            # caller_hungup.xml succeeds only when Helpline sends it the BYE.
            finished(hung_up, a)
        status, gone = api(b, "GET", path, None, login=web("2002"))
        assert (status, gone["error_id"]) == (404, "call_not_found")
