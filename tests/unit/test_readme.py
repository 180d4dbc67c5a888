"""README.md documents every setting and keeps its two commands."""

from __future__ import annotations

from pathlib import Path

from helpline.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_configuration_reference() -> None:
    text = README.read_text()
    missing = [
        f"HELPLINE_{name.upper()}"
        for name in Settings.model_fields
        if f"`HELPLINE_{name.upper()}`" not in text
    ]
    assert missing == []


def test_readme_shows_the_run_and_test_commands() -> None:
    text = README.read_text()
    assert "HELPLINE_DEMO=1 .venv/bin/helpline serve" in text
    assert "scripts/test.sh" in text
