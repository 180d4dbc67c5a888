"""The WebSocket stream of bus events, filtered by tenant, role and user.

A client connects to ``/api/v1/events/ws`` with its session cookie (same origin only) or
an API token holding the ``events`` scope, and receives one JSON object per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from helpline.api.deps import authenticate, get_runtime
from helpline.auth.principal import Principal, Scope, Via
from helpline.core.errors import ApiError
from helpline.core.events import Audience, Event, SessionsEnded
from helpline.users.models import Role

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", tags=["events"])

AUDIENCE_ROLE = {
    Audience.AGENT: Role.AGENT,
    Audience.SUPERVISOR: Role.SUPERVISOR,
    Audience.ADMIN: Role.TENANT_ADMIN,
}


def visible_to(principal: Principal, event: Event) -> bool:
    """Whether ``principal`` may see ``event``."""
    if event.tenant_id is None:
        return principal.role is Role.PLATFORM_ADMIN
    if event.tenant_id != principal.tenant_id:
        return False
    if not principal.has(AUDIENCE_ROLE[event.audience]):
        return False
    return principal.role is not Role.AGENT or event.user_id in (None, principal.user_id)


def ends(principal: Principal, event: Event) -> bool:
    """Whether ``event`` ends the browser session ``principal`` streams with."""
    return (
        isinstance(event, SessionsEnded)
        and principal.via is Via.SESSION
        and event.user_id == principal.user_id
        and principal.session_id != event.keep
        and event.only in (None, principal.session_id)
    )


def _wanted(principal: Principal, event: Event) -> bool:
    if isinstance(event, SessionsEnded):
        return ends(principal, event)
    return visible_to(principal, event)


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == ws.headers.get("host")


@router.websocket("/ws")
async def event_stream(ws: WebSocket) -> None:
    """Stream the events the principal may see until the client goes away."""
    runtime = get_runtime(ws)
    try:
        async with runtime.unit_of_work() as session:
            principal = await authenticate(ws, session, method="GET", scope=Scope.EVENTS)
    except ApiError as exc:
        await _refuse(ws, 4401 if exc.status_code == 401 else 4403, exc.error_id)
        return
    if principal.via is Via.SESSION and not _same_origin(ws):
        await _refuse(ws, 4403, "cross_origin")
        return
    await ws.accept()
    sub = runtime.bus.subscribe(lambda event: _wanted(principal, event))
    reader = asyncio.create_task(_drain(ws))
    try:
        while True:
            getter = asyncio.create_task(sub.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                getter.cancel()
                break
            event = getter.result()
            if isinstance(event, SessionsEnded):
                await ws.close(code=4401, reason="session_ended")
                break
            await ws.send_json(event.to_json())
    except WebSocketDisconnect:
        pass
    finally:
        sub.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await reader


async def _refuse(ws: WebSocket, code: int, reason: str) -> None:
    """Accept only to close with an application code (4401/4403) the client can read."""
    await ws.accept()
    await ws.close(code=code, reason=reason)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) client messages until the client disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()
