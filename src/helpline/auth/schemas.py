"""API shapes for login and API tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from helpline.auth.principal import Scope
from helpline.users.models import Role


class LoginRequest(BaseModel):
    """Credentials; ``tenant`` may be left out on a single-tenant install."""

    tenant: str | None = Field(default=None, max_length=63)
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    """The logged-in principal."""

    user_id: int
    username: str
    tenant_id: int
    tenant: str
    role: Role
    scopes: list[Scope]
    via: str


class LoginResponse(Me):
    """A session was opened; send ``csrf_token`` as X-CSRF-Token on unsafe requests."""

    csrf_token: str
    expires_at: datetime


class TokenCreate(BaseModel):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    """An API token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[Scope]
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class TokenCreated(TokenOut):
    """A new token: ``token`` is shown this once and never again."""

    token: str
