"""A scripted CallPort for interpreter tests, and an in-memory document fetcher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpline.ivr.port import CallGone, RecordEnd, RecordResult, TransferTarget
from helpline.media.backend import PlaybackEnd, Source, WavSource
from helpline.prompts.language import Language
from helpline.vxml.fetch import Fetched, FetchError


@dataclass
class FakePort:
    """Answers ``collect`` from ``keys`` (``""`` is silence) and ``record`` from
    ``recordings``; when a script runs out the caller hangs up (CallGone).
    ``heard`` lists what the caller heard: ``prompt:NAME``, ``tts:TEXT``, ``silence``,
    ``tone``; ``log`` lists every call in order."""

    keys: list[str] = field(default_factory=list)
    recordings: list[tuple[float, RecordEnd, str | None]] = field(default_factory=list)
    known_prompts: frozenset[str] = frozenset({"ivr/please-enter", "ivr/goodbye"})
    tenant_id: int = 1
    language: Language = Language.EN
    caller: str = "+4930111"
    called: str = "1001"
    call_id: str = "call-1"
    heard: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    collects: list[dict[str, object]] = field(default_factory=list)
    transferred: TransferTarget | None = None
    hung_up: bool = False
    gone: bool = False

    def _alive(self) -> None:
        if self.gone:
            raise CallGone

    def prompts(self, names: Sequence[str]) -> list[Source]:
        for name in names:
            if name not in self.known_prompts:
                raise LookupError(name)
        return [WavSource(f"prompt:{name}") for name in names]

    async def speak(self, text: str) -> Source:
        self._alive()
        return WavSource(f"tts:{text}")

    async def play(self, sources: Sequence[Source], *, interruptible: bool = False) -> PlaybackEnd:
        self._alive()
        for source in sources:
            self.heard.append(source.path if isinstance(source, WavSource) else source_kind(source))
        self.log.append("play")
        return PlaybackEnd.COMPLETED

    async def collect(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 8.0,
        inter_timeout: float = 4.0,
    ) -> str:
        self._alive()
        self.collects.append(
            {"max_digits": max_digits, "terminator": terminator, "first_timeout": first_timeout,
             "inter_timeout": inter_timeout}
        )  # fmt: skip
        if not self.keys:
            self.gone = True
            raise CallGone
        keys = self.keys.pop(0)
        self.log.append(f"collect:{keys}")
        return keys

    async def record(
        self, path: Path, *, max_seconds: float, silence_seconds: float, terminators: str = "#"
    ) -> RecordResult:
        self._alive()
        self.log.append(f"record:{max_seconds}:{silence_seconds}:{terminators}")
        duration, ended_by, key = self.recordings.pop(0)
        path.write_bytes(b"RIFF" + bytes(40))  # noqa: ASYNC240
        if ended_by is RecordEnd.HANGUP:
            self.gone = True
        return RecordResult(path=path, duration=duration, ended_by=ended_by, key=key)

    async def transfer(self, target: TransferTarget) -> None:
        self._alive()
        self.log.append("transfer")
        self.transferred = target

    def hang_up(self) -> None:
        self.log.append("hang_up")
        self.hung_up = True


def source_kind(source: Source) -> str:
    """A short name for a non-file source."""
    return type(source).__name__.removesuffix("Source").lower()


class MemoryFetcher:
    """Serves documents from a dict of URL -> text and records each request."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        self.documents = dict(documents)
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def fetch(
        self, url: str, *, method: str = "GET", data: Mapping[str, str] | None = None
    ) -> Fetched:
        self.requests.append((url, method, dict(data or {})))
        if url not in self.documents:
            raise FetchError(f"{url} not found")
        return Fetched(url, self.documents[url])
