"""Helpline settings: environment variables ``HELPLINE_*`` over an optional TOML file.

Every setting has a default that runs out of the box: data in ``./helpline-data``, SQLite
inside it, HTTP on 127.0.0.1:8080, SIP on 127.0.0.1:5060, RTP on ports 20000-20999.
The TOML file is named by ``HELPLINE_CONFIG`` (or ``--config`` on the command line);
environment variables win over the file.
"""

from __future__ import annotations

import os
import socket
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from helpline.core.secrets import parse_keys


class Settings(BaseSettings):
    """All of Helpline's configuration; see the configuration reference in README.md."""

    model_config = SettingsConfigDict(env_prefix="HELPLINE_", extra="ignore")

    data_dir: Path = Field(default=Path("helpline-data"), description="Where state is kept.")
    node_name: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=100,
        description="This node's name: its line leases and recordings are tagged with it.",
    )
    record_calls: bool = Field(
        default=False, description="Record calls to phones (caller left, callee right)."
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite in the data directory."
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=0, le=65535)
    sip_tls_port: int = Field(default=5061, ge=0, le=65535, description="0 disables SIP over TLS.")
    sip_ws_port: int = Field(
        default=5066, ge=0, le=65535, description="SIP over WebSocket (RFC 7118); 0 disables."
    )
    sip_tls_cert: Path | None = Field(
        default=None, description="PEM certificate for TLS/WSS; self-signed if unset."
    )
    sip_tls_key: Path | None = None
    sip_tls_ca: Path | None = Field(
        default=None, description="PEM CA file trusted for outbound TLS, besides the system's."
    )
    sip_default_tenant: str = Field(
        default="", description="Tenant for SIP requests whose domain names none."
    )
    sip_digest_algorithms: str = Field(
        default="SHA-256,MD5",
        description="Digest challenges offered, most preferred first (MD5 first for SIPp).",
    )
    sip_trusted_networks: str = Field(
        default="",
        description="Comma-separated addresses/CIDRs never rate limited (trunks, a proxy).",
    )
    sip_qualify_seconds: float = Field(
        default=30.0, ge=0, description="OPTIONS to registered UDP phones every N s; 0 off."
    )
    trunk_reload_seconds: float = Field(
        default=30.0, gt=0, description="Read the trunks to register again every N s."
    )
    media_workers: int | None = Field(
        default=None, ge=0, le=64, description="Media worker processes; 0 in-process."
    )
    media_relay: bool = Field(
        default=True,
        description="Bridged calls forward packets as they arrive; off: re-timed on the tick.",
    )
    rtp_timeout: float = Field(default=30.0, gt=0, description="Seconds without RTP: hang up.")
    media_backend: Literal["embedded", "rtpengine"] = Field(
        default="embedded",
        description="embedded: RTP in Python; rtpengine: rtpengine carries RTP, Python speaks.",
    )
    rtpengine_ng: str = Field(
        default="127.0.0.1:22222",
        pattern=r"^[^:\s]+:\d{1,5}$",
        description="host:port of rtpengine's NG control socket (--listen-ng).",
    )
    rtpengine_recording_dir: Path | None = Field(
        default=None,
        description="rtpengine's --recording-dir (pcap method); unset: DATA_DIR/rtpengine.",
    )
    rtpengine_dtmf_log: str = Field(
        default="127.0.0.1:22223",
        pattern=r"^([^:\s]+:\d{1,5})?$",
        description="host:port Helpline listens on for rtpengine's --dtmf-log-dest "
        "(digits keyed inside rtpengine bridges); empty: not listened for.",
    )
    rtp_port_min: int = Field(default=20000, ge=1024, le=65535)
    rtp_port_max: int = Field(default=20999, ge=1024, le=65535)
    webrtc_enabled: bool = Field(
        default=True, description="Answer and call browser phones through the WebRTC gateway."
    )
    webrtc_host_addresses: str = Field(
        default="", description="Comma-separated ICE host addresses; empty: the SIP host."
    )
    webrtc_stun_server: str = Field(
        default="", description="host:port of a STUN server for WebRTC; empty: none."
    )
    webrtc_codecs: str = Field(
        default="opus,PCMU,PCMA", description="Codecs toward browsers, most preferred first."
    )
    browser_phone_seconds: int = Field(
        default=900, ge=60, le=86400, description="Lifetime of a browser phone's SIP secret."
    )
    admin_password: SecretStr | None = Field(
        default=None, description="Platform admin password set on first start."
    )
    demo: bool = Field(default=False, description="Load the demo tenant on first start.")
    demo_sip_password: SecretStr | None = None
    demo_password: SecretStr | None = Field(
        default=None, description="Password of the demo web users; generated if unset."
    )
    demo_history: bool = Field(
        default=True, description="Load yesterday's and today's generated calls with the demo."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, for passwords at rest; unset: "
        "DATA_DIR/secret.key. Every node sharing a database needs the same.",
    )
    cookie_secure: bool = Field(default=True, description="Mark session cookies Secure.")
    session_hours: int = Field(default=12, ge=1)
    login_max_failures: int = Field(default=5, ge=1, description="Failures per window.")
    login_window_seconds: int = Field(default=300, ge=1)
    default_tenant: str = Field(
        default="", description="Tenant assumed at login when none is given."
    )
    smtp_host: str = Field(default="", description="SMTP server for e-mail; empty: no e-mail.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = Field(default="", description="SMTP login; empty: none.")
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="helpline@localhost", description="Sender of e-mails.")
    smtp_starttls: bool = Field(default=True, description="Upgrade SMTP with STARTTLS.")
    public_url: str = Field(
        default="",
        max_length=500,
        pattern=r"^(https?://[^/?#\s]+(/[^?#\s]*)?)?$",
        description="Base URL gateways and callers reach HTTP at; empty: http://host:port.",
    )
    cluster_channel: str = Field(
        default="helpline_events",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL NOTIFY channel the nodes of one deployment share.",
    )
    cluster_url: str = Field(
        default="",
        max_length=500,
        pattern=r"^(https?://[^/?#\s]+)?$",
        description="Base URL other nodes reach this node's HTTP at; empty: http://host:port.",
    )
    cluster_heartbeat_seconds: float = Field(
        default=5.0, gt=0, le=300, description="How often a node refreshes its registry row."
    )
    cluster_node_timeout: float = Field(
        default=20.0, gt=0, description="Seconds without a heartbeat after which a node is dead."
    )
    cluster_forward_timeout: float = Field(
        default=5.0, gt=0, le=120, description="Seconds to wait for another node's answer."
    )
    log_level: str = "INFO"

    @field_validator("sip_trusted_networks")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ip_network(part.strip(), strict=False)
        return value

    @field_validator("webrtc_host_addresses")
    @classmethod
    def _check_addresses(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ip_address(part.strip())
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            parse_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _check_ranges(self) -> Settings:
        if self.rtp_port_min > self.rtp_port_max:
            raise ValueError("rtp_port_min must not exceed rtp_port_max")
        return self

    @property
    def effective_public_url(self) -> str:
        """The configured public URL without a trailing slash, else this node's HTTP."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def effective_cluster_url(self) -> str:
        """The base URL other nodes reach this node's HTTP at."""
        if self.cluster_url:
            return self.cluster_url.rstrip("/")
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'helpline.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("HELPLINE_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and the optional TOML file."""
    return Settings(**overrides)
