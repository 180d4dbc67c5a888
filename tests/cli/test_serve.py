"""``helpline`` as a user runs it: a real process, real sockets on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def _free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    env.update(
        HELPLINE_DATA_DIR=str(tmp_path / "data"),
        HELPLINE_HTTP_PORT=str(_free_port()),
        HELPLINE_SIP_PORT=str(_free_port(socket.SOCK_DGRAM)),
        HELPLINE_SIP_TLS_PORT=str(_free_port()),
        HELPLINE_SIP_WS_PORT=str(_free_port()),
        **extra,
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Running:
    proc: asyncio.subprocess.Process
    lines: list[str]
    base: str


async def _start(env: dict[str, str]) -> Running:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "helpline",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while True:
        raw = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not raw:
            raise AssertionError(f"serve exited early: {lines}")
        lines.append(raw.decode().strip())
        if lines[-1].startswith("Helpline on http://"):
            break
    return Running(proc, lines, f"http://127.0.0.1:{env['HELPLINE_HTTP_PORT']}")


async def _stop(running: Running, sig: signal.Signals = signal.SIGTERM) -> int:
    running.proc.send_signal(sig)
    return await asyncio.wait_for(running.proc.wait(), 60)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Running]:
    env = _env(
        tmp_path,
        HELPLINE_DEMO="1",
        HELPLINE_DEMO_PASSWORD="demo-pass-1",
        HELPLINE_COOKIE_SECURE="false",
    )
    running = await _start(env)
    yield running
    if running.proc.returncode is None:
        await _stop(running)


async def test_serve_with_demo_answers_health_and_login(served: Running) -> None:
    async with httpx.AsyncClient(base_url=served.base) as client:
        health = (await client.get("/api/health")).json()
        assert health["status"] == "ok" and health["database"]["backend"] == "sqlite"
        assert health["sip"]["ok"] is True and health["sip"]["transports"] == [
            "UDP",
            "TCP",
            "TLS",
            "WSS",
        ]
        # A visitor's sign-in page follows the browser's language.
        page = await client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
        assert "로그인" in page.text and page.headers["content-type"].startswith("text/html")
        r = await client.post(
            "/api/v1/auth/login",
            json={"tenant": "demo", "username": "agent2001", "password": "demo-pass-1"},
        )
        assert r.status_code == 200 and r.json()["role"] == "agent"
    printed = "\n".join(served.lines)
    assert "platform admin" in printed and "demo SIP accounts 2001-2004" in printed


async def test_sigterm_stops_cleanly_and_restart_keeps_data_without_new_passwords(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path, HELPLINE_DEMO="1")
    first = await _start(env)
    assert any("generated password" in line for line in first.lines)
    assert await _stop(first) == 0
    env["HELPLINE_HTTP_PORT"] = str(_free_port())
    second = await _start(env)
    assert not any("generated password" in line for line in second.lines)
    assert await _stop(second, signal.SIGINT) == 0


async def test_taken_port_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(env["HELPLINE_HTTP_PORT"])))
        blocker.listen()
        result = await asyncio.to_thread(_cli, env, "serve")
    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"helpline: HTTP port 127.0.0.1:{env['HELPLINE_HTTP_PORT']} is already in use"
    )


async def test_unreachable_database_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    env = _env(tmp_path, HELPLINE_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    result = await asyncio.to_thread(_cli, env, "serve")
    assert result.returncode == 1
    out = result.stdout.strip()
    assert "\n" not in out and out.startswith("helpline: database ") and "unreachable" in out


def test_cli_creates_tenants_and_users_and_reports_version(tmp_path: Path) -> None:
    env = _env(tmp_path)
    version = _cli(env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("helpline ")
    assert _cli(env, "db", "upgrade").stdout.strip().endswith("database is up to date")
    made = _cli(
        env, "tenant", "create", "acme", "--name", "Acme", "--tier", "medium", "--admin", "boss"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "32 lines, 32 agents, 8 IVR ports" in made.stdout
    assert "tenant admin boss created; generated password, shown once:" in made.stdout
    env["HELPLINE_NEW_PASSWORD"] = "given-password-1"
    user = _cli(env, "user", "create", "bob", "--tenant", "acme", "--role", "supervisor")
    assert user.stdout.strip().endswith("user bob@acme (supervisor) created")
    again = _cli(env, "user", "create", "bob", "--tenant", "acme")
    assert again.returncode == 1 and "exists" in again.stdout
    demo = _cli(env, "demo")
    assert demo.returncode == 0 and "demo tenant 'demo' ready" in demo.stdout
    assert "demo SIP accounts" in demo.stdout
    assert "demo SIP accounts" not in _cli(env, "demo").stdout


def test_config_file_and_missing_config_file(tmp_path: Path) -> None:
    env = _env(tmp_path)
    missing = _cli(env, "--config", str(tmp_path / "none.toml"), "db", "upgrade")
    assert missing.returncode == 2 and "not found" in missing.stdout
