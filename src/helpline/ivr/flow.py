"""IVR flow documents: the JSON a flow is written in, and its whole-document check.

A document is ``{"start": "welcome", "language": "en", "variables": {...}, "nodes":
{"welcome": {"type": "menu", ...}, ...}}``. Each node is one of the types below,
told apart by ``type`` (a Pydantic discriminated union); every field is checked here,
so a bad node is named with its field. What no single node can check is done by
:func:`check` on the whole document: the start and every ``next``-like target exist
(errors), and nodes no path reaches (warnings). Problems come back as
:class:`Problem` values (node id, field, message), never as exceptions, so an editor
can show all of them at once.

Defaults worth knowing: a menu or collect with no ``invalid_prompt`` /
``no_input_prompt`` plays the system prompts ``ivr/invalid-option`` /
``ivr/please-try-again``; ``retries`` counts the attempts after the first; a ``say``
node with no ``on_error`` goes on to ``next`` when its value cannot be spoken.
Regular expressions (collect ``pattern``, condition ``matches``) are refused when a
repeated group holds a repetition or an alternation (``(\\d+)+``, ``(1|2)*``): such
patterns can take exponential time, and a character class says the same.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    model_validator,
)

from helpline.ivr.templating import (
    VARIABLE_PATTERN,
    json_strings,
    placeholders,
    url_authority_is_literal,
)
from helpline.prompts.language import NAME_PATTERN, Language
from helpline.prompts.say import CURRENCIES

MAX_NODES: Final = 500
MAX_DIGITS: Final = 32
SYSTEM_VARIABLE_PREFIX: Final = "call."
"""``call.caller``, ``call.called``, ``call.id``, ``call.language``, set by the engine."""


def _template(value: str) -> str:
    placeholders(value)
    return value


def _settable(value: str) -> str:
    if value.startswith(SYSTEM_VARIABLE_PREFIX):
        raise ValueError(f"{SYSTEM_VARIABLE_PREFIX}* variables are set by the system")
    return value


def _repeated_group_is_ambiguous(pattern: str) -> bool:
    """Whether a group repeated by ``*``, ``+`` or ``{}`` contains a repetition or an
    alternation (the shape of catastrophic backtracking)."""
    stack = [False]
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "\\":
            i += 1
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            stack.append(False)
            if pattern[i : i + 1] == "?":
                i += 1
        elif ch == ")" and len(stack) > 1:
            inner = stack.pop()
            repeated = pattern[i : i + 1]
            if inner and repeated in ("*", "+", "{"):
                return True
            stack[-1] = stack[-1] or inner or repeated in ("*", "+", "?", "{")
        elif ch in "*+?{|":
            stack[-1] = True
    return False


def _safe_pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    if _repeated_group_is_ambiguous(value):
        raise ValueError(
            "a repeated group may not contain a repetition or an alternation "
            "(use a character class such as [0-9]+ or [12]*)"
        )
    return value


NodeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Variable = Annotated[str, Field(pattern=f"^{VARIABLE_PATTERN}$")]
SettableVariable = Annotated[Variable, AfterValidator(_settable)]
Text = Annotated[str, Field(max_length=2000)]
Template = Annotated[Text, AfterValidator(_template)]
PromptName = Annotated[str, Field(pattern=NAME_PATTERN)]
Key = Annotated[str, Field(pattern=r"^[0-9*#]$")]
Pattern = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_safe_pattern)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")]
Number = Annotated[str, Field(pattern=r"^\+?[0-9]{1,20}$")]
Seconds = Annotated[float, Field(gt=0, le=60)]
Retries = Annotated[int, Field(ge=0, le=9)]
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
JsonPath = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,9}$")]
Priority = Annotated[int, Field(ge=0, le=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(_Strict):
    """What to play: prompt ``names`` (in the call's language), then TTS ``text``
    (one template, or one per language; the call's language is used, else the
    document's, else any)."""

    names: list[PromptName] = Field(default_factory=list, max_length=50)
    text: Template | dict[Language, Template] | None = Field(
        default=None, union_mode="left_to_right"
    )

    @model_validator(mode="after")
    def _something(self) -> Prompt:
        if not self.names and not self.text:
            raise ValueError("a prompt needs names or text")
        return self


def _system_prompt(name: str) -> Any:
    return Field(default_factory=lambda: Prompt(names=[name]))


class Operator(StrEnum):
    """Comparisons of a condition; ``lt``..``ge`` compare numbers (false when either
    side is not a number), ``in`` tests membership in a list, ``empty`` tests for ""."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    EMPTY = "empty"
    MATCHES = "matches"


class Condition(_Strict):
    """A structured test of one variable (no expressions are evaluated); ``value`` is a
    template (a list of them for ``in``), but a regular expression for ``matches``."""

    variable: Variable
    operator: Operator
    value: Text | list[Text] | None = Field(default=None, union_mode="left_to_right")

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Condition:
        op, value = self.operator, self.value
        if op is Operator.EMPTY and value is not None:
            raise ValueError("'empty' takes no value")
        if op is Operator.IN and not isinstance(value, list):
            raise ValueError("'in' needs a list of values")
        if op not in (Operator.EMPTY, Operator.IN) and not isinstance(value, str):
            raise ValueError(f"{op.value!r} needs one value")
        if op is Operator.MATCHES and isinstance(value, str):
            _safe_pattern(value)
        else:
            for text in value if isinstance(value, list) else [value or ""]:
                _template(text)
        return self


class _Node(_Strict):
    def targets(self) -> list[tuple[str, str]]:
        """``(field, node id)`` for every node this one can lead to."""
        return []


class _Next(_Node):
    next: NodeId

    def targets(self) -> list[tuple[str, str]]:
        return [("next", self.next)]


class PlayNode(_Next):
    """Play a prompt, then go on."""

    type: Literal["play"]
    prompt: Prompt


class MenuNode(_Node):
    """Play ``prompt`` and wait ``timeout`` seconds for one key; a key in ``options``
    leads there, anything else replays (``retries`` times) after the invalid or
    no-input prompt, then ``on_fail``."""

    type: Literal["menu"]
    prompt: Prompt
    options: dict[Key, NodeId] = Field(min_length=1, max_length=12)
    timeout: Seconds = 5.0
    retries: Retries = 2
    invalid_prompt: Prompt = _system_prompt("ivr/invalid-option")
    no_input_prompt: Prompt = _system_prompt("ivr/please-try-again")
    on_fail: NodeId

    def targets(self) -> list[tuple[str, str]]:
        options = [(f"options.{key}", target) for key, target in self.options.items()]
        return [*options, ("on_fail", self.on_fail)]


class CollectNode(_Next):
    """Collect ``min_length``..``max_length`` digits (ended by ``terminator``) into
    ``into``; digits failing the length or ``pattern`` (a full match) are asked for
    again ``retries`` times, then ``on_invalid``. ``private`` keeps the digits out of
    the stored call path (PINs)."""

    type: Literal["collect"]
    prompt: Prompt
    into: SettableVariable
    min_length: int = Field(default=1, ge=0, le=MAX_DIGITS)
    max_length: int = Field(default=MAX_DIGITS, ge=1, le=MAX_DIGITS)
    terminator: Literal["#", "*", ""] = "#"
    first_timeout: Seconds = 8.0
    inter_timeout: Seconds = 4.0
    pattern: Pattern | None = None
    retries: Retries = 2
    invalid_prompt: Prompt = _system_prompt("ivr/please-try-again")
    private: bool = False
    on_invalid: NodeId

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self

    def targets(self) -> list[tuple[str, str]]:
        return [*super().targets(), ("on_invalid", self.on_invalid)]


class HttpMethod(StrEnum):
    """Methods the HTTP node uses."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class StatusRange(_Strict):
    """HTTP statuses ``min``..``max`` inclusive."""

    min: int = Field(ge=100, le=599)
    max: int = Field(ge=100, le=599)

    @model_validator(mode="after")
    def _ordered(self) -> StatusRange:
        if self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class HttpRoute(_Strict):
    """Where an answer leads: the first route whose ``status`` range and ``when``
    condition (both optional) hold, tested after the result variables are set."""

    status: StatusRange | None = None
    when: Condition | None = None
    next: NodeId


def _literal_authority(value: str) -> str:
    if not url_authority_is_literal(value):
        raise ValueError("the URL must start with http:// or https:// and a literal host")
    return value


def _json_templates(value: JsonValue) -> JsonValue:
    for text in json_strings(value):
        placeholders(text)
    return value


class HttpNode(_Next):
    """Ask a back-office system: ``method`` on the templated ``url`` with the templated
    JSON ``body``; ``results`` maps variables to dotted paths in the JSON answer
    (``data.balance``, ``items.0.id``) and ``http.status`` holds the status. The first
    matching route leads on, else ``next``; no answer in ``timeout`` seconds, a network
    error, an answer over the size limit or a 2xx answer that is not JSON when results
    are wanted leads to ``on_error``."""

    type: Literal["http"]
    method: HttpMethod = HttpMethod.GET
    url: Annotated[Template, AfterValidator(_literal_authority)]
    headers: dict[HeaderName, Template] = Field(default_factory=dict, max_length=20)
    body: Annotated[JsonValue, AfterValidator(_json_templates)] = None
    timeout: Annotated[float, Field(gt=0, le=30)] = 5.0
    results: dict[SettableVariable, JsonPath] = Field(default_factory=dict, max_length=20)
    routes: list[HttpRoute] = Field(default_factory=list, max_length=20)
    on_error: NodeId

    @model_validator(mode="after")
    def _body_fits_method(self) -> HttpNode:
        if self.body is not None and self.method in (HttpMethod.GET, HttpMethod.DELETE):
            raise ValueError(f"{self.method.value} requests carry no body")
        return self

    def targets(self) -> list[tuple[str, str]]:
        routes = [(f"routes.{i}.next", route.next) for i, route in enumerate(self.routes)]
        return [*super().targets(), *routes, ("on_error", self.on_error)]


class SayKind(StrEnum):
    """What a ``say`` node reads out."""

    NUMBER = "number"
    DIGITS = "digits"
    AMOUNT = "amount"
    DATE = "date"


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError(f"currency must be one of {', '.join(CURRENCIES)}")
    return value


class SayNode(_Next):
    """Read the templated ``value`` as a number, digits, an amount of ``currency`` or
    an ISO date (YYYY-MM-DD), in the call's language."""

    type: Literal["say"]
    kind: SayKind
    value: Template
    currency: Annotated[str, AfterValidator(_currency)] = "USD"
    on_error: NodeId | None = None

    def targets(self) -> list[tuple[str, str]]:
        extra = [("on_error", self.on_error)] if self.on_error else []
        return [*super().targets(), *extra]


class SetNode(_Next):
    """``variable`` = the templated ``value``."""

    type: Literal["set"]
    variable: SettableVariable
    value: Template


class ConditionNode(Condition, _Node):
    """Go to ``then`` when the comparison holds, else to ``else``."""

    type: Literal["condition"]
    then: NodeId
    else_: NodeId = Field(alias="else")

    def targets(self) -> list[tuple[str, str]]:
        return [("then", self.then), ("else", self.else_)]


class LanguageNode(_Next):
    """Switch the call's language (prompts, TTS and ``say`` follow)."""

    type: Literal["language"]
    language: Language


def _priority(value: int | str) -> int | str:
    return _template(value) if isinstance(value, str) else value


class QueueNode(_Node):
    """Hand the call to ``queue``; ``priority`` and skill levels are numbers or templates
    (read as whole numbers when the call gets there); ``data`` names the variables
    shown to the agent (all of them when omitted)."""

    type: Literal["queue"]
    queue: Name
    priority: Annotated[Priority | str, AfterValidator(_priority)] = 0
    skills: dict[Name, Annotated[int | str, AfterValidator(_priority)]] = Field(
        default_factory=dict, max_length=20
    )
    data: list[Variable] | None = Field(default=None, max_length=50)


class VoicemailNode(_Node):
    """Hand the call to voicemail ``box``."""

    type: Literal["voicemail"]
    box: Name


class TransferNode(_Node):
    """Hand the call to a ``number`` or an ``agent`` (username): exactly one."""

    type: Literal["transfer"]
    number: Number | None = None
    agent: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> TransferNode:
        if (self.number is None) == (self.agent is None):
            raise ValueError("give either number or agent")
        return self


class Question(_Strict):
    """One survey question."""

    prompt: Prompt


class SurveyNode(_Next):
    """Ask each question for one key 1..``scale``; answers go to ``survey.q1``,
    ``survey.q2``, ... (unanswered questions stay unset); ``thanks`` is played at the
    end."""

    type: Literal["survey"]
    questions: list[Question] = Field(min_length=1, max_length=10)
    scale: int = Field(default=5, ge=2, le=9)
    timeout: Seconds = 5.0
    retries: Retries = 1
    invalid_prompt: Prompt = _system_prompt("ivr/invalid-option")
    thanks: Prompt | None = None


class SmsNode(_Next):
    """Text someone while the call goes on: the tenant's SMS ``template`` (by name, in
    the call's language, its ``{variables}`` filled from the call's) or ``text`` (a
    template, or one per language), to ``to`` (a template, the caller by default). The
    message is only queued (the SMS sender delivers it, the call never waits for it);
    when it cannot be queued (no gateway, not a phone number) the call goes to
    ``on_error`` if given, else ``next``."""

    type: Literal["sms"]
    template: Name | None = None
    text: Template | dict[Language, Template] | None = Field(
        default=None, union_mode="left_to_right"
    )
    to: Template = "{call.caller}"
    on_error: NodeId | None = None

    @model_validator(mode="after")
    def _one_text(self) -> SmsNode:
        if (self.template is None) == (self.text is None):
            raise ValueError("give either template or text")
        return self

    def targets(self) -> list[tuple[str, str]]:
        extra = [("on_error", self.on_error)] if self.on_error else []
        return [*super().targets(), *extra]


class HangupNode(_Node):
    """Play the optional goodbye ``prompt`` and hang up."""

    type: Literal["hangup"]
    prompt: Prompt | None = None


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | HttpNode
    | SayNode
    | SetNode
    | ConditionNode
    | LanguageNode
    | QueueNode
    | VoicemailNode
    | TransferNode
    | SurveyNode
    | SmsNode
    | HangupNode,
    Field(discriminator="type"),
]
NODE_TYPES: Final = frozenset(
    {
        "play",
        "menu",
        "collect",
        "http",
        "say",
        "set",
        "condition",
        "language",
        "queue",
        "voicemail",
        "transfer",
        "survey",
        "sms",
        "hangup",
    }
)


class FlowDocument(_Strict):
    """A whole flow: where it starts, its nodes by id, the language it switches the
    call to at the start (None keeps the call's) and the variables it starts with."""

    start: NodeId
    nodes: dict[NodeId, Node] = Field(min_length=1, max_length=MAX_NODES)
    language: Language | None = None
    variables: dict[SettableVariable, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, max_length=50
    )

    def to_json(self) -> dict[str, Any]:
        """The document as stored and shown: JSON types, aliases (``else``)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with (or suspicious in) a document; ``node`` is None for the
    document's own fields."""

    node: str | None
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of :func:`check`: the parsed document when there are no errors."""

    document: FlowDocument | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Whether the document can be published and run."""
        return self.document is not None and not self.errors


_UNION_MEMBER = re.compile(r"^(?:[a-z-]+\[.*\]|constrained-[a-z]+|str|int|float|bool|none)$")


def _problem(error: Any) -> Problem:
    loc = [str(part) for part in error.get("loc", ()) if not _UNION_MEMBER.match(str(part))]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "nodes":
        node, rest = loc[1], loc[2:]
        if rest and rest[0] in NODE_TYPES:
            rest = rest[1:]
        if rest == ["[key]"]:
            return Problem(node, "id", message)
        if not rest and error.get("type", "").startswith("union_tag"):
            rest = ["type"]
        return Problem(node, ".".join(rest), message)
    return Problem(None, ".".join(loc), message)


def _reachable(document: FlowDocument) -> set[str]:
    seen = {document.start}
    todo = deque([document.start])
    while todo:
        node = document.nodes.get(todo.popleft())
        for _field, target in node.targets() if node else []:
            if target not in seen and target in document.nodes:
                seen.add(target)
                todo.append(target)
    return seen


def check(raw: object, *, sms_templates: Collection[str] | None = None) -> Report:
    """Validate a document (parsed JSON): every field of every node, then the targets
    of every node and the start, and, when ``sms_templates`` (the tenant's template
    names) is given, the templates ``sms`` nodes name (errors), then reachability
    (warnings)."""
    try:
        document = FlowDocument.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors()]
        firsts = {(p.node, p.field): p for p in reversed(problems)}
        return Report(None, [p for p in problems if firsts[(p.node, p.field)] is p])
    errors: list[Problem] = []
    if document.start not in document.nodes:
        errors.append(Problem(None, "start", f"no node {document.start!r}"))
    for node_id, node in document.nodes.items():
        for field_name, target in node.targets():
            if target not in document.nodes:
                errors.append(Problem(node_id, field_name, f"no node {target!r}"))
        template = node.template if isinstance(node, SmsNode) else None
        if template is not None and sms_templates is not None and template not in sms_templates:
            errors.append(Problem(node_id, "template", f"no SMS template {template!r}"))
    if errors:
        return Report(None, errors)
    reachable = _reachable(document)
    warnings = [
        Problem(node_id, "", "not reachable from the start")
        for node_id in document.nodes
        if node_id not in reachable
    ]
    return Report(document, [], warnings)
