"""API shapes for registrations (read-only): RFC 3261 §10.3 bindings with the source
address seen for NAT traversal (RFC 3581); credentials (RFC 7616 HA1s) are never shown."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class RegistrationOut(BaseModel):
    """A registered contact of a SIP account as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    sip_account_id: int
    username: str
    contact: str
    source_host: str
    source_port: int
    transport: str
    bound_to_source: bool
    expires_at: datetime
    user_agent: str
    instance_id: str | None
    reg_id: int | None
    call_id: str
    cseq: int
    created_at: datetime
    updated_at: datetime
