"""The FastAPI application: routers from one list, JSON errors with stable ids."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from helpline import __version__
from helpline.acd.router import router as acd_router
from helpline.audit.router import router as audit_router
from helpline.auth.router import router as auth_router
from helpline.browserphone.router import router as browser_phone_router
from helpline.callcontrol.router import router as live_calls_router
from helpline.calls.router import router as calls_router
from helpline.cluster.router import router as cluster_router
from helpline.core.errors import ApiError
from helpline.customers.router import router as customers_router
from helpline.demo.router import router as demo_router
from helpline.events.router import router as events_router
from helpline.health.router import router as health_router
from helpline.ivr.router import router as ivr_router
from helpline.kb.router import router as kb_router
from helpline.mailsettings.router import router as mail_settings_router
from helpline.prompts.router import router as prompts_router
from helpline.recordings.router import router as recordings_router
from helpline.registrations.router import router as registrations_router
from helpline.routing.router import router as routing_router
from helpline.runtime import Runtime
from helpline.sms.hooks import router as sms_hooks_router
from helpline.sms.router import router as sms_router
from helpline.stats.router import router as stats_router
from helpline.surveys.page import router as survey_page_router
from helpline.surveys.router import router as surveys_router
from helpline.tenants.router import router as tenants_router
from helpline.trunks.router import router as trunks_router
from helpline.users.router import router as users_router
from helpline.voicemail.router import router as voicemail_router
from helpline.vxml.router import router as vxml_router
from helpline.web.router import router as web_router
from helpline.webhooks.router import router as webhooks_router
from helpline.workorders.router import router as workorders_router

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
#: Every versioned API router; new domains add theirs here.
API_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    tenants_router,
    users_router,
    registrations_router,
    prompts_router,
    recordings_router,
    trunks_router,
    vxml_router,
    routing_router,
    ivr_router,
    kb_router,
    audit_router,
    events_router,
    voicemail_router,
    calls_router,
    live_calls_router,
    customers_router,
    acd_router,
    browser_phone_router,
    workorders_router,
    webhooks_router,
    sms_router,
    surveys_router,
    stats_router,
    mail_settings_router,
    cluster_router,
)


def _error(status: int, error_id: str, message: str, details: object = None) -> JSONResponse:
    return JSONResponse(
        {"error_id": error_id, "message": message, "details": details}, status_code=status
    )


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    response = _error(exc.status_code, exc.error_id, exc.message, exc.details)
    if exc.status_code == 429 and isinstance(exc.details, dict):
        response.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
    return response


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return _error(422, "validation_error", "the request is not valid", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error_id = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _error(exc.status_code, error_id, str(exc.detail))


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error: %s", exc)
    return _error(409, "conflict", "the change conflicts with existing data")


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _error(500, "internal_error", "internal error; see the server log")


def create_app(runtime: Runtime) -> FastAPI:
    """The HTTP application serving API, event stream and web pages for ``runtime``."""
    app = FastAPI(
        title="Helpline",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health_router, prefix="/api")
    app.include_router(sms_hooks_router, prefix="/api")
    app.include_router(survey_page_router)
    if runtime.settings.demo:
        app.include_router(demo_router, prefix="/api")
    app.include_router(web_router)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _internal_error)
    return app
