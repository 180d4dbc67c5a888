"""DTMF grammars for VoiceXML fields: the builtin types and simple SRGS DTMF grammars.

Theory of operation: a field collects keys through the call port and asks each of its
grammars whether the keys match; the first match gives the field its value.

* Builtin grammars (VoiceXML 2.0 Appendix P): ``digits`` (parameters ``length``,
  ``minlength``, ``maxlength``) gives a string of 0-9; ``number`` gives a number, ``*``
  standing for the decimal point; ``boolean`` gives true for 1 and false for 2. They are
  named by a field's ``type`` or by ``<grammar src="builtin:dtmf/digits?length=4">``.
* SRGS 1.0 grammars in DTMF mode (W3C SRGS §2) with one rule made of ``<one-of>``,
  ``<item>`` (``repeat="n"``, ``"m-n"``, ``"m-"``) and DTMF tokens (0-9, ``*``, ``#``).
  Matching runs over sets of positions in the key string (a Thompson-style simulation),
  so no grammar can make matching take more than polynomial time; the value is the keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, TypeAlias

from helpline.vxml.expr import Value

MAX_KEYS: Final = 32
"""The most keys one collection asks for."""
_DTMF = re.compile(r"[0-9*#]+")
_REPEAT = re.compile(r"(\d{1,3})(?:-(\d{1,3})?)?")


class GrammarError(ValueError):
    """A grammar outside the supported subset (refused at upload)."""


@dataclass(frozen=True, slots=True)
class Digits:
    """``builtin:dtmf/digits``: between ``min_length`` and ``max_length`` digits."""

    min_length: int = 1
    max_length: int | None = None

    @property
    def max_keys(self) -> int:
        """How many keys to collect at most."""
        return min(self.max_length or MAX_KEYS, MAX_KEYS)

    def match(self, keys: str) -> Value | None:
        """The value for ``keys``, None when they do not match."""
        if not keys.isdigit() or not keys.isascii() or len(keys) < self.min_length:
            return None
        if self.max_length is not None and len(keys) > self.max_length:
            return None
        return keys


@dataclass(frozen=True, slots=True)
class Number:
    """``builtin:dtmf/number``: digits with at most one ``*`` as the decimal point."""

    @property
    def max_keys(self) -> int:
        """How many keys to collect at most."""
        return MAX_KEYS

    def match(self, keys: str) -> Value | None:
        """The number for ``keys``, None when they do not match."""
        if re.fullmatch(r"[0-9]+(\*[0-9]+)?", keys) is None:
            return None
        return float(keys.replace("*", "."))


@dataclass(frozen=True, slots=True)
class Boolean:
    """``builtin:dtmf/boolean``: 1 is true, 2 is false."""

    @property
    def max_keys(self) -> int:
        """How many keys to collect at most."""
        return 1

    def match(self, keys: str) -> Value | None:
        """True for ``1``, false for ``2``, else None."""
        return {"1": True, "2": False}.get(keys)


@dataclass(frozen=True, slots=True)
class Token:
    """A sequence of DTMF keys."""

    keys: str


@dataclass(frozen=True, slots=True)
class Sequence:
    """Items one after the other."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class OneOf:
    """Exactly one of the alternatives."""

    alternatives: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    """``item`` between ``low`` and ``high`` times (None: unbounded)."""

    item: Node
    low: int
    high: int | None


Node: TypeAlias = Token | Sequence | OneOf | Repeat


def _ends(node: Node, keys: str, starts: frozenset[int]) -> frozenset[int]:
    if not starts:
        return starts
    if isinstance(node, Token):
        return frozenset(s + len(node.keys) for s in starts if keys.startswith(node.keys, s))
    if isinstance(node, Sequence):
        for item in node.items:
            starts = _ends(item, keys, starts)
        return starts
    if isinstance(node, OneOf):
        return frozenset().union(*(_ends(alt, keys, starts) for alt in node.alternatives))
    result = starts if node.low == 0 else frozenset()
    current = starts
    limit = node.high if node.high is not None else len(keys) + 1
    for count in range(1, limit + 1):
        current = _ends(node.item, keys, current)
        if count >= node.low:
            result |= current
        if not current:
            break
    return result


def _longest(node: Node) -> int | None:
    if isinstance(node, Token):
        return len(node.keys)
    if isinstance(node, Sequence | OneOf):
        parts = [
            _longest(n) for n in (node.items if isinstance(node, Sequence) else node.alternatives)
        ]
        if any(p is None for p in parts):
            return None
        lengths = [p for p in parts if p is not None]
        return sum(lengths) if isinstance(node, Sequence) else max(lengths, default=0)
    inner = _longest(node.item)
    if node.high is None or inner is None:
        return None if inner != 0 else 0
    return inner * node.high


@dataclass(frozen=True, slots=True)
class Srgs:
    """An SRGS DTMF grammar; its value is the keys that matched."""

    root: Node

    @property
    def max_keys(self) -> int:
        """How many keys to collect at most."""
        longest = _longest(self.root)
        return MAX_KEYS if longest is None else max(1, min(longest, MAX_KEYS))

    def match(self, keys: str) -> Value | None:
        """``keys`` when the grammar accepts them, else None."""
        if len(keys) > MAX_KEYS:
            return None
        return keys if len(keys) in _ends(self.root, keys, frozenset({0})) else None


Grammar: TypeAlias = Digits | Number | Boolean | Srgs


def tokens(text: str) -> Node | None:
    """The DTMF tokens of an item's text (whitespace-separated keys), None if blank."""
    words = text.split()
    if not words:
        return None
    for word in words:
        if _DTMF.fullmatch(word) is None:
            raise GrammarError(f"{word!r} is not a DTMF token (0-9, *, #)")
    return Token("".join(words))


def repeat(text: str) -> tuple[int, int | None]:
    """The bounds of an SRGS ``repeat`` attribute (``"3"``, ``"1-4"``, ``"0-"``)."""
    m = _REPEAT.fullmatch(text.strip())
    if m is None:
        raise GrammarError(f"repeat={text!r} is not n, m-n or m-")
    low = int(m.group(1))
    if "-" not in text:
        return low, low
    high = int(m.group(2)) if m.group(2) else None
    if high is not None and high < low:
        raise GrammarError(f"repeat={text!r}: the maximum is below the minimum")
    return low, high


def builtin(spec: str) -> Grammar:
    """The builtin grammar named by a field ``type`` or a ``builtin:`` URI:
    ``digits?minlength=3;maxlength=5``, ``number``, ``boolean``."""
    name, _, query = spec.removeprefix("builtin:").removeprefix("dtmf/").partition("?")
    params: dict[str, int] = {}
    for part in filter(None, query.split(";")):
        key, sep, value = part.partition("=")
        if not sep or not value.isdigit() or len(value) > 3:
            raise GrammarError(f"bad builtin grammar parameter {part!r}")
        params[key] = int(value)
    if name == "digits":
        unknown = set(params) - {"length", "minlength", "maxlength"}
        if unknown:
            raise GrammarError(f"unknown digits parameter {sorted(unknown)[0]!r}")
        if "length" in params:
            return Digits(params["length"], params["length"])
        low, high = params.get("minlength", 1), params.get("maxlength")
        if high is not None and high < low:
            raise GrammarError("maxlength is below minlength")
        return Digits(low, high)
    if params:
        raise GrammarError(f"builtin {name!r} takes no parameters")
    if name == "number":
        return Number()
    if name == "boolean":
        return Boolean()
    raise GrammarError(f"builtin grammar {name!r} is not supported (digits, number, boolean)")
