"""The public survey page an SMS link opens: ``/survey/<token>``, no login.

The token is the only credential: it names one pending response
(:func:`helpline.surveys.service.response_by_token`), can be answered once and expires
after the survey's ``link_valid_hours``. The page is plain HTML (one form, one radio
group per question, its ends labelled when the range is wider than two values; no script,
no outside resources) in English, Simplified Chinese or
Korean: ``?lang=`` if given, else the language the link was sent in.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

from helpline import i18n
from helpline.api.deps import Db
from helpline.db.base import utcnow
from helpline.surveys import service
from helpline.surveys.models import ResponseStatus
from helpline.surveys.runner import pick, plan_of

router = APIRouter(include_in_schema=False)

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "How did we do?",
        "intro": "Please rate your call.",
        "low": "poor",
        "high": "excellent",
        "submit": "Send",
        "thanks": "Thank you for your feedback.",
        "done": "This survey has been answered already. Thank you!",
        "expired": "This survey link has expired.",
        "unknown": "This survey link is not valid.",
        "language": "Language",
    },
    "zh": {
        "title": "您对我们的服务满意吗？",
        "intro": "请为本次通话评分。",
        "low": "差",
        "high": "非常好",
        "submit": "提交",
        "thanks": "感谢您的反馈。",
        "done": "此调查已经填写过了，谢谢！",
        "expired": "此调查链接已过期。",
        "unknown": "此调查链接无效。",
        "language": "语言",
    },
    "ko": {
        "title": "상담은 만족스러우셨나요?",
        "intro": "이번 통화를 평가해 주세요.",
        "low": "나쁨",
        "high": "매우 좋음",
        "submit": "보내기",
        "thanks": "소중한 의견 감사합니다.",
        "done": "이미 응답한 설문입니다. 감사합니다!",
        "expired": "설문 링크가 만료되었습니다.",
        "unknown": "유효하지 않은 설문 링크입니다.",
        "language": "언어",
    },
}
LANGUAGE_NAMES: Final = (("en", "English"), ("zh", "简体中文"), ("ko", "한국어"))

_PAGE = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ t.title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:36rem;margin:1rem auto;padding:0 1rem;
color:#1d2733}
h1{font-size:1.4rem}fieldset{border:1px solid #cfd6de;border-radius:.5rem;margin:1rem 0}
legend{font-weight:600;padding:0 .3rem}.scale{display:flex;gap:.4rem;flex-wrap:wrap}
.scale label{border:1px solid #9aa7b4;border-radius:.4rem;padding:.5rem .8rem;
cursor:pointer}.ends{display:flex;justify-content:space-between;font-size:.85rem;
color:#5b6875}button{font-size:1.1rem;padding:.6rem 1.4rem}nav{font-size:.85rem}
</style>
</head>
<body>
<nav>{{ t.language }}:{% for code, label in languages %}
<a href="?lang={{ code }}" lang="{{ code }}">{{ label }}</a>{% endfor %}</nav>
<h1>{{ t.title }}</h1>
{% if message %}<p id="message">{{ message }}</p>{% else %}
<p>{{ intro }}</p>
<form method="post" action="?lang={{ lang }}">
{% for q in questions %}<fieldset>
<legend>{{ q.text }}</legend>
<div class="scale">{% for v in q.choices %}
<label><input type="radio" name="{{ q.key }}" value="{{ v }}" required> {{ v }}</label>
{% endfor %}</div>
{% if q.high - q.low > 1 %}<div class="ends"><span>{{ q.low }} = {{ t.low }}</span>
<span>{{ q.high }} = {{ t.high }}</span></div>{% endif %}
</fieldset>
{% endfor %}<button type="submit">{{ t.submit }}</button>
</form>{% endif %}
</body>
</html>
"""
_template = Environment(autoescape=select_autoescape(default=True)).from_string(_PAGE)


def _language(request: Request, fallback: str) -> str:
    requested = request.query_params.get("lang")
    if requested in i18n.LANGUAGES:
        return str(requested)
    return fallback if fallback in i18n.LANGUAGES else i18n.negotiate(None, None)


def _render(lang: str, *, message: str = "", intro: str = "", questions: object = ()) -> str:
    return _template.render(
        lang=lang,
        t=TEXTS[lang],
        languages=LANGUAGE_NAMES,
        message=message,
        intro=intro,
        questions=questions,
    )


def _unknown(request: Request) -> HTMLResponse:
    lang = i18n.negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    return HTMLResponse(_render(lang, message=TEXTS[lang]["unknown"]), status_code=404)


def _closed(lang: str, status: ResponseStatus) -> HTMLResponse:
    if status is ResponseStatus.PENDING:
        return HTMLResponse(_render(lang, message=TEXTS[lang]["expired"]), status_code=410)
    return HTMLResponse(_render(lang, message=TEXTS[lang]["done"]))


@router.get("/survey/{token}", response_class=HTMLResponse)
async def show(token: str, request: Request, db: Db) -> HTMLResponse:
    """The survey form, or why it cannot be answered."""
    found = await service.response_by_token(db, token)
    if found is None:
        return _unknown(request)
    response, survey = found
    lang = _language(request, response.language)
    if not service.link_open(response, now=utcnow()):
        return _closed(lang, response.status)
    plan = plan_of(survey)
    questions = [
        {
            "key": q.key,
            "text": pick(q.texts, lang),
            "choices": range(q.low, q.high + 1),
            "low": q.low,
            "high": q.high,
        }
        for q in plan.questions
    ]
    return HTMLResponse(
        _render(lang, intro=pick(plan.intro, lang) or TEXTS[lang]["intro"], questions=questions)
    )


@router.post("/survey/{token}", response_class=HTMLResponse)
async def answer(token: str, request: Request, db: Db) -> HTMLResponse:
    """Store the answers of the form."""
    found = await service.response_by_token(db, token)
    if found is None:
        return _unknown(request)
    response, survey = found
    lang = _language(request, response.language)
    now = utcnow()
    if not service.link_open(response, now=now):
        return _closed(lang, response.status)
    form = await request.form()
    values: dict[str, int] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and value.isdigit() and len(value) == 1:
            values[key] = int(value)
    await service.answer_by_link(db, response=response, survey=survey, values=values, now=now)
    thanks = pick(survey.thanks, lang) or TEXTS[lang]["thanks"]
    return HTMLResponse(_render(lang, message=thanks))
