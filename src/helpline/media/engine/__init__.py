"""The embedded media engine: RTP/RTCP on asyncio sockets behind ``MediaBackend``.

:class:`MediaEngine` runs in the calling process (``workers=0``: tests, small
installs); :class:`WorkerPool` runs one engine per worker process, each with its own
slice of the port range, and is the same interface to call control.
"""

from __future__ import annotations

from helpline.media.backend import MediaBackend
from helpline.media.engine.config import EngineConfig
from helpline.media.engine.core import MediaEngine
from helpline.media.engine.workers import WorkerPool

__all__ = ["EngineConfig", "MediaEngine", "WorkerPool", "create_backend"]


def create_backend(
    config: EngineConfig | None = None, *, workers: int | None = None
) -> MediaBackend:
    """The embedded backend: in-process with ``workers=0``, else a pool of ``workers``
    processes (None: one per CPU). Call ``start()`` on it before use."""
    if workers == 0:
        return MediaEngine(config)
    return WorkerPool(config, workers=workers)
