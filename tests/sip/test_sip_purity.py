"""The SIP core is sans-IO: no sockets, event loops, threads or clocks."""

from __future__ import annotations

import ast
from pathlib import Path

import helpline.sip

FORBIDDEN = {"socket", "asyncio", "selectors", "threading", "time", "ssl", "subprocess", "os"}


def test_sip_modules_import_no_io() -> None:
    package = Path(helpline.sip.__file__).parent
    offenders: list[str] = []
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", path.name
    assert offenders == []
