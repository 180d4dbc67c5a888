"""Settings: defaults, environment, TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from helpline.config import Settings


def test_defaults_run_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HELPLINE_CONFIG", "HELPLINE_DATA_DIR", "HELPLINE_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert (s.http_host, s.http_port, s.sip_host, s.sip_port) == (
        "127.0.0.1",
        8080,
        "127.0.0.1",
        5060,
    )
    assert (s.rtp_port_min, s.rtp_port_max) == (20000, 20999)
    assert s.data_dir == Path("helpline-data")
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert s.effective_database_url.endswith("helpline-data/helpline.db")


def test_environment_overrides_and_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "helpline.toml"
    toml.write_text("http_port = 9000\nsip_port = 5070\ndemo = true\n")
    monkeypatch.setenv("HELPLINE_CONFIG", str(toml))
    monkeypatch.setenv("HELPLINE_SIP_PORT", "5080")
    monkeypatch.setenv("HELPLINE_ADMIN_PASSWORD", "s3cret-pass")
    s = Settings()
    assert s.http_port == 9000 and s.demo is True
    assert s.sip_port == 5080
    assert s.admin_password is not None and s.admin_password.get_secret_value() == "s3cret-pass"
    assert "s3cret-pass" not in repr(s)


def test_inverted_rtp_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPLINE_RTP_PORT_MIN", "30000")
    monkeypatch.setenv("HELPLINE_RTP_PORT_MAX", "20000")
    with pytest.raises(ValidationError):
        Settings()
