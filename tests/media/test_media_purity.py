"""The media core is sans-IO: no sockets, event loops, threads or clocks (STYLE.md §1)."""

import ast
from pathlib import Path

import pytest

import helpline.media

MEDIA = Path(helpline.media.__file__).parent
FORBIDDEN = {"socket", "asyncio", "time", "os", "selectors", "threading", "subprocess", "io"}
FILE_IO_ALLOWED = {"wav.py"}
CORE = sorted(p.name for p in MEDIA.glob("*.py") if p.name not in FILE_IO_ALLOWED)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io(module: str) -> None:
    assert _imports(MEDIA / module).isdisjoint(FORBIDDEN)


@pytest.mark.parametrize("module", CORE)
def test_core_module_never_prints_or_opens_files(module: str) -> None:
    tree = ast.parse((MEDIA / module).read_text())
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert calls.isdisjoint({"print", "open"})


@pytest.mark.parametrize("module", sorted(p.name for p in MEDIA.glob("*.py")))
def test_module_is_short_and_documented(module: str) -> None:
    text = (MEDIA / module).read_text()
    assert len(text.splitlines()) < 800
    assert ast.get_docstring(ast.parse(text))
