"""``GET /api/health``: database, listeners and version, for monitors and load balancers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from helpline import __version__
from helpline.api.deps import get_runtime
from helpline.core.secrets import keyring_for
from helpline.db.engine import ping

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """200 when the database answers, 503 otherwise; listener states are reported."""
    runtime = get_runtime(request)
    database: dict[str, object] = {"backend": runtime.engine.dialect.name}
    try:
        await ping(runtime.engine)
        database["ok"] = True
    except (SQLAlchemyError, OSError) as exc:
        log.warning("health: database unreachable: %s", exc)
        database.update(ok=False, error=type(exc).__name__)
    listeners = {name: svc.status() for name, svc in runtime.listeners.items()}
    ok = bool(database["ok"]) and all(bool(s.get("ok", False)) for s in listeners.values())
    keyring = keyring_for(runtime.engine.dialect)
    body = {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "database": database,
        # Reported, not failed: a 503 would have the node restarted, and a wrong key
        # stays wrong after a restart (docs/security.md).
        **({"secrets": keyring.status()} if keyring is not None else {}),
        **listeners,
    }
    return JSONResponse(body, status_code=200 if ok else 503)
