"""An answered call as scripts drive it: the real :class:`~helpline.ivr.port.CallPort`.

Theory of operation: call control answers a call, then runs a script (the ``prompt
test`` service, IVR flows, VoiceXML, voicemail) as a task with a :class:`Channel`.
``play`` queues sources on the call's media endpoint and waits for the engine's
:class:`~helpline.media.backend.PlaybackFinished`; digits arrive from RFC 4733
telephone-events and from SIP INFO alike and wait in the channel's queue, so a key
pressed during a prompt is not lost (type-ahead). ``collect`` reads up to ``max_digits``
keys, ending early on the terminator or when no key arrives within the first or the
inter-digit timeout. ``record`` writes what the caller says to a WAV file until a
terminator key, ``max_seconds``, silence (the engine's silence watch) or the hang-up.

When the call ends call control calls :meth:`Channel.close`: whatever the script was
waiting for raises :class:`~helpline.ivr.port.CallGone`, so it can finish its own
bookkeeping (a recording in progress is kept, an IVR path is stored) and return.
``transfer`` hands the call back to call control (a phone, a number, voicemail).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from helpline.ivr.port import CallGone, RecordEnd, RecordResult, TransferTarget
from helpline.media.backend import (
    EndpointId,
    MediaBackend,
    MediaBackendError,
    PlaybackEnd,
    PlaybackId,
    Source,
    WavSource,
)
from helpline.media.errors import MediaError
from helpline.media.wav import check_wav
from helpline.prompts.language import Language
from helpline.prompts.library import PromptLibrary, PromptNotFound
from helpline.prompts.service import tts_cache_dir
from helpline.prompts.tts import synthesize

T = TypeVar("T")


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
    """One answered call as a script drives it (implements ``CallPort``)."""

    def __init__(
        self,
        media: MediaBackend,
        endpoint: EndpointId,
        playbacks: Playbacks,
        library: PromptLibrary,
        *,
        tenant_id: int,
        language: Language,
        call_id: str,
        caller: str,
        called: str,
        hang_up: Callable[[], None],
        transfer: Callable[[TransferTarget], Awaitable[None]],
    ) -> None:
        self.media = media
        self.endpoint = endpoint
        self.playbacks = playbacks
        self.library = library
        self.tenant_id = tenant_id
        self.language = language
        self.call_id = call_id
        self.caller = caller
        self.called = called
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.silent = asyncio.Event()
        self._hang_up = hang_up
        self._transfer = transfer

    def close(self) -> None:
        """The call ended: every wait of the script raises CallGone from now on."""
        self.gone.set()

    async def _until_gone(self, work: Awaitable[T]) -> T:
        """``work``'s result, or CallGone if the call ends first."""
        if self.gone.is_set():
            if inspect.iscoroutine(work):
                work.close()
            raise CallGone
        task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise CallGone
        return task.result()

    def prompts(self, names: Sequence[str]) -> list[Source]:
        """Sources for prompt names in the channel's language (tenant prompts first);
        ``LookupError`` names the first prompt that does not exist."""
        try:
            paths = self.library.resolve_all(names, self.language, tenant_id=self.tenant_id)
        except (PromptNotFound, ValueError) as exc:
            raise LookupError(str(exc)) from exc
        return [WavSource(str(path)) for path in paths]

    async def speak(self, text: str) -> Source:
        """Text-to-speech in the channel's language, from the tenant's cache."""
        data_dir = self.library.data_dir or Path(".")
        speech = await synthesize(
            text, language=self.language, cache_dir=tts_cache_dir(data_dir, self.tenant_id)
        )
        return WavSource(str(speech.path))

    async def play(self, sources: Sequence[Source], *, interruptible: bool = False) -> PlaybackEnd:
        """Play ``sources`` and wait for the end (DTMF ends it when ``interruptible``)."""
        if interruptible and not self.digits.empty():
            return PlaybackEnd.DTMF
        playback = await self._until_gone(
            self.media.play(self.endpoint, sources, interruptible=interruptible)
        )
        try:
            return await self._until_gone(self.playbacks.expect(playback))
        finally:
            self.playbacks.forget(playback)

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
            if self.gone.is_set():
                raise CallGone
            timeout = inter_timeout if out else first_timeout
            try:
                key = await self._until_gone(asyncio.wait_for(self.digits.get(), timeout))
            except TimeoutError:
                break
            if key == terminator:
                break
            out.append(key)
        return "".join(out)

    async def record(
        self, path: Path, *, max_seconds: float, silence_seconds: float, terminators: str = "#"
    ) -> RecordResult:
        """Record the caller to ``path`` (mono) until a terminator, silence, the maximum
        length or the hang-up; a hang-up keeps what was recorded."""
        self.silent.clear()
        recording = await self._until_gone(
            self.media.start_recording(self.endpoint, str(path), stereo=False)
        )
        watching = silence_seconds > 0
        if watching:
            with contextlib.suppress(MediaBackendError):
                await self.media.watch_silence(self.endpoint, silence_seconds)
        ended, key = RecordEnd.MAX_LENGTH, None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        try:
            while (left := deadline - loop.time()) > 0:
                got = await self._next_event(left)
                if got == "silence":
                    ended = RecordEnd.SILENCE
                    break
                if got is not None and got in terminators:
                    ended, key = RecordEnd.KEY, got
                    break
        except CallGone:
            ended = RecordEnd.HANGUP
        finally:
            with contextlib.suppress(MediaBackendError):
                await self.media.stop_recording(recording)
            if watching:
                with contextlib.suppress(MediaBackendError):
                    await self.media.watch_silence(self.endpoint, 0)
        duration = await asyncio.to_thread(_duration, path)
        return RecordResult(path, duration, ended, key)

    async def _next_event(self, within: float) -> str | None:
        """The next key, "silence", or None when ``within`` seconds passed."""
        key = asyncio.ensure_future(self.digits.get())
        silence = asyncio.ensure_future(self.silent.wait())
        try:
            done, _ = await self._until_gone(
                asyncio.wait((key, silence), timeout=within, return_when=asyncio.FIRST_COMPLETED)
            )
        finally:
            for waiter in (key, silence):
                if not waiter.done():
                    waiter.cancel()
        if key in done:
            return key.result()
        return "silence" if silence in done else None

    async def transfer(self, target: TransferTarget) -> None:
        """Hand the call to call control (a phone, a number, voicemail ...)."""
        if self.gone.is_set():
            raise CallGone
        await self._transfer(target)

    def hang_up(self) -> None:
        """End the call (BYE)."""
        self._hang_up()


def _duration(path: Path) -> float:
    try:
        return check_wav(path).duration
    except (OSError, MediaError):
        return 0.0
