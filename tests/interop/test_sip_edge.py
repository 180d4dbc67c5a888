"""SIPp against a running Helpline node: what every SIP peer meets first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.interop.harness import Namespace, Node, sipp


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_options_ping_gets_200_with_allow(
    ns: Namespace, node: Node, workdir: Path, transport: str
) -> None:
    result = sipp(ns, node, "options.xml", "-t", transport, "-m", "3", "-r", "10", cwd=workdir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_bye_for_unknown_dialog_gets_481(ns: Namespace, node: Node, workdir: Path) -> None:
    result = sipp(ns, node, "bye_unknown.xml", "-m", "1", cwd=workdir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_scanner_is_ignored_and_counted(ns: Namespace, node: Node, workdir: Path) -> None:
    before = json.loads(node.http_get("/api/health"))["sip"]["refused"]["scanner"]
    result = sipp(ns, node, "scanner.xml", "-m", "1", cwd=workdir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    health = json.loads(node.http_get("/api/health"))
    assert health["sip"]["refused"]["scanner"] == before + 1
