"""The IVR flow interpreter: walks a :class:`~helpline.ivr.flow.FlowDocument` over a
:class:`~helpline.ivr.port.CallPort`.

Theory of operation: :func:`run_flow` gets a parsed document (a published version, so
a call keeps the version it started with whatever is published meanwhile), enters the
start node and follows the targets each node chooses until a node ends the call
(``hangup``), hands it on (``queue``, ``voicemail``, ``transfer``), the caller hangs
up (:class:`~helpline.ivr.port.CallGone`) or something goes wrong. Each node left is
reported to the :class:`PathRecorder` as a :class:`PathStep` (node, type, time
entered, digits, result). The run is bounded: at most ``Limits.max_steps`` nodes and
``Limits.max_visits`` entries into any one node, so a flow that loops cannot keep a
line busy forever. A failed run does not hang up: the outcome says why, and call
control decides what the caller gets (a default queue, an apology).

Variables are strings. The engine sets ``call.caller``, ``call.called``, ``call.id``
and ``call.language``; the document's ``variables``, then the ``variables`` argument,
give the starting values; nodes set the rest (``set``, ``collect``, ``http``, ``survey``).
An ``sms`` node hands its message to the :class:`SmsOutbox` given, which only queues
it, and goes on (result ``queued``, or ``error`` when it could not be queued).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, Protocol

import httpx

from helpline.db.base import utcnow
from helpline.ivr import http
from helpline.ivr.flow import (
    CollectNode,
    Condition,
    ConditionNode,
    FlowDocument,
    HangupNode,
    HttpNode,
    LanguageNode,
    MenuNode,
    PlayNode,
    Prompt,
    QueueNode,
    SayKind,
    SayNode,
    SetNode,
    SmsNode,
    SurveyNode,
    TransferNode,
    VoicemailNode,
)
from helpline.ivr.flow import Operator as Op
from helpline.ivr.port import CallGone, CallPort, TransferKind, TransferTarget
from helpline.ivr.templating import render
from helpline.media.backend import Source
from helpline.prompts.language import FALLBACK, Language
from helpline.prompts.say import say_amount, say_date, say_digits, say_number

log = logging.getLogger(__name__)

_INTEGER: Final = re.compile(r"-?[0-9]{1,15}")
#: The longest an ``sms`` node waits for its message to be queued (not sent).
SMS_QUEUE_SECONDS: Final = 5.0


class OutcomeKind(StrEnum):
    """How a run ended."""

    HUNG_UP = "hung_up"
    """A ``hangup`` node ended the call."""
    CALLER_HUNG_UP = "caller_hung_up"
    TRANSFERRED = "transferred"
    """Handed on to ``FlowOutcome.target`` (queue, agent, number, voicemail)."""
    FAILED = "failed"
    """A limit was hit or a node failed; ``FlowOutcome.reason`` says what. The call is
    still up."""


@dataclass(frozen=True, slots=True)
class FlowOutcome:
    """The end of a run: how, at which node, after how many steps, with which
    variables."""

    kind: OutcomeKind
    node: str | None
    steps: int
    variables: dict[str, str]
    target: TransferTarget | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PathStep:
    """One node a call went through: ``digits`` pressed there (None when none or kept
    private) and its ``result`` (``ok``, ``option``, ``invalid``, ``no_input``,
    ``then``, ``else``, ``status:200``, ``error``, ``queued``, ``transferred``, ``hangup``,
    ``caller_hung_up``, ``failed``)."""

    node: str
    node_type: str
    entered_at: dt.datetime
    digits: str | None
    result: str


@dataclass(frozen=True, slots=True)
class SmsRequest:
    """What an ``sms`` node asks for: a message to ``to`` from the tenant's template
    ``template`` (filled with ``variables`` in ``language``) or with ``text``."""

    call_id: str
    to: str
    language: Language
    template: str | None
    text: str | None
    variables: dict[str, str]


class SmsNotQueued(Exception):
    """An ``sms`` node's message cannot be queued (no gateway, not a phone number, no
    such template ...)."""


class SmsOutbox(Protocol):
    """Where ``sms`` nodes queue their messages (:mod:`helpline.sms.flows`)."""

    async def queue(self, request: SmsRequest) -> None:
        """Queue the message (it is sent later); :class:`SmsNotQueued` when it cannot
        be."""
        ...


class PathRecorder(Protocol):
    """Where the steps of a call go (statistics); must not raise."""

    async def record(self, step: PathStep) -> None:
        """One node left."""
        ...

    async def finish(self, outcome: FlowOutcome) -> None:
        """The run is over (flush what is buffered)."""
        ...


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one run."""

    max_steps: int = 500
    max_visits: int = 50
    """Entries into any single node (a menu replayed by a loop, ...)."""
    max_response_bytes: int = http.MAX_RESPONSE_BYTES


@dataclass(frozen=True, slots=True)
class _Exit:
    next: str | None = None
    result: str = "ok"
    digits: str | None = None
    end: OutcomeKind | None = None
    target: TransferTarget | None = None


class _Failed(Exception):
    pass


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def evaluate(condition: Condition, variables: Mapping[str, str]) -> bool:
    """Whether ``condition`` holds for ``variables`` (a missing variable is "")."""
    actual = variables.get(condition.variable, "")
    op, value = condition.operator, condition.value
    if op is Op.EMPTY:
        return actual == ""
    if isinstance(value, list):
        return actual in [render(v, variables) for v in value]
    expected = value or ""
    if op is Op.MATCHES:
        return re.fullmatch(expected, actual) is not None
    expected = render(expected, variables)
    if op is Op.EQ:
        return actual == expected
    if op is Op.NE:
        return actual != expected
    left, right = _decimal(actual), _decimal(expected)
    if left is None or right is None:
        return False
    compare: dict[Op, Callable[[Decimal, Decimal], bool]] = {
        Op.LT: lambda a, b: a < b,
        Op.LE: lambda a, b: a <= b,
        Op.GT: lambda a, b: a > b,
        Op.GE: lambda a, b: a >= b,
    }
    return compare[op](left, right)


def _whole_number(text: str, *, low: int, high: int) -> int:
    value = text.strip()
    if not _INTEGER.fullmatch(value):
        return low
    return max(low, min(high, int(value)))


class _Run:
    def __init__(
        self,
        document: FlowDocument,
        port: CallPort,
        variables: dict[str, str],
        client: Callable[[], Awaitable[httpx.AsyncClient]],
        limits: Limits,
        sms: SmsOutbox | None,
    ) -> None:
        self.document = document
        self.port = port
        self.vars = variables
        self.client = client
        self.limits = limits
        self.sms = sms
        self.handlers: dict[type[Any], Callable[[Any], Awaitable[_Exit]]] = {
            PlayNode: self._play_node,
            MenuNode: self._menu,
            CollectNode: self._collect,
            HttpNode: self._http,
            SayNode: self._say,
            SetNode: self._set,
            ConditionNode: self._condition,
            LanguageNode: self._language,
            QueueNode: self._queue,
            VoicemailNode: self._voicemail,
            TransferNode: self._transfer,
            SurveyNode: self._survey,
            SmsNode: self._sms,
            HangupNode: self._hangup,
        }

    # -- media helpers ---------------------------------------------------------------

    def _sources(self, names: list[str]) -> list[Source]:
        try:
            return self.port.prompts(names)
        except LookupError:
            found: list[Source] = []
            for name in names:
                try:
                    found += self.port.prompts([name])
                except LookupError:
                    log.warning("call %s: no prompt %r; skipped", self.port.call_id, name)
            return found

    def _text(self, prompt: Prompt | SmsNode) -> str:
        text = prompt.text
        if isinstance(text, dict):
            text = text.get(self.port.language) or text.get(FALLBACK) or next(iter(text.values()))
        return render(text, self.vars) if text else ""

    async def _play(self, prompt: Prompt | None, *, interruptible: bool = False) -> None:
        if prompt is None:
            return
        sources = self._sources(list(prompt.names))
        if text := self._text(prompt).strip():
            sources.append(await self.port.speak(text))
        if sources:
            await self.port.play(sources, interruptible=interruptible)

    async def _key(self, seconds: float) -> str:
        return await self.port.collect(
            max_digits=1, terminator="", first_timeout=seconds, inter_timeout=seconds
        )

    # -- nodes -------------------------------------------------------------------------

    async def _play_node(self, node: PlayNode) -> _Exit:
        await self._play(node.prompt)
        return _Exit(node.next)

    async def _menu(self, node: MenuNode) -> _Exit:
        key = ""
        for _attempt in range(node.retries + 1):
            await self._play(node.prompt, interruptible=True)
            key = await self._key(node.timeout)
            if key in node.options:
                return _Exit(node.options[key], "option", key)
            await self._play(node.invalid_prompt if key else node.no_input_prompt)
        return _Exit(node.on_fail, "invalid" if key else "no_input", key or None)

    async def _collect(self, node: CollectNode) -> _Exit:
        digits = ""
        for attempt in range(node.retries + 1):
            if attempt:
                await self._play(node.invalid_prompt)
            await self._play(node.prompt, interruptible=True)
            digits = await self.port.collect(
                max_digits=node.max_length,
                terminator=node.terminator,
                first_timeout=node.first_timeout,
                inter_timeout=node.inter_timeout,
            )
            fits = node.min_length <= len(digits) <= node.max_length
            if fits and (node.pattern is None or re.fullmatch(node.pattern, digits)):
                self.vars[node.into] = digits
                return _Exit(node.next, "ok", None if node.private else digits or None)
        shown = None if node.private else digits or None
        return _Exit(node.on_invalid, "invalid" if digits else "no_input", shown)

    async def _http(self, node: HttpNode) -> _Exit:
        client = await self.client()
        answer = await http.perform(
            node, self.vars, client, max_bytes=self.limits.max_response_bytes
        )
        if answer.error is not None or answer.status is None:
            log.info("call %s: HTTP node failed: %s", self.port.call_id, answer.error)
            return _Exit(node.on_error, "error")
        self.vars["http.status"] = str(answer.status)
        self.vars.update(answer.values)
        result = f"status:{answer.status}"
        for route in node.routes:
            in_range = route.status is None or route.status.min <= answer.status <= route.status.max
            if in_range and (route.when is None or evaluate(route.when, self.vars)):
                return _Exit(route.next, result)
        return _Exit(node.next, result)

    def _say_names(self, node: SayNode, value: str) -> list[str]:
        language = self.port.language
        if node.kind is SayKind.NUMBER:
            if not _INTEGER.fullmatch(value):
                raise ValueError(f"{value!r} is not a whole number")
            return say_number(int(value), language)
        if node.kind is SayKind.DIGITS:
            return say_digits(value, language)
        if node.kind is SayKind.AMOUNT:
            return say_amount(value, language, currency=node.currency)
        return say_date(dt.date.fromisoformat(value[:10]), language)

    async def _say(self, node: SayNode) -> _Exit:
        value = render(node.value, self.vars).strip()
        try:
            names = self._say_names(node, value)
        except (ValueError, TypeError) as exc:
            log.info("call %s: cannot say %r: %s", self.port.call_id, value, exc)
            return _Exit(node.on_error or node.next, "error")
        await self.port.play(self._sources(names))
        return _Exit(node.next)

    async def _set(self, node: SetNode) -> _Exit:
        self.vars[node.variable] = render(node.value, self.vars)
        return _Exit(node.next)

    async def _condition(self, node: ConditionNode) -> _Exit:
        if evaluate(node, self.vars):
            return _Exit(node.then, "then")
        return _Exit(node.else_, "else")

    async def _language(self, node: LanguageNode) -> _Exit:
        self.port.language = node.language
        self.vars["call.language"] = node.language.value
        return _Exit(node.next)

    async def _hand_on(self, target: TransferTarget) -> _Exit:
        await self.port.transfer(target)
        return _Exit(result="transferred", end=OutcomeKind.TRANSFERRED, target=target)

    async def _queue(self, node: QueueNode) -> _Exit:
        def level(value: int | str) -> int:
            text = render(value, self.vars) if isinstance(value, str) else str(value)
            return _whole_number(text, low=0, high=100)

        shown = self.vars if node.data is None else {k: self.vars.get(k, "") for k in node.data}
        return await self._hand_on(
            TransferTarget(
                TransferKind.QUEUE,
                node.queue,
                priority=level(node.priority),
                skills={skill: level(value) for skill, value in node.skills.items()},
                data=dict(shown),
            )
        )

    async def _voicemail(self, node: VoicemailNode) -> _Exit:
        return await self._hand_on(TransferTarget(TransferKind.VOICEMAIL, node.box))

    async def _transfer(self, node: TransferNode) -> _Exit:
        if node.agent is not None:
            return await self._hand_on(TransferTarget(TransferKind.AGENT, node.agent))
        return await self._hand_on(TransferTarget(TransferKind.NUMBER, node.number or ""))

    async def _survey(self, node: SurveyNode) -> _Exit:
        answers: list[str] = []
        for number, question in enumerate(node.questions, start=1):
            answer = ""
            for attempt in range(node.retries + 1):
                if attempt:
                    await self._play(node.invalid_prompt)
                await self._play(question.prompt, interruptible=True)
                key = await self._key(node.timeout)
                if key.isdigit() and 1 <= int(key) <= node.scale:
                    answer = key
                    break
            if answer:
                self.vars[f"survey.q{number}"] = answer
            answers.append(answer or "-")
        await self._play(node.thanks)
        return _Exit(node.next, "ok", "".join(answers))

    async def _sms(self, node: SmsNode) -> _Exit:
        request = SmsRequest(
            call_id=self.port.call_id,
            to=render(node.to, self.vars).strip(),
            language=self.port.language,
            template=node.template,
            text=self._text(node) if node.text is not None else None,
            variables=dict(self.vars),
        )
        failed = node.on_error or node.next
        if self.sms is None:
            log.warning("call %s: no SMS outbox; sms node skipped", self.port.call_id)
            return _Exit(failed, "error")
        try:
            await asyncio.wait_for(self.sms.queue(request), SMS_QUEUE_SECONDS)
        except (SmsNotQueued, TimeoutError) as exc:
            log.info("call %s: SMS to %r not queued: %r", self.port.call_id, request.to, exc)
            return _Exit(failed, "error")
        return _Exit(node.next, "queued")

    async def _hangup(self, node: HangupNode) -> _Exit:
        await self._play(node.prompt)
        self.port.hang_up()
        return _Exit(result="hangup", end=OutcomeKind.HUNG_UP)

    # -- the walk ----------------------------------------------------------------------

    async def walk(
        self, recorder: PathRecorder | None, clock: Callable[[], dt.datetime]
    ) -> FlowOutcome:
        current, steps, visits = self.document.start, 0, Counter[str]()

        def outcome(kind: OutcomeKind, **extra: Any) -> FlowOutcome:
            return FlowOutcome(kind, current, steps, dict(self.vars), **extra)

        while True:
            if steps >= self.limits.max_steps:
                return outcome(OutcomeKind.FAILED, reason=f"more than {steps} steps")
            visits[current] += 1
            if visits[current] > self.limits.max_visits:
                reason = f"node {current!r} entered more than {self.limits.max_visits} times"
                return outcome(OutcomeKind.FAILED, reason=reason)
            steps += 1
            node = self.document.nodes[current]
            entered = clock()
            try:
                done = await self.handlers[type(node)](node)
            except CallGone:
                if recorder:
                    await recorder.record(
                        PathStep(current, node.type, entered, None, "caller_hung_up")
                    )
                return outcome(OutcomeKind.CALLER_HUNG_UP)
            except Exception as exc:
                log.exception("call %s: node %r failed", self.port.call_id, current)
                if recorder:
                    await recorder.record(PathStep(current, node.type, entered, None, "failed"))
                return outcome(OutcomeKind.FAILED, reason=f"{type(exc).__name__}: {exc}")
            if recorder:
                await recorder.record(
                    PathStep(current, node.type, entered, done.digits, done.result)
                )
            if done.end is not None:
                return outcome(done.end, target=done.target)
            assert done.next is not None
            current = done.next


async def run_flow(
    document: FlowDocument,
    port: CallPort,
    *,
    variables: Mapping[str, str] | None = None,
    recorder: PathRecorder | None = None,
    http_client: httpx.AsyncClient | None = None,
    limits: Limits | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    sms: SmsOutbox | None = None,
) -> FlowOutcome:
    """Run ``document`` on ``port`` until the call ends, is handed on or the run fails.

    ``http_client`` serves the HTTP nodes (one is opened for the run when None and
    a node needs it); ``recorder`` gets every step and, last, the outcome; ``clock``
    stamps the steps; ``sms`` queues the messages of ``sms`` nodes (without it they
    fail and the call goes on).
    """
    if document.language is not None:
        port.language = document.language
    start_vars = {
        **document.variables,
        **(variables or {}),
        "call.caller": port.caller,
        "call.called": port.called,
        "call.id": port.call_id,
        "call.language": port.language.value,
    }
    async with AsyncExitStack() as stack:
        opened: list[httpx.AsyncClient] = [http_client] if http_client else []

        async def client() -> httpx.AsyncClient:
            if not opened:
                opened.append(await stack.enter_async_context(httpx.AsyncClient()))
            return opened[0]

        run = _Run(document, port, start_vars, client, limits or Limits(), sms)
        result = await run.walk(recorder, clock)
        if recorder:
            await recorder.finish(result)
        return result
