"""What a call script sees of an answered call: play prompts, collect digits, hang up.

Theory of operation: call control answers a call, then runs a script (the ``prompt
test`` service now, IVR flows later) as a task with a :class:`Channel`. ``play`` queues
sources on the call's media endpoint and waits for the engine's
:class:`~helpline.media.backend.PlaybackFinished`; digits arrive from RFC 4733
telephone-events and from SIP INFO alike and wait in the channel's queue, so a key
pressed during a prompt is not lost (type-ahead). ``collect`` reads up to ``max_digits``
keys, ending early on the terminator or when no key arrives within the first or the
inter-digit timeout. When the call ends the script task is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from helpline.media.backend import (
    EndpointId,
    MediaBackend,
    PlaybackEnd,
    PlaybackId,
    Source,
    WavSource,
)
from helpline.prompts.language import Language
from helpline.prompts.library import PromptLibrary


class Playbacks:
    """Futures of running playbacks, resolved by the engine's PlaybackFinished events."""

    def __init__(self) -> None:
        self._waiting: dict[PlaybackId, asyncio.Future[PlaybackEnd]] = {}

    def expect(self, playback: PlaybackId) -> asyncio.Future[PlaybackEnd]:
        """A future for ``playback``'s end."""
        future = self._waiting.get(playback)
        if future is None:
            future = self._waiting[playback] = asyncio.get_running_loop().create_future()
        return future

    def finished(self, playback: PlaybackId, reason: PlaybackEnd) -> None:
        """The engine says ``playback`` ended (it may not have been awaited yet)."""
        future = self.expect(playback)
        if not future.done():
            future.set_result(reason)
        self._waiting.pop(playback, None)

    def forget(self, playback: PlaybackId) -> None:
        """Nobody waits for ``playback`` any more."""
        self._waiting.pop(playback, None)


class Channel:
    """One answered call as a script drives it."""

    def __init__(
        self,
        media: MediaBackend,
        endpoint: EndpointId,
        playbacks: Playbacks,
        library: PromptLibrary,
        *,
        tenant_id: int,
        language: Language,
        hang_up: Callable[[], None],
    ) -> None:
        self.media = media
        self.endpoint = endpoint
        self.playbacks = playbacks
        self.library = library
        self.tenant_id = tenant_id
        self.language = language
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self._hang_up = hang_up

    def prompts(self, names: Sequence[str]) -> list[Source]:
        """Sources for prompt names in the channel's language (tenant prompts first)."""
        paths: list[Path] = self.library.resolve_all(names, self.language, tenant_id=self.tenant_id)
        return [WavSource(str(path)) for path in paths]

    async def play(self, sources: Sequence[Source], *, interruptible: bool = False) -> PlaybackEnd:
        """Play ``sources`` and wait for the end (DTMF ends it when ``interruptible``)."""
        if interruptible and not self.digits.empty():
            return PlaybackEnd.DTMF
        playback = await self.media.play(self.endpoint, sources, interruptible=interruptible)
        future = self.playbacks.expect(playback)
        try:
            return await future
        except asyncio.CancelledError:
            self.playbacks.forget(playback)
            raise

    async def collect(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 8.0,
        inter_timeout: float = 4.0,
    ) -> str:
        """Keys pressed, without the terminator ("" when nothing came in time)."""
        out: list[str] = []
        while len(out) < max_digits:
            timeout = inter_timeout if out else first_timeout
            try:
                key = await asyncio.wait_for(self.digits.get(), timeout)
            except TimeoutError:
                break
            if key == terminator:
                break
            out.append(key)
        return "".join(out)

    def hang_up(self) -> None:
        """End the call (BYE)."""
        self._hang_up()
