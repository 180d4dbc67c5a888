"""``POST /agents/me/browser-phone``: a short-lived SIP credential for the desktop."""

from __future__ import annotations

from fastapi import APIRouter, Request

from helpline.api.deps import AnyUser, Db, get_runtime
from helpline.browserphone import service
from helpline.browserphone.schemas import BrowserPhoneOut
from helpline.db.base import utcnow

router = APIRouter(tags=["agents"])


@router.post("/agents/me/browser-phone", response_model=BrowserPhoneOut)
async def issue_browser_phone(request: Request, db: Db, principal: AnyUser) -> object:
    """Issue a SIP secret for one's own SIP account, for the browser phone; 403
    ``no_sip_account`` without one, 409 ``browser_phone_disabled`` without WebSocket."""
    return await service.issue(
        db,
        principal=principal,
        settings=get_runtime(request).settings,
        host=request.url.hostname or "127.0.0.1",
        now=utcnow(),
    )
