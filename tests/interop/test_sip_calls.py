"""Calls and registrations with SIPp against a running Helpline node (issue 4)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.interop.harness import Namespace, Node, sipp


def _ok(result: object) -> None:
    rc = getattr(result, "returncode")  # noqa: B009
    out = getattr(result, "stdout", "")[-3000:] + getattr(result, "stderr", "")[-3000:]
    assert rc == 0, out


def _registrations(node: Node, data_dir: Path, username: str) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "helpline.db") as db:
        return db.execute(
            "SELECT r.contact, r.transport FROM registrations r JOIN sip_accounts a "
            "ON a.id = r.sip_account_id WHERE a.username = ?",
            (username,),
        ).fetchall()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_echo_call_answered_and_ended_by_the_caller(
    ns: Namespace, node: Node, workdir: Path, transport: str
) -> None:
    _ok(
        sipp(
            ns,
            node,
            "call_echo.xml",
            "-t",
            transport,
            "-m",
            "3",
            "-l",
            "2",
            "-mp",
            "16000",
            cwd=workdir,
        )
    )
    health = json.loads(node.http_get("/api/health"))
    assert health["sip"]["dialogs"] == 0 and health["sip"]["calls"] == 0


def test_echo_call_over_tls(ns: Namespace, node: Node, workdir: Path) -> None:
    # Debian's SIPp is built without OpenSSL, so this peer is a small TLS client that
    # speaks the same messages as call_echo.xml (INVITE, ACK, BYE).
    tls_port = json.loads(node.http_get("/api/health"))["sip"]["tls_port"]
    script = Path(__file__).with_name("tls_call.py")
    result = ns.run([sys.executable, str(script), str(tls_port)], timeout=60, cwd=workdir)
    _ok(result)
    assert "BYE 200" in result.stdout


def test_cancel_while_ringing_gets_487(ns: Namespace, node: Node, workdir: Path) -> None:
    _ok(sipp(ns, node, "cancel.xml", "-s", "ring", "-m", "2", "-mp", "16200", cwd=workdir))
    assert json.loads(node.http_get("/api/health"))["sip"]["calls"] == 0


def test_retransmitted_invite_is_absorbed(ns: Namespace, node: Node, workdir: Path) -> None:
    _ok(sipp(ns, node, "invite_retransmitted.xml", "-m", "1", "-mp", "16300", cwd=workdir))


def test_hold_and_resume_by_reinvite(ns: Namespace, node: Node, workdir: Path) -> None:
    _ok(sipp(ns, node, "hold_resume.xml", "-m", "1", "-mp", "16400", cwd=workdir))


def test_dead_call_is_hung_up_by_helpline(ns: Namespace, node: Node, workdir: Path) -> None:
    _ok(sipp(ns, node, "dead_call.xml", "-m", "1", "-mp", "16500", cwd=workdir, timeout=40))
    assert json.loads(node.http_get("/api/health"))["sip"]["calls"] == 0


def test_phone_registers_with_digest_and_binding_is_stored(
    ns: Namespace, node: Node, workdir: Path
) -> None:
    _ok(
        sipp(
            ns,
            node,
            "register.xml",
            "-s",
            "2001",
            "-au",
            "2001",
            "-ap",
            "demo-sip-pass",
            "-m",
            "1",
            cwd=workdir,
        )
    )
    rows = _registrations(node, node.data_dir, "2001")
    assert len(rows) == 1 and rows[0][1] == "UDP"


def test_wrong_password_gets_403(ns: Namespace, node: Node, workdir: Path) -> None:
    _ok(
        sipp(
            ns,
            node,
            "register_wrong.xml",
            "-s",
            "2002",
            "-au",
            "2002",
            "-ap",
            "nope",
            "-m",
            "1",
            cwd=workdir,
        )
    )
    assert _registrations(node, node.data_dir, "2002") == []


def test_registered_phone_is_qualified_with_options(
    ns: Namespace, node: Node, workdir: Path
) -> None:
    answer = Path(__file__).with_name("scenarios") / "options_answer.xml"
    _ok(
        sipp(
            ns,
            node,
            "register_qualify.xml",
            "-s",
            "2004",
            "-au",
            "2004",
            "-ap",
            "demo-sip-pass",
            "-m",
            "1",
            "-oocsf",
            str(answer),
            cwd=workdir,
        )
    )
    phones = json.loads(node.http_get("/api/health"))["sip"]["phones"]
    assert phones["reachable"] >= 1
