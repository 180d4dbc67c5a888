"""Upload-time validation: the supported subset passes, anything else is named with its line."""

from __future__ import annotations

import pytest

from helpline.ivr.port import TransferKind, TransferTarget
from helpline.vxml.grammar import Digits, Srgs
from helpline.vxml.parser import VxmlError, parse_document, seconds, transfer_target

FULL = """<?xml version="1.0" encoding="UTF-8"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="en">
  <property name="timeout" value="4s"/>
  <var name="tries" expr="0"/>
  <catch event="error.badfetch"><prompt>Sorry.</prompt><exit/></catch>
  <menu id="main" dtmf="true">
    <prompt bargein="true">Press 1 for sales, 2 for support.
      <audio src="prompt:ivr/please-enter">Please enter.</audio><break time="300ms"/></prompt>
    <choice next="#pin"/>
    <choice next="other.vxml#start"/>
    <noinput count="2"><reprompt/></noinput>
  </menu>
  <form id="pin">
    <var name="greeting" expr="'hi ' + session.callerid"/>
    <field name="code" type="digits?length=4">
      <prompt count="1">Enter your code</prompt>
      <prompt count="2" timeout="2s">Your four digit code, please</prompt>
      <grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar">
        <rule id="r" scope="public"><item repeat="1-2"><one-of><item>1</item><item>2 3</item>
        </one-of></item></rule>
      </grammar>
      <nomatch>Wrong. <reprompt/></nomatch>
      <filled><if cond="code == '0000'"><goto next="#pin"/><elseif cond="code.length &gt; 9"/>
        <log label="x">big</log><else/><assign name="tries" expr="tries + 1"/></if></filled>
    </field>
    <record name="msg" maxtime="30s" finalsilence="3s" dtmfterm="true" beep="true"/>
    <subdialog name="sub" src="#pin" namelist="tries"><param name="p" expr="1"/></subdialog>
    <transfer name="xfer" dest="queue:sales;priority=5;skills=english:3" bridge="false"/>
    <block><value expr="greeting"/><clear namelist="code"/><throw event="my.event"/>
      <submit next="http://127.0.0.1/x" namelist="code tries" method="post"/>
      <disconnect/></block>
    <filled mode="any" namelist="code msg"><return namelist="code"/></filled>
  </form>
</vxml>
"""


def _problems(source: str) -> tuple[str, list[dict[str, object]]]:
    with pytest.raises(VxmlError) as info:
        parse_document(source)
    return info.value.error_id, [p.as_detail() for p in info.value.problems]


def test_the_supported_subset_is_accepted() -> None:
    doc = parse_document(FULL, url="http://127.0.0.1/menu.vxml")
    assert list(doc.dialogs) == ["main", "pin"]
    menu = doc.dialogs["main"]
    assert [keys for keys, _ in doc.choices[menu]] == ["1", "2"]
    field = doc.dialogs["pin"].elements("field")[0]
    digits, srgs = doc.grammars[field]
    assert digits == Digits(4, 4)
    assert isinstance(srgs, Srgs) and srgs.match("231") == "231"
    block = doc.dialogs["pin"].elements("block")[0]
    assert block.name.startswith("_item")


def test_unsupported_element_is_named_with_its_line() -> None:
    source = (
        '<vxml version="2.1">\n<form>\n<block>\n<object classid="x"/>\n</block>\n</form>\n</vxml>'
    )
    error_id, details = _problems(source)
    assert error_id == "unsupported_vxml"
    assert details == [
        {"line": 4, "element": "object", "attribute": None, "message": "<object> is not supported"}
    ]


def test_unsupported_attribute_is_named_with_its_line() -> None:
    source = (
        '<vxml version="2.1">\n<form>\n\n<field name="x" type="digits" modal="true"/>\n'
        "</form></vxml>"
    )
    error_id, details = _problems(source)
    assert error_id == "unsupported_vxml"
    assert details[0]["line"] == 4
    assert details[0]["element"] == "field"
    assert details[0]["attribute"] == "modal"


def test_every_problem_is_listed() -> None:
    source = """<vxml version="2.1">
<form>
  <script>x()</script>
  <block><value expr="1 +"/></block>
  <field name="f" type="date"/>
</form>
</vxml>"""
    _, details = _problems(source)
    assert [(d["line"], d["element"], d["attribute"]) for d in details] == [
        (3, "script", None),
        (4, "value", "expr"),
        (5, "field", "type"),
    ]


def test_malformed_xml_is_invalid_with_its_line() -> None:
    error_id, details = _problems('<vxml version="2.1">\n<form>\n<block>\n</form>\n</vxml>')
    assert error_id == "invalid_vxml"
    assert details[0]["line"] == 4
    assert "mismatched tag" in str(details[0]["message"])


def test_bad_expression_is_invalid_with_its_line() -> None:
    source = '<vxml version="2.1"><form>\n<block>\n<if cond="a ==">x</if></block></form></vxml>'
    error_id, details = _problems(source)
    assert error_id == "invalid_vxml"
    assert details[0] == {
        "line": 3,
        "element": "if",
        "attribute": "cond",
        "message": details[0]["message"],
    }
    assert "bad expression" in str(details[0]["message"])


@pytest.mark.parametrize(
    "source",
    [
        '<!DOCTYPE vxml [<!ENTITY a "aaaa">]><vxml version="2.1"><form/></vxml>',
        '<!DOCTYPE vxml [<!ENTITY x SYSTEM "file:///etc/passwd">]><vxml>&x;</vxml>',
        '<vxml version="2.1"><form><block>&undefined;</block></form></vxml>',
    ],
)
def test_entities_and_internal_dtds_are_refused(source: str) -> None:
    error_id, _ = _problems(source)
    assert error_id == "invalid_vxml"


def test_too_large_documents_are_refused() -> None:
    error_id, details = _problems("<vxml>" + " " * 300_000 + "</vxml>")
    assert error_id == "invalid_vxml"
    assert "larger" in str(details[0]["message"])


@pytest.mark.parametrize(
    ("fragment", "attribute"),
    [
        ('<block><goto next="#nowhere"/></block>', "next"),
        ('<block><audio src="http://example.invalid/a.wav"/></block>', "src"),
        ('<transfer name="t" dest="sip:bob@example.invalid"/>', "dest"),
        ('<field name="f"><grammar mode="voice"/></field>', "mode"),
        (
            '<field name="f" type="digits"><property name="confidencelevel" value="1"/></field>',
            "name",
        ),
        ('<field name="f" type="digits"><prompt count="0">x</prompt></field>', "count"),
        ('<block><var name="if" expr="1"/></block>', "name"),
        ('<record name="r" maxtime="long"/>', "maxtime"),
    ],
)
def test_bad_attribute_values_are_refused(fragment: str, attribute: str) -> None:
    _, details = _problems(f'<vxml version="2.1"><form id="f1">{fragment}</form></vxml>')
    assert details[0]["attribute"] == attribute


def test_elements_in_the_wrong_place_are_refused() -> None:
    _, details = _problems('<vxml version="2.1"><form><choice next="#a"/></form></vxml>')
    assert "not allowed inside <form>" in str(details[0]["message"])


def test_transfer_destinations_map_to_targets() -> None:
    assert transfer_target("queue:sales;priority=5;skills=en:3,billing:1") == TransferTarget(
        TransferKind.QUEUE, "sales", priority=5, skills={"en": 3, "billing": 1}
    )
    assert transfer_target("agent:alice") == TransferTarget(TransferKind.AGENT, "alice")
    assert transfer_target("tel:+1 (555) 123-4567") == TransferTarget(
        TransferKind.NUMBER, "+15551234567"
    )
    assert transfer_target("voicemail:support").kind is TransferKind.VOICEMAIL
    for bad in ("sip:bob@x", "tel:abc", "queue:", "agent:alice;priority=1", "sales"):
        with pytest.raises(ValueError):
            transfer_target(bad)


def test_time_designations() -> None:
    assert seconds("5s") == 5.0
    assert seconds("250ms") == 0.25
    with pytest.raises(ValueError):
        seconds("5")
