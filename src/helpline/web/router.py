"""Web pages: the sign-in page for now; the desktop, wallboard and console come later."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from helpline import i18n
from helpline.api.deps import get_runtime

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
LANGUAGE_NAMES = (("en", "English"), ("zh", "简体中文"), ("ko", "한국어"))

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, lang: str | None = None) -> HTMLResponse:
    """The sign-in page, in the chosen or the browser's language."""
    code = i18n.negotiate(lang, request.headers.get("accept-language"))
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "lang": code,
            "t": i18n.catalog(code),
            "languages": LANGUAGE_NAMES,
            "default_tenant": get_runtime(request).settings.default_tenant,
        },
    )
