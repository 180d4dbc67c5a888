"""rtpengine as Helpline's media relay (issue 5): an NG protocol client and a hybrid
backend in which rtpengine carries every call's RTP and the embedded engine keeps
prompts, DTMF, mixing and music on hold. See docs/media-backends.md."""

from __future__ import annotations

from pathlib import Path

from helpline.media.backend import MediaBackend
from helpline.media.rtpengine.backend import HybridBackend
from helpline.media.rtpengine.ng import NgClient, NgError, NgTimeout
from helpline.media.rtpengine.recovery import recover_recordings

__all__ = [
    "HybridBackend",
    "NgClient",
    "NgError",
    "NgTimeout",
    "create_hybrid",
    "recover_recordings",
]


def create_hybrid(
    inner: MediaBackend,
    ng_address: str,
    *,
    recording_dir: Path,
    rtp_timeout: float = 30.0,
    dtmf_log: str | None = None,
    node: str = "",
) -> HybridBackend:
    """The hybrid backend over ``inner`` with rtpengine's NG socket at ``host:port``,
    listening for rtpengine's DTMF log on ``dtmf_log`` (``host:port``) if given."""
    host, _, port = ng_address.rpartition(":")
    return HybridBackend(
        inner,
        NgClient(host, int(port)),
        recording_dir=recording_dir,
        rtp_timeout=rtp_timeout,
        dtmf_log=dtmf_log,
        node=node,
    )
