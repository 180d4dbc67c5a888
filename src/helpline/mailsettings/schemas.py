"""API shapes for a tenant's SMTP settings (the password is write-only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

HOST = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,253})$|^\[?[0-9A-Fa-f:.]+\]?$"


class MailSettingsPut(BaseModel):
    """The tenant's SMTP server; omit ``password`` to keep the stored one, send ``""`` to
    clear it; ``enabled`` false goes back to the node-wide server."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255, pattern=HOST)
    port: int = Field(default=587, ge=1, le=65535)
    username: str = Field(default="", max_length=255)
    password: str | None = Field(default=None, max_length=255)
    sender: EmailStr
    starttls: bool = True
    enabled: bool = True


class MailSettingsOut(BaseModel):
    """The tenant's SMTP server as the API shows it: never the password."""

    model_config = ConfigDict(from_attributes=True)

    host: str
    port: int
    username: str
    has_password: bool
    sender: str
    starttls: bool
    enabled: bool
    updated_at: datetime


class MailSettingsView(BaseModel):
    """The tenant's own server (None when never set) and the node-wide one
    (``host:port``, None when the node sends no e-mail) used when it has none enabled."""

    settings: MailSettingsOut | None
    node_server: str | None


class MailTest(BaseModel):
    """Where to send a test e-mail."""

    model_config = ConfigDict(extra="forbid")

    to: EmailStr


class MailTestResult(BaseModel):
    """What the SMTP server said to the test e-mail."""

    sent: bool
    server: str
    """``host:port`` of the server used: the tenant's own or the node-wide one."""
    source: str
    """``tenant`` or ``node``."""
