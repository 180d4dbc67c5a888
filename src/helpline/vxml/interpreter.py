"""Runs VoiceXML documents over a :class:`~helpline.ivr.port.CallPort`.

Theory of operation: :func:`run_vxml` loads the first document (given as text or
fetched) and runs its dialogs with the Form Interpretation Algorithm of W3C VoiceXML 2.0
§2.1.6 and Appendix C, for the supported subset (:mod:`helpline.vxml.parser`):

* select: the first form item whose variable is undefined and whose ``cond`` holds
  (or the item a ``<goto nextitem>`` named); none left ends the form, and the end of a
  form that does not go anywhere ends the document (the interpreter exits);
* collect: unless the last iteration ended in a catch without ``<reprompt>``, the item's
  prompt counter is incremented and its prompts with the highest ``count`` not above it
  are queued (§4.1.6); queued prompts play when the interpreter waits (collect, record,
  transfer, exit), barge-in letting a key interrupt them;
* process: keys matching a grammar fill the item (``name$`` shadow variable and
  ``application.lastresult$``), then its ``<filled>`` and the form's ``<filled>``
  (``mode`` all/any, §2.4) run; no keys throw ``noinput``, unmatched keys ``nomatch``.

Events (§5.2) are caught by the item's, the form's then the document's handlers: the
event counter per item and event is incremented and the handler with the highest
``count`` not above it wins (§5.2.4). Without a handler, ``noinput``/``nomatch``/``help``
reprompt, a caller hang-up ends the run, anything else (``error.*``) ends it as failed.
Expressions are evaluated by :mod:`helpline.vxml.expr` in the scopes session ->
application -> document -> dialog -> anonymous (§5.1).

Documents reached by ``<goto>``, ``<submit>``, ``<choice next>`` and ``<subdialog>`` are
fetched through a :class:`Fetcher` (:class:`HttpFetcher`: ``file:`` and ``http(s):`` URLs
under allowed prefixes, with a timeout and a size limit, no redirects); a fetch that
fails throws ``error.badfetch`` in the document that asked. A run is bounded in steps,
fetches and subdialog depth, so no document can loop forever without the caller.

Defaults: ``timeout`` 5s, ``interdigittimeout`` 3s, ``termchar`` ``#``, barge-in on;
``<record>`` defaults to 60 s maximum, 4 s final silence, any key ending it. A
``<transfer>`` (``blind`` or ``bridge``) hands the call to call control and ends the
run either way: the bridge is call control's business. The run hangs the call up when
the document exits, disconnects or fails; never after a transfer or the caller's
hang-up.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Final
from urllib.parse import urldefrag, urljoin

from helpline.ivr.port import CallGone, CallPort, RecordEnd, TransferTarget
from helpline.media.backend import PlaybackEnd, SilenceSource, Source, ToneSource
from helpline.media.tones import Cadence
from helpline.vxml.expr import (
    UNDEFINED,
    Scope,
    SemanticError,
    Value,
    evaluate,
    to_boolean,
    to_string,
    to_value,
)
from helpline.vxml.fetch import Fetcher, FetchError
from helpline.vxml.parser import (
    Document,
    Element,
    VxmlError,
    parse_document,
    seconds,
    transfer_target,
)

log = logging.getLogger(__name__)

MAX_STEPS: Final = 20000
MAX_FETCHES: Final = 100
MAX_SUBDIALOG_DEPTH: Final = 8
_BEEP: Final = ToneSource(Cadence((1000,), 0.4), duration=0.4)
_BREAKS: Final = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.8}
_HANDLER_EVENTS: Final = {"noinput": "noinput", "nomatch": "nomatch", "help": "help"}
_HANGUP: Final = "connection.disconnect.hangup"
_INPUT_ITEMS: Final = ("field", "record", "transfer", "subdialog")


class OutcomeKind(Enum):
    """How a run ended."""

    TRANSFERRED = "transferred"
    EXITED = "exited"
    DISCONNECTED = "disconnected"
    CALLER_HUNG_UP = "caller_hung_up"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of a run: the transfer target, the ``<exit>`` value, or the uncaught
    event of a failure."""

    kind: OutcomeKind
    transfer: TransferTarget | None = None
    bridge: bool = False
    value: Value = None
    event: str | None = None
    message: str = ""


class _Thrown(Exception):
    def __init__(self, event: str, message: str = "") -> None:
        super().__init__(event)
        self.event = event
        self.message = message


class _Goto(Exception):
    def __init__(self, doc: Document, dialog: str | None, *, same: bool) -> None:
        super().__init__(dialog)
        self.doc, self.dialog, self.same = doc, dialog, same


class _NextItem(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _End(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.kind.value)
        self.outcome = outcome


class _Return(Exception):
    def __init__(self, value: dict[str, Value] | None, event: str | None) -> None:
        super().__init__(event)
        self.value, self.event = value, event


@dataclass(slots=True)
class _Form:
    """The FIA's state for one dialog."""

    el: Element
    doc: Document
    scope: Scope
    prompt_counts: dict[str, int] = field(default_factory=dict)
    event_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    reprompt: bool = True
    next_item: str | None = None

    def items(self) -> list[Element]:
        return self.el.elements("block", *_INPUT_ITEMS)


class _Run:
    def __init__(self, port: CallPort, fetcher: Fetcher, record_dir: Path) -> None:
        self.port = port
        self.fetcher = fetcher
        self.record_dir = record_dir
        self.session = Scope("session")
        self.application = Scope("application", self.session)
        self.queue: list[tuple[list[Source], bool]] = []
        self.prompt_timeout: float | None = None
        self.steps = self.fetches = self.depth = self.recordings = 0
        self.gone = False

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _End(Outcome(OutcomeKind.FAILED, event="error.limit", message="step limit"))

    def eval(self, expr: str, scope: Scope) -> Value:
        try:
            return evaluate(expr, scope)
        except SemanticError as exc:
            raise _Thrown("error.semantic", str(exc)) from None

    def cond(self, el: Element, scope: Scope) -> bool:
        expr = el.get("cond")
        return expr is None or to_boolean(self.eval(expr, scope))

    # --- documents ------------------------------------------------------------------

    async def load(
        self,
        ref: str,
        base: Document,
        *,
        method: str = "GET",
        data: Mapping[str, str] | None = None,
    ) -> tuple[Document, str | None]:
        if ref.startswith("#"):
            return base, ref[1:]
        self.fetches += 1
        if self.fetches > MAX_FETCHES:
            raise _End(Outcome(OutcomeKind.FAILED, event="error.limit", message="fetch limit"))
        url, fragment = urldefrag(urljoin(base.url, ref))
        try:
            fetched = await self.fetcher.fetch(url, method=method, data=data)
            doc = parse_document(fetched.text, url=fetched.url)
        except (FetchError, VxmlError) as exc:
            raise _Thrown("error.badfetch", str(exc)) from None
        if fragment and fragment not in doc.dialogs:
            raise _Thrown("error.badfetch", f"no dialog {fragment!r} in {url}")
        return doc, fragment or None

    def doc_scope(self, doc: Document) -> Scope:
        scope = Scope("document", self.application)
        for var in doc.root.elements("var"):
            expr = var.get("expr")
            scope.declare(var.name, self.eval(expr, scope) if expr else UNDEFINED)
        return scope

    async def run_document(
        self, doc: Document, dialog: str | None, params: dict[str, Value] | None
    ) -> None:
        """Run ``doc`` from ``dialog`` until it leaves the document chain; a subdialog
        context ends with :class:`_Return`."""
        scope = self.doc_scope(doc)
        while True:
            el = doc.dialogs[dialog] if dialog else next(iter(doc.dialogs.values()))
            try:
                await self.dialog(el, doc, scope, params)
                if self.depth:
                    raise _Return(None, "error.semantic")
                await self.flush_safely()
                self.port.hang_up()
                raise _End(Outcome(OutcomeKind.EXITED))
            except _Goto as goto:
                if not goto.same:
                    doc, scope = goto.doc, self.doc_scope(goto.doc)
                dialog, params = goto.dialog, None

    # --- dialogs --------------------------------------------------------------------

    async def dialog(
        self, el: Element, doc: Document, doc_scope: Scope, params: dict[str, Value] | None
    ) -> None:
        form = _Form(el, doc, Scope("dialog", doc_scope))
        if el.tag == "menu":
            await self.menu(form)
            return
        for var in el.elements("var"):
            if params is not None and var.name in params:
                form.scope.declare(var.name, params[var.name])
            else:
                expr = var.get("expr")
                value = self.eval(expr, form.scope) if expr else UNDEFINED
                form.scope.declare(var.name, value)
        for each in form.items():
            expr = each.get("expr")
            form.scope.declare(each.name, self.eval(expr, form.scope) if expr else UNDEFINED)
        while True:
            self.step()
            item = self.select(form)
            if item is None:
                return
            event: _Thrown | None = None
            try:
                await self.collect(form, item)
                form.reprompt = True
            except _Thrown as thrown:
                event = thrown
            except CallGone:
                event = self.caller_gone()
            except _NextItem as nxt:
                form.next_item, form.reprompt = nxt.name, True
            while event is not None:
                self.step()
                try:
                    await self.catch(form, item, event)
                    event = None
                except _Thrown as thrown:
                    event = thrown
                except CallGone:
                    raise _End(Outcome(OutcomeKind.CALLER_HUNG_UP)) from None
                except _NextItem as nxt:
                    form.next_item, form.reprompt, event = nxt.name, True, None

    def select(self, form: _Form) -> Element | None:
        items = form.items()
        if form.next_item is not None:
            name, form.next_item = form.next_item, None
            for item in items:
                if item.name == name:
                    return item
            raise _Thrown("error.badfetch", f"no form item {name!r}")
        for item in items:
            if form.scope.vars.get(item.name) is UNDEFINED and self.cond(item, form.scope):
                return item
        return None

    async def collect(self, form: _Form, item: Element) -> None:
        if form.reprompt:
            count = form.prompt_counts.get(item.name, 0) + 1
            form.prompt_counts[item.name] = count
            await self.queue_prompts(item, form.scope, count, form)
        form.reprompt = False
        if item.tag == "block":
            form.scope.vars[item.name] = True
            await self.execute(item.children, Scope("anonymous", form.scope), form)
            return
        if item.tag == "field":
            keys = await self.input(form, item, max(g.max_keys for g in form.doc.grammars[item]))
            for grammar in form.doc.grammars[item]:
                value = grammar.match(keys)
                if value is not None:
                    result = {
                        "utterance": keys,
                        "inputmode": "dtmf",
                        "confidence": 1.0,
                        "interpretation": value,
                    }
                    self.application.declare("lastresult$", to_value(result))
                    form.scope.declare(item.name + "$", to_value(result))
                    await self.filled(form, item, value)
                    return
            raise _Thrown("nomatch")
        if item.tag == "record":
            await self.record(form, item)
        elif item.tag == "transfer":
            await self.transfer(form, item)
        else:
            await self.subdialog(form, item)

    async def input(self, form: _Form, el: Element, max_keys: int) -> str:
        await self.flush()
        timeout = self.prompt_timeout or seconds(self.prop(form, el, "timeout", "5s"))
        self.prompt_timeout = None
        keys = await self.port.collect(
            max_digits=max_keys,
            terminator=self.prop(form, el, "termchar", "#"),
            first_timeout=timeout,
            inter_timeout=seconds(self.prop(form, el, "interdigittimeout", "3s")),
        )
        if not keys:
            raise _Thrown("noinput")
        return keys

    def prop(self, form: _Form, el: Element | None, name: str, default: str) -> str:
        for holder in (el, form.el, form.doc.root):
            for prop in holder.elements("property") if holder is not None else ():
                if prop.get("name") == name:
                    return prop.get("value", default) or ""
        return default

    async def filled(self, form: _Form, item: Element, value: Value) -> None:
        form.scope.vars[item.name] = value
        for filled in item.elements("filled"):
            await self.execute(filled.children, Scope("anonymous", form.scope), form)
        inputs = [i.name for i in form.items() if i.tag in _INPUT_ITEMS]
        for filled in form.el.elements("filled"):
            names = (filled.get("namelist") or "").split() or inputs
            if item.name not in names:
                continue
            done = [form.scope.vars.get(n, UNDEFINED) is not UNDEFINED for n in names]
            if filled.get("mode", "all") == "any" or all(done):
                await self.execute(filled.children, Scope("anonymous", form.scope), form)

    async def menu(self, form: _Form) -> None:
        choices = form.doc.choices[form.el]
        longest = max((len(keys) for keys, _ in choices), default=1)
        while True:
            self.step()
            event: _Thrown | None = None
            try:
                if form.reprompt:
                    count = form.prompt_counts.get("", 0) + 1
                    form.prompt_counts[""] = count
                    await self.queue_prompts(form.el, form.scope, count, form)
                form.reprompt = False
                keys = await self.input(form, form.el, longest)
                for dtmf, choice in choices:
                    if dtmf == keys:
                        target = choice.get("next") or to_string(
                            self.eval(choice.get("expr") or "''", form.scope)
                        )
                        doc, dialog = await self.load(target, form.doc)
                        raise _Goto(doc, dialog, same=doc is form.doc)
                raise _Thrown("nomatch")
            except _Thrown as thrown:
                event = thrown
            except CallGone:
                event = self.caller_gone()
            while event is not None:
                self.step()
                try:
                    await self.catch(form, None, event)
                    event = None
                except _Thrown as thrown:
                    event = thrown
                except CallGone:
                    raise _End(Outcome(OutcomeKind.CALLER_HUNG_UP)) from None

    # --- input items ----------------------------------------------------------------

    async def record(self, form: _Form, item: Element) -> None:
        await self.flush()
        if item.get("beep") == "true":
            await self.port.play([_BEEP])
        self.recordings += 1
        path = self.record_dir / f"vxml-{self.port.call_id}-{self.recordings}.wav"
        result = await self.port.record(
            path,
            max_seconds=seconds(item.get("maxtime") or "60s"),
            silence_seconds=seconds(item.get("finalsilence") or "4s"),
            terminators="0123456789*#" if item.get("dtmfterm", "true") == "true" else "",
        )
        if result.duration <= 0 and result.ended_by is not RecordEnd.HANGUP:
            raise _Thrown("noinput")
        size = result.path.stat().st_size if result.path.exists() else 0
        shadow = {
            "duration": result.duration * 1000,
            "size": size,
            "termchar": result.key,
            "maxtime": result.ended_by is RecordEnd.MAX_LENGTH,
        }
        form.scope.declare(item.name + "$", to_value(shadow))
        form.scope.vars[item.name] = str(result.path)
        if result.ended_by is RecordEnd.HANGUP:
            raise self.caller_gone()
        await self.filled(form, item, str(result.path))

    async def transfer(self, form: _Form, item: Element) -> None:
        dest = item.get("dest") or to_string(self.eval(item.get("destexpr") or "''", form.scope))
        try:
            target = transfer_target(dest)
        except ValueError as exc:
            raise _Thrown("error.connection.baddestination", str(exc)) from None
        await self.flush()
        await self.port.transfer(target)
        bridge = item.get("bridge") == "true" or item.get("type") == "bridge"
        raise _End(Outcome(OutcomeKind.TRANSFERRED, transfer=target, bridge=bridge))

    async def subdialog(self, form: _Form, item: Element) -> None:
        params: dict[str, Value] = {}
        for param in item.elements("param"):
            expr = param.get("expr")
            value = self.eval(expr, form.scope) if expr else param.get("value", "")
            params[param.name] = value
        for name in (item.get("namelist") or "").split():
            params[name] = self.eval(name, form.scope)
        doc, dialog = await self.load(item.get("src") or "#", form.doc)
        if self.depth >= MAX_SUBDIALOG_DEPTH:
            raise _Thrown("error.semantic", "subdialogs nested too deep")
        self.depth += 1
        try:
            await self.run_document(doc, dialog, params)
        except _Return as ret:
            if ret.event is not None:
                raise _Thrown(ret.event) from None
            await self.filled(form, item, ret.value or {})
        finally:
            self.depth -= 1

    # --- events ---------------------------------------------------------------------

    def caller_gone(self) -> _Thrown:
        """The hang-up event, thrown into the document once; the run ends after it."""
        if self.gone:
            raise _End(Outcome(OutcomeKind.CALLER_HUNG_UP))
        self.gone = True
        return _Thrown(_HANGUP)

    async def catch(self, form: _Form, item: Element | None, thrown: _Thrown) -> None:
        key = (item.name if item is not None else "", thrown.event)
        count = form.event_counts.get(key, 0) + 1
        form.event_counts[key] = count
        candidates: list[tuple[int, Element]] = []
        for holder in (item, form.el, form.doc.root):
            for handler in holder.elements("catch", "error", *_HANDLER_EVENTS) if holder else ():
                names = (
                    handler.get("event", "").split() if handler.tag == "catch" else [handler.tag]
                )
                if names and not any(
                    thrown.event == n or thrown.event.startswith(n + ".") for n in names
                ):
                    continue
                wanted = int(handler.get("count", "1"))
                if wanted <= count and self.cond(handler, form.scope):
                    candidates.append((wanted, handler))
        if not candidates:
            await self.default_handler(form, thrown)
            return
        best = max(wanted for wanted, _ in candidates)
        handler = next(h for wanted, h in candidates if wanted == best)
        scope = Scope("anonymous", form.scope)
        scope.declare("_event", thrown.event)
        scope.declare("_message", thrown.message)
        await self.execute(handler.children, scope, form)
        if thrown.event == _HANGUP:
            raise _End(Outcome(OutcomeKind.CALLER_HUNG_UP))

    async def default_handler(self, form: _Form, thrown: _Thrown) -> None:
        if thrown.event in _HANDLER_EVENTS:
            form.reprompt = True
            return
        if thrown.event == _HANGUP:
            raise _End(Outcome(OutcomeKind.CALLER_HUNG_UP))
        if thrown.event == "cancel":
            return
        log.warning("VoiceXML event %s not caught: %s", thrown.event, thrown.message)
        raise _End(Outcome(OutcomeKind.FAILED, event=thrown.event, message=thrown.message))

    # --- executable content ---------------------------------------------------------

    async def execute(self, nodes: Sequence[Element | str], scope: Scope, form: _Form) -> None:
        implicit: list[Element | str] = []
        for node in nodes:
            self.step()
            if isinstance(node, str) or node.tag in ("audio", "value", "break"):
                implicit.append(node)
                continue
            if implicit:
                await self.add_prompt(implicit, scope, bargein=self.bargein(form, None))
                implicit = []
            tag = node.tag
            if tag == "prompt":
                if self.cond(node, scope):
                    await self.add_prompt(node.children, scope, bargein=self.bargein(form, node))
            elif tag == "var":
                expr = node.get("expr")
                scope.declare(node.name, self.eval(expr, scope) if expr else UNDEFINED)
            elif tag == "assign":
                try:
                    scope.assign(node.name, self.eval(node.get("expr") or "", scope))
                except SemanticError as exc:
                    raise _Thrown("error.semantic", str(exc)) from None
            elif tag == "if":
                await self.branch(node, scope, form)
            elif tag == "clear":
                self.clear(form, (node.get("namelist") or "").split())
            elif tag == "reprompt":
                form.reprompt = True
            elif tag == "log":
                expr = node.get("expr")
                text = to_string(self.eval(expr, scope)) if expr else ""
                log.info("vxml log %s: %s", node.get("label", ""), self.text(node, scope) or text)
            elif tag == "throw":
                raise _Thrown(node.get("event") or "", node.get("message") or "")
            else:
                await self.transition(node, scope, form)
        if implicit:
            await self.add_prompt(implicit, scope, bargein=self.bargein(form, None))

    async def transition(self, node: Element, scope: Scope, form: _Form) -> None:
        tag = node.tag
        if tag == "goto":
            if node.get("nextitem"):
                raise _NextItem(node.get("nextitem") or "")
            target = node.get("next") or to_string(self.eval(node.get("expr") or "''", scope))
            doc, dialog = await self.load(target, form.doc)
            raise _Goto(doc, dialog, same=doc is form.doc)
        if tag == "submit":
            target = node.get("next") or to_string(self.eval(node.get("expr") or "''", scope))
            data = {n: to_string(self.eval(n, scope)) for n in (node.get("namelist") or "").split()}
            method = (node.get("method") or "get").upper()
            doc, dialog = await self.load(target, form.doc, method=method, data=data)
            raise _Goto(doc, dialog, same=doc is form.doc)
        names = (node.get("namelist") or "").split()
        values: dict[str, Value] = {n.split(".")[-1]: self.eval(n, scope) for n in names}
        if tag == "return":
            raise _Return(values, node.get("event"))
        await self.flush_safely()
        if tag == "exit":
            expr = node.get("expr")
            value: Value = self.eval(expr, scope) if expr else (values or None)
            self.port.hang_up()
            raise _End(Outcome(OutcomeKind.EXITED, value=value))
        self.port.hang_up()
        raise _End(Outcome(OutcomeKind.DISCONNECTED, value=values or None))

    async def branch(self, node: Element, scope: Scope, form: _Form) -> None:
        active = to_boolean(self.eval(node.get("cond") or "false", scope))
        done = active
        body: list[Element | str] = []
        for child in node.children:
            if isinstance(child, Element) and child.tag in ("elseif", "else"):
                if done and active:
                    break
                active = not done and (child.tag == "else" or self.cond(child, scope))
                done = done or active
            elif active:
                body.append(child)
        await self.execute(body, scope, form)

    def clear(self, form: _Form, names: list[str]) -> None:
        items = {i.name for i in form.items()}
        for name in names or sorted(items):
            if name in items:
                form.prompt_counts.pop(name, None)
                for key in [k for k in form.event_counts if k[0] == name]:
                    del form.event_counts[key]
            if form.scope.find(name) is None:
                raise _Thrown("error.semantic", f"{name!r} is not declared")
            form.scope.assign(name, UNDEFINED)

    # --- prompts --------------------------------------------------------------------

    def bargein(self, form: _Form, prompt: Element | None) -> bool:
        value = prompt.get("bargein") if prompt is not None else None
        return (value or self.prop(form, None, "bargein", "true")) == "true"

    async def queue_prompts(self, el: Element, scope: Scope, count: int, form: _Form) -> None:
        prompts = [p for p in el.elements("prompt") if self.cond(p, scope)]
        eligible = [int(p.get("count", "1")) for p in prompts]
        best = max((c for c in eligible if c <= count), default=None)
        for prompt, wanted in zip(prompts, eligible, strict=True):
            if wanted == best:
                if prompt.get("timeout"):
                    self.prompt_timeout = seconds(prompt.get("timeout") or "")
                await self.add_prompt(prompt.children, scope, bargein=self.bargein(form, prompt))

    def text(self, el: Element, scope: Scope) -> str:
        parts = []
        for node in el.children:
            if isinstance(node, str):
                parts.append(node)
            elif node.tag == "value":
                parts.append(to_string(self.eval(node.get("expr") or "''", scope)))
        return " ".join(" ".join(parts).split())

    async def add_prompt(
        self, nodes: Sequence[Element | str], scope: Scope, *, bargein: bool
    ) -> None:
        sources: list[Source] = []
        words: list[str] = []

        async def speak() -> None:
            text = " ".join(" ".join(words).split())
            words.clear()
            if text:
                sources.append(await self.port.speak(text))

        async def walk(items: Sequence[Element | str]) -> None:
            for node in items:
                if isinstance(node, str):
                    words.append(node)
                elif node.tag == "value":
                    words.append(to_string(self.eval(node.get("expr") or "''", scope)))
                elif node.tag == "break":
                    await speak()
                    time = node.get("time")
                    pause = seconds(time) if time else _BREAKS.get(node.get("strength") or "", 1.2)
                    if pause > 0:
                        sources.append(SilenceSource(pause))
                elif node.tag == "audio":
                    await speak()
                    try:
                        sources.extend(self.port.prompts([(node.get("src") or "")[7:]]))
                    except LookupError:
                        await walk(node.children)
                        await speak()

        await walk(nodes)
        await speak()
        if sources:
            self.queue.append((sources, bargein))

    async def flush(self) -> None:
        queue, self.queue = self.queue, []
        interrupted = False
        for sources, bargein in queue:
            if interrupted and bargein:
                continue
            end = await self.port.play(sources, interruptible=bargein)
            interrupted = end is PlaybackEnd.DTMF

    async def flush_safely(self) -> None:
        try:
            await self.flush()
        except CallGone:
            raise _End(Outcome(OutcomeKind.CALLER_HUNG_UP)) from None


def _session(port: CallPort, extra: Mapping[str, object]) -> dict[str, Value]:
    connection = {
        "local": {"uri": port.called},
        "remote": {"uri": port.caller},
        "protocol": {"name": "sip"},
    }
    values: dict[str, object] = {
        "connection": connection,
        "callerid": port.caller,
        "calledid": port.called,
        "callid": port.call_id,
        "language": port.language.value,
        **extra,
    }
    return {k: to_value(v) for k, v in values.items()}


async def run_vxml(
    port: CallPort,
    *,
    fetcher: Fetcher,
    source: str | None = None,
    url: str = "",
    record_dir: Path | None = None,
    session: Mapping[str, object] | None = None,
) -> Outcome:
    """Run a VoiceXML document over ``port`` until it transfers, exits, disconnects or
    the caller hangs up.

    ``source`` is the document's text (``url`` then only resolves its relative URIs);
    without it the document is fetched from ``url``. Further documents come through
    ``fetcher``; recordings go to ``record_dir`` (the temporary directory by default).
    ``session`` adds variables to the ``session`` scope (``session.connection``,
    ``callerid``, ``calledid``, ``callid`` and ``language`` are always there)."""
    run = _Run(port, fetcher, record_dir or Path(tempfile.gettempdir()))
    run.session.vars.update(_session(port, session or {}))
    try:
        try:
            if source is None:
                fetched = await fetcher.fetch(url)
                source, url = fetched.text, fetched.url
            doc = parse_document(source, url=url)
        except (FetchError, VxmlError) as exc:
            log.warning("VoiceXML document %s refused: %s", url or "(inline)", exc)
            port.hang_up()
            return Outcome(OutcomeKind.FAILED, event="error.badfetch", message=str(exc))
        await run.run_document(doc, None, None)
    except _End as end:
        outcome = end.outcome
    except _Thrown as thrown:
        outcome = Outcome(OutcomeKind.FAILED, event=thrown.event, message=thrown.message)
    except _Return:
        outcome = Outcome(
            OutcomeKind.FAILED, event="error.semantic", message="return outside a subdialog"
        )
    except CallGone:
        return Outcome(OutcomeKind.CALLER_HUNG_UP)
    if outcome.kind is OutcomeKind.FAILED:
        port.hang_up()
    return outcome
