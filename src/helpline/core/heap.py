"""Keeping the garbage collector's full collections short in long-running processes."""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Move everything alive after start-up out of the collector's sight.

    Modules, ORM mappers, the app and its caches live as long as the process; left in
    the collected generations, every full collection walks them again and holds the
    event loop meanwhile. Frozen objects are never collected, so call this once, when
    start-up is done, not while requests are being served.
    """
    gc.collect()
    gc.freeze()
