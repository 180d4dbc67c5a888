"""What IVR flows, VoiceXML documents and voicemail see of a call: the :class:`CallPort`.

Theory of operation: self-service code never touches SIP or the media engine. Call
control answers the call and hands a :class:`CallPort` to the flow interpreter, which
plays, collects digits, records and finally hands the call on (:meth:`CallPort.transfer`:
a queue, an agent, a number, voicemail) or hangs up. Tests drive interpreters with a
scripted fake port; the real port is :class:`helpline.telephony.channel.Channel`.
Every coroutine raises :class:`CallGone` once the caller has hung up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from helpline.media.backend import PlaybackEnd, Source
from helpline.prompts.language import Language


class CallGone(Exception):
    """The caller hung up; the flow stops."""


class TransferKind(Enum):
    """Where a call can be handed on to."""

    QUEUE = "queue"
    AGENT = "agent"
    NUMBER = "number"
    VOICEMAIL = "voicemail"


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """A hand-over: ``target`` names the queue, agent (username), number or voicemail
    box; ``priority`` and ``skills`` travel with queue calls; ``data`` (flow variables)
    travels to the agent's screen."""

    kind: TransferKind
    target: str
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)


class RecordEnd(Enum):
    """Why a recording stopped."""

    KEY = "key"
    SILENCE = "silence"
    MAX_LENGTH = "max_length"
    HANGUP = "hangup"


@dataclass(frozen=True, slots=True)
class RecordResult:
    """A finished recording (8 kHz mono WAV at ``path``)."""

    path: Path
    duration: float
    ended_by: RecordEnd
    key: str | None = None


class CallPort(Protocol):
    """One answered call, as self-service code drives it."""

    tenant_id: int
    language: Language
    caller: str
    """The caller's number (the From user), "" when anonymous."""
    called: str
    """The number dialed (the Request-URI user)."""
    call_id: str

    def prompts(self, names: Sequence[str]) -> list[Source]:
        """Sources for prompt names in the port's language (tenant prompts first);
        raises ``LookupError`` for an unknown name."""
        ...

    async def speak(self, text: str) -> Source:
        """Text-to-speech in the port's language (cached)."""
        ...

    async def play(self, sources: Sequence[Source], *, interruptible: bool = False) -> PlaybackEnd:
        """Play and wait for the end; a key ends it early when ``interruptible`` (the
        key stays queued for :meth:`collect`)."""
        ...

    async def collect(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 8.0,
        inter_timeout: float = 4.0,
    ) -> str:
        """Keys pressed (type-ahead included), without the terminator; "" on timeout."""
        ...

    async def record(
        self, path: Path, *, max_seconds: float, silence_seconds: float, terminators: str = "#"
    ) -> RecordResult:
        """Record what the caller says to ``path`` until a terminator key, silence,
        ``max_seconds`` or hang-up (a hang-up keeps what was recorded)."""
        ...

    async def transfer(self, target: TransferTarget) -> None:
        """Hand the call on; the flow ends (returns once call control has it)."""
        ...

    def hang_up(self) -> None:
        """End the call."""
        ...
