"""The gateway's SDP and audio cores are sans-IO; the rest stays short and documented."""

import ast
from pathlib import Path

import pytest

import helpline.webrtc

WEBRTC = Path(helpline.webrtc.__file__).parent
FORBIDDEN = {
    "socket",
    "asyncio",
    "time",
    "os",
    "selectors",
    "threading",
    "subprocess",
    "io",
    "aiortc",
    "aioice",
    "av",
}
CORE = ("sdp.py", "audio.py", "errors.py", "__init__.py")


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
    assert _imports(WEBRTC / module).isdisjoint(FORBIDDEN)


@pytest.mark.parametrize("module", sorted(p.name for p in WEBRTC.glob("*.py")))
def test_module_is_short_and_documented(module: str) -> None:
    text = (WEBRTC / module).read_text()
    assert len(text.splitlines()) < 800
    assert ast.get_docstring(ast.parse(text))
