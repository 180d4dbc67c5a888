"""Configuration of the embedded media engine and the shape of the ids it hands out.

Theory of operation
-------------------
One :class:`EngineConfig` describes one engine (in-process, or one worker of the pool):
the address it binds, the address it advertises in SDP, its slice of the RTP port range
(even RTP ports, RTCP on the odd port above), and the timing knobs (reorder depth, dead
call timeout, re-latch delay, RTCP report interval). Every id the engine creates starts
with ``id_prefix`` (``"w0."``, ``"w1."`` ...) so a parent process can route a command to
the worker that owns it without a lookup table; callers treat ids as opaque.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from helpline.media.backend import MediaBackendError


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """Settings of one media engine (see the module docstring)."""

    bind_address: str = "127.0.0.1"
    advertised_address: str | None = None
    """Address for SDP; defaults to ``bind_address``."""
    port_min: int = 20000
    port_max: int = 20999
    reorder_depth: int = 3
    """Frames a packet may be late before it is counted lost (recording, mixing)."""
    max_backlog: int = 6
    """Frames buffered per endpoint before the oldest are dropped (caps latency)."""
    rtp_timeout: float = 30.0
    """Seconds without RTP before :class:`EndpointTimeout`."""
    relatch_after: float = 1.0
    """Seconds the latched source must be silent before another one may take over."""
    rtcp_interval: float = 5.0
    max_catchup: int = 5
    """Frames sent at once after the loop stalled; older ones are skipped."""
    relay: bool = True
    """Bridged legs forward each packet as it arrives; False re-times them on the tick
    (adds the reorder buffer's latency, smooths the sender's jitter)."""
    id_prefix: str = "w0."
    cname: str = "helpline"

    def __post_init__(self) -> None:
        if not 1024 <= self.port_min < self.port_max <= 65535:
            raise MediaBackendError(f"bad RTP port range {self.port_min}-{self.port_max}")
        if self.reorder_depth < 1 or self.max_backlog < self.reorder_depth:
            raise MediaBackendError("need 1 <= reorder_depth <= max_backlog")

    @property
    def sdp_address(self) -> str:
        """The address to put in SDP."""
        return self.advertised_address or self.bind_address

    def rtp_ports(self) -> range:
        """The even RTP ports of the range whose RTCP port (+1) is in range too."""
        first = self.port_min + (self.port_min & 1)
        return range(first, self.port_max, 2)

    def split(self, workers: int) -> list[EngineConfig]:
        """One config per worker, each with its own contiguous slice of the port range
        and its own id prefix."""
        ports = self.rtp_ports()
        if workers < 1 or len(ports) < workers:
            raise MediaBackendError(f"cannot split {len(ports)} port pairs over {workers}")
        size = len(ports) // workers
        configs = []
        for index in range(workers):
            first = ports[index * size]
            last = ports[(index + 1) * size - 1] + 1 if index < workers - 1 else self.port_max
            configs.append(replace(self, port_min=first, port_max=last, id_prefix=f"w{index}."))
        return configs


def worker_of(ident: str) -> int:
    """The worker index an id was created by (``"w3.e12"`` -> 3)."""
    head, sep, _ = ident.partition(".")
    if not sep or not head.startswith("w") or not head[1:].isdigit():
        raise MediaBackendError(f"not a media id: {ident!r}")
    return int(head[1:])
