"""Flow documents: every node type parses, and problems name the node and field."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.ivr.flow import Problem, check
from helpline.ivr.templating import (
    TemplateError,
    placeholders,
    render,
    render_json,
    render_url,
    url_authority_is_literal,
)

HANGUP: dict[str, Any] = {"type": "hangup"}


def every_node_type() -> dict[str, Any]:
    """A document using each node type once."""
    prompt = {"names": ["ivr/for"], "text": {"en": "Sales", "zh": "销售"}}
    return {
        "start": "menu",
        "language": "en",
        "variables": {"base": "x"},
        "nodes": {
            "menu": {
                "type": "menu",
                "prompt": prompt,
                "options": {"1": "play", "2": "collect", "3": "lang", "#": "bye"},
                "on_fail": "bye",
            },
            "play": {"type": "play", "prompt": {"text": "Hello {call.caller}"}, "next": "queue"},
            "collect": {
                "type": "collect",
                "prompt": {"names": ["ivr/please-enter"]},
                "into": "account",
                "min_length": 4,
                "max_length": 8,
                "pattern": "[0-9]{4,8}",
                "next": "http",
                "on_invalid": "bye",
            },
            "http": {
                "type": "http",
                "method": "POST",
                "url": "https://bank.example/balance/{account}",
                "body": {"account": "{account}", "n": 1},
                "results": {"balance": "data.balance"},
                "routes": [{"status": {"min": 404, "max": 404}, "next": "bye"}],
                "next": "say",
                "on_error": "bye",
            },
            "say": {"type": "say", "kind": "amount", "value": "{balance}", "next": "set"},
            "set": {"type": "set", "variable": "seen", "value": "yes", "next": "cond"},
            "cond": {
                "type": "condition",
                "variable": "balance",
                "operator": "lt",
                "value": "0",
                "then": "transfer",
                "else": "text",
            },
            "lang": {"type": "language", "language": "zh", "next": "menu"},
            "queue": {"type": "queue", "queue": "sales", "priority": "{vip}"},
            "vm": {"type": "voicemail", "box": "support"},
            "text": {"type": "sms", "template": "balance", "next": "survey", "on_error": "bye"},
            "transfer": {"type": "transfer", "number": "+15550100"},
            "survey": {
                "type": "survey",
                "questions": [{"prompt": {"text": "Rate us"}}],
                "next": "vm",
            },
            "bye": {"type": "hangup", "prompt": {"names": ["ivr/goodbye"]}},
        },
    }


def test_a_document_with_every_node_type_is_valid_without_warnings() -> None:
    report = check(every_node_type())
    assert report.errors == []
    assert report.warnings == []
    assert report.valid
    assert report.document is not None
    stored = report.document.to_json()
    assert stored["nodes"]["cond"]["else"] == "text"
    assert check(stored).valid


def test_unreachable_nodes_are_warnings_not_errors() -> None:
    doc = every_node_type()
    doc["nodes"]["island"] = {"type": "play", "prompt": {"text": "x"}, "next": "bye"}
    report = check(doc)
    assert report.valid
    assert report.warnings == [Problem("island", "", "not reachable from the start")]


def test_missing_targets_and_start_name_node_and_field() -> None:
    doc = every_node_type()
    doc["start"] = "nowhere"
    doc["nodes"]["menu"]["options"]["4"] = "gone"
    doc["nodes"]["http"]["routes"][0]["next"] = "lost"
    report = check(doc)
    assert not report.valid
    assert set(report.errors) == {
        Problem(None, "start", "no node 'nowhere'"),
        Problem("menu", "options.4", "no node 'gone'"),
        Problem("http", "routes.0.next", "no node 'lost'"),
    }


@pytest.mark.parametrize(
    ("node", "field"),
    [
        ({"type": "teleport", "next": "bye"}, "type"),
        ({"type": "play", "next": "bye"}, "prompt"),
        ({"type": "play", "prompt": {}, "next": "bye"}, "prompt"),
        ({"type": "play", "prompt": {"names": ["../etc/passwd"]}, "next": "bye"}, "prompt.names.0"),
        ({"type": "play", "prompt": {"text": "Hi {"}, "next": "bye"}, "prompt.text"),
        ({"type": "play", "prompt": {"text": "x"}, "next": "bye", "extra": 1}, "extra"),
        (
            {"type": "menu", "prompt": {"text": "x"}, "options": {"12": "bye"}, "on_fail": "bye"},
            "options.12.[key]",
        ),
        ({"type": "menu", "prompt": {"text": "x"}, "options": {}, "on_fail": "bye"}, "options"),
        ({"type": "menu", "prompt": {"text": "x"}, "options": {"1": "bye"}}, "on_fail"),
        (
            {
                "type": "collect",
                "prompt": {"text": "x"},
                "into": "a",
                "min_length": 5,
                "max_length": 2,
                "next": "bye",
                "on_invalid": "bye",
            },
            "",
        ),
        (
            {
                "type": "collect",
                "prompt": {"text": "x"},
                "into": "a",
                "pattern": "(\\d+)+",
                "next": "bye",
                "on_invalid": "bye",
            },
            "pattern",
        ),
        (
            {
                "type": "collect",
                "prompt": {"text": "x"},
                "into": "call.caller",
                "next": "bye",
                "on_invalid": "bye",
            },
            "into",
        ),
        ({"type": "http", "url": "http://{host}/x", "next": "bye", "on_error": "bye"}, "url"),
        ({"type": "http", "url": "file:///etc/passwd", "next": "bye", "on_error": "bye"}, "url"),
        (
            {
                "type": "http",
                "url": "http://h/x",
                "body": {"a": 1},
                "next": "bye",
                "on_error": "bye",
            },
            "",
        ),
        (
            {"type": "say", "kind": "amount", "value": "1", "currency": "XBT", "next": "bye"},
            "currency",
        ),
        (
            {
                "type": "condition",
                "variable": "a",
                "operator": "in",
                "value": "1",
                "then": "bye",
                "else": "bye",
            },
            "",
        ),
        (
            {
                "type": "condition",
                "variable": "a",
                "operator": "empty",
                "value": "1",
                "then": "bye",
                "else": "bye",
            },
            "",
        ),
        ({"type": "language", "language": "fr", "next": "bye"}, "language"),
        ({"type": "transfer", "number": "1", "agent": "bob"}, ""),
        ({"type": "survey", "questions": [], "next": "bye"}, "questions"),
        ({"type": "sms", "next": "bye"}, ""),
        ({"type": "sms", "template": "a", "text": "b", "next": "bye"}, ""),
        ({"type": "sms", "template": "no spaces", "next": "bye"}, "template"),
        ({"type": "sms", "text": "Hi {unclosed", "next": "bye"}, "text"),
    ],
)
def test_a_bad_node_is_reported_with_its_id_and_field(node: dict[str, Any], field: str) -> None:
    report = check({"start": "bad", "nodes": {"bad": node, "bye": HANGUP}})
    assert not report.valid
    assert report.document is None
    assert [(p.node, p.field) for p in report.errors][:1] == [("bad", field)], report.errors
    assert all(p.message for p in report.errors)


def test_document_level_problems_have_no_node() -> None:
    report = check({"start": "a", "nodes": {}, "language": "xx"})
    assert {(p.node, p.field) for p in report.errors} == {(None, "nodes"), (None, "language")}
    assert check([1, 2]).errors[0].node is None


def test_bad_node_ids_are_named() -> None:
    report = check({"start": "a", "nodes": {"a": HANGUP, "no spaces": HANGUP}})
    assert report.errors[0].node == "no spaces"
    assert report.errors[0].field == "id"


@pytest.mark.parametrize("pattern", ["(\\d+)+", "(1|2)*", "((\\d)*)+", "(?:\\d{2})*"])
def test_patterns_that_could_backtrack_forever_are_refused(pattern: str) -> None:
    node = {
        "type": "condition",
        "variable": "a",
        "operator": "matches",
        "value": pattern,
        "then": "bye",
        "else": "bye",
    }
    assert not check({"start": "c", "nodes": {"c": node, "bye": HANGUP}}).valid


@pytest.mark.parametrize("pattern", ["[0-9]{4}", "(\\d{3})?\\d+", "(00|\\+)?[0-9]+", "[(]+"])
def test_ordinary_digit_patterns_are_accepted(pattern: str) -> None:
    node = {
        "type": "condition",
        "variable": "a",
        "operator": "matches",
        "value": pattern,
        "then": "bye",
        "else": "bye",
    }
    assert check({"start": "c", "nodes": {"c": node, "bye": HANGUP}}).valid


def test_templates_substitute_variables_and_nothing_else() -> None:
    variables = {"name": "Ann", "survey.q1": "5"}
    assert render("Hi {name}, {survey.q1} {{literal}} {missing}!", variables) == (
        "Hi Ann, 5 {literal} !"
    )
    assert placeholders("{a} and { b }") == ["a", "b"]
    for bad in ("{name.__class__}", "{0}", "{name!r}", "{name:>10}", "{a[0]}", "x}", "{x"):
        with pytest.raises(TemplateError):
            render(bad, variables)


def test_url_values_are_percent_encoded_and_the_host_stays_literal() -> None:
    url = render_url("https://h.example/a/{x}?q={x}", {"x": "1/../b?c=d#e f"})
    assert url == "https://h.example/a/1%2F..%2Fb%3Fc%3Dd%23e%20f?q=1%2F..%2Fb%3Fc%3Dd%23e%20f"
    assert url_authority_is_literal("http://127.0.0.1:8080/{x}")
    assert not url_authority_is_literal("http://{host}/x")
    assert not url_authority_is_literal("https://a{b}.example/")
    assert not url_authority_is_literal("{base}/x")
    assert not url_authority_is_literal("ftp://h/x")


def test_json_bodies_render_strings_keys_included() -> None:
    body = {"{k}": ["{v}", 1, None, {"n": "{v}"}], "t": True}
    assert render_json(body, {"k": "key", "v": "12.50"}) == {
        "key": ["12.50", 1, None, {"n": "12.50"}],
        "t": True,
    }


def test_an_sms_node_naming_an_unknown_template_is_an_error_at_that_node() -> None:
    assert check(every_node_type(), sms_templates={"balance", "other"}).valid
    report = check(every_node_type(), sms_templates={"other"})
    assert not report.valid
    assert report.errors == [Problem("text", "template", "no SMS template 'balance'")]
    assert check(every_node_type()).valid, "templates are not checked when none are given"
