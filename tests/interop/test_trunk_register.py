"""A Helpline node registers its trunks with a provider: SIPp plays the registrar."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpline.core.secrets import Keyring
from tests.interop.harness import SCENARIOS, Namespace, Node, helpline

USER = "4420001"
PASSWORD = "trunk-pass-1"


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node that reads its trunks every second, so a new one registers at once."""
    with helpline(
        ns, tmp_path_factory.mktemp("trunk-node"), HELPLINE_TRUNK_RELOAD_SECONDS="1"
    ) as running:
        yield running


@contextlib.contextmanager
def registrar(ns: Namespace, work: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """SIPp as the provider's registrar on ``port``, expecting USER / PASSWORD."""
    scenario = work / "provider_registrar.xml"
    text = (SCENARIOS / "provider_registrar.xml").read_text()
    scenario.write_text(text.replace("TRUNK_USER", USER).replace("TRUNK_PASSWORD", PASSWORD))
    with (work / "sipp.out").open("w") as out:
        proc = ns.popen(
            [
                "sipp",
                "-sf",
                str(scenario),
                "-i",
                "127.0.0.1",
                "-p",
                str(port),
                "-m",
                "1",
                "-nostdin",
                "-trace_logs",
                "-log_file",
                str(work / "registrar.log"),
                "-timeout",
                "40s",
                "-timeout_error",
            ],
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _sipp_log(work: Path) -> str:
    logs = [
        p.read_text()[-3000:] for p in (work / "registrar.log", work / "sipp.out") if p.exists()
    ]
    return "\n".join(logs)


def _add_trunk(node: Node, name: str, port: int, password: str) -> int:
    """A trunk written with SQL, its password encrypted with the key the node generated
    in its data directory (passwords are encrypted at rest)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    stored = Keyring.load(secret_key=None, data_dir=node.data_dir).encrypt(password)
    with contextlib.closing(sqlite3.connect(node.data_dir / "helpline.db")) as db, db:
        (tenant,) = db.execute("SELECT id FROM tenants WHERE slug = 'demo'").fetchone()
        cursor = db.execute(
            "INSERT INTO trunks (tenant_id, name, enabled, host, port, transport, inbound_mode,"
            " allowed_sources, username, password, register_enabled, register_expires,"
            " prefixes, strip_digits, prepend, priority, caller_id_mode, anonymous,"
            " created_at, updated_at) VALUES (?, ?, 1, '127.0.0.1', ?, 'UDP', 'allowlist',"
            " '[]', ?, ?, 1, 600, '[]', 0, '', 100, 'account', 0, ?, ?)",
            (tenant, name, port, USER, stored, stamp, stamp),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def _remove_trunk(node: Node, trunk_id: int) -> None:
    with contextlib.closing(sqlite3.connect(node.data_dir / "helpline.db")) as db, db:
        db.execute("DELETE FROM trunks WHERE id = ?", (trunk_id,))


def _trunks(node: Node) -> list[dict[str, object]]:
    trunks: list[dict[str, object]] = json.loads(node.http_get("/api/health"))["sip"]["trunks"]
    return trunks


def _wait_for(node: Node, name: str, state: str, timeout: float = 20) -> dict[str, object]:
    """The trunk's health entry once it is in ``state`` (the node works in the
    background; bounded in time)."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        seen = [t for t in _trunks(node) if t["name"] == name]
        if seen and seen[0]["state"] == state:
            return seen[0]
        time.sleep(0.3)
    raise AssertionError(
        f"trunk {name} never became {state}: {seen}\n" + "\n".join(node.output[-20:])
    )


def test_trunk_registers_with_digest_and_unregisters_when_removed(
    ns: Namespace, node: Node, workdir: Path
) -> None:
    port = ns.free_port() or 5090
    with registrar(ns, workdir, port) as sipp:
        trunk_id = _add_trunk(node, "provider", port, PASSWORD)
        status = _wait_for(node, "provider", "registered")
        assert status["last_status"] == 200 and status["registered_until"]
        _remove_trunk(node, trunk_id)
        code = sipp.wait(timeout=30)
    log = _sipp_log(workdir)
    # SIPp verified the digest, then got the unregistration (Expires 0).
    assert code == 0, log
    assert "valid=true" in log
    assert [t for t in _trunks(node) if t["name"] == "provider"] == []


def test_wrong_trunk_password_shows_the_providers_refusal(
    ns: Namespace, node: Node, workdir: Path
) -> None:
    port = ns.free_port() or 5091
    with registrar(ns, workdir, port) as sipp:
        trunk_id = _add_trunk(node, "provider-wrong", port, "not-the-password")
        status = _wait_for(node, "provider-wrong", "failed")
        assert status["last_status"] == 403 and status["registered_until"] is None
        code = sipp.wait(timeout=30)
    _remove_trunk(node, trunk_id)
    log = _sipp_log(workdir)
    assert code == 1, log  # the registrar's call failed: the digest did not verify
    assert "valid=false" in log
