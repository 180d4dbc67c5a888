"""The after-call keypad survey with real SIP peers (issue 8): a SIPp caller queued in
"sales" talks to SIPp agent 2001, the agent hangs up first, the caller stays on the line,
hears the survey and answers each question with one key (RFC 4733); Helpline then hangs
up and the answers are stored against the call, the agent and the queue."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.harness import Namespace, Node, helpline, sipp
from tests.interop.test_acd_calls import ADMIN, AGENT_WEB, CALLER_RTP, NUMBER, number_to_sales
from tests.interop.test_b2bua import _agent, _registered
from tests.interop.test_ivr_calls import _script

SURVEY = {
    "name": "after-call",
    "questions": [
        {"key": "agent", "text": {"en": "How helpful was the agent?"}},
        {"key": "solved", "text": {"en": "Was it solved?"}, "low": 1, "high": 2},
    ],
    "thanks": {"en": "Thank you."},
}


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("survey"),
        HELPLINE_SIP_QUALIFY_SECONDS="0",
        HELPLINE_COOKIE_SECURE="0",
    ) as running:
        number_to_sales(running)
        status, survey = running.api("POST", "/api/v1/surveys", SURVEY, login=ADMIN)
        assert status == 201, survey
        status, queues = running.api("GET", "/api/v1/queues", None, login=ADMIN)
        assert status == 200, queues
        sales = next(q["id"] for q in queues["items"] if q["name"] == "sales")
        link = {"survey_id": survey["id"], "keypad": True, "sms": False}
        status, put = running.api("PUT", f"/api/v1/survey-queues/{sales}", link, login=ADMIN)
        assert status == 200, put
        yield running


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    (work / "audio").mkdir()
    for freq, encoding, ext in ((1000, "u-law", "ulaw"), (2000, "a-law", "alaw")):
        sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-t", "raw")
        target = str(work / "audio" / f"tone{freq}.{ext}")
        subprocess.run([*sox, target, "synth", "30", "sine", str(freq), "vol", "0.4"], check=True)
    return work


def test_caller_answers_the_keypad_survey_after_the_agent_hangs_up(
    ns: Namespace, node: Node, audio: Path
) -> None:
    status, me = node.api("POST", "/api/v1/agents/me/login", {}, login=AGENT_WEB)
    assert status == 200, me
    if me["state"] != "available":
        body = {"state": "available"}
        status, me = node.api("PUT", "/api/v1/agents/me/state", body, login=AGENT_WEB)
        assert status == 200, me
    # The agent answers after 1 s ringing and hangs up 2 s later; the caller (talking a
    # 1 kHz tone all along) then presses 4 (agent: 1-5) and 2 (solved: 1-2) and waits
    # for Helpline's BYE.
    agent = _agent(ns, node, audio, 20, answer="agent_hangup.xml")
    try:
        _registered(node, "2001")
        scenario = audio / "caller_survey.xml"
        scenario.write_text(_script([(9000, "4"), (4000, "2")], stream=True, ended=True))
        result = sipp(
            ns,
            node,
            str(scenario),
            *("-s", NUMBER, "-mi", "127.0.0.1", "-mp", str(CALLER_RTP), "-m", "1"),
            cwd=audio,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-2000:] + "\n".join(node.output[-30:])
        out, _ = agent.communicate(timeout=30)
        assert agent.returncode == 0, out[-2000:]
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate(timeout=10)
    status, page = node.api("GET", "/api/v1/survey-responses", None, login=ADMIN)
    assert status == 200, page
    [response] = page["items"]
    assert response["channel"] == "keypad" and response["status"] == "complete"
    assert response["agent"] == "2001" and response["queue"] == "sales"
    assert {a["question"]: a["value"] for a in response["answers"]} == {"agent": 4, "solved": 2}
    status, calls = node.api("GET", "/api/v1/call-records", None, login=ADMIN)
    assert status == 200, calls
    record = next(r for r in calls["items"] if r["id"] == response["call_record_id"])
    assert record["hangup_side"] == "agent" and record["agent"] == "2001"
