"""A small, safe ECMAScript-subset evaluator for VoiceXML ``expr`` and ``cond``.

Theory of operation: VoiceXML 2.0 §5.1 gives documents ECMAScript variables in four
nested scopes (session, application, document, dialog, plus anonymous scopes for
blocks, filled and catch elements). This module implements only what call flows use: a
tokenizer and a recursive-descent parser build an immutable tree, and :func:`evaluate`
walks it against a :class:`Scope` chain. There are no calls, no indexing, no
assignment operators and no prototypes, so a document can read and combine values but
can never reach Python: nothing here uses ``eval``, ``exec`` or ``ast``. Input length,
nesting depth and string sizes are bounded.

Supported: number, string, boolean, ``null`` and ``undefined`` literals; variables and
member access (``a.b``, ``document.x``, ``s.length`` on strings); ``+ - * / %``;
``== != === !== < <= > >=``; ``&& || !``; unary ``-``/``+``; ``?:``; parentheses.
Values follow ECMAScript's conversions (ToString, ToNumber, ToBoolean, loose equality).
An unknown identifier raises :class:`SemanticError` (VoiceXML's ``error.semantic``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, TypeAlias

MAX_LENGTH: Final = 2000
"""Longest expression text accepted."""
MAX_DEPTH: Final = 40
"""Deepest nesting of sub-expressions accepted."""
MAX_STRING: Final = 65536
"""Longest string value an expression may build."""
SCOPE_NAMES: Final = ("session", "application", "document", "dialog")


class Undefined:
    """ECMAScript's ``undefined`` (one instance, :data:`UNDEFINED`)."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Final = Undefined()

Value: TypeAlias = "bool | float | str | Undefined | dict[str, Value] | None"
"""A script value; ``dict`` is a plain ECMAScript object, ``None`` is ``null``."""


class ExprError(Exception):
    """Base of expression errors."""


class ExprSyntaxError(ExprError):
    """The text is not an expression of the supported subset (refused at upload)."""


class SemanticError(ExprError):
    """A run-time error: unknown variable, member of a non-object, a too long string
    (VoiceXML's ``error.semantic``)."""


# --- values -------------------------------------------------------------------------


def to_value(value: object) -> Value:
    """A Python value as a script value (ints become numbers, mappings objects)."""
    if value is None or isinstance(value, bool | float | str | Undefined):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {str(k): to_value(v) for k, v in value.items()}
    raise TypeError(f"no script value for {type(value).__name__}")


def to_string(value: Value) -> str:
    """ECMAScript ToString."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    if value is None:
        return "null"
    if isinstance(value, Undefined):
        return "undefined"
    return "[object Object]"


def _number_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def to_number(value: Value) -> float:
    """ECMAScript ToNumber."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if value is None:
        return 0.0
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        if _NUMBER.fullmatch(text):
            return float(text)
        return math.nan
    return math.nan


def to_boolean(value: Value) -> bool:
    """ECMAScript ToBoolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return isinstance(value, dict)


def _loose_equal(a: Value, b: Value) -> bool:
    nullish = (type(None), Undefined)
    if isinstance(a, nullish) or isinstance(b, nullish):
        return isinstance(a, nullish) and isinstance(b, nullish)
    if isinstance(a, dict) or isinstance(b, dict):
        return a is b
    if type(a) is type(b):
        return a == b
    return to_number(a) == to_number(b)


def _strict_equal(a: Value, b: Value) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a is b
    return a == b


# --- tokens -------------------------------------------------------------------------

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<op>===|!==|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:().])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_KEYWORDS = {"true": True, "false": False, "null": None}
_RESERVED = frozenset(
    {"break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete",
     "do", "else", "export", "extends", "finally", "for", "function", "if", "import", "in",
     "instanceof", "let", "new", "return", "super", "switch", "this", "throw", "try", "typeof",
     "var", "void", "while", "with", "yield"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            raise ExprSyntaxError(f"unexpected character {text[pos:].lstrip()[:1]!r} at {pos}")
        tokens.append(_Token(m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup)))
        pos = m.end()
    tokens.append(_Token("end", "", end))
    return tokens


# --- tree ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant."""

    value: Value


@dataclass(frozen=True, slots=True)
class Name:
    """A variable reference."""

    name: str


@dataclass(frozen=True, slots=True)
class Member:
    """``target.name``."""

    target: Expr
    name: str


@dataclass(frozen=True, slots=True)
class Unary:
    """``!x``, ``-x``, ``+x``."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic, comparison and the short-circuit ``&&``/``||``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Conditional:
    """``test ? then : otherwise``."""

    test: Expr
    then: Expr
    otherwise: Expr


Expr: TypeAlias = Literal | Name | Member | Unary | Binary | Conditional

_LEVELS: Final = (
    ("||",),
    ("&&",),
    ("==", "!=", "===", "!=="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind == "string":
            raise ExprSyntaxError(f"expected {text!r} at {token.pos}, found {token.text!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprSyntaxError(f"expression nested deeper than {MAX_DEPTH}")

    def expression(self) -> Expr:
        self.enter()
        test = self.binary(0)
        if self.peek().kind == "op" and self.peek().text == "?":
            self.take()
            then = self.expression()
            self.expect(":")
            test = Conditional(test, then, self.expression())
        self.depth -= 1
        return test

    def binary(self, level: int) -> Expr:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in _LEVELS[level]:
            op = self.take().text
            left = Binary(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Expr:
        token = self.peek()
        if token.kind == "op" and token.text in ("!", "-", "+"):
            self.take()
            self.enter()
            node = Unary(token.text, self.unary())
            self.depth -= 1
            return node
        return self.postfix()

    def postfix(self) -> Expr:
        node = self.primary()
        while self.peek().kind == "op" and self.peek().text == ".":
            self.take()
            token = self.take()
            if token.kind != "name":
                raise ExprSyntaxError(f"expected a property name at {token.pos}")
            node = Member(node, token.text)
        if self.peek().kind == "op" and self.peek().text == "(":
            raise ExprSyntaxError(f"function calls are not supported (at {self.peek().pos})")
        return node

    def primary(self) -> Expr:
        token = self.take()
        if token.kind == "number":
            return Literal(float(token.text))
        if token.kind == "string":
            return Literal(_unescape(token.text[1:-1]))
        if token.kind == "name":
            if token.text in _KEYWORDS:
                return Literal(_KEYWORDS[token.text])
            if token.text == "undefined":
                return Literal(UNDEFINED)
            if token.text in _RESERVED:
                raise ExprSyntaxError(f"{token.text!r} is not supported (at {token.pos})")
            return Name(token.text)
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        found = token.text or "the end"
        raise ExprSyntaxError(f"unexpected {found!r} at {token.pos}")


@lru_cache(maxsize=2048)
def parse(text: str) -> Expr:
    """The tree of ``text``; raises :class:`ExprSyntaxError` for anything outside the
    subset, longer than :data:`MAX_LENGTH` or nested deeper than :data:`MAX_DEPTH`."""
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"expression longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExprSyntaxError("empty expression")
    parser = _Parser(text)
    node = parser.expression()
    if parser.peek().kind != "end":
        token = parser.peek()
        raise ExprSyntaxError(f"unexpected {token.text!r} at {token.pos}")
    return node


# --- scopes -------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def valid_name(name: str) -> bool:
    """Whether ``name`` may be declared: an identifier, not a keyword or scope name."""
    return (
        _IDENT.fullmatch(name) is not None
        and name not in _KEYWORDS
        and name not in _RESERVED
        and name != "undefined"
    )


def valid_target(name: str) -> bool:
    """Whether ``name`` may be assigned to: ``x``, ``document.x``, ``obj.field``."""
    parts = name.split(".")
    return all(_IDENT.fullmatch(p) for p in parts) and valid_name(parts[-1])


class Scope:
    """One variable scope; lookups walk ``parent`` outwards (dialog -> document ->
    application -> session)."""

    def __init__(self, name: str, parent: Scope | None = None) -> None:
        self.name = name
        self.parent = parent
        self.vars: dict[str, Value] = {}

    def find(self, name: str) -> Scope | None:
        """The innermost scope declaring ``name``."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope
            scope = scope.parent
        return None

    def named(self, name: str) -> Scope | None:
        """The enclosing scope called ``name`` (``document``, ``dialog`` ...)."""
        scope: Scope | None = self
        while scope is not None:
            if scope.name == name:
                return scope
            scope = scope.parent
        return None

    def declare(self, name: str, value: Value = UNDEFINED) -> None:
        """Declare (or redeclare) ``name`` here (``<var>``)."""
        self.vars[name] = value

    def lookup(self, name: str) -> Value:
        """The value of a plain name; unknown names raise :class:`SemanticError`."""
        found = self.find(name)
        if found is not None:
            return found.vars[name]
        named = self.named(name) if name in SCOPE_NAMES else None
        if named is not None:
            return _ScopeObject(named)
        raise SemanticError(f"{name!r} is not defined")

    def assign(self, target: str, value: Value) -> None:
        """``<assign name=target>``: the variable or member must already exist."""
        parts = target.split(".")
        if len(parts) == 1:
            found = self.find(target)
            if found is None:
                raise SemanticError(f"{target!r} is not declared")
            found.vars[target] = value
            return
        holder = self.lookup(parts[0])
        for part in parts[1:-1]:
            holder = _member(holder, part)
        if isinstance(holder, _ScopeObject):
            if parts[-1] not in holder.scope.vars:
                raise SemanticError(f"{target!r} is not declared")
            holder.scope.vars[parts[-1]] = value
        elif isinstance(holder, dict):
            holder[parts[-1]] = value
        else:
            raise SemanticError(f"cannot set a property of {to_string(holder)!r}")


class _ScopeObject(dict[str, "Value"]):
    """A scope used as an object (``document.x``); members read the live scope."""

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope


def _member(target: Value | _ScopeObject, name: str) -> Value:
    if isinstance(target, _ScopeObject):
        if name in target.scope.vars:
            return target.scope.vars[name]
        raise SemanticError(f"{target.scope.name}.{name} is not defined")
    if isinstance(target, dict):
        return target.get(name, UNDEFINED)
    if isinstance(target, str) and name == "length":
        return float(len(target))
    raise SemanticError(f"cannot read property {name!r} of {to_string(target)!r}")


# --- evaluation ---------------------------------------------------------------------


def _arith(op: str, a: float, b: float) -> float:
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.inf if (a > 0) == (math.copysign(1.0, b) > 0) else -math.inf
        return a / b
    if b == 0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return math.nan
    return math.fmod(a, b)


def _compare(op: str, a: Value, b: Value) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        x: str | float = a
        y: str | float = b
    else:
        x, y = to_number(a), to_number(b)
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]


def _evaluate(node: Expr, scope: Scope) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return scope.lookup(node.name)
    if isinstance(node, Member):
        return _member(_evaluate(node.target, scope), node.name)
    if isinstance(node, Unary):
        operand = _evaluate(node.operand, scope)
        if node.op == "!":
            return not to_boolean(operand)
        number = to_number(operand)
        return -number if node.op == "-" else number
    if isinstance(node, Conditional):
        branch = node.then if to_boolean(_evaluate(node.test, scope)) else node.otherwise
        return _evaluate(branch, scope)
    left = _evaluate(node.left, scope)
    op = node.op
    if op == "&&":
        return _evaluate(node.right, scope) if to_boolean(left) else left
    if op == "||":
        return left if to_boolean(left) else _evaluate(node.right, scope)
    right = _evaluate(node.right, scope)
    if op == "+":
        if isinstance(left, str | dict) or isinstance(right, str | dict):
            text = to_string(left) + to_string(right)
            if len(text) > MAX_STRING:
                raise SemanticError(f"string longer than {MAX_STRING} characters")
            return text
        return to_number(left) + to_number(right)
    if op in ("-", "*", "/", "%"):
        return _arith(op, to_number(left), to_number(right))
    if op == "==":
        return _loose_equal(left, right)
    if op == "!=":
        return not _loose_equal(left, right)
    if op == "===":
        return _strict_equal(left, right)
    if op == "!==":
        return not _strict_equal(left, right)
    return _compare(op, left, right)


def evaluate(expression: str | Expr, scope: Scope) -> Value:
    """The value of ``expression`` in ``scope``; raises :class:`ExprSyntaxError` or
    :class:`SemanticError`."""
    node = parse(expression) if isinstance(expression, str) else expression
    value = _evaluate(node, scope)
    if isinstance(value, _ScopeObject):
        return dict(value.scope.vars)
    return value
