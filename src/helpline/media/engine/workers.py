"""Media on every core: one engine per worker process behind one ``MediaBackend``.

Theory of operation
-------------------
* :class:`WorkerPool` starts N worker processes (default: one per CPU) with the
  ``spawn`` start method, so no loop, socket or lock is inherited. Each worker runs a
  :class:`~helpline.media.engine.core.MediaEngine` on uvloop (when installed) with its
  own slice of the RTP port range and its own id prefix (``w0.``, ``w1.`` ...).
* The parent talks to each worker over a ``multiprocessing`` pipe read by the parent's
  event loop (``add_reader``): ``("call", id, method, args, kwargs)`` goes down,
  ``("result", id, ok, value)`` and ``("event", event)`` come up. Values and events are
  the frozen dataclasses of :mod:`helpline.media.backend`, pickled. A worker runs its
  commands one at a time, in order. Both ends frame messages as ``Connection`` does (a
  4-byte big-endian length, then the pickle) but read the socket once per readiness
  callback and split every whole message out of one buffer: no ``poll`` (a ``select``
  call) and no two reads per message, which at hundreds of calls per second were most
  of the IPC cost.
* Routing: every id starts with its worker's prefix, so a command about an endpoint,
  playback, recording, bridge or conference goes straight to the worker that owns it;
  call control never knows which one that is.
* Placement: ``allocate_endpoint(affinity=key)`` and ``create_conference(affinity=key)``
  put everything with the same key (e.g. the call id) on one worker (CRC-32 of the key);
  without a key, workers take turns. Bridging or mixing endpoints of two workers raises
  :class:`CrossWorkerError`: relaying audio between processes would add latency and a
  copy per frame, and the affinity key makes it unnecessary. Music-on-hold classes
  are defined on every worker; each worker has one shared source per class.
* A worker that dies fails its pending commands with :class:`MediaBackendError`; its
  endpoints are gone (call control sees errors and RTP timeouts on the SIP side).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import pickle
import struct
import zlib
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from helpline.core.heap import settle_heap
from helpline.media.backend import (
    BridgeId,
    ConferenceId,
    CrossWorkerError,
    EndpointId,
    EndpointStats,
    LocalMedia,
    MediaBackendError,
    MediaEvent,
    ParticipantMask,
    PlaybackId,
    RecordingId,
    RemoteMedia,
    Source,
)
from helpline.media.engine.config import EngineConfig, worker_of
from helpline.media.engine.core import MediaEngine

log = logging.getLogger(__name__)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")
_READ_SIZE = 1 << 16


def _send(fd: int, message: object) -> None:
    """Write one message (blocking), framed as ``Connection.send_bytes`` frames it."""
    payload = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    size = len(payload)
    long = size > 0x7FFFFFFF
    head = _LENGTH.pack(-1) + _LONG_LENGTH.pack(size) if long else _LENGTH.pack(size)
    view = memoryview(head + payload)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int, buffer: bytearray) -> list[Any]:
    """Read what ``fd`` has (call when readable); the whole messages now in ``buffer``.

    Raises EOFError when the other end has closed.
    """
    data = os.read(fd, _READ_SIZE)
    if not data:
        raise EOFError
    buffer += data
    messages: list[Any] = []
    pos, end = 0, len(buffer)
    while end - pos >= 4:
        (size,) = _LENGTH.unpack_from(buffer, pos)
        start = pos + 4
        if size == -1:
            if end - start < 8:
                break
            (size,) = _LONG_LENGTH.unpack_from(buffer, start)
            start += 8
        if end - start < size:
            break
        messages.append(pickle.loads(buffer[start : start + size]))
        pos = start + size
    del buffer[:pos]
    return messages


class _Worker:
    __slots__ = ("buffer", "conn", "dead", "fd", "index", "pending", "process", "ready")

    def __init__(self, index: int, process: BaseProcess, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self.fd = conn.fileno()
        self.buffer = bytearray()
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.dead = False


class WorkerPool:
    """A :class:`~helpline.media.backend.MediaBackend` spread over worker processes."""

    def __init__(self, config: EngineConfig | None = None, *, workers: int | None = None) -> None:
        self.config = config or EngineConfig()
        self.size = workers if workers is not None else os.cpu_count() or 1
        if self.size < 1:
            raise MediaBackendError("a worker pool needs at least one worker")
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._closing = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers (for monitoring)."""
        return [w.process.pid or 0 for w in self._workers]

    async def start(self) -> None:
        """Start the workers and wait until each one listens."""
        if self._workers:
            return
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        level = logging.getLogger("helpline").getEffectiveLevel()
        for index, config in enumerate(self.config.split(self.size)):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(child, config, level),
                name=f"helpline-media-{index}",
                daemon=True,
            )
            process.start()
            child.close()
            worker = _Worker(index, process, parent)
            self._workers.append(worker)
            loop.add_reader(parent.fileno(), self._readable, worker)
        await asyncio.wait_for(asyncio.gather(*(w.ready for w in self._workers)), START_TIMEOUT)

    async def close(self) -> None:
        """Close every engine, then stop and join the workers."""
        loop = asyncio.get_running_loop()
        self._closing = True
        for worker in self._workers:
            if not worker.dead:
                try:
                    await self._call(worker, "close")
                    _send(worker.fd, ("stop",))
                except (MediaBackendError, OSError) as exc:
                    log.warning("media worker %d did not close cleanly: %s", worker.index, exc)
        for worker in self._workers:
            await loop.run_in_executor(None, worker.process.join, STOP_TIMEOUT)
            if worker.process.is_alive():
                worker.process.terminate()
            self._forget(worker)
        self._workers.clear()
        self._closing = False

    def _forget(self, worker: _Worker) -> None:
        if not worker.dead:
            worker.dead = True
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
            worker.conn.close()
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(MediaBackendError(f"media worker {worker.index} is gone"))
        worker.pending.clear()

    def _readable(self, worker: _Worker) -> None:
        if worker.dead:
            return
        try:
            for message in _receive(worker.fd, worker.buffer):
                kind = message[0]
                if kind == "event":
                    self._events.put_nowait(message[1])
                elif kind == "result":
                    _, ident, ok, value = message
                    future = worker.pending.pop(ident, None)
                    if future is not None and not future.done():
                        if ok:
                            future.set_result(value)
                        else:
                            future.set_exception(value)
                elif kind == "ready" and not worker.ready.done():
                    worker.ready.set_result(None)
        except (EOFError, OSError):
            if not self._closing:
                log.error("media worker %d exited", worker.index)
            if not worker.ready.done():
                worker.ready.set_exception(MediaBackendError("media worker failed to start"))
            self._forget(worker)

    async def _call(self, worker: _Worker, method: str, *args: Any, **kwargs: Any) -> Any:
        if worker.dead:
            raise MediaBackendError(f"media worker {worker.index} is gone")
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        worker.pending[ident] = future
        try:
            _send(worker.fd, ("call", ident, method, args, kwargs))
        except OSError as exc:
            worker.pending.pop(ident, None)
            raise MediaBackendError(f"media worker {worker.index}: {exc}") from exc
        return await future

    def _owner(self, ident: str) -> _Worker:
        index = worker_of(ident)
        if index >= len(self._workers):
            raise MediaBackendError(f"no worker for {ident!r}")
        return self._workers[index]

    def _place(self, affinity: str | None) -> _Worker:
        if not self._workers:
            raise MediaBackendError("the worker pool is not started")
        if affinity is None:
            return self._workers[next(self._turn) % len(self._workers)]
        return self._workers[zlib.crc32(affinity.encode()) % len(self._workers)]

    def _together(self, *idents: str) -> _Worker:
        owners = {worker_of(i) for i in idents}
        if len(owners) > 1:
            raise CrossWorkerError(
                f"{', '.join(idents)} live on different media workers; allocate the legs "
                "of one call with the same affinity key"
            )
        return self._owner(idents[0])

    async def allocate_endpoint(
        self, remote: RemoteMedia | None = None, *, affinity: str | None = None
    ) -> LocalMedia:
        """Allocate on the worker chosen by ``affinity`` (or the next one in turn)."""
        result: LocalMedia = await self._call(self._place(affinity), "allocate_endpoint", remote)
        return result

    async def update_endpoint(self, endpoint: EndpointId, remote: RemoteMedia) -> None:
        """See :meth:`MediaBackend.update_endpoint`."""
        await self._call(self._owner(endpoint), "update_endpoint", endpoint, remote)

    async def release_endpoint(self, endpoint: EndpointId) -> None:
        """See :meth:`MediaBackend.release_endpoint`."""
        await self._call(self._owner(endpoint), "release_endpoint", endpoint)

    async def play(
        self,
        endpoint: EndpointId,
        sources: Sequence[Source],
        *,
        loop: bool = False,
        interruptible: bool = False,
    ) -> PlaybackId:
        """See :meth:`MediaBackend.play`."""
        result: PlaybackId = await self._call(
            self._owner(endpoint),
            "play",
            endpoint,
            list(sources),
            loop=loop,
            interruptible=interruptible,
        )
        return result

    async def stop_playback(self, playback: PlaybackId) -> None:
        """See :meth:`MediaBackend.stop_playback`."""
        await self._call(self._owner(playback), "stop_playback", playback)

    async def start_recording(
        self, target: EndpointId | BridgeId, path: str, *, stereo: bool = True
    ) -> RecordingId:
        """See :meth:`MediaBackend.start_recording`."""
        result: RecordingId = await self._call(
            self._owner(target), "start_recording", target, path, stereo=stereo
        )
        return result

    async def stop_recording(self, recording: RecordingId) -> None:
        """See :meth:`MediaBackend.stop_recording`."""
        await self._call(self._owner(recording), "stop_recording", recording)

    async def bridge(self, a: EndpointId, b: EndpointId) -> BridgeId:
        """Bridge two endpoints of one worker; raises :class:`CrossWorkerError` otherwise."""
        result: BridgeId = await self._call(self._together(a, b), "bridge", a, b)
        return result

    async def unbridge(self, bridge: BridgeId) -> None:
        """See :meth:`MediaBackend.unbridge`."""
        await self._call(self._owner(bridge), "unbridge", bridge)

    async def create_conference(self, *, affinity: str | None = None) -> ConferenceId:
        """Create the conference on the worker chosen by ``affinity``."""
        result: ConferenceId = await self._call(self._place(affinity), "create_conference")
        return result

    async def add_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """Add an endpoint of the conference's worker (:class:`CrossWorkerError` if not)."""
        worker = self._together(conference, endpoint)
        await self._call(worker, "add_participant", conference, endpoint, mask)

    async def update_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """See :meth:`MediaBackend.update_participant`."""
        worker = self._together(conference, endpoint)
        await self._call(worker, "update_participant", conference, endpoint, mask)

    async def remove_participant(self, conference: ConferenceId, endpoint: EndpointId) -> None:
        """See :meth:`MediaBackend.remove_participant`."""
        worker = self._together(conference, endpoint)
        await self._call(worker, "remove_participant", conference, endpoint)

    async def destroy_conference(self, conference: ConferenceId) -> None:
        """See :meth:`MediaBackend.destroy_conference`."""
        await self._call(self._owner(conference), "destroy_conference", conference)

    async def watch_silence(self, endpoint: EndpointId, seconds: float) -> None:
        """See :meth:`MediaBackend.watch_silence`."""
        await self._call(self._owner(endpoint), "watch_silence", endpoint, seconds)

    async def send_dtmf(self, endpoint: EndpointId, digits: str, *, duration: float = 0.1) -> None:
        """See :meth:`MediaBackend.send_dtmf`."""
        await self._call(self._owner(endpoint), "send_dtmf", endpoint, digits, duration=duration)

    async def define_moh(self, name: str, sources: Sequence[Source]) -> None:
        """Define the class on every worker."""
        await asyncio.gather(
            *(self._call(w, "define_moh", name, list(sources)) for w in self._workers)
        )

    async def attach_moh(self, endpoint: EndpointId, name: str = "default") -> None:
        """See :meth:`MediaBackend.attach_moh`."""
        await self._call(self._owner(endpoint), "attach_moh", endpoint, name)

    async def detach_moh(self, endpoint: EndpointId) -> None:
        """See :meth:`MediaBackend.detach_moh`."""
        await self._call(self._owner(endpoint), "detach_moh", endpoint)

    async def stats(self, endpoint: EndpointId) -> EndpointStats:
        """See :meth:`MediaBackend.stats`."""
        result: EndpointStats = await self._call(self._owner(endpoint), "stats", endpoint)
        return result

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Events of all workers, each worker's in order."""
        while True:
            yield await self._events.get()


_COMMANDS = frozenset(
    name
    for name in dir(WorkerPool)
    if not name.startswith("_") and name not in {"events", "start", "pids", "size", "config"}
)


def worker_main(conn: Connection, config: EngineConfig, level: int = logging.WARNING) -> None:
    """Entry point of a worker process: serve ``conn`` until told to stop."""
    logging.basicConfig(level=level, format="%(asctime)s %(processName)s %(name)s %(message)s")
    try:
        import uvloop
    except ImportError:
        runner = asyncio.Runner()
    else:
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    with runner:
        runner.run(_serve(conn, config))


async def _serve(conn: Connection, config: EngineConfig) -> None:
    loop = asyncio.get_running_loop()
    engine = MediaEngine(config)
    await engine.start()
    settle_heap()
    inbox: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()
    fd = conn.fileno()
    buffer = bytearray()

    def readable() -> None:
        try:
            for message in _receive(fd, buffer):
                inbox.put_nowait(message)
        except (EOFError, OSError):
            inbox.put_nowait(None)
            loop.remove_reader(fd)

    async def pump() -> None:
        async for event in engine.events():
            _send(fd, ("event", event))

    loop.add_reader(fd, readable)
    pumping = asyncio.create_task(pump())
    _send(fd, ("ready",))
    try:
        while (message := await inbox.get()) is not None and message[0] == "call":
            _, ident, method, args, kwargs = message
            if method not in _COMMANDS:
                _send(fd, ("result", ident, False, MediaBackendError(f"no command {method}")))
                continue
            try:
                value = await getattr(engine, method)(*args, **kwargs)
            except MediaBackendError as exc:
                _send(fd, ("result", ident, False, exc))
            except Exception as exc:
                log.exception("media command %s failed", method)
                _send(fd, ("result", ident, False, MediaBackendError(f"{method}: {exc!r}")))
            else:
                _send(fd, ("result", ident, True, value))
            await asyncio.sleep(0)  # let the pump forward events in order with results
    finally:
        await engine.close()
        await asyncio.sleep(0)
        pumping.cancel()
        loop.remove_reader(fd)
