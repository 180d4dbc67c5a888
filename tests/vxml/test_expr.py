"""The expression evaluator: ECMAScript results for the subset, scopes, and safety."""

from __future__ import annotations

import math

import pytest

from helpline.vxml.expr import (
    MAX_DEPTH,
    MAX_LENGTH,
    UNDEFINED,
    ExprSyntaxError,
    Scope,
    SemanticError,
    evaluate,
    parse,
    to_string,
)


@pytest.fixture
def scope() -> Scope:
    session = Scope("session")
    session.declare("callerid", "+4930111")
    document = Scope("document", Scope("application", session))
    document.declare("count", 2.0)
    dialog = Scope("dialog", document)
    dialog.declare("pin", "1234")
    dialog.declare("count", 5.0)
    dialog.declare("result", {"balance": 12.5, "name": "Ann"})
    return dialog


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("7 % 4", 3.0),
        ("-2 * -3", 6.0),
        ("1 + 2 == 3 && 4 > 3", True),
        ("false || 0 || 'x'", "x"),
        ("null && 1", None),
        ("1 < 2 ? 'yes' : 'no'", "yes"),
        ("0 ? 'a' : 1 ? 'b' : 'c'", "b"),
        ("!0", True),
        ("'a' + 1 + 2", "a12"),
        ("1 + 2 + 'a'", "3a"),
        ("'it\\'s ' + \"ok\"", "it's ok"),
        ("'\\u0041'", "A"),
        ("'10' == 10", True),
        ("'10' === 10", False),
        ("null == undefined", True),
        ("null === undefined", False),
        ("'b' > 'a'", True),
        ("'10' < '9'", True),
        ("2.5e1", 25.0),
    ],
)
def test_operators_follow_ecmascript(text: str, expected: object, scope: Scope) -> None:
    assert evaluate(text, scope) == expected


def test_variables_resolve_innermost_first_and_through_scope_names(scope: Scope) -> None:
    assert evaluate("count", scope) == 5.0
    assert evaluate("document.count", scope) == 2.0
    assert evaluate("session.callerid", scope) == "+4930111"
    assert evaluate("result.balance * 2", scope) == 25.0
    assert evaluate("result.missing", scope) is UNDEFINED
    assert evaluate("pin.length == 4", scope) is True


def test_assign_needs_a_declared_variable(scope: Scope) -> None:
    scope.assign("document.count", 7.0)
    assert evaluate("document.count", scope) == 7.0
    scope.assign("result.name", "Bo")
    assert evaluate("result.name", scope) == "Bo"
    with pytest.raises(SemanticError):
        scope.assign("nothere", 1.0)


def test_numbers_print_as_ecmascript_does() -> None:
    assert to_string(3.0) == "3"
    assert to_string(0.5) == "0.5"
    assert to_string(math.inf) == "Infinity"
    assert to_string(math.nan) == "NaN"
    assert to_string(None) == "null"
    assert to_string({}) == "[object Object]"


def test_division_by_zero_gives_infinity_not_an_exception(scope: Scope) -> None:
    assert evaluate("1 / 0", scope) == math.inf
    assert math.isnan(float(evaluate("0 / 0", scope)))  # type: ignore[arg-type]


def test_unknown_identifier_is_a_semantic_error(scope: Scope) -> None:
    with pytest.raises(SemanticError):
        evaluate("nosuchvar + 1", scope)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "os.system('true')",
        "pin.constructor('x')",
        "function() {}",
        "a = 1",
        "x[0]",
        "1 +",
        "'unterminated",
        "new Date",
        "this",
        "1;2",
    ],
)
def test_code_execution_syntax_is_refused(text: str) -> None:
    with pytest.raises(ExprSyntaxError):
        parse(text)


@pytest.mark.parametrize(
    "text",
    ["pin.__class__", "count.toString", "(1).__dict__", "pin.upper", "undefined.x", "null.x"],
)
def test_attribute_access_on_non_objects_is_a_semantic_error(text: str, scope: Scope) -> None:
    with pytest.raises(SemanticError):
        evaluate(text, scope)


def test_python_identifiers_are_not_reachable(scope: Scope) -> None:
    for name in ("__import__", "__builtins__", "eval", "open", "print"):
        with pytest.raises(SemanticError):
            evaluate(name, scope)


def test_huge_or_deep_input_is_refused() -> None:
    with pytest.raises(ExprSyntaxError):
        parse("1+" * MAX_LENGTH + "1")
    with pytest.raises(ExprSyntaxError):
        parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ExprSyntaxError):
        parse("!" * (MAX_DEPTH + 5) + "1")


def test_strings_cannot_grow_without_bound() -> None:
    scope = Scope("dialog")
    scope.declare("s", "x" * 40000)
    with pytest.raises(SemanticError):
        evaluate("s + s", scope)
