"""The prompt languages and the name pattern every prompt follows."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class Language(StrEnum):
    """Languages with a system prompt set; English is the fallback."""

    EN = "en"
    ZH = "zh"
    KO = "ko"


FALLBACK: Final = Language.EN

NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,39}(/[a-z0-9][a-z0-9_-]{0,39}){0,3}$"
"""Prompt names are slash-separated lowercase segments (``digits/3``, ``queue/please-hold``);
the pattern rules out ``..``, absolute paths and anything else a file path should not hold."""

_NAME = re.compile(NAME_PATTERN)


def valid_name(name: str) -> bool:
    """Whether ``name`` is a well-formed prompt name."""
    return _NAME.fullmatch(name) is not None
