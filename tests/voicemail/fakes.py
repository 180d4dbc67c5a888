"""A scripted :class:`~helpline.ivr.port.CallPort` that writes a real WAV when recording."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpline.ivr.port import CallGone, RecordEnd, RecordResult, TransferTarget
from helpline.media.backend import PlaybackEnd, Source, WavSource
from helpline.media.tones import tone
from helpline.media.wav import WavWriter
from helpline.prompts.language import Language

SPEECH_HZ = 440
SYSTEM_PROMPTS = frozenset({"ivr/leave-message-after-tone", "beep"})


@dataclass(frozen=True, slots=True)
class Recorded:
    """What :meth:`FakePort.record` was asked for."""

    path: Path
    max_seconds: float
    silence_seconds: float
    terminators: str


@dataclass
class FakePort:
    """One call, scripted: the caller speaks ``speech_seconds`` of 440 Hz and the
    recording ends as ``ends_by`` says; ``gone_before`` makes the caller hang up before
    ``"greeting"`` or ``"record"``; ``on_record`` runs as recording starts."""

    tenant_id: int
    caller: str = "+4930123456"
    called: str = "1000"
    call_id: str = "vm-1@test"
    language: Language = Language.EN
    speech_seconds: float = 3.0
    ends_by: RecordEnd = RecordEnd.KEY
    gone_before: str | None = None
    record_error: Exception | None = None
    prompts_known: frozenset[str] = SYSTEM_PROMPTS
    on_record: Callable[[Path], Awaitable[None]] | None = None
    played: list[list[str]] = field(default_factory=list)
    recorded: list[Recorded] = field(default_factory=list)
    hung_up: bool = False

    def prompts(self, names: Sequence[str]) -> list[Source]:
        unknown = [n for n in names if n not in self.prompts_known]
        if unknown:
            raise LookupError(f"no prompt {unknown[0]!r}")
        return [WavSource(f"/prompts/{name}.wav") for name in names]

    async def speak(self, text: str) -> Source:
        return WavSource(f"/tts/{text}.wav")

    async def play(self, sources: Sequence[Source], *, interruptible: bool = False) -> PlaybackEnd:
        if self.gone_before == "greeting":
            raise CallGone
        self.played.append(
            [
                s.path.removeprefix("/prompts/").removesuffix(".wav")
                for s in sources
                if isinstance(s, WavSource)
            ]
        )
        return PlaybackEnd.COMPLETED

    async def collect(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 8.0,
        inter_timeout: float = 4.0,
    ) -> str:
        return ""

    async def record(
        self, path: Path, *, max_seconds: float, silence_seconds: float, terminators: str = "#"
    ) -> RecordResult:
        self.recorded.append(Recorded(path, max_seconds, silence_seconds, terminators))
        if self.gone_before == "record":
            raise CallGone
        if self.on_record is not None:
            await self.on_record(path)
        if self.record_error is not None:
            raise self.record_error
        seconds = min(self.speech_seconds, max_seconds)
        ended = RecordEnd.MAX_LENGTH if seconds < self.speech_seconds else self.ends_by
        with WavWriter(path) as writer:
            writer.write(tone([SPEECH_HZ], seconds))
        key = terminators[0] if ended is RecordEnd.KEY else None
        return RecordResult(path, seconds, ended, key)

    async def transfer(self, target: TransferTarget) -> None:
        raise AssertionError(f"voicemail does not transfer ({target})")

    def hang_up(self) -> None:
        self.hung_up = True
