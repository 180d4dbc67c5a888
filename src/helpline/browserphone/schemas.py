"""What the desktop receives to register its browser phone."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class IceServer(BaseModel):
    """One RTCIceServer entry for the browser's peer connection."""

    urls: list[str]


class BrowserPhoneOut(BaseModel):
    """A SIP credential for the caller's own SIP account, valid until ``expires_at``."""

    ws_url: str
    uri: str
    username: str
    password: str
    display_name: str
    expires_at: datetime
    expires_in: int
    ice_servers: list[IceServer]
