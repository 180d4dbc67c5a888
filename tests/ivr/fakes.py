"""A scripted :class:`~helpline.ivr.port.CallPort` for interpreter tests.

The script is the keys the caller presses: each ``collect`` takes the next entry
(``""`` is a timeout); once the script is used up the caller hangs up (``CallGone``).
Everything the flow does is logged in ``events`` as readable strings: ``play
en:ivr/goodbye``, ``tts zh:text``, ``collect 1``, ``transfer queue:sales``, ``hangup``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from helpline.ivr.engine import FlowOutcome, PathStep
from helpline.ivr.port import CallGone, RecordEnd, RecordResult, TransferTarget
from helpline.media.backend import PlaybackEnd, Source, WavSource
from helpline.prompts.language import Language


class FakePort:
    """One scripted call."""

    def __init__(
        self,
        keys: Sequence[str] = (),
        *,
        language: Language = Language.EN,
        caller: str = "5551234",
        called: str = "1000",
        missing: Sequence[str] = (),
    ) -> None:
        self.tenant_id = 1
        self.language = language
        self.caller = caller
        self.called = called
        self.call_id = "call-1"
        self.keys = list(keys)
        self.missing = set(missing)
        self.events: list[str] = []
        self.collects: list[dict[str, object]] = []
        self.transferred: TransferTarget | None = None
        self.hung_up = False

    def prompts(self, names: Sequence[str]) -> list[Source]:
        """A WAV source per name, ``LookupError`` for the ``missing`` ones."""
        for name in names:
            if name in self.missing:
                raise LookupError(name)
        return [WavSource(f"{self.language.value}:{name}") for name in names]

    async def speak(self, text: str) -> Source:
        """A source standing for the TTS of ``text``."""
        return WavSource(f"tts {self.language.value}:{text}")

    async def play(self, sources: Sequence[Source], *, interruptible: bool = False) -> PlaybackEnd:
        """Log each source played."""
        for source in sources:
            assert isinstance(source, WavSource)
            path = source.path
            self.events.append(path if path.startswith("tts ") else f"play {path}")
        return PlaybackEnd.COMPLETED

    async def collect(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 8.0,
        inter_timeout: float = 4.0,
    ) -> str:
        """The next scripted keys (``CallGone`` when the script is used up)."""
        self.collects.append(
            {"max_digits": max_digits, "terminator": terminator, "first_timeout": first_timeout}
        )
        if not self.keys:
            raise CallGone
        keys = self.keys.pop(0)
        self.events.append(f"collect {keys}")
        return keys

    async def record(
        self, path: Path, *, max_seconds: float, silence_seconds: float, terminators: str = "#"
    ) -> RecordResult:
        """An empty recording."""
        return RecordResult(path, 0.0, RecordEnd.SILENCE)

    async def transfer(self, target: TransferTarget) -> None:
        """Remember the hand-over."""
        self.transferred = target
        self.events.append(f"transfer {target.kind.value}:{target.target}")

    def hang_up(self) -> None:
        """Remember the hang-up."""
        self.hung_up = True
        self.events.append("hangup")


class ListRecorder:
    """A path recorder keeping the steps and the outcome in memory."""

    def __init__(self) -> None:
        self.steps: list[PathStep] = []
        self.outcome: FlowOutcome | None = None

    async def record(self, step: PathStep) -> None:
        """Keep the step."""
        self.steps.append(step)

    async def finish(self, outcome: FlowOutcome) -> None:
        """Keep the outcome."""
        self.outcome = outcome
