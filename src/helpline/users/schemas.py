"""API shapes for users and SIP accounts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from helpline.users.models import Role

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$"
SIP_USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$"


class UserCreate(BaseModel):
    """A new user of the principal's tenant."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    display_name: str = Field(default="", max_length=200)
    email: EmailStr | None = None
    locale: str = Field(default="en", pattern="^(en|zh|ko)$")


class UserUpdate(BaseModel):
    """Changes to a user; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    locale: str | None = Field(default=None, pattern="^(en|zh|ko)$")
    active: bool | None = None


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    locale: str
    active: bool
    created_at: datetime


class SipAccountCreate(BaseModel):
    """Credentials for a phone; the password is kept only as digest hashes."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=SIP_USERNAME)
    password: str = Field(min_length=8, max_length=200)
    user_id: int | None = None
    display_name: str = Field(default="", max_length=200)


class SipAccountUpdate(BaseModel):
    """Changes to a SIP account."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, min_length=8, max_length=200)
    user_id: int | None = None
    display_name: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class SipAccountOut(BaseModel):
    """A SIP account as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    realm: str
    user_id: int | None
    display_name: str
    active: bool
    created_at: datetime


class MeUpdate(BaseModel):
    """Changes a user makes to themselves; a new password needs the current one."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, pattern="^(en|zh|ko)$")
    current_password: str | None = Field(default=None, max_length=200)
    new_password: str | None = Field(default=None, min_length=8, max_length=200)


class MeOut(UserOut):
    """The signed-in user, with their tenant."""

    tenant: str
