"""Imports every table so that metadata (and Alembic) sees the whole schema."""

from helpline.audit.models import AuditEntry
from helpline.auth.models import ApiToken, LoginAttempt, WebSession
from helpline.db.base import Base
from helpline.prompts.models import Prompt
from helpline.recordings.models import Recording
from helpline.registrations.models import Registration
from helpline.tenants.models import CapacityLease, Tenant
from helpline.trunks.models import Trunk
from helpline.users.models import SipAccount, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "CapacityLease",
    "LoginAttempt",
    "Prompt",
    "Recording",
    "Registration",
    "SipAccount",
    "Tenant",
    "Trunk",
    "User",
    "WebSession",
]
