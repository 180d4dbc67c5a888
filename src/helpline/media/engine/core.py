"""The embedded media engine: a :class:`~helpline.media.backend.MediaBackend` in-process.

Theory of operation
-------------------
* One engine runs on one asyncio loop (uvloop in workers). Each endpoint is a pair of
  datagram sockets (:mod:`.endpoint`); packets are parsed as they arrive and parked in
  the endpoint's reorder buffer. One :class:`~.scheduler.Ticker` drives *all*
  endpoints every 20 ms (drift-free, one timer per engine, not one per endpoint).
* A tick has three passes. (1) Pull: every endpoint takes at most one frame from its
  buffer. (2) Send: each endpoint sends, in this order of precedence, the telephone-
  events being sent (audio muted), its playback, music on hold, the frame its bridge
  partner pulled (copied as is when both legs use the same law, translated PCMU<->PCMA
  otherwise; nothing is decoded), or its conference mix (:class:`Mixer` with
  per-participant masks). A leg with nothing to send sends nothing and its RTP
  timestamp moves on. A bridged leg with nothing of its own to send is not sent to by
  the tick at all: its partner relays each packet to it as it arrives
  (:meth:`Endpoint.forward`), so bridges add no latency. (3) Record: every recording
  writes one frame per side.
* Music on hold is one :class:`~.sources.SharedSource` per class, advanced once per tick
  whatever the number of listeners.
* Events (:data:`MediaEvent`) go into one queue read by :meth:`MediaEngine.events`.
* Dead-call detection runs once a second: an endpoint that expects media and got no
  RTP for ``rtp_timeout`` seconds is reported once, until RTP resumes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

from helpline.media import g711
from helpline.media._audioop import audioop
from helpline.media.backend import (
    BridgeId,
    ConferenceId,
    DtmfReceived,
    EndpointId,
    EndpointStats,
    EndpointTimeout,
    LocalMedia,
    MediaBackendError,
    MediaEvent,
    ParticipantMask,
    PlaybackEnd,
    PlaybackFinished,
    PlaybackId,
    PortsExhaustedError,
    RecordingFinished,
    RecordingId,
    RemoteLatched,
    RemoteMedia,
    SilenceDetected,
    Source,
    UnknownIdError,
)
from helpline.media.dtmf import event_code
from helpline.media.engine.config import EngineConfig
from helpline.media.engine.endpoint import Address, Endpoint
from helpline.media.engine.recording import Recording
from helpline.media.engine.scheduler import Ticker
from helpline.media.engine.sources import Clip, ClipCache, SharedSource, playlist
from helpline.media.mixer import Mixer

log = logging.getLogger(__name__)
TICKS_PER_SECOND = 50
#: Received audio quieter than this RMS (about -44 dBFS) counts as silence.
SILENCE_RMS = 200


@dataclass(slots=True, eq=False)
class _Playback:
    id: PlaybackId
    frames: Iterator[bytes]
    interruptible: bool


@dataclass(slots=True, eq=False)
class _Leg:
    endpoint: Endpoint
    playbacks: deque[_Playback] = field(default_factory=deque)
    moh: SharedSource | None = None
    bridge: _Bridge | None = None
    conference: _Conference | None = None
    silence_watch: int = 0
    """Ticks of silence after which SilenceDetected is sent (0: not watching)."""
    silent_ticks: int = 0


@dataclass(slots=True, eq=False)
class _Bridge:
    id: BridgeId
    a: _Leg
    b: _Leg


@dataclass(slots=True, eq=False)
class _Conference:
    id: ConferenceId
    mixer: Mixer[EndpointId] = field(default_factory=Mixer)
    members: dict[EndpointId, _Leg] = field(default_factory=dict)
    out: dict[EndpointId, bytes] = field(default_factory=dict)


class MediaEngine:
    """The embedded engine on the running event loop (see the module docstring)."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)
        self._free: deque[int] = deque(self.config.rtp_ports())
        self._legs: dict[EndpointId, _Leg] = {}
        self._bridges: dict[BridgeId, _Bridge] = {}
        self._conferences: dict[ConferenceId, _Conference] = {}
        self._recordings: dict[RecordingId, Recording] = {}
        self._playback_owner: dict[PlaybackId, EndpointId] = {}
        self._moh_clips: dict[str, list[Clip]] = {}
        self._moh: dict[str, SharedSource] = {}
        self._clips = ClipCache()
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._ticker = Ticker(self._on_tick, self._on_skip, max_catchup=self.config.max_catchup)
        self._tick = 0
        self._next_skip_log = 0.0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the tick on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._ticker.start(self._loop)

    async def close(self) -> None:
        """Release every endpoint, finish recordings, stop the tick."""
        for endpoint in list(self._legs):
            await self.release_endpoint(endpoint)
        for recording in list(self._recordings):
            await self.stop_recording(recording)
        self._ticker.stop()

    def _new_id(self, kind: str) -> str:
        return f"{self.config.id_prefix}{kind}{next(self._ids)}"

    def _now(self) -> float:
        loop = self._loop
        if loop is None:
            raise MediaBackendError("the media engine is not started")
        return loop.time()

    @property
    def ticker(self) -> Ticker:
        """The engine's tick (counters for benchmarks)."""
        return self._ticker

    @property
    def moh_sources(self) -> dict[str, SharedSource]:
        """The shared music-on-hold sources, one per class in use."""
        return dict(self._moh)

    @property
    def endpoint_count(self) -> int:
        """Endpoints currently allocated."""
        return len(self._legs)

    # -- endpoints ---------------------------------------------------------------------

    def _leg(self, endpoint: EndpointId) -> _Leg:
        leg = self._legs.get(endpoint)
        if leg is None:
            raise UnknownIdError(f"no endpoint {endpoint!r}")
        return leg

    async def allocate_endpoint(
        self, remote: RemoteMedia | None = None, *, affinity: str | None = None
    ) -> LocalMedia:
        """Bind a free even port and the odd one above it (``affinity`` is for pools)."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            await self.start()
        ident = self._new_id("e")
        for _ in range(len(self._free)):
            port = self._free.popleft()
            endpoint = Endpoint(ident, port, self.config, loop.time, self._digit, self._latch)
            try:
                await endpoint.open(loop)
            except OSError:
                self._free.append(port)
                continue
            if remote is not None:
                endpoint.set_remote(remote)
            self._legs[ident] = _Leg(endpoint)
            address = self.config.sdp_address
            return LocalMedia(ident, address, port, port + 1)
        raise PortsExhaustedError(
            f"no free RTP port in {self.config.port_min}-{self.config.port_max}"
        )

    async def update_endpoint(self, endpoint: EndpointId, remote: RemoteMedia) -> None:
        """Apply renegotiated media (hold, resume, new address or codec)."""
        self._leg(endpoint).endpoint.set_remote(remote)

    async def release_endpoint(self, endpoint: EndpointId) -> None:
        """Leave bridge/conference, end playbacks and recordings, close the ports."""
        leg = self._leg(endpoint)
        if leg.bridge is not None:
            await self.unbridge(leg.bridge.id)
        if leg.conference is not None:
            await self.remove_participant(leg.conference.id, endpoint)
        self._detach_moh(leg)
        self._end_playbacks(leg, PlaybackEnd.RELEASED)
        for recording in [r for r in self._recordings.values() if r.target == endpoint]:
            await self.stop_recording(recording.id)
        leg.endpoint.close()
        del self._legs[endpoint]
        self._free.append(leg.endpoint.port)

    async def stats(self, endpoint: EndpointId) -> EndpointStats:
        """Counters of one endpoint."""
        return self._leg(endpoint).endpoint.snapshot()

    async def send_dtmf(self, endpoint: EndpointId, digits: str, *, duration: float = 0.1) -> None:
        """Queue digits to be sent as telephone-events."""
        if not 0.04 <= duration <= 5.0:
            raise MediaBackendError(f"DTMF duration {duration}s out of range")
        for key in digits:
            event_code(key)
        self._leg(endpoint).endpoint.queue_digits(digits, duration)

    async def watch_silence(self, endpoint: EndpointId, seconds: float) -> None:
        """Report SilenceDetected once nothing louder than ``SILENCE_RMS`` arrives for
        ``seconds`` (0 stops watching)."""
        if not 0 <= seconds <= 3600:
            raise MediaBackendError(f"silence of {seconds}s out of range")
        leg = self._leg(endpoint)
        leg.silence_watch = round(seconds * TICKS_PER_SECOND)
        leg.silent_ticks = 0

    def _check_silence(self, leg: _Leg) -> None:
        pcm = leg.endpoint.rx_pcm
        if pcm is not None and audioop.rms(pcm, 2) >= SILENCE_RMS:
            leg.silent_ticks = 0
            return
        leg.silent_ticks += 1
        if leg.silent_ticks >= leg.silence_watch:
            seconds = leg.silence_watch / TICKS_PER_SECOND
            leg.silence_watch = leg.silent_ticks = 0
            self._emit(SilenceDetected(leg.endpoint.id, seconds))

    # -- playback and music on hold ----------------------------------------------------

    async def play(
        self,
        endpoint: EndpointId,
        sources: Sequence[Source],
        *,
        loop: bool = False,
        interruptible: bool = False,
    ) -> PlaybackId:
        """Queue sources on the endpoint (files are loaded now, so errors raise here)."""
        leg = self._leg(endpoint)
        clips = [self._clips.load(source) for source in sources]
        ident = self._new_id("p")
        leg.playbacks.append(_Playback(ident, playlist(clips, loop=loop), interruptible))
        self._playback_owner[ident] = endpoint
        return ident

    async def stop_playback(self, playback: PlaybackId) -> None:
        """Stop a playback; unknown or finished ids are ignored."""
        owner = self._playback_owner.get(playback)
        leg = self._legs.get(owner) if owner is not None else None
        if leg is None:
            return
        for item in leg.playbacks:
            if item.id == playback:
                leg.playbacks.remove(item)
                self._finish_playback(owner or "", item, PlaybackEnd.STOPPED)
                return

    def _finish_playback(self, endpoint: EndpointId, item: _Playback, reason: PlaybackEnd) -> None:
        self._playback_owner.pop(item.id, None)
        self._emit(PlaybackFinished(endpoint, item.id, reason))

    def _end_playbacks(self, leg: _Leg, reason: PlaybackEnd) -> None:
        while leg.playbacks:
            self._finish_playback(leg.endpoint.id, leg.playbacks.popleft(), reason)

    async def define_moh(self, name: str, sources: Sequence[Source]) -> None:
        """Define a music-on-hold class; current listeners move to the new source."""
        clips = [self._clips.load(source) for source in sources]
        playlist(clips, loop=True)  # validates that there is audio to loop
        self._moh_clips[name] = clips
        old = self._moh.pop(name, None)
        if old is not None:
            new = self._moh[name] = SharedSource(clips)
            for leg in self._legs.values():
                if leg.moh is old:
                    leg.moh = new
                    new.listeners += 1

    async def attach_moh(self, endpoint: EndpointId, name: str = "default") -> None:
        """Subscribe the endpoint to the class's shared source."""
        leg = self._leg(endpoint)
        source = self._moh.get(name)
        if source is None:
            clips = self._moh_clips.get(name)
            if clips is None:
                raise UnknownIdError(f"no music-on-hold class {name!r}")
            source = self._moh[name] = SharedSource(clips)
        self._detach_moh(leg)
        leg.moh = source
        source.listeners += 1

    async def detach_moh(self, endpoint: EndpointId) -> None:
        """Stop music on hold for the endpoint."""
        self._detach_moh(self._leg(endpoint))

    def _detach_moh(self, leg: _Leg) -> None:
        if leg.moh is not None:
            leg.moh.listeners -= 1
            leg.moh = None

    # -- bridges and conferences -------------------------------------------------------

    def _detach(self, leg: _Leg) -> None:
        if leg.bridge is not None:
            self._drop_bridge(leg.bridge)
        if leg.conference is not None:
            self._leave(leg.conference, leg)

    async def bridge(self, a: EndpointId, b: EndpointId) -> BridgeId:
        """Connect two endpoints (each leaves any bridge or conference it was in).

        An endpoint bridged with itself echoes what it receives (the ``echo`` service).
        """
        leg_a, leg_b = self._leg(a), self._leg(b)
        self._detach(leg_a)
        self._detach(leg_b)
        ident = self._new_id("b")
        bridge = self._bridges[ident] = _Bridge(ident, leg_a, leg_b)
        leg_a.bridge = leg_b.bridge = bridge
        if self.config.relay:  # from now on; the tick stops it while a leg plays something
            for source, target in ((leg_a, leg_b), (leg_b, leg_a)):
                if not target.playbacks and target.moh is None:
                    target.endpoint.relay_from(source.endpoint)
        return ident

    async def unbridge(self, bridge: BridgeId) -> None:
        """Disconnect a bridge and finish its recordings."""
        found = self._bridges.get(bridge)
        if found is None:
            raise UnknownIdError(f"no bridge {bridge!r}")
        self._drop_bridge(found)

    def _drop_bridge(self, bridge: _Bridge) -> None:
        self._bridges.pop(bridge.id, None)
        bridge.a.bridge = bridge.b.bridge = None
        bridge.a.endpoint.relay_to = bridge.b.endpoint.relay_to = None
        for recording in [r for r in self._recordings.values() if r.target == bridge.id]:
            self._close_recording(recording)

    async def create_conference(self, *, affinity: str | None = None) -> ConferenceId:
        """An empty mix."""
        ident = self._new_id("c")
        self._conferences[ident] = _Conference(ident)
        return ident

    def _conference(self, conference: ConferenceId) -> _Conference:
        found = self._conferences.get(conference)
        if found is None:
            raise UnknownIdError(f"no conference {conference!r}")
        return found

    async def add_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """Put an endpoint in the mix with its mask."""
        conf = self._conference(conference)
        leg = self._leg(endpoint)
        self._detach(leg)
        conf.mixer.add(endpoint, sends=mask.sends, hears=mask.hears)
        conf.members[endpoint] = leg
        leg.conference = conf

    async def update_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """Change a participant's mask."""
        conf = self._conference(conference)
        if endpoint not in conf.members:
            raise UnknownIdError(f"{endpoint!r} is not in conference {conference!r}")
        conf.mixer.update(endpoint, sends=mask.sends, hears=mask.hears)

    async def remove_participant(self, conference: ConferenceId, endpoint: EndpointId) -> None:
        """Take an endpoint out of the mix."""
        conf = self._conference(conference)
        leg = conf.members.get(endpoint)
        if leg is None:
            raise UnknownIdError(f"{endpoint!r} is not in conference {conference!r}")
        self._leave(conf, leg)

    def _leave(self, conf: _Conference, leg: _Leg) -> None:
        conf.mixer.remove(leg.endpoint.id)
        del conf.members[leg.endpoint.id]
        leg.conference = None

    async def destroy_conference(self, conference: ConferenceId) -> None:
        """Empty and forget the conference."""
        conf = self._conference(conference)
        for leg in list(conf.members.values()):
            self._leave(conf, leg)
        del self._conferences[conference]

    # -- recording ---------------------------------------------------------------------

    async def start_recording(
        self, target: EndpointId | BridgeId, path: str, *, stereo: bool = True
    ) -> RecordingId:
        """Record an endpoint (peer left, us right) or a bridge (a left, b right)."""
        if target not in self._legs and target not in self._bridges:
            raise UnknownIdError(f"no endpoint or bridge {target!r}")
        ident = self._new_id("r")
        try:
            self._recordings[ident] = Recording(ident, target, path, stereo=stereo)
        except OSError as exc:
            raise MediaBackendError(f"cannot record to {path}: {exc}") from exc
        return ident

    async def stop_recording(self, recording: RecordingId) -> None:
        """Finish a recording (a :class:`RecordingFinished` follows)."""
        found = self._recordings.get(recording)
        if found is None:
            raise UnknownIdError(f"no recording {recording!r}")
        self._close_recording(found)

    def _close_recording(self, recording: Recording, error: str | None = None) -> None:
        self._recordings.pop(recording.id, None)
        try:
            recording.close()
        except OSError as exc:
            error = error or str(exc)
        self._emit(
            RecordingFinished(
                recording.id, recording.target, recording.path, recording.duration, error
            )
        )

    # -- events ------------------------------------------------------------------------

    def _emit(self, event: MediaEvent) -> None:
        self._events.put_nowait(event)

    async def events(self) -> AsyncIterator[MediaEvent]:
        """Events in order; one consumer."""
        while True:
            yield await self._events.get()

    def _digit(self, endpoint: Endpoint, key: str, duration_ms: float) -> None:
        self._emit(DtmfReceived(endpoint.id, key, duration_ms))
        leg = self._legs.get(endpoint.id)
        if leg is not None and leg.playbacks and leg.playbacks[0].interruptible:
            self._finish_playback(endpoint.id, leg.playbacks.popleft(), PlaybackEnd.DTMF)

    def _latch(self, endpoint: Endpoint, address: Address) -> None:
        self._emit(RemoteLatched(endpoint.id, address[0], address[1]))

    # -- the tick ----------------------------------------------------------------------

    def _on_skip(self, frames: int) -> None:
        now = self._now()
        if now >= self._next_skip_log:
            self._next_skip_log = now + 10.0
            log.warning("media tick late: %d frames skipped in all", self._ticker.skipped)
        for leg in self._legs.values():
            leg.endpoint.sender.skip(160 * frames)

    def _on_tick(self, now: float) -> None:
        self._tick += 1
        tick = self._tick
        legs = list(self._legs.values())
        for leg in legs:
            leg.endpoint.pull(now)
        for conf in self._conferences.values():
            frames = {}
            for pid, member in conf.members.items():
                pcm = member.endpoint.rx_pcm
                if pcm is not None:
                    frames[pid] = pcm
            conf.out = conf.mixer.mix(frames)
        for leg in legs:
            self._send(leg, tick)
            if leg.silence_watch:
                self._check_silence(leg)
        for recording in list(self._recordings.values()):
            self._record(recording)
        if tick % TICKS_PER_SECOND == 0:
            self._housekeeping(now)

    def _send(self, leg: _Leg, tick: int) -> None:
        endpoint = leg.endpoint
        bridge = leg.bridge
        partner = None if bridge is None else (bridge.b if bridge.a is leg else bridge.a).endpoint
        if endpoint.dtmf_tick():
            if partner is not None:
                partner.relay_to = None
            return
        pt = endpoint.payload_type
        payload: bytes | None = None
        while leg.playbacks:
            frame = next(leg.playbacks[0].frames, None)
            if frame is not None:
                payload = g711.encode(frame, pt)
                break
            self._finish_playback(endpoint.id, leg.playbacks.popleft(), PlaybackEnd.COMPLETED)
        if payload is None:
            if leg.moh is not None:
                payload = leg.moh.payload(tick, pt)
            elif partner is not None:
                if self.config.relay:
                    endpoint.relay_from(partner)
                    return
                rx = partner.rx
                if rx is not None:
                    other_pt = partner.payload_type
                    payload = rx if other_pt == pt else g711.transcode(rx, other_pt, pt)
            elif leg.conference is not None:
                pcm = leg.conference.out.get(endpoint.id)
                if pcm is not None:
                    payload = g711.encode(pcm, pt)
        if partner is not None:
            partner.relay_to = None
        endpoint.send(payload)

    def _record(self, recording: Recording) -> None:
        target = recording.target
        bridge = self._bridges.get(target)
        try:
            if bridge is not None:
                recording.write(bridge.a.endpoint.rx_pcm, bridge.b.endpoint.rx_pcm)
            else:
                endpoint = self._legs[target].endpoint
                recording.write(endpoint.rx_pcm, endpoint.tx_pcm)
        except (OSError, KeyError) as exc:
            log.error("recording %s failed: %s", recording.id, exc)
            self._close_recording(recording, str(exc))

    def _housekeeping(self, now: float) -> None:
        timeout = self.config.rtp_timeout
        for leg in self._legs.values():
            endpoint = leg.endpoint
            remote = endpoint.remote
            endpoint.rtcp_tick(now)
            if remote is None or not remote.receive or endpoint.timeout_reported:
                continue
            since = endpoint.expect_since
            if endpoint.last_rx is not None and endpoint.last_rx > since:
                since = endpoint.last_rx
            if now - since >= timeout:
                endpoint.timeout_reported = True
                self._emit(EndpointTimeout(endpoint.id, round(now - since, 3)))
