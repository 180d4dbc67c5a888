"""Who is asking: the authenticated principal every service takes its tenant from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from helpline.users.models import Role


class Scope(StrEnum):
    """What an API token may do; browser sessions hold every scope."""

    READ = "read"
    WRITE = "write"
    EVENTS = "events"


ALL_SCOPES = frozenset(Scope)


class Via(StrEnum):
    """How the principal authenticated."""

    SESSION = "session"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user acting within their tenant."""

    user_id: int
    tenant_id: int
    tenant_slug: str
    username: str
    role: Role
    scopes: frozenset[Scope]
    via: Via
    session_id: int | None = None
    """The browser session authenticated with (``web_sessions.id``); None for tokens."""

    @property
    def display(self) -> str:
        """``user@tenant`` for logs and the audit trail."""
        return f"{self.username}@{self.tenant_slug}"

    def has(self, role: Role) -> bool:
        """Whether the principal's role includes ``role``."""
        return self.role.at_least(role)
