"""The Form Interpretation Algorithm over a scripted CallPort."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from helpline.ivr.port import RecordEnd, TransferKind, TransferTarget
from helpline.vxml.fetch import HttpFetcher
from helpline.vxml.interpreter import OutcomeKind, run_vxml
from tests.vxml.fakes import FakePort, MemoryFetcher

NONE = MemoryFetcher({})


def vxml(body: str) -> str:
    return f'<?xml version="1.0"?>\n<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">{body}</vxml>'


PIN = vxml("""
<form id="pin">
  <field name="code" type="digits?length=4">
    <prompt count="1">Enter your code</prompt>
    <prompt count="2">Please enter your four digit code</prompt>
    <noinput>I did not hear you. <reprompt/></noinput>
    <nomatch count="1">That is not four digits. <reprompt/></nomatch>
    <nomatch count="2">Still wrong. <reprompt/></nomatch>
  </field>
  <block>Thanks <value expr="code"/><exit expr="code"/></block>
</form>""")


async def test_noinput_then_nomatch_then_the_right_answer_recovers_as_the_document_says(
    tmp_path: Path,
) -> None:
    port = FakePort(keys=["", "12", "1234"])
    outcome = await run_vxml(port, fetcher=NONE, source=PIN, record_dir=tmp_path)
    assert outcome.kind is OutcomeKind.EXITED
    assert outcome.value == "1234"
    assert port.heard == [
        "tts:Enter your code",
        "tts:I did not hear you.",
        "tts:Please enter your four digit code",
        "tts:That is not four digits.",
        "tts:Please enter your four digit code",
        "tts:Thanks 1234",
    ]
    assert port.log[-1] == "hang_up"
    assert [c["max_digits"] for c in port.collects] == [4, 4, 4]


async def test_event_counters_pick_the_handler_with_the_highest_count_reached() -> None:
    port = FakePort(keys=["1", "2", "3", "4321"])
    outcome = await run_vxml(port, fetcher=NONE, source=PIN)
    assert outcome.value == "4321"
    assert [h for h in port.heard if "wrong" in h or "not four" in h] == [
        "tts:That is not four digits.",
        "tts:Still wrong.",
        "tts:Still wrong.",
    ]


async def test_a_catch_without_reprompt_does_not_replay_the_prompts() -> None:
    source = vxml("""<form><field name="yes" type="boolean">
      <prompt>Say yes or no</prompt><nomatch>Press 1 or 2.</nomatch>
      <filled><exit expr="yes"/></filled></field></form>""")
    port = FakePort(keys=["7", "2"])
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.value is False
    assert port.heard == ["tts:Say yes or no", "tts:Press 1 or 2."]


async def test_without_handlers_noinput_and_nomatch_reprompt() -> None:
    source = vxml("""<form><field name="n" type="number"><prompt>Amount?</prompt>
      <filled><exit expr="n * 2"/></filled></field></form>""")
    port = FakePort(keys=["", "x", "12*5"])
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.value == 25.0
    assert port.heard == ["tts:Amount?"] * 3


MENU = vxml("""
<property name="timeout" value="3s"/><property name="interdigittimeout" value="2s"/>
<menu id="main" dtmf="true">
  <prompt><audio src="prompt:ivr/please-enter">Please choose</audio>
    1 sales, 2 support<break time="500ms"/><audio src="prompt:ivr/missing">Or wait</audio></prompt>
  <choice next="#sales"/>
  <choice next="#support"/>
  <nomatch>Not an option.<reprompt/></nomatch>
</menu>
<form id="sales"><transfer name="t" dest="queue:sales;priority=3;skills=english:2"/></form>
<form id="support"><var name="who" expr="'bob'"/>
  <transfer name="t" destexpr="'agent:' + who" bridge="true"/></form>
""")


async def test_menu_choices_lead_to_transfers_mapped_to_targets() -> None:
    port = FakePort(keys=["9", "1"])
    outcome = await run_vxml(port, fetcher=NONE, source=MENU)
    assert outcome.kind is OutcomeKind.TRANSFERRED
    target = TransferTarget(TransferKind.QUEUE, "sales", priority=3, skills={"english": 2})
    assert outcome.transfer == port.transferred == target
    assert not outcome.bridge
    assert not port.hung_up
    prompt = ["prompt:ivr/please-enter", "tts:1 sales, 2 support", "silence", "tts:Or wait"]
    assert port.heard == [*prompt, "tts:Not an option.", *prompt]
    assert port.collects[0] == {
        "max_digits": 1,
        "terminator": "#",
        "first_timeout": 3.0,
        "inter_timeout": 2.0,
    }


async def test_transfer_destexpr_names_an_agent_for_a_bridged_transfer() -> None:
    port = FakePort(keys=["2"])
    outcome = await run_vxml(port, fetcher=NONE, source=MENU)
    assert outcome.transfer == TransferTarget(TransferKind.AGENT, "bob")
    assert outcome.bridge


async def test_a_bad_transfer_destination_throws_a_catchable_event() -> None:
    source = vxml("""<form><transfer name="t" destexpr="'sip:x@y'">
      <catch event="error.connection.baddestination"><exit expr="_event"/></catch>
      </transfer></form>""")
    outcome = await run_vxml(FakePort(), fetcher=NONE, source=source)
    assert outcome.value == "error.connection.baddestination"


SUB = vxml("""
<form id="main">
  <subdialog name="res" src="#getpin"><param name="prefix" expr="'PIN-'"/>
    <filled><exit expr="res.pin + '/' + res.tries"/></filled></subdialog>
</form>
<form id="getpin">
  <var name="prefix" expr="'unused'"/><var name="tries" expr="0"/>
  <field name="code" type="digits?length=2"><prompt>Code?</prompt>
    <nomatch><assign name="tries" expr="tries + 1"/><reprompt/></nomatch>
    <filled><var name="pin" expr="prefix + code"/><return namelist="pin tries"/></filled>
  </field>
</form>""")


async def test_subdialog_gets_params_and_returns_its_namelist() -> None:
    port = FakePort(keys=["123", "42"])
    outcome = await run_vxml(port, fetcher=NONE, source=SUB)
    assert outcome.kind is OutcomeKind.EXITED
    assert outcome.value == "PIN-42/1"


async def test_subdialog_from_another_document_and_goto_between_documents() -> None:
    main = vxml("""<var name="d" expr="'main'"/><form id="f">
      <subdialog name="s" src="lib/ask.vxml#ask"/>
      <block><goto next="lib/end.vxml"/></block></form>""")
    ask = vxml("""<form id="other"><block>wrong</block></form>
      <form id="ask"><block><return namelist="d"/></block></form>""")
    ask = ask.replace("<form id=", '<var name="d" expr="\'ask\'"/><form id=', 1)
    end = vxml("""<form><block><exit expr="typeofd"/></block></form>""")
    end = end.replace("typeofd", "'end'")
    fetcher = MemoryFetcher(
        {"http://127.0.0.1/ivr/lib/ask.vxml": ask, "http://127.0.0.1/ivr/lib/end.vxml": end}
    )
    outcome = await run_vxml(
        FakePort(), fetcher=fetcher, source=main, url="http://127.0.0.1/ivr/main.vxml"
    )
    assert outcome.value == "end"
    assert [r[0] for r in fetcher.requests] == [
        "http://127.0.0.1/ivr/lib/ask.vxml",
        "http://127.0.0.1/ivr/lib/end.vxml",
    ]


async def test_record_passes_its_limits_and_fills_the_variable(tmp_path: Path) -> None:
    source = vxml("""<form><record name="msg" beep="true" maxtime="10s" finalsilence="2s">
      <prompt>Speak after the tone</prompt><noinput>Nothing recorded.</noinput>
      <filled><exit expr="msg$.duration + ':' + msg$.termchar"/></filled></record></form>""")
    port = FakePort(recordings=[(0.0, RecordEnd.SILENCE, None), (3.5, RecordEnd.KEY, "#")])
    outcome = await run_vxml(port, fetcher=NONE, source=source, record_dir=tmp_path)
    assert outcome.value == "3500:#"
    assert port.log.count("record:10.0:2.0:0123456789*#") == 2
    assert port.heard == ["tts:Speak after the tone", "tone", "tts:Nothing recorded.", "tone"]
    names = ["vxml-call-1-1.wav", "vxml-call-1-2.wav"]
    assert [(tmp_path / n).exists() for n in names] == [True, True]


async def test_caller_hang_up_runs_the_hangup_handler_and_ends_without_hanging_up() -> None:
    source = vxml("""<var name="bye" expr="0"/><form><field name="x" type="digits">
      <prompt>Digits?</prompt>
      <catch event="connection.disconnect.hangup"><assign name="bye" expr="1"/>
      <log expr="'gone ' + bye"/></catch></field></form>""")
    port = FakePort(keys=[])
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.kind is OutcomeKind.CALLER_HUNG_UP
    assert not port.hung_up


async def test_variables_assign_if_elseif_else_and_goto_nextitem() -> None:
    source = vxml("""<var name="total" expr="0"/><form>
      <var name="i" expr="0"/>
      <block name="loop"><assign name="i" expr="i + 1"/><assign name="total" expr="total + i"/>
        <if cond="i &lt; 3"><clear namelist="loop"/>
        <elseif cond="i == 3"/><goto nextitem="done"/>
        <else/><exit expr="'never'"/></if></block>
      <block name="skipped"><exit expr="'skipped'"/></block>
      <block name="done"><exit expr="'total=' + document.total"/></block>
    </form>""")
    outcome = await run_vxml(FakePort(), fetcher=NONE, source=source)
    assert outcome.value == "total=6"


async def test_throw_and_catch_with_message_and_error_scoping() -> None:
    source = vxml("""<catch event="my"><exit expr="_event + ':' + _message"/></catch>
      <form><block><throw event="my.custom" message="hello"/></block></form>""")
    outcome = await run_vxml(FakePort(), fetcher=NONE, source=source)
    assert outcome.value == "my.custom:hello"


async def test_uncaught_semantic_error_fails_the_run_and_hangs_up() -> None:
    source = vxml('<form><block><value expr="nosuch + 1"/></block></form>')
    port = FakePort()
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.event == "error.semantic"
    assert port.hung_up


async def test_an_error_handler_catches_semantic_errors() -> None:
    source = vxml("""<form><block><assign name="undeclared" expr="1"/></block>
      <error><exit expr="'handled ' + _event"/></error></form>""")
    outcome = await run_vxml(FakePort(), fetcher=NONE, source=source)
    assert outcome.value == "handled error.semantic"


async def test_an_endless_loop_is_stopped() -> None:
    source = vxml('<form id="a"><block><goto next="#a"/></block></form>')
    port = FakePort()
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.event == "error.limit"
    assert port.hung_up


async def test_disconnect_plays_queued_prompts_then_hangs_up() -> None:
    source = vxml(
        '<form><block>Goodbye<audio src="prompt:ivr/goodbye"/><disconnect/></block></form>'
    )
    port = FakePort()
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.kind is OutcomeKind.DISCONNECTED
    assert port.heard == ["tts:Goodbye", "prompt:ivr/goodbye"]
    assert port.log == ["play", "hang_up"]


async def test_form_level_filled_runs_when_all_its_items_are_filled() -> None:
    source = vxml("""<form>
      <field name="a" type="digits?length=1"><prompt>A</prompt></field>
      <field name="b" type="digits?length=1"><prompt>B</prompt></field>
      <filled mode="any" namelist="a"><log expr="'a=' + a"/><prompt>got a</prompt></filled>
      <filled><exit expr="a + b"/></filled></form>""")
    port = FakePort(keys=["1", "2"])
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.value == "12"
    assert port.heard == ["tts:A", "tts:got a", "tts:B"]


async def test_srgs_grammar_fills_a_field_and_lastresult() -> None:
    source = vxml("""<form><field name="choice">
      <grammar mode="dtmf" root="r"><rule id="r"><one-of><item>1 1</item>
        <item repeat="2-3">9</item></one-of></rule></grammar>
      <filled><exit expr="choice + '/' + application.lastresult$.utterance"/></filled>
      </field></form>""")
    port = FakePort(keys=["1", "999"])
    outcome = await run_vxml(port, fetcher=NONE, source=source)
    assert outcome.value == "999/999"
    assert port.collects[0]["max_digits"] == 3


async def test_session_variables_describe_the_call() -> None:
    source = vxml("""<form><block>
      <exit expr="session.connection.remote.uri + '>' + session.calledid + ' ' + session.tenant"/>
      </block></form>""")
    outcome = await run_vxml(FakePort(), fetcher=NONE, source=source, session={"tenant": "demo"})
    assert outcome.value == "+4930111>1001 demo"


class _Server(BaseHTTPRequestHandler):
    posted: list[dict[str, list[str]]]

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/voicexml+xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/ivr/start.vxml":
            self._send(200, START)
        elif self.path == "/ivr/big.vxml":
            self._send(200, vxml("<form><block>" + "x" * 300_000 + "</block></form>"))
        else:
            self._send(404, "")

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = parse_qs(self.rfile.read(length).decode())
        self.posted.append(form)
        balance = "12" if form.get("acct") == ["5678"] else "0"
        self._send(
            200,
            vxml(f"""<form><block>Your balance is <value expr="'{balance}'"/>
          <exit expr="'{balance}'"/></block></form>"""),
        )

    def log_message(self, format: str, *args: object) -> None:
        pass


START = vxml("""<form id="ask">
  <field name="acct" type="digits?length=4"><prompt>Account?</prompt></field>
  <block><submit next="balance.vxml" namelist="acct" method="post"/></block>
</form>""")


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    posted: list[dict[str, list[str]]] = []
    handler = type("Handler", (_Server,), {"posted": posted})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/ivr/", posted
    httpd.shutdown()
    httpd.server_close()
    thread.join()


async def test_submit_posts_the_namelist_and_runs_the_answer(
    server: tuple[str, list[dict[str, list[str]]]],
) -> None:
    base, posted = server
    port = FakePort(keys=["5678"])
    fetcher = HttpFetcher(allowed=[base])
    outcome = await run_vxml(port, fetcher=fetcher, url=base + "start.vxml")
    assert outcome.value == "12"
    assert posted == [{"acct": ["5678"]}]
    assert port.heard == ["tts:Account?", "tts:Your balance is 12"]


async def test_fetches_outside_the_allowed_prefix_missing_or_too_big_are_badfetch(
    server: tuple[str, list[dict[str, list[str]]]],
) -> None:
    base, _ = server
    fetcher = HttpFetcher(allowed=[base], max_bytes=200_000)
    for target in ("http://127.0.0.2/x.vxml", "missing.vxml", "big.vxml", "../secret.vxml"):
        source = vxml(f"""<catch event="error.badfetch"><exit expr="_message"/></catch>
          <form><block><goto next="{target}"/></block></form>""")
        outcome = await run_vxml(FakePort(), fetcher=fetcher, source=source, url=base + "a.vxml")
        assert outcome.kind is OutcomeKind.EXITED, target
        assert outcome.value, target


async def test_file_documents_are_read_under_the_allowed_directory(tmp_path: Path) -> None:
    (tmp_path / "start.vxml").write_text(
        vxml('<form><block><goto next="next.vxml"/></block></form>')
    )
    (tmp_path / "next.vxml").write_text(vxml("<form><block><exit expr=\"'next'\"/></block></form>"))
    fetcher = HttpFetcher(allowed=[tmp_path.as_uri() + "/"])
    outcome = await run_vxml(FakePort(), fetcher=fetcher, url=(tmp_path / "start.vxml").as_uri())
    assert outcome.value == "next"


async def test_an_unusable_first_document_fails_and_hangs_up() -> None:
    port = FakePort()
    outcome = await run_vxml(port, fetcher=NONE, url="http://127.0.0.1/none.vxml")
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.event == "error.badfetch"
    assert port.hung_up


async def test_a_hang_up_while_recording_keeps_the_recording_for_the_handler(
    tmp_path: Path,
) -> None:
    source = vxml("""<var name="kept" expr="''"/><form><record name="msg" dtmfterm="false">
      <catch event="connection.disconnect.hangup"><assign name="kept" expr="msg"/>
      <submit next="http://127.0.0.1/saved.vxml" namelist="kept"/></catch></record></form>""")
    port = FakePort(recordings=[(2.0, RecordEnd.HANGUP, None)])
    fetcher = MemoryFetcher({"http://127.0.0.1/saved.vxml": PIN})
    outcome = await run_vxml(port, fetcher=fetcher, source=source, record_dir=tmp_path)
    assert outcome.kind is OutcomeKind.CALLER_HUNG_UP
    assert port.log == ["record:60.0:4.0:"]
    assert fetcher.requests == [
        ("http://127.0.0.1/saved.vxml", "GET", {"kept": str(tmp_path / "vxml-call-1-1.wav")})
    ]
    assert not port.hung_up
