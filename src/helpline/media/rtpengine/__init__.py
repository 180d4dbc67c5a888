"""rtpengine as Helpline's media relay (issue 5): an NG protocol client and a hybrid
backend in which rtpengine carries every call's RTP and the embedded engine keeps
prompts, DTMF, mixing and music on hold. See docs/media-backends.md."""

from __future__ import annotations

from pathlib import Path

from helpline.media.backend import MediaBackend
from helpline.media.rtpengine.backend import HybridBackend
from helpline.media.rtpengine.ng import NgClient, NgError, NgTimeout

__all__ = ["HybridBackend", "NgClient", "NgError", "NgTimeout", "create_hybrid"]


def create_hybrid(inner: MediaBackend, ng_address: str, *, recording_dir: Path) -> HybridBackend:
    """The hybrid backend over ``inner`` with rtpengine's NG socket at ``host:port``."""
    host, _, port = ng_address.rpartition(":")
    return HybridBackend(inner, NgClient(host, int(port)), recording_dir=recording_dir)
