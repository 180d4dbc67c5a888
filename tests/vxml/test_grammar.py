"""Builtin DTMF grammars and SRGS DTMF grammars."""

from __future__ import annotations

import pytest

from helpline.vxml.grammar import (
    MAX_KEYS,
    Boolean,
    Digits,
    GrammarError,
    Number,
    OneOf,
    Repeat,
    Sequence,
    Srgs,
    Token,
    builtin,
    repeat,
    tokens,
)


def test_builtin_digits_respect_length_parameters() -> None:
    grammar = builtin("digits?minlength=3;maxlength=5")
    assert grammar == Digits(3, 5)
    assert grammar.max_keys == 5
    assert grammar.match("123") == "123"
    assert grammar.match("12") is None
    assert grammar.match("123456") is None
    assert grammar.match("12*") is None
    assert builtin("builtin:dtmf/digits?length=4") == Digits(4, 4)
    assert builtin("digits").max_keys == MAX_KEYS


def test_builtin_number_and_boolean() -> None:
    assert builtin("number") == Number()
    assert Number().match("12*5") == 12.5
    assert Number().match("*5") is None
    assert builtin("boolean") == Boolean()
    assert Boolean().match("1") is True
    assert Boolean().match("2") is False
    assert Boolean().match("3") is None


@pytest.mark.parametrize(
    "spec", ["date", "digits?color=1", "digits?minlength=5;maxlength=2", "boolean?x=1"]
)
def test_unknown_builtins_and_parameters_are_refused(spec: str) -> None:
    with pytest.raises(GrammarError):
        builtin(spec)


def test_srgs_one_of_with_repeat() -> None:
    # <item repeat="1-3"><one-of><item>1</item><item>2</item></one-of></item> <item>#</item>
    grammar = Srgs(Sequence((Repeat(OneOf((Token("1"), Token("2"))), 1, 3), Token("#"))))
    assert grammar.max_keys == 4
    assert grammar.match("12#") == "12#"
    assert grammar.match("1#") == "1#"
    assert grammar.match("#") is None
    assert grammar.match("1212#") is None
    assert grammar.match("13#") is None


def test_srgs_optional_and_unbounded_repeats() -> None:
    grammar = Srgs(Sequence((Token("9"), Repeat(Token("0"), 0, None))))
    assert grammar.max_keys == MAX_KEYS
    assert grammar.match("9") == "9"
    assert grammar.match("9000") == "9000"
    assert grammar.match("90009") is None


def test_nested_repeats_match_in_polynomial_time() -> None:
    nested = Srgs(Repeat(Repeat(Repeat(Token("1"), 0, None), 0, None), 0, None))
    assert nested.match("1" * 31 + "2") is None
    assert nested.match("1" * 32) == "1" * 32


def test_item_text_and_repeat_attributes() -> None:
    assert tokens(" 1 2 ") == Token("12")
    assert tokens("  ") is None
    with pytest.raises(GrammarError):
        tokens("one")
    assert repeat("3") == (3, 3)
    assert repeat("0-1") == (0, 1)
    assert repeat("2-") == (2, None)
    with pytest.raises(GrammarError):
        repeat("3-1")
    with pytest.raises(GrammarError):
        repeat("many")
