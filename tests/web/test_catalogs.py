"""The three UI catalogs say the same things: same keys, same placeholders, and every
key the pages use exists."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import helpline.web
from helpline import i18n

WEB = Path(str(files(helpline.web)))
USED = (
    re.compile(r"""\bt\(\s*"([a-z][a-z0-9_.\-]+)\""""),  # scripts: t("desk.ready")
    re.compile(r"""t\[["']([a-z][a-z0-9_.\-]+)["']\]"""),  # templates: t["nav.admin"]
)


def _raw(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(
        files(i18n.__name__).joinpath(f"{lang}.json").read_text("utf-8")
    )
    return data


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    english = _raw("en")
    for lang in ("zh", "ko"):
        other = _raw(lang)
        assert set(other) == set(english), lang
        for key, text in english.items():
            wanted = sorted(re.findall(r"\{(\w+)\}", text))
            assert sorted(re.findall(r"\{(\w+)\}", other[key])) == wanted, (lang, key)


def test_every_key_the_pages_use_is_in_the_catalog() -> None:
    sources = [*WEB.glob("static/**/*.js"), *WEB.glob("templates/*.html")]
    used = {
        key for path in sources for pattern in USED for key in pattern.findall(path.read_text())
    }
    used -= {"x"}  # the example in common.js's comment
    assert len(used) > 300
    assert sorted(used - set(_raw("en"))) == []
