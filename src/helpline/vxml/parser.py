"""VoiceXML text -> a validated :class:`Document`, refusing anything outside the subset.

Theory of operation: the text is parsed with the standard library's expat, hardened as
defusedxml hardens it: a DOCTYPE with an internal subset, any entity declaration and
any external entity are refused, so entity expansion ("billion laughs") and external
fetches (XXE) cannot happen; size, element count and depth are bounded. The tree is
then checked against :data:`SPEC`, one entry per supported element of VoiceXML 2.0/2.1
(W3C VoiceXML 2.0 §1-6, 2.1 §1): its attributes, its children, whether it holds text.
Attribute values are checked too: every ``expr``/``cond`` parses as an expression
(:mod:`helpline.vxml.expr`), grammars compile (:mod:`helpline.vxml.grammar`), transfer
destinations map to a :class:`~helpline.ivr.port.TransferKind`, ``#dialog`` references
resolve. Every problem is collected with its line; :class:`VxmlError` carries them.

Audio sources are Helpline prompts only: ``<audio src="prompt:ivr/welcome">`` plays the
tenant's (or system) prompt of that name in the call's language; the element's content
is spoken by text-to-speech when the prompt is missing. URLs to WAV files are refused:
audio reaches Helpline through the prompt API, which converts and stores it.

Transfer destinations: ``queue:NAME[;priority=N][;skills=a:3,b:1]``, ``agent:USERNAME``,
``tel:+NUMBER`` and ``voicemail:BOX``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, overload
from xml.parsers import expat

from helpline.ivr.port import TransferKind, TransferTarget
from helpline.prompts.language import valid_name as valid_prompt_name
from helpline.vxml import grammar as g
from helpline.vxml.expr import ExprSyntaxError, parse, valid_name, valid_target

MAX_SOURCE_BYTES: Final = 256 * 1024
MAX_ELEMENTS: Final = 5000
MAX_DEPTH: Final = 48
MAX_PROBLEMS: Final = 50

_EXEC = frozenset(
    {"assign", "audio", "break", "clear", "disconnect", "exit", "goto", "if", "log", "prompt",
     "reprompt", "return", "submit", "throw", "value", "var"}
)  # fmt: skip
_HANDLERS = frozenset({"catch", "error", "noinput", "nomatch", "help"})
_ITEMS = frozenset({"field", "block", "record", "transfer", "subdialog"})
_INPUT_PARTS = frozenset({"prompt", "filled", "property"}) | _HANDLERS


@dataclass(frozen=True, slots=True)
class ElementSpec:
    """What one supported element may carry."""

    attributes: frozenset[str]
    children: frozenset[str] = frozenset()
    text: bool = False
    required: tuple[str, ...] = ()


def _spec(
    attrs: str, children: frozenset[str] | str = "", *, text: bool = False, required: str = ""
) -> ElementSpec:
    kids = frozenset(children.split()) if isinstance(children, str) else children
    return ElementSpec(frozenset(attrs.split()), kids, text, tuple(required.split()))


SPEC: Final[dict[str, ElementSpec]] = {
    "vxml": _spec(
        "version xmlns xml:lang xmlns:xsi xsi:schemaLocation",
        frozenset({"form", "menu", "var", "property"}) | _HANDLERS,
    ),
    "form": _spec("id", _ITEMS | {"var", "filled", "property"} | _HANDLERS),
    "menu": _spec("id dtmf", frozenset({"prompt", "choice", "property"}) | _HANDLERS),
    "choice": _spec("dtmf next expr", text=True),
    "field": _spec("name type expr cond", _INPUT_PARTS | {"grammar"}),
    "block": _spec("name expr cond", _EXEC, text=True),
    "prompt": _spec("bargein count cond timeout xml:lang", "audio value break", text=True),
    "audio": _spec("src", "audio value break", text=True, required="src"),
    "value": _spec("expr", required="expr"),
    "break": _spec("time strength"),
    "var": _spec("name expr", required="name"),
    "assign": _spec("name expr", required="name expr"),
    "if": _spec("cond", _EXEC | {"elseif", "else"}, text=True, required="cond"),
    "elseif": _spec("cond", required="cond"),
    "else": _spec(""),
    "goto": _spec("next expr nextitem"),
    "submit": _spec("next expr namelist method"),
    "subdialog": _spec("name src cond expr namelist", _INPUT_PARTS | {"param"}, required="src"),
    "param": _spec("name expr value", required="name"),
    "return": _spec("namelist event"),
    "filled": _spec("mode namelist", _EXEC, text=True),
    "noinput": _spec("count cond", _EXEC, text=True),
    "nomatch": _spec("count cond", _EXEC, text=True),
    "help": _spec("count cond", _EXEC, text=True),
    "error": _spec("count cond", _EXEC, text=True),
    "catch": _spec("event count cond", _EXEC, text=True),
    "record": _spec("name expr cond maxtime finalsilence dtmfterm beep type", _INPUT_PARTS),
    "transfer": _spec("name expr cond dest destexpr bridge type", _INPUT_PARTS),
    "disconnect": _spec("namelist"),
    "exit": _spec("expr namelist"),
    "property": _spec("name value", required="name value"),
    "log": _spec("expr label", "value", text=True),
    "reprompt": _spec(""),
    "clear": _spec("namelist"),
    "throw": _spec("event message", required="event"),
    "grammar": _spec("mode type root version xmlns xml:lang src tag-format", "rule"),
    "rule": _spec("id scope", "one-of item", text=True, required="id"),
    "one-of": _spec("", "item"),
    "item": _spec("repeat", "one-of item", text=True),
}
"""Every supported element; anything else is refused as unsupported."""

PROPERTIES: Final = frozenset({"timeout", "interdigittimeout", "termchar", "inputmodes", "bargein"})
_EXPR_ATTRS = {"expr", "cond", "destexpr"}
_TIME = re.compile(r"(\d{1,6}(?:\.\d{1,3})?)(ms|s)")
_URI = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]{1,500}")
_STRENGTHS = frozenset({"none", "x-weak", "weak", "medium", "strong", "x-strong"})


@dataclass(eq=False, slots=True)
class Element:
    """One element: its tag, attributes, children (elements and text) and start line."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Element | str] = field(default_factory=list)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        """The attribute ``name``."""
        return self.attrs.get(name, default)

    def elements(self, *tags: str) -> list[Element]:
        """Child elements, only those with one of ``tags`` when given."""
        return [c for c in self.children if isinstance(c, Element) and (not tags or c.tag in tags)]

    @property
    def name(self) -> str:
        """The ``name`` attribute (form items get one generated when absent)."""
        return self.attrs.get("name", "")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a document is refused."""

    line: int
    element: str | None
    attribute: str | None
    message: str
    unsupported: bool = False

    def as_detail(self) -> dict[str, object]:
        """The API ``details`` entry."""
        return {
            "line": self.line,
            "element": self.element,
            "attribute": self.attribute,
            "message": self.message,
        }


class VxmlError(ValueError):
    """A refused document; ``error_id`` is ``unsupported_vxml`` when it uses something
    outside the subset, else ``invalid_vxml``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.error_id = (
            "unsupported_vxml" if any(p.unsupported for p in problems) else "invalid_vxml"
        )
        first = problems[0]
        super().__init__(f"line {first.line}: {first.message}")


@dataclass(frozen=True, slots=True)
class Document:
    """A validated VoiceXML document."""

    root: Element
    url: str
    dialogs: dict[str, Element]
    """Forms and menus by id, in document order (the first is where execution starts)."""
    grammars: dict[Element, tuple[g.Grammar, ...]]
    """The grammars of each field."""
    choices: dict[Element, tuple[tuple[str, Element], ...]]
    """The DTMF sequence of each choice of each menu."""


def _tree(source: str | bytes) -> Element:
    data = source.encode() if isinstance(source, str) else source
    if len(data) > MAX_SOURCE_BYTES:
        raise VxmlError([Problem(1, None, None, f"document larger than {MAX_SOURCE_BYTES} bytes")])
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    roots: list[Element] = []
    count = 0

    def refuse(message: str) -> None:
        raise VxmlError([Problem(parser.CurrentLineNumber, None, None, message)])

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            refuse(f"more than {MAX_ELEMENTS} elements or deeper than {MAX_DEPTH}")
        element = Element(tag, dict(attrs), parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            kids = stack[-1].children
            if kids and isinstance(kids[-1], str):
                kids[-1] += data
            else:
                kids.append(data)

    def doctype(_name: str, _sys: str | None, _pub: str | None, internal: int) -> None:
        if internal:
            refuse("a DOCTYPE with an internal subset is not accepted")

    def entity(*_args: object) -> None:
        refuse("entity declarations are not accepted")

    def external(*_args: object) -> int:
        refuse("external entities are not accepted")
        return 0

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise VxmlError(
            [Problem(exc.lineno, None, None, f"malformed XML: {expat.errors.messages[exc.code]}")]
        ) from None
    root = roots[0]
    if root.tag != "vxml":
        raise VxmlError([Problem(root.line, root.tag, None, "the root element must be <vxml>")])
    return root


def transfer_target(dest: str) -> TransferTarget:
    """The hand-over a transfer ``dest`` names; ``ValueError`` when it names none.

    ``queue:sales;priority=5;skills=english:3,billing:1`` -> QUEUE, ``agent:alice`` ->
    AGENT, ``tel:+15551234`` -> NUMBER (visual separators dropped), ``voicemail:sales``
    -> VOICEMAIL."""
    scheme, sep, rest = dest.strip().partition(":")
    target, *params = rest.split(";")
    kinds = {k.value: k for k in TransferKind}
    kinds["tel"] = TransferKind.NUMBER
    kind = kinds.get(scheme.lower()) if sep and scheme.lower() != "number" else None
    if kind is None:
        raise ValueError(f"{dest!r}: use queue:NAME, agent:USERNAME, tel:NUMBER or voicemail:BOX")
    if kind is TransferKind.NUMBER:
        target = re.sub(r"[-.() ]", "", target)
        if re.fullmatch(r"\+?[0-9*#]{1,32}", target) is None:
            raise ValueError(f"{dest!r}: not a telephone number")
    elif re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}", target) is None:
        raise ValueError(f"{dest!r}: {target!r} is not a valid name")
    priority, skills = 0, {}
    for param in params:
        key, _, value = param.partition("=")
        if kind is TransferKind.QUEUE and key == "priority" and value.isdigit():
            priority = int(value)
        elif kind is TransferKind.QUEUE and key == "skills" and value:
            for pair in value.split(","):
                skill, _, level = pair.partition(":")
                if not skill or not level.isdigit():
                    raise ValueError(f"{dest!r}: skills are name:level pairs")
                skills[skill] = int(level)
        else:
            raise ValueError(f"{dest!r}: unknown parameter {param!r}")
    return TransferTarget(kind=kind, target=target, priority=priority, skills=skills)


def seconds(value: str) -> float:
    """A CSS2 time designation (``"5s"``, ``"250ms"``) in seconds."""
    m = _TIME.fullmatch(value.strip())
    if m is None:
        raise ValueError(f"{value!r} is not a time like 5s or 500ms")
    number = float(m.group(1))
    return number / 1000 if m.group(2) == "ms" else number


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.dialog_ids: dict[str, Element] = {}
        self.refs: list[tuple[Element, str, str]] = []
        self.grammars: dict[Element, tuple[g.Grammar, ...]] = {}
        self.choices: dict[Element, tuple[tuple[str, Element], ...]] = {}
        self.anonymous = 0

    def add(
        self, el: Element, attr: str | None, message: str, *, unsupported: bool = False
    ) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(el.line, el.tag, attr, message, unsupported))

    def walk(self, el: Element, parent: Element | None) -> None:
        spec = SPEC.get(el.tag)
        if spec is None:
            self.add(el, None, f"<{el.tag}> is not supported", unsupported=True)
            return
        if parent is not None and el.tag not in SPEC[parent.tag].children:
            self.add(el, None, f"<{el.tag}> is not allowed inside <{parent.tag}>")
        for attr in el.attrs:
            if attr not in spec.attributes:
                self.add(
                    el, attr, f"attribute {attr!r} of <{el.tag}> is not supported", unsupported=True
                )
        for attr in spec.required:
            if attr not in el.attrs:
                self.add(el, attr, f"<{el.tag}> needs the {attr!r} attribute")
        if not spec.text and any(isinstance(c, str) and c.strip() for c in el.children):
            self.add(el, None, f"<{el.tag}> cannot hold text")
        self.values(el)
        getattr(self, "check_" + el.tag.replace("-", "_"), lambda _el: None)(el)
        for child in el.elements():
            self.walk(child, el)

    def values(self, el: Element) -> None:
        for attr, value in el.attrs.items():
            if attr in _EXPR_ATTRS:
                try:
                    parse(value)
                except ExprSyntaxError as exc:
                    self.add(el, attr, f"bad expression: {exc}")
            elif attr == "namelist" and not all(valid_target(n) for n in value.split()):
                self.add(el, attr, "namelist must list variable names")
            elif attr == "count" and not (value.isdigit() and 0 < int(value) < 1000):
                self.add(el, attr, "count must be a positive integer")
            elif attr in ("bargein", "dtmf", "bridge", "dtmfterm", "beep") and el.tag != "choice":
                if value not in ("true", "false"):
                    self.add(el, attr, f"{attr} must be true or false")
            elif attr in ("time", "timeout", "maxtime", "finalsilence"):
                self.time(el, attr, value)

    def time(self, el: Element, attr: str, value: str) -> None:
        try:
            seconds(value)
        except ValueError as exc:
            self.add(el, attr, str(exc))

    def item_name(self, el: Element) -> None:
        name = el.attrs.get("name")
        if name is None:
            self.anonymous += 1
            el.attrs["name"] = f"_item{self.anonymous}"
        elif not valid_name(name):
            self.add(el, "name", f"{name!r} is not a valid variable name")

    def dialog(self, el: Element) -> None:
        ident = el.attrs.get("id")
        if ident is None:
            self.anonymous += 1
            ident = el.attrs["id"] = f"_dialog{self.anonymous}"
        if ident in self.dialog_ids:
            self.add(el, "id", f"dialog id {ident!r} is used twice")
        self.dialog_ids[ident] = el

    def check_form(self, el: Element) -> None:
        self.dialog(el)
        seen: set[str] = set()
        for item in el.elements(*_ITEMS):
            self.item_name(item)
            if item.name in seen:
                self.add(item, "name", f"form item name {item.name!r} is used twice")
            seen.add(item.name)
        for filled in el.elements("filled"):
            for name in (filled.get("namelist") or "").split():
                if name not in seen:
                    self.add(filled, "namelist", f"{name!r} is not a form item")
            if filled.get("mode", "all") not in ("all", "any"):
                self.add(filled, "mode", "mode must be all or any")

    def check_block(self, el: Element) -> None:
        self.item_name(el)

    def check_menu(self, el: Element) -> None:
        self.dialog(el)
        auto = el.get("dtmf") == "true"
        keys: list[tuple[str, Element]] = []
        for number, choice in enumerate(el.elements("choice"), start=1):
            dtmf = choice.get("dtmf")
            if dtmf is None and auto and number <= 9:
                dtmf = str(number)
            if dtmf is None or re.fullmatch(r"[0-9*#]{1,8}", dtmf.replace(" ", "")) is None:
                self.add(choice, "dtmf", 'a choice needs dtmf keys (or <menu dtmf="true">)')
                continue
            if ("next" in choice.attrs) == ("expr" in choice.attrs):
                self.add(choice, "next", "a choice needs exactly one of next and expr")
            keys.append((dtmf.replace(" ", ""), choice))
        self.choices[el] = tuple(keys)

    def check_choice(self, el: Element) -> None:
        if "next" in el.attrs:
            self.uri(el, "next", el.attrs["next"])

    def check_field(self, el: Element) -> None:
        self.item_name(el)
        grammars: list[g.Grammar] = []
        if "type" in el.attrs:
            try:
                grammars.append(g.builtin(el.attrs["type"]))
            except g.GrammarError as exc:
                self.add(el, "type", str(exc), unsupported=True)
        for node in el.elements("grammar"):
            compiled = self.grammar(node)
            if compiled is not None:
                grammars.append(compiled)
        if "type" not in el.attrs and not el.elements("grammar"):
            self.add(el, None, "a field needs a type or a <grammar>")
        self.grammars[el] = tuple(grammars)

    def grammar(self, el: Element) -> g.Grammar | None:
        if el.get("mode", "dtmf") != "dtmf":
            self.add(el, "mode", "only DTMF grammars are supported", unsupported=True)
            return None
        if el.get("type", "application/srgs+xml") != "application/srgs+xml":
            self.add(
                el, "type", "only application/srgs+xml grammars are supported", unsupported=True
            )
            return None
        try:
            if "src" in el.attrs:
                if not el.attrs["src"].startswith("builtin:"):
                    self.add(
                        el, "src", "only builtin: grammar URIs are supported", unsupported=True
                    )
                    return None
                return g.builtin(el.attrs["src"])
            rules = {r.get("id"): r for r in el.elements("rule")}
            root = rules.get(el.get("root")) if el.get("root") else next(iter(rules.values()), None)
            if root is None:
                self.add(el, "root", "the grammar has no (root) rule")
                return None
            node = self.srgs(root)
            return g.Srgs(node if node is not None else g.Sequence(()))
        except g.GrammarError as exc:
            self.add(el, None, str(exc))
            return None

    def srgs(self, el: Element) -> g.Node | None:
        parts: list[g.Node] = []
        for child in el.children:
            node: g.Node | None
            if isinstance(child, str):
                node = g.tokens(child)
            elif child.tag == "one-of":
                alts = [self.srgs(item) for item in child.elements("item")]
                node = g.OneOf(tuple(a if a is not None else g.Sequence(()) for a in alts))
            elif child.tag == "item":
                node = self.srgs(child)
            else:
                node = None
            if node is not None:
                parts.append(node)
        sequence: g.Node | None = parts[0] if len(parts) == 1 else g.Sequence(tuple(parts))
        if el.tag == "item" and "repeat" in el.attrs:
            low, high = g.repeat(el.attrs["repeat"])
            sequence = g.Repeat(sequence or g.Sequence(()), low, high)
        return sequence

    def check_record(self, el: Element) -> None:
        self.item_name(el)
        if el.get("type", "audio/wav") not in ("audio/wav", "audio/x-wav"):
            self.add(el, "type", "recordings are audio/wav", unsupported=True)

    def check_transfer(self, el: Element) -> None:
        self.item_name(el)
        if ("dest" in el.attrs) == ("destexpr" in el.attrs):
            self.add(el, "dest", "a transfer needs exactly one of dest and destexpr")
        if "dest" in el.attrs:
            try:
                transfer_target(el.attrs["dest"])
            except ValueError as exc:
                self.add(el, "dest", str(exc), unsupported=True)
        if el.get("type", "blind") not in ("blind", "bridge"):
            self.add(el, "type", "transfer type must be blind or bridge", unsupported=True)

    def check_subdialog(self, el: Element) -> None:
        self.item_name(el)
        self.uri(el, "src", el.attrs.get("src", "#"))

    def check_var(self, el: Element) -> None:
        if not valid_name(el.attrs.get("name", "")):
            self.add(el, "name", "not a valid variable name")

    def check_assign(self, el: Element) -> None:
        if not valid_target(el.attrs.get("name", "")):
            self.add(el, "name", "not a variable name")

    def check_param(self, el: Element) -> None:
        self.check_var(el)
        if ("expr" in el.attrs) == ("value" in el.attrs):
            self.add(el, "expr", "a param needs exactly one of expr and value")

    def check_goto(self, el: Element) -> None:
        given = [a for a in ("next", "expr", "nextitem") if a in el.attrs]
        if len(given) != 1:
            self.add(el, None, "goto needs exactly one of next, expr and nextitem")
        if "next" in el.attrs:
            self.uri(el, "next", el.attrs["next"])

    def check_submit(self, el: Element) -> None:
        if ("next" in el.attrs) == ("expr" in el.attrs):
            self.add(el, None, "submit needs exactly one of next and expr")
        if "next" in el.attrs:
            self.uri(el, "next", el.attrs["next"])
        if el.get("method", "get").lower() not in ("get", "post"):
            self.add(el, "method", "method must be get or post")

    def check_audio(self, el: Element) -> None:
        src = el.attrs.get("src", "")
        name = src.removeprefix("prompt:")
        if not src.startswith("prompt:") or not valid_prompt_name(name):
            self.add(
                el, "src", 'audio sources are prompt names: src="prompt:NAME"', unsupported=True
            )

    def check_break(self, el: Element) -> None:
        if el.get("strength", "medium") not in _STRENGTHS:
            self.add(el, "strength", "unknown break strength")

    def check_property(self, el: Element) -> None:
        name, value = el.attrs.get("name", ""), el.attrs.get("value", "")
        if name not in PROPERTIES:
            self.add(el, "name", f"property {name!r} is not supported", unsupported=True)
        elif name in ("timeout", "interdigittimeout"):
            self.time(el, "value", value)
        elif name == "termchar" and value not in ("", *"0123456789*#"):
            self.add(el, "value", "termchar is one DTMF key or empty")
        elif name == "bargein" and value not in ("true", "false"):
            self.add(el, "value", "bargein must be true or false")
        elif name == "inputmodes" and "dtmf" not in value.split():
            self.add(el, "value", "only the dtmf input mode is supported", unsupported=True)

    def check_catch(self, el: Element) -> None:
        for name in el.get("event", "").split():
            if re.fullmatch(r"[A-Za-z0-9_$.-]{1,100}", name) is None:
                self.add(el, "event", f"{name!r} is not an event name")

    def check_throw(self, el: Element) -> None:
        self.check_catch(el)

    def uri(self, el: Element, attr: str, value: str) -> None:
        if _URI.fullmatch(value) is None:
            self.add(el, attr, f"{value!r} is not a URI")
        elif value.startswith("#"):
            self.refs.append((el, attr, value[1:]))


def parse_document(source: str | bytes, *, url: str = "") -> Document:
    """Parse and validate ``source`` (fetched from ``url``, the base of relative URIs);
    raises :class:`VxmlError` listing every problem with its line."""
    root = _tree(source)
    checker = _Checker()
    checker.walk(root, None)
    for el, attr, ident in checker.refs:
        if ident not in checker.dialog_ids:
            checker.add(el, attr, f"no dialog with id {ident!r} in this document")
    if not checker.dialog_ids and not checker.problems:
        checker.add(root, None, "the document has no <form> or <menu>")
    if checker.problems:
        raise VxmlError(checker.problems)
    return Document(root, url, checker.dialog_ids, checker.grammars, checker.choices)
