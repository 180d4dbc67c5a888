"""The media backend interface that call control uses (issue 5).

Theory of operation
-------------------
Call control never touches RTP. It asks a :class:`MediaBackend` for an *endpoint* (one
RTP/RTCP port pair facing one SIP leg) and then tells the backend what to do with it:
play prompts, tones and silence (queued, loopable, interruptible by DTMF), record,
send DTMF, bridge two endpoints, mix several with per-participant masks (listen,
whisper, barge), attach music on hold. The backend reports back through typed events
(:data:`MediaEvent`) read from :meth:`MediaBackend.events`.

* Everything is referred to by opaque string ids (endpoint, playback, recording,
  bridge, conference), never by objects, so a backend may live in another process (the
  embedded engine's worker pool) or be an adapter for an external relay (rtpengine).
  Ids begin with the backend's routing prefix; callers must not parse them.
* Offer/answer (RFC 3264): allocate an endpoint first (its :class:`LocalMedia` gives
  the address and port for our SDP, see :meth:`LocalMedia.capabilities`), negotiate,
  then pass the outcome as :class:`RemoteMedia` (:meth:`RemoteMedia.from_negotiated`)
  to :meth:`MediaBackend.update_endpoint`; re-INVITEs and hold update it again.
* Two endpoints that must be bridged, mixed or recorded together have to be
  allocated with the same ``affinity`` key (e.g. the call id): a backend made of
  several workers places them together and refuses to join endpoints it placed apart
  (:class:`CrossWorkerError`).
* Music on hold is a named class (:meth:`MediaBackend.define_moh`) played by one
  shared looped source per worker; attaching a caller subscribes it to that source.

This module is pure: dataclasses, enums and a ``typing.Protocol``; no I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeAlias

from helpline.media.errors import MediaError
from helpline.media.g711 import PCMA, PCMU
from helpline.media.mixer import SupervisionMode
from helpline.media.tones import Cadence
from helpline.sdp.negotiate import LocalCapabilities, NegotiatedMedia

EndpointId: TypeAlias = str
PlaybackId: TypeAlias = str
RecordingId: TypeAlias = str
BridgeId: TypeAlias = str
ConferenceId: TypeAlias = str

CODEC_PAYLOAD_TYPES = {"PCMU": PCMU, "PCMA": PCMA}
"""Codecs the embedded engine speaks, by SDP encoding name."""


class MediaBackendError(MediaError):
    """A command the backend cannot carry out (unknown id, bad state, no ports)."""


class UnknownIdError(MediaBackendError):
    """No endpoint, playback, recording, bridge or conference has this id."""


class PortsExhaustedError(MediaBackendError):
    """No free RTP port pair is left in the configured range."""


class CrossWorkerError(MediaBackendError):
    """Endpoints held by different workers cannot be bridged or mixed; allocate them
    with the same ``affinity`` key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteMedia:
    """Where and how to send to the peer, as negotiated in SDP.

    ``send``/``receive`` are from our side: a peer that put us on hold (sendonly or
    inactive towards us) means ``send=False``; holding the peer with ``sendonly`` keeps
    ``send=True`` (music on hold) and sets ``receive=False``.
    """

    address: str
    port: int
    payload_type: int = PCMU
    """Audio payload type: 0 (PCMU) or 8 (PCMA)."""
    telephone_event_pt: int | None = 101
    rtcp_port: int | None = None
    """None means RTP port + 1, or the RTP port itself with ``rtcp_mux``."""
    rtcp_mux: bool = False
    ptime: int = 20
    send: bool = True
    receive: bool = True

    def __post_init__(self) -> None:
        if self.payload_type not in (PCMU, PCMA):
            raise MediaBackendError(f"payload type {self.payload_type} is not G.711")
        if not 0 <= self.port <= 65535:
            raise MediaBackendError(f"bad remote port {self.port}")
        if self.ptime != 20:
            raise MediaBackendError(f"only 20 ms packets are supported, got {self.ptime}")

    @classmethod
    def from_negotiated(cls, media: NegotiatedMedia) -> RemoteMedia:
        """The remote side of an SDP negotiation; raises if the codec is not G.711."""
        pt = CODEC_PAYLOAD_TYPES.get(media.codec.name.upper())
        if pt is None or media.codec.clock_rate != 8000:
            raise MediaBackendError(f"codec {media.codec.name} is not supported")
        return cls(
            address=media.remote_address,
            port=media.remote_port,
            payload_type=pt,
            telephone_event_pt=media.telephone_event_pt,
            rtcp_port=media.remote_rtcp_port,
            rtcp_mux=media.rtcp_mux,
            ptime=media.ptime,
            send=media.send,
            receive=media.receive,
        )

    @property
    def effective_rtcp_port(self) -> int:
        """The port RTCP goes to."""
        if self.rtcp_port is not None:
            return self.rtcp_port
        return self.port if self.rtcp_mux else self.port + 1


@dataclass(frozen=True, slots=True)
class LocalMedia:
    """Our side of an endpoint: what goes into our SDP."""

    endpoint: EndpointId
    address: str
    port: int
    rtcp_port: int

    def capabilities(self, **options: object) -> LocalCapabilities:
        """:class:`LocalCapabilities` for this endpoint (G.711 and telephone-event);
        ``options`` override the other fields."""
        fields: dict[str, object] = {"rtcp_mux": False}
        fields.update(options)
        return LocalCapabilities(address=self.address, port=self.port, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class WavSource:
    """A WAV file (8 kHz, mono, 16-bit PCM), e.g. a prompt or TTS output."""

    path: str


@dataclass(frozen=True, slots=True)
class RawSource:
    """A headerless G.711 file (``.ulaw``/``.alaw``) in the given payload type."""

    path: str
    payload_type: int = PCMU


@dataclass(frozen=True, slots=True)
class ToneSource:
    """A (cadenced) tone for ``duration`` seconds; None means until stopped."""

    cadence: Cadence
    duration: float | None = None
    amplitude: float = 0.25


@dataclass(frozen=True, slots=True)
class SilenceSource:
    """``duration`` seconds of silence (a pause between prompts)."""

    duration: float


Source: TypeAlias = WavSource | RawSource | ToneSource | SilenceSource


class PlaybackEnd(Enum):
    """Why a playback finished."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    DTMF = "dtmf"
    REPLACED = "replaced"
    RELEASED = "released"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """Counters of one endpoint: what we sent, what we received (RFC 3550 A.3, A.8)
    and what the peer reported about our stream in RTCP (None before its first report)."""

    endpoint: EndpointId
    packets_sent: int
    octets_sent: int
    packets_received: int
    octets_received: int
    packets_lost: int
    loss_fraction: float
    jitter_ms: float
    dtmf_packets: int
    unknown_packets: int
    """Packets of payload types we did not negotiate (ignored)."""
    remote_loss_fraction: float | None = None
    remote_cumulative_lost: int | None = None
    remote_jitter_ms: float | None = None
    round_trip_time: float | None = None
    rtcp_received: int = 0
    latched_address: str | None = None
    latched_port: int | None = None


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A digit arrived as an RFC 4733 telephone-event."""

    endpoint: EndpointId
    digit: str
    duration_ms: float


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """A playback ended (all sources played, stopped, interrupted, endpoint gone)."""

    endpoint: EndpointId
    playback: PlaybackId
    reason: PlaybackEnd


@dataclass(frozen=True, slots=True)
class EndpointTimeout:
    """No RTP arrived for ``silent_for`` seconds on an endpoint that expects media: the
    call is probably dead. Reported once until media resumes."""

    endpoint: EndpointId
    silent_for: float


@dataclass(frozen=True, slots=True)
class RemoteLatched:
    """Symmetric RTP: we now send to the address RTP actually arrives from."""

    endpoint: EndpointId
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    """A recording was closed; ``path`` is a valid WAV file of ``duration`` seconds."""

    recording: RecordingId
    target: str
    path: str
    duration: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SilenceDetected:
    """The caller was silent for ``seconds`` on a watched endpoint (the watch ends)."""

    endpoint: EndpointId
    seconds: float


MediaEvent: TypeAlias = (
    DtmfReceived
    | PlaybackFinished
    | EndpointTimeout
    | RemoteLatched
    | RecordingFinished
    | SilenceDetected
)


@dataclass(frozen=True, slots=True)
class ParticipantMask:
    """Whether a conference participant is heard, and whom it hears (None: everyone)."""

    sends: bool = True
    hears: frozenset[EndpointId] | None = None


def supervision_masks(
    mode: SupervisionMode, *, supervisor: EndpointId, caller: EndpointId, agent: EndpointId
) -> dict[EndpointId, ParticipantMask]:
    """The masks of a supervised call (listen, whisper, barge), as :func:`mixer.supervise`
    sets them: apply each with :meth:`MediaBackend.update_participant`."""
    if mode is SupervisionMode.BARGE:
        return {who: ParticipantMask() for who in (caller, agent, supervisor)}
    return {
        caller: ParticipantMask(True, frozenset({agent})),
        agent: ParticipantMask(True, frozenset({caller, supervisor})),
        supervisor: ParticipantMask(mode is SupervisionMode.WHISPER, frozenset({caller, agent})),
    }


class MediaBackend(Protocol):
    """What call control needs from a media engine. All methods are coroutines and
    raise :class:`MediaBackendError` (or a subclass) when a command cannot be done."""

    async def start(self) -> None:
        """Open the backend (start workers, the tick scheduler ...)."""

    async def close(self) -> None:
        """Release every endpoint, finish recordings and stop."""

    async def allocate_endpoint(
        self, remote: RemoteMedia | None = None, *, affinity: str | None = None
    ) -> LocalMedia:
        """Reserve an RTP/RTCP port pair; ``remote`` may follow later. Endpoints with the
        same ``affinity`` can be bridged, mixed and recorded together."""
        ...

    async def update_endpoint(self, endpoint: EndpointId, remote: RemoteMedia) -> None:
        """New negotiated media (re-INVITE, hold, resume); latching starts over when the
        remote address changes."""

    async def release_endpoint(self, endpoint: EndpointId) -> None:
        """Close the ports; playbacks end, recordings of the endpoint are finished."""

    async def play(
        self,
        endpoint: EndpointId,
        sources: Sequence[Source],
        *,
        loop: bool = False,
        interruptible: bool = False,
    ) -> PlaybackId:
        """Queue ``sources`` to play one after the other (after any playback already
        queued); ``loop`` repeats them until stopped; ``interruptible`` stops the playback
        at the first DTMF digit received."""
        ...

    async def stop_playback(self, playback: PlaybackId) -> None:
        """Stop a playback (queued or playing); unknown or finished ids are ignored."""

    async def start_recording(
        self, target: EndpointId | BridgeId, path: str, *, stereo: bool = True
    ) -> RecordingId:
        """Record an endpoint (left: what the peer sends, right: what we send it) or a
        bridge (left: first endpoint, the caller; right: second, the agent) to a WAV
        file; mono mixes both sides."""
        ...

    async def stop_recording(self, recording: RecordingId) -> None:
        """Finish a recording; a :class:`RecordingFinished` event follows."""

    async def bridge(self, a: EndpointId, b: EndpointId) -> BridgeId:
        """Connect two endpoints: each hears the other (transcoding G.711 as needed)."""
        ...

    async def unbridge(self, bridge: BridgeId) -> None:
        """Disconnect a bridge; its recordings are finished."""

    async def create_conference(self, *, affinity: str | None = None) -> ConferenceId:
        """An empty N-party mix."""
        ...

    async def add_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """Put an endpoint into a conference (it leaves any bridge it was in)."""

    async def update_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """Change whom a participant hears and whether it is heard."""

    async def remove_participant(self, conference: ConferenceId, endpoint: EndpointId) -> None:
        """Take an endpoint out of a conference."""

    async def destroy_conference(self, conference: ConferenceId) -> None:
        """Remove every participant and forget the conference."""

    async def watch_silence(self, endpoint: EndpointId, seconds: float) -> None:
        """Send one :class:`SilenceDetected` once the peer has been silent for
        ``seconds`` (end of a voicemail); 0 stops watching."""

    async def send_dtmf(self, endpoint: EndpointId, digits: str, *, duration: float = 0.1) -> None:
        """Send digits as RFC 4733 telephone-events (audio is muted meanwhile)."""

    async def define_moh(self, name: str, sources: Sequence[Source]) -> None:
        """Define (or redefine) a music-on-hold class, played looped."""

    async def attach_moh(self, endpoint: EndpointId, name: str = "default") -> None:
        """Let the endpoint hear the class's shared source, from wherever it is now."""

    async def detach_moh(self, endpoint: EndpointId) -> None:
        """Stop music on hold for the endpoint."""

    async def stats(self, endpoint: EndpointId) -> EndpointStats:
        """Current counters of the endpoint."""
        ...

    def events(self) -> AsyncIterator[MediaEvent]:
        """The backend's events, in order, for one consumer."""
        ...
