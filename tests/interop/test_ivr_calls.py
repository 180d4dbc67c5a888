"""A SIPp caller through the demo's IVR flow (issue 6): keys pressed as RFC 4733 reach
the menu, the balance looked up over HTTP is spoken, a voicemail is left, stored,
downloadable and e-mailed (aiosmtpd on the namespace's loopback)."""

from __future__ import annotations

import email
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.prompts.library import SYSTEM_DIR
from tests.interop.audio import correlation, read_wav, sniff
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline, sipp

ADMIN = ("demo", "admin", "demo-web-pass")
CALLER_RTP = 16000
SMTP_PORT = 8025
NUMBER = "5100"
VXML_NUMBER = "5101"


@pytest.fixture(scope="module")
def mailbox(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An SMTP server inside the namespace storing what it gets in a maildir."""
    maildir = tmp_path_factory.mktemp("mail")
    server = ns.popen(
        [
            sys.executable,
            *("-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{SMTP_PORT}"),
            *("-c", "aiosmtpd.handlers.Mailbox", str(maildir / "box")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    yield maildir / "box"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def node(ns: Namespace, mailbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(
        ns,
        tmp_path_factory.mktemp("ivr"),
        HELPLINE_COOKIE_SECURE="0",
        HELPLINE_SMTP_HOST="127.0.0.1",
        HELPLINE_SMTP_PORT=str(SMTP_PORT),
        HELPLINE_SMTP_STARTTLS="0",
    ) as running:
        # The demo's day flow on a number of its own, open around the clock (the demo
        # number 1000 follows office hours).
        status, flows = running.api("GET", "/api/v1/flows?limit=100", None, login=ADMIN)
        assert status == 200, flows
        (menu,) = [f for f in flows["items"] if f["name"] == "demo-menu"]
        body = {"name": "test-day", "default_target": {"kind": "flow", "flow_id": menu["id"]}}
        status, service = running.api("POST", "/api/v1/services", body, login=ADMIN)
        assert status == 201, service
        body = {"number": NUMBER, "service_id": service["id"]}
        status, answer = running.api("POST", "/api/v1/numbers", body, login=ADMIN)
        assert status == 201, answer
        # and the VoiceXML copy of the menu, also around the clock
        status, docs = running.api("GET", "/api/v1/vxml-documents", None, login=ADMIN)
        (doc,) = [d for d in docs["items"] if d["name"] == "demo-menu-vxml"]
        body = {"name": "test-vxml", "default_target": {"kind": "vxml", "document_id": doc["id"]}}
        status, service = running.api("POST", "/api/v1/services", body, login=ADMIN)
        assert status == 201, service
        body = {"number": VXML_NUMBER, "service_id": service["id"]}
        status, answer = running.api("POST", "/api/v1/numbers", body, login=ADMIN)
        assert status == 201, answer
        yield running


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("work")
    (base / "audio").mkdir()
    sox = ("sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw")
    target = str(base / "audio" / "tone1000.ulaw")
    subprocess.run([*sox, target, "synth", "10", "sine", "1000", "vol", "0.5"], check=True)
    return base


def _script(steps: list[tuple[int, str]], *, stream: bool = False, ended: bool = False) -> str:
    """A caller that dials, then waits and presses keys: ``(pause ms, key)``; ``key``
    "" only waits. With ``stream`` it talks (a 1 kHz tone) the whole time. It hangs up
    at the end, or with ``ended`` waits for Helpline to hang up."""
    actions = []
    if stream:
        actions.append('<nop><action><exec rtp_stream="audio/tone1000.ulaw,-1,0"/></action></nop>')
    for pause, key in steps:
        actions.append(f'<pause milliseconds="{pause}"/>')
        if key:
            actions.append(f'<nop><action><exec play_dtmf="{key},200"/></action></nop>')
    text = (SCENARIOS / "caller_keys.xml").read_text()
    if ended:
        bye = text.index('  <send retrans="500">', text.index("<!-- STEPS -->"))
        answer = (SCENARIOS / "caller_hungup.xml").read_text()
        text = text[:bye] + answer[answer.index('  <recv request="BYE"/>') :]
    return text.replace("<!-- STEPS -->", "\n  ".join(actions))


def _call(
    ns: Namespace, node: Node, work: Path, name: str, scenario: str, number: str = NUMBER
) -> None:
    path = work / name
    path.write_text(scenario)
    result = sipp(
        ns,
        node,
        str(path),
        *("-s", number, "-mi", "127.0.0.1", "-mp", str(CALLER_RTP), "-m", "1"),
        cwd=work,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-1500:] + "\n".join(node.output[-60:])


def _prompt(name: str) -> bytes:
    return read_wav(SYSTEM_DIR / "en" / f"{name}.wav")[1]


def test_balance_lookup_is_spoken(ns: Namespace, node: Node, work: Path) -> None:
    # 1: English (typed ahead during the language offers); 3: balance; 1234#: account.
    steps = [(2000, "1"), (1200, "3"), (3000, "1"), (1200, "2"), (1200, "3"), (1200, "4")]
    steps += [(1200, "#"), (12000, "")]
    with sniff(ns, work, 80, CALLER_RTP) as captured:
        _call(ns, node, work, "balance.xml", _script(steps, stream=True))
    heard = captured[0].pcm(CALLER_RTP)
    # The amount was said: "... dollars ... cents" only comes from the lookup's answer.
    assert correlation(heard, _prompt("currency/dollars")) >= 0.9
    status, flows = node.api("GET", "/api/v1/flows?limit=100", None, login=ADMIN)
    (menu,) = [f for f in flows["items"] if f["name"] == "demo-menu"]
    status, paths = node.api("GET", f"/api/v1/flows/{menu['id']}/paths", None, login=ADMIN)
    assert status == 200, paths
    visited = json.dumps(paths)
    assert "lookup" in visited and "say-balance" in visited


def test_voicemail_is_stored_downloadable_and_emailed(
    ns: Namespace, node: Node, work: Path, mailbox: Path
) -> None:
    status, boxes = node.api("GET", "/api/v1/voicemail-boxes", None, login=ADMIN)
    (box,) = [b for b in boxes["items"] if b["name"] == "demo-voicemail"]
    status, answer = node.api(
        "PATCH",
        f"/api/v1/voicemail-boxes/{box['id']}",
        {"notify_emails": ["support@helpline-demo.com"]},
        login=ADMIN,
    )
    assert status == 200, answer
    # 1: English, 9: voicemail; talk (1 kHz) for a few seconds, # ends the message.
    steps = [(2000, "1"), (1200, "9"), (9000, "#")]
    _call(ns, node, work, "voicemail.xml", _script(steps, stream=True, ended=True))
    status, messages = node.api(
        "GET", f"/api/v1/voicemail-boxes/{box['id']}/messages", None, login=ADMIN
    )
    assert status == 200 and messages["total"] == 1, messages
    message = messages["items"][0]
    assert message["status"] == "complete" and message["duration_seconds"] >= 2.0, message
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not list((mailbox / "new").glob("*")):
        time.sleep(0.3)
    (mail_file,) = list((mailbox / "new").glob("*"))
    mail = email.message_from_bytes(mail_file.read_bytes())
    assert mail["To"] == "support@helpline-demo.com"
    attachments = [p for p in mail.walk() if p.get_content_type() in ("audio/wav", "audio/x-wav")]
    assert len(attachments) == 1
    payload = attachments[0].get_payload(decode=True)
    assert isinstance(payload, bytes) and payload[:4] == b"RIFF"


def test_voicexml_menu_recovers_from_noinput_and_nomatch(
    ns: Namespace, node: Node, work: Path
) -> None:
    # Silence until the menu times out (noinput), then a key it does not offer (nomatch),
    # then 3 and an account number: the document's handlers bring the caller back each
    # time, and the balance is finally spoken.
    steps = [(20000, "7"), (2500, "3"), (2500, "1"), (1200, "2"), (1200, "3"), (1200, "4")]
    steps += [(1200, "#"), (12000, "")]
    with sniff(ns, work, 90, CALLER_RTP) as captured:
        _call(ns, node, work, "vxml.xml", _script(steps, stream=True), VXML_NUMBER)
    heard = captured[0].pcm(CALLER_RTP)
    scores = {
        name: correlation(heard, _prompt(name))
        for name in ("ivr/please-try-again", "ivr/invalid-option", "currency/dollars")
    }
    assert all(score >= 0.9 for score in scores.values()), scores


def test_a_flow_texts_the_caller_from_a_real_call(ns: Namespace, node: Node, work: Path) -> None:
    """An ``sms`` node on a real call queues the tenant's template for the caller's number.
    The gateway points at a closed port on the namespace's loopback: nothing leaves."""
    caller = "+821055550143"

    def api(method: str, path: str, body: object = None, ok: int = 200) -> dict[str, object]:
        status, answer = node.api(method, f"/api/v1{path}", body, login=ADMIN)
        assert status == ok, answer
        return dict(answer)

    gateway = {
        "name": "ivr-test",
        "kind": "kannel",
        "settings": {"sendsms_url": "http://127.0.0.1:9/cgi-bin/sendsms", "username": "hl"},
        "password": "kannel-secret",
        "sender": "1588",
    }
    api("POST", "/sms/gateways", gateway, ok=201)
    api("POST", "/sms/templates", {"name": "thanks", "bodies": {"en": "Thanks for calling."}}, 201)
    document = {
        "start": "text",
        "nodes": {
            "text": {"type": "sms", "template": "thanks", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    }
    flow = api("POST", "/flows", {"name": "texting", "document": document}, ok=201)
    api("POST", f"/flows/{flow['id']}/publish", ok=201)
    target = {"kind": "flow", "flow_id": flow["id"]}
    service = api("POST", "/services", {"name": "texting", "default_target": target}, ok=201)
    api("POST", "/numbers", {"number": "5102", "service_id": service["id"]}, ok=201)

    scenario = _script([], ended=True).replace("sip:caller@", f"sip:{caller}@")
    _call(ns, node, work, "texting.xml", scenario, number="5102")
    deadline = time.monotonic() + 10
    while True:
        page = api("GET", "/sms/messages?direction=outbound&limit=100")
        sent = [m for m in page["items"] if m["number"] == caller]  # type: ignore[attr-defined]
        if sent or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [m["body"] for m in sent] == ["Thanks for calling."]
    paths = api("GET", f"/flows/{flow['id']}/paths")
    assert "text" in json.dumps(paths)
