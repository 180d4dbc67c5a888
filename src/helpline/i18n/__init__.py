"""UI text in English, Simplified Chinese and Korean, from one JSON catalog per language."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

LANGUAGES = ("en", "zh", "ko")
DEFAULT = "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of ``lang`` with English filling any gap."""
    base: dict[str, str] = json.loads(files(__package__).joinpath("en.json").read_text("utf-8"))
    if lang != DEFAULT:
        base = base | json.loads(files(__package__).joinpath(f"{lang}.json").read_text("utf-8"))
    return base


def negotiate(requested: str | None, accept_language: str | None) -> str:
    """The language to use: an explicit choice, else the browser's first supported one."""
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT
