"""Web pages: sign-in, the agent desktop, the supervisor wallboard, the admin console with
the IVR flow designer, and the records (recordings, voicemail, work orders, customers).

Each page is a small server-rendered shell (labels in the user's language, the user and
the page's start data as JSON) whose ES module script talks to ``/api/v1`` and the event
stream itself.  Pages need a signed-in user (else a redirect to the sign-in page) with the
page's role (else 403).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import i18n
from helpline.api.deps import authenticate, get_runtime
from helpline.auth.principal import Principal, Scope
from helpline.core.errors import ApiError
from helpline.users.models import Role
from helpline.web import context

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
LANGUAGE_NAMES = (("en", "English"), ("zh", "简体中文"), ("ko", "한국어"))
LANG_COOKIE_SECONDS = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

Extra = Callable[[AsyncSession, Principal], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class PageDef:
    """A page of the navigation and the lowest role that may open it."""

    name: str
    role: Role


NAV = (
    PageDef("desktop", Role.AGENT),
    PageDef("wallboard", Role.SUPERVISOR),
    PageDef("reports", Role.SUPERVISOR),
    PageDef("records", Role.AGENT),
    PageDef("admin", Role.TENANT_ADMIN),
)
ROLES = {page.name: page.role for page in NAV} | {"designer": Role.TENANT_ADMIN}


def _language(request: Request, lang: str | None, stored: str | None) -> str:
    return context.language(
        requested=lang,
        cookie=request.cookies.get(context.LANG_COOKIE),
        stored=stored,
        accept=request.headers.get("accept-language"),
    )


def _remember(response: Response, lang: str | None) -> Response:
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            context.LANG_COOKIE, lang, max_age=LANG_COOKIE_SECONDS, samesite="lax", path="/"
        )
    return response


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, lang: str | None = None) -> Response:
    """The sign-in page, in the chosen (this browser's last) or the browser's language;
    signed-in users get links to their pages."""
    me: dict[str, Any] | None = None
    stored: str | None = None
    async with get_runtime(request).unit_of_work() as session:
        try:
            principal = await authenticate(request, session, method="GET", scope=Scope.READ)
        except ApiError:
            principal = None
        if principal is not None:
            await context.store_language(session, principal, lang)
            who = await context.viewer(session, principal)
            me, stored = who.as_json(), who.locale
    code = _language(request, lang, stored)
    response = templates.TemplateResponse(
        request,
        "index.html",
        {
            "lang": code,
            "t": i18n.catalog(code),
            "languages": LANGUAGE_NAMES,
            "default_tenant": get_runtime(request).settings.default_tenant,
            "me": me,
        },
    )
    return _remember(response, lang)


async def _page(
    request: Request,
    *,
    name: str,
    lang: str | None,
    extra: Extra | None = None,
    data: dict[str, Any] | None = None,
) -> Response:
    role = ROLES[name]
    async with get_runtime(request).unit_of_work() as session:
        try:
            principal = await authenticate(request, session, method="GET", scope=Scope.READ)
        except ApiError:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/?next={quote(target, safe='')}", status_code=303)
        await context.store_language(session, principal, lang)
        who = await context.viewer(session, principal)
        allowed = principal.has(role)
        start = dict(data or {})
        if allowed and extra is not None:
            start |= await extra(session, principal)
    code = _language(request, lang, who.locale)
    page = {"page": name, "lang": code, "me": who.as_json(), **start}
    response = templates.TemplateResponse(
        request,
        f"{name}.html" if allowed else "forbidden.html",
        {
            "lang": code,
            "t": i18n.catalog(code),
            "catalog": i18n.catalog(code),
            "languages": LANGUAGE_NAMES,
            "page": name,
            "me": who,
            "nav": [p.name for p in NAV if principal.has(p.role)],
            "start": page,
        },
        status_code=200 if allowed else 403,
    )
    return _remember(response, lang)


LIVE_CALLS = re.compile(r"^/(?:live-)?calls(?:/|$)")


def _live_call_commands() -> list[str]:
    """The POST paths of the API's call control commands (``/api/v1/calls/...``), so
    the desktop offers only the commands this server has."""
    from helpline.api.app import API_PREFIX, API_ROUTERS  # the app imports this module

    return sorted(
        API_PREFIX + path
        for api in API_ROUTERS
        for route in api.routes
        if LIVE_CALLS.match(path := str(getattr(route, "path", "")))
        and "POST" in (getattr(route, "methods", None) or ())
    )


@router.get("/desktop", response_class=HTMLResponse)
async def desktop(request: Request, lang: str | None = None) -> Response:
    """The agent desktop: state, queues, screen pop, notes, work orders, knowledge base."""
    data = {"live_calls": _live_call_commands()}
    return await _page(request, name="desktop", lang=lang, extra=context.desktop, data=data)


@router.get("/wallboard", response_class=HTMLResponse)
async def wallboard(request: Request, lang: str | None = None) -> Response:
    """The supervisor wallboard, pushed by the event stream."""
    return await _page(request, name="wallboard", lang=lang)


@router.get("/reports", response_class=HTMLResponse)
async def reports(request: Request, lang: str | None = None) -> Response:
    """Reports with charts: history by period, queue and agent, CSV/XLSX, staffing."""
    return await _page(request, name="reports", lang=lang)


@router.get("/records", response_class=HTMLResponse)
async def records(request: Request, lang: str | None = None) -> Response:
    """Recordings, voicemail, work orders and customers."""
    return await _page(request, name="records", lang=lang)


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, lang: str | None = None) -> Response:
    """The admin console."""
    return await _page(request, name="admin", lang=lang)


@router.get("/designer/{flow_id}", response_class=HTMLResponse)
async def designer(request: Request, flow_id: int, lang: str | None = None) -> Response:
    """The visual IVR flow designer for one flow."""
    return await _page(request, name="designer", lang=lang, data={"flow_id": flow_id})
