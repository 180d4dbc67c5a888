"""API shapes for tenants."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpline.tenants.models import Tier

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
LOCALES = ("en", "zh", "ko")


def check_timezone(value: str | None) -> str | None:
    """A Pydantic validator: ``value`` must be an IANA time zone name (or None)."""
    if value is not None and value not in available_timezones():
        raise ValueError(f"unknown time zone {value!r}")
    return value


class TenantLimits(BaseModel):
    """Capacity limits; omitted values come from the tier."""

    tier: Tier = Tier.SMALL
    max_lines: int | None = Field(default=None, ge=0, le=100_000)
    max_agents: int | None = Field(default=None, ge=0, le=100_000)
    max_ivr_ports: int | None = Field(default=None, ge=0, le=100_000)


class TenantCreate(TenantLimits):
    """A new tenant, optionally with its first tenant administrator."""

    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"
    locale: str = Field(default="en", pattern="^(en|zh|ko)$")
    admin_username: str | None = Field(default=None, min_length=1, max_length=100)
    admin_password: str | None = Field(default=None, min_length=8, max_length=200)

    _tz = field_validator("timezone")(check_timezone)


class TenantUpdate(BaseModel):
    """Changes a tenant admin may make to their own tenant."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None
    locale: str | None = Field(default=None, pattern="^(en|zh|ko)$")

    _tz = field_validator("timezone")(check_timezone)


class TenantAdminUpdate(TenantUpdate):
    """Changes only a platform admin may make: limits and activation."""

    tier: Tier | None = None
    max_lines: int | None = Field(default=None, ge=0, le=100_000)
    max_agents: int | None = Field(default=None, ge=0, le=100_000)
    max_ivr_ports: int | None = Field(default=None, ge=0, le=100_000)
    active: bool | None = None


class TenantOut(BaseModel):
    """A tenant as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    timezone: str
    locale: str
    sip_realm: str
    tier: Tier
    max_lines: int
    max_agents: int
    max_ivr_ports: int
    active: bool
    created_at: datetime
