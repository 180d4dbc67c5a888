"""Safe ``{var}`` templates for the texts, URLs, headers and bodies of IVR flows.

A template is literal text with placeholders ``{name}`` naming a flow variable
(``{account}``, ``{survey.q1}``, ``{call.caller}``); ``{{`` and ``}}`` stand for
literal braces. Nothing else is understood: no expressions, no format specs, no
attribute or index access, so a template cannot reach beyond the variables it is
given. An unknown variable renders as "". Templates are parsed when a flow document
is validated (:func:`placeholders` raises :class:`TemplateError`), so a broken one
never reaches a call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import quote

VARIABLE_PATTERN: Final = r"[a-z_][a-z0-9_]{0,39}(?:\.[a-z0-9][a-z0-9_]{0,39}){0,3}"
"""Variable names: lowercase words joined by dots (``balance``, ``survey.q1``)."""

_VARIABLE = re.compile(VARIABLE_PATTERN)
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A template is malformed (unbalanced brace, bad variable name)."""


def valid_variable(name: str) -> bool:
    """Whether ``name`` is a well-formed variable name."""
    return _VARIABLE.fullmatch(name) is not None


def _pieces(template: str) -> list[tuple[bool, str]]:
    """``(is_variable, text)`` pieces of ``template``."""
    out: list[tuple[bool, str]] = []
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            out.append((False, template[position : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            out.append((False, token[0]))
        elif token in ("{", "}"):
            raise TemplateError(f"unbalanced {token!r} at position {match.start()}")
        else:
            name = match.group(1).strip()
            if not valid_variable(name):
                raise TemplateError(f"{{{match.group(1)}}} is not a variable name")
            out.append((True, name))
        position = match.end()
    if position < len(template):
        out.append((False, template[position:]))
    return out


def placeholders(template: str) -> list[str]:
    """The variables ``template`` uses, in order; raises :class:`TemplateError`."""
    return [text for is_var, text in _pieces(template) if is_var]


def render(
    template: str,
    variables: Mapping[str, str],
    *,
    escape: Callable[[str], str] | None = None,
) -> str:
    """``template`` with each placeholder replaced by its variable's value (passed
    through ``escape`` when given); unknown variables give ""."""
    out: list[str] = []
    for is_var, text in _pieces(template):
        if is_var:
            value = variables.get(text, "")
            out.append(escape(value) if escape else value)
        else:
            out.append(text)
    return "".join(out)


def url_authority_is_literal(template: str) -> bool:
    """Whether ``template`` starts with a literal ``http://`` or ``https://`` scheme and
    host: variables may only appear in the path and query, so what a caller types can
    never choose the server a flow talks to."""
    match = re.match(r"https?://([^/?#]*)", template)
    return match is not None and match.group(1) != "" and "{" not in match.group(1)


def render_url(template: str, variables: Mapping[str, str]) -> str:
    """A URL from ``template``, each substituted value percent-encoded (RFC 3986) so a
    value cannot add path segments, query parameters or a fragment."""
    return render(template, variables, escape=lambda value: quote(value, safe=""))


def render_json(value: Any, variables: Mapping[str, str]) -> Any:
    """A JSON value with every string (object keys too) rendered; other values as they
    are. Substituted values stay strings: ``"{amount}"`` gives ``"12.50"``."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, list):
        return [render_json(item, variables) for item in value]
    if isinstance(value, dict):
        return {render(k, variables): render_json(v, variables) for k, v in value.items()}
    return value


def json_strings(value: Any) -> list[str]:
    """Every string in a JSON value (keys included), to check them as templates."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in json_strings(item)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *json_strings(v))]
    return []
