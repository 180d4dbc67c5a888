"""The hybrid media backend: rtpengine faces the phones, the embedded engine speaks.

Theory of operation
-------------------
All endpoints of one affinity (a call and its legs) live in one rtpengine call. Each
endpoint is a pair of rtpengine *monologues*: the **peer** side (tag = endpoint id),
whose port goes into our SDP, and the **inner** side (tag = endpoint id + ``-in``),
which faces an embedded-engine endpoint. Unbridged, peer and inner are offer/answer
partners, so prompts, tones, DTMF detection, mixing, music on hold and silence watches
work exactly as with the embedded backend (one extra hop in C):

    phone A <-> [A | A-in] rtpengine <-> embedded endpoint A

:meth:`HybridBackend.bridge` of two endpoints that negotiated the same codec makes the
two *peer* monologues offer/answer partners instead (a re-offer from A's tag to B's), so
rtpengine forwards phone to phone in one hop, from the same ports the phones already
send to (symmetric RTP, NAT-safe), and bridged talk never reaches Python; the embedded
endpoints stop expecting media meanwhile, so they do not time out. Different codecs fall
back to the embedded engine's transcoding bridge behind rtpengine:

    phone A <-> [A | B] rtpengine <-> phone B

Every re-offer/re-answer carries rtpengine's ``port latching`` flag, so a port once in
our SDP never changes. To spare NG round trips, the inner side offers at allocation (its
answer port, the peer port, is all our SDP needs) and the peer side answers once the
phone's SDP is known; an unchanged SDP is not re-offered, and a leg being released is
not given back to its inner side.

Recordings are rtpengine's pcap recordings of the call, converted to the WAV call
control asked for when they stop (:mod:`helpline.media.rtpengine.pcap`): left is what
arrived on the endpoint's peer port, right what arrived on its inner port or, while
bridged, on the partner's peer port; a sidecar on disk lets the next start convert them
after a crash (:mod:`helpline.media.rtpengine.recovery`). Ids of the embedded engine
pass through unchanged, so its events need no translation. While two phones are bridged
in rtpengine, their digits come from rtpengine's DTMF log
(:mod:`helpline.media.rtpengine.dtmflog`) and their RTP timeouts from polled counters
(:mod:`helpline.media.rtpengine.timeouts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpline.media.backend import (
    BridgeId,
    ConferenceId,
    DtmfReceived,
    EndpointId,
    EndpointStats,
    LocalMedia,
    MediaBackend,
    MediaBackendError,
    MediaEvent,
    ParticipantMask,
    PlaybackId,
    RecordingFinished,
    RecordingId,
    RemoteLatched,
    RemoteMedia,
    Source,
    UnknownIdError,
)
from helpline.media.g711 import PCMA, PCMU
from helpline.media.rtpengine.bencode import Decoded
from helpline.media.rtpengine.dtmflog import DtmfLog, DtmfLogListener
from helpline.media.rtpengine.ng import NgClient
from helpline.media.rtpengine.pcap import pcap_to_wav
from helpline.media.rtpengine.recovery import (
    Sidecar,
    call_pcaps,
    remove_sidecar,
    remove_spool,
    write_sidecar,
)
from helpline.media.rtpengine.timeouts import BridgedSilence

log = logging.getLogger(__name__)

_PLACEHOLDER = RemoteMedia(address="127.0.0.1", port=9, send=False, receive=False)
"""The peer before its SDP is known (discard port; rtpengine learns the real one)."""
_BRIDGE_PREFIX = "rtpe-br-"
_RECORDING_PREFIX = "rtpe-rec-"
_FLAGS = {"flags": ["port latching"], "replace": ["origin", "session-connection"]}


def sdp(remote: RemoteMedia, *, alternatives: Sequence[int] = ()) -> str:
    """A one-stream SDP body describing ``remote`` (sendrecv: directions are ours),
    offering the G.711 payload types ``alternatives`` too."""
    pts = [remote.payload_type, *(pt for pt in alternatives if pt != remote.payload_type)]
    maps = [f"a=rtpmap:{pt} {'PCMU' if pt == 0 else 'PCMA'}/8000" for pt in pts]
    if remote.telephone_event_pt is not None:
        pts.append(remote.telephone_event_pt)
        maps.append(f"a=rtpmap:{remote.telephone_event_pt} telephone-event/8000")
    lines = [
        "v=0",
        f"o=- 1 1 IN IP4 {remote.address}",
        "s=-",
        f"c=IN IP4 {remote.address}",
        "t=0 0",
        f"m=audio {remote.port} RTP/AVP {' '.join(map(str, pts))}",
        *maps,
        "a=sendrecv",
        "",
    ]
    return "\r\n".join(lines)


def sdp_address(body: object) -> tuple[str, int]:
    """The connection address and first audio port of rtpengine's SDP."""
    address, port = "", 0
    lines = body.decode(errors="replace").splitlines() if isinstance(body, bytes) else []
    for line in lines:
        if line.startswith("c=IN IP4 "):
            address = address or line.split()[2]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
    if not address or not port:
        raise MediaBackendError("rtpengine returned SDP without an audio stream")
    return address, port


@dataclass(slots=True)
class _Call:
    id: str
    key: str
    endpoints: set[EndpointId] = field(default_factory=set)
    recordings: int = 0
    recorded: bool = False


@dataclass(slots=True)
class _Leg:
    engine: LocalMedia
    call: _Call
    address: str
    peer_port: int
    inner_port: int
    remote: RemoteMedia | None = None
    partner: EndpointId | None = None
    answered: bool = False
    """Whether the peer side has answered the inner side's first offer."""

    @property
    def engine_side(self) -> RemoteMedia:
        """The embedded endpoint as rtpengine's inner side sees it."""
        remote = self.remote or _PLACEHOLDER
        return RemoteMedia(
            address=self.engine.address,
            port=self.engine.port,
            payload_type=remote.payload_type,
            telephone_event_pt=remote.telephone_event_pt,
        )


@dataclass(slots=True)
class _Recording:
    id: RecordingId
    target: str
    endpoint: EndpointId
    path: str
    stereo: bool
    start: float
    right_ports: set[int]


class HybridBackend:
    """:class:`~helpline.media.backend.MediaBackend` with rtpengine carrying the media
    of every endpoint and the embedded ``inner`` backend doing everything else."""

    def __init__(
        self,
        inner: MediaBackend,
        ng: NgClient,
        *,
        recording_dir: Path,
        rtp_timeout: float = 30.0,
        dtmf_log: str | None = None,
        node: str = "",
    ) -> None:
        self.inner = inner
        self.ng = ng
        self.recording_dir = recording_dir
        self.dtmf_log = dtmf_log
        self.node = node
        self._dtmf: DtmfLogListener | None = None
        self._silence = BridgedSilence(rtp_timeout)
        self._watcher: asyncio.Task[None] | None = None
        self._token = os.urandom(4).hex()
        self._calls: dict[str, _Call] = {}
        self._legs: dict[EndpointId, _Leg] = {}
        self._bridges: dict[BridgeId, tuple[EndpointId, EndpointId]] = {}
        self._recordings: dict[RecordingId, _Recording] = {}
        self._ids = itertools.count(1)
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the embedded engine and check that rtpengine answers."""
        await self.ng.open()
        await self.ng.command("ping")
        await self.inner.start()
        loop = asyncio.get_running_loop()
        self._pump = loop.create_task(self._forward())
        self._watcher = loop.create_task(self._watch())
        if self.dtmf_log is not None:
            try:
                self._dtmf = await DtmfLogListener.open(self.dtmf_log, self._on_dtmf)
            except OSError as exc:
                raise MediaBackendError(
                    f"cannot listen for rtpengine's DTMF log on {self.dtmf_log}: {exc}"
                ) from exc

    async def close(self) -> None:
        """Finish recordings, delete rtpengine's calls and stop the embedded engine."""
        for endpoint in list(self._legs):
            with contextlib.suppress(MediaBackendError):
                await self.release_endpoint(endpoint)
        await self.inner.close()
        for task in (self._pump, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._dtmf is not None:
            self._dtmf.close()
        self.ng.close()

    async def _forward(self) -> None:
        async for event in self.inner.events():
            if not isinstance(event, RemoteLatched):  # rtpengine's inner port, not news
                self._events.put_nowait(event)

    def _on_dtmf(self, record: DtmfLog) -> None:
        """A key rtpengine decoded: news only from a phone bridged in rtpengine (the
        engine hears and reports every other)."""
        leg = self._legs.get(record.source_tag)
        if leg is None or leg.call.id != record.call_id or leg.partner is None:
            return
        log.info("digit %s from %s in rtpengine", record.digit, record.source_tag)
        self._events.put_nowait(DtmfReceived(record.source_tag, record.digit, record.duration_ms))

    async def _watch(self) -> None:
        """Poll rtpengine's counters of bridged phones for RTP timeouts (see
        :mod:`helpline.media.rtpengine.timeouts`): one ``query`` per call."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._silence.interval)
            calls: dict[str, list[EndpointId]] = {}
            for endpoint in self._silence.watched:
                leg = self._legs.get(endpoint)
                if leg is None:
                    self._silence.forget(endpoint)
                elif leg.remote is not None and not leg.remote.receive:
                    self._silence.watch(endpoint, loop.time())  # on hold: nothing to expect
                else:
                    calls.setdefault(leg.call.id, []).append(endpoint)
            for call, endpoints in calls.items():
                try:
                    answer = await self.ng.command("query", call_id=call)
                except MediaBackendError as exc:
                    log.warning("rtpengine query of %s for RTP timeouts failed: %s", call, exc)
                    continue
                now = loop.time()
                for endpoint in endpoints:
                    event = self._silence.update(endpoint, _stream_stats(answer, endpoint)[0], now)
                    if event is not None:
                        self._events.put_nowait(event)

    async def events(self) -> AsyncIterator[MediaEvent]:
        """The embedded engine's events and this backend's recording events."""
        while True:
            yield await self._events.get()

    def _leg(self, endpoint: EndpointId) -> _Leg:
        leg = self._legs.get(endpoint)
        if leg is None:
            raise UnknownIdError(f"no endpoint {endpoint}")
        return leg

    async def _offer(
        self, call: str, tag: str, offer: RemoteMedia, *, alternatives: Sequence[int] = ()
    ) -> tuple[str, int]:
        """Offer from monologue ``tag`` (``offer`` describes its peer); rtpengine's
        address and the port it gives the answerer."""
        body = sdp(offer, alternatives=alternatives)
        made = await self.ng.command("offer", call_id=call, from_tag=tag, sdp=body, **_FLAGS)
        return sdp_address(made.get("sdp"))

    async def _answer(
        self, call: str, tags: tuple[str, str], answer: RemoteMedia
    ) -> tuple[str, int]:
        """Answer to ``tags[0]``'s offer from ``tags[1]`` (``answer`` describes its
        peer); rtpengine's address and the port it gives the offerer."""
        made = await self.ng.command(
            "answer", call_id=call, from_tag=tags[0], to_tag=tags[1], sdp=sdp(answer), **_FLAGS
        )
        return sdp_address(made.get("sdp"))

    async def _negotiate(
        self, call: str, tags: tuple[str, str], offer: RemoteMedia, answer: RemoteMedia
    ) -> None:
        """Make monologues ``tags`` partners: ``offer`` describes the first's peer,
        ``answer`` the second's (ports never change: ``port latching``)."""
        await self._offer(call, tags[0], offer)
        await self._answer(call, tags, answer)

    async def _expect(self, leg: _Leg) -> None:
        """Tell the embedded endpoint where rtpengine's inner side is and whether media
        flows through it (not while the leg is bridged in rtpengine)."""
        if not leg.answered:
            return
        peer = leg.remote
        flows = peer is not None and leg.partner is None
        await self.inner.update_endpoint(
            leg.engine.endpoint,
            RemoteMedia(
                address=leg.address,
                port=leg.inner_port,
                payload_type=leg.engine_side.payload_type,
                telephone_event_pt=leg.engine_side.telephone_event_pt,
                send=flows and peer is not None and peer.send,
                receive=flows and peer is not None and peer.receive,
            ),
        )

    async def _link(self, endpoint: EndpointId) -> None:
        """Negotiate the leg's peer side with its partner's peer side, else with its
        own inner side, then update the embedded endpoint(s)."""
        leg = self._leg(endpoint)
        if leg.partner is None:
            await self._negotiate(
                leg.call.id,
                (endpoint, f"{endpoint}-in"),
                leg.remote or _PLACEHOLDER,
                leg.engine_side,
            )
            await self._expect(leg)
            return
        other = self._leg(leg.partner)
        assert leg.remote is not None and other.remote is not None
        await self._negotiate(leg.call.id, (endpoint, leg.partner), leg.remote, other.remote)
        await self._expect(leg)
        await self._expect(other)

    async def allocate_endpoint(
        self, remote: RemoteMedia | None = None, *, affinity: str | None = None
    ) -> LocalMedia:
        """An embedded endpoint behind a peer/inner pair in the affinity's rtpengine
        call; our SDP gets rtpengine's peer port.

        The inner side offers (its port for the phone is all our SDP needs: one NG
        round trip); the peer side answers once the phone's media is known, here or in
        the first :meth:`update_endpoint` (a second one).
        """
        engine = await self.inner.allocate_endpoint(None, affinity=affinity)
        key = affinity or engine.endpoint
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = _Call(f"hl-{self._token}-{next(self._ids)}", key)
        leg = _Leg(engine, call, "", 0, 0, remote)
        try:
            leg.address, leg.peer_port = await self._offer(
                call.id,
                f"{engine.endpoint}-in",
                leg.engine_side,
                alternatives=(PCMU, PCMA) if remote is None else (),
            )
            if remote is not None:
                await self._answer_peer(engine.endpoint, leg)
        except MediaBackendError:
            if not call.endpoints:
                del self._calls[key]
            await self.inner.release_endpoint(engine.endpoint)
            raise
        call.endpoints.add(engine.endpoint)
        self._legs[engine.endpoint] = leg
        await self._expect(leg)
        return LocalMedia(engine.endpoint, leg.address, leg.peer_port, leg.peer_port + 1)

    async def _answer_peer(self, endpoint: EndpointId, leg: _Leg) -> None:
        """The peer side's answer to the inner side's first offer."""
        assert leg.remote is not None
        leg.address, leg.inner_port = await self._answer(
            leg.call.id, (f"{endpoint}-in", endpoint), leg.remote
        )
        leg.answered = True

    async def update_endpoint(self, endpoint: EndpointId, remote: RemoteMedia) -> None:
        """New negotiated media for the peer side (no NG command if nothing changed)."""
        leg = self._leg(endpoint)
        if leg.answered and remote == leg.remote:
            return
        leg.remote = remote
        if leg.answered:
            await self._link(endpoint)
            return
        await self._answer_peer(endpoint, leg)
        await self._expect(leg)

    async def release_endpoint(self, endpoint: EndpointId) -> None:
        """Finish its recordings, leave its bridge; the rtpengine call is deleted with
        its last endpoint (and its pcaps with it)."""
        leg = self._leg(endpoint)
        for recording in [r for r in self._recordings.values() if r.endpoint == endpoint]:
            await self.stop_recording(recording.id)
        for bridge, pair in list(self._bridges.items()):
            if endpoint in pair:
                await self._unbridge(bridge, leaving=endpoint)
        del self._legs[endpoint]
        self._silence.forget(endpoint)
        leg.call.endpoints.discard(endpoint)
        try:
            if not leg.call.endpoints:
                del self._calls[leg.call.key]
                await self.ng.command("delete", call_id=leg.call.id)
                if leg.call.recorded:
                    remove_spool(self.recording_dir, leg.call.id)
        finally:
            await self.inner.release_endpoint(endpoint)

    async def bridge(self, a: EndpointId, b: EndpointId) -> BridgeId:
        """Bridge in rtpengine when both peers use the same codec, else in the engine."""
        left, right = self._leg(a), self._leg(b)
        if a == b or left.call is not right.call or not _relayable(left, right):
            log.info("bridged %s and %s in the embedded engine", a, b)
            return await self.inner.bridge(a, b)
        bridge = f"{_BRIDGE_PREFIX}{next(self._ids)}"
        left.partner, right.partner = b, a
        self._bridges[bridge] = (a, b)
        for recording in self._recordings.values():
            if recording.endpoint in (a, b):
                recording.right_ports.add((right if recording.endpoint == a else left).peer_port)
                await asyncio.to_thread(write_sidecar, self.recording_dir, self._sidecar(recording))
        await self._link(a)
        now = asyncio.get_running_loop().time()
        self._silence.watch(a, now)
        self._silence.watch(b, now)
        log.info("bridged %s and %s in rtpengine", a, b)
        return bridge

    async def unbridge(self, bridge: BridgeId) -> None:
        """Give both peer sides back to their inner sides (or unbridge in the engine)."""
        if not bridge.startswith(_BRIDGE_PREFIX):
            await self.inner.unbridge(bridge)
            return
        await self._unbridge(bridge, leaving=None)

    async def _unbridge(self, bridge: BridgeId, *, leaving: EndpointId | None) -> None:
        """Unbridge; the endpoint ``leaving`` (being released) is not linked again."""
        pair = self._bridges.pop(bridge, None)
        if pair is None:
            raise UnknownIdError(f"no bridge {bridge}")
        for recording in [r for r in self._recordings.values() if r.target == bridge]:
            await self.stop_recording(recording.id)
        for endpoint in pair:
            self._leg(endpoint).partner = None
            self._silence.forget(endpoint)
        for endpoint in pair:
            if endpoint != leaving:
                await self._link(endpoint)

    async def start_recording(
        self, target: EndpointId | BridgeId, path: str, *, stereo: bool = True
    ) -> RecordingId:
        """rtpengine records the endpoint's call (of a bridge: its first endpoint's); a
        bridge of the embedded engine is recorded by the engine."""
        endpoint = self._bridges[target][0] if target in self._bridges else target
        if endpoint not in self._legs:
            return await self.inner.start_recording(target, path, stereo=stereo)
        leg = self._legs[endpoint]
        if not leg.call.recordings:
            await self.ng.command("start recording", call_id=leg.call.id)
        leg.call.recordings += 1
        leg.call.recorded = True
        right = {leg.inner_port}
        if leg.partner is not None:
            right.add(self._leg(leg.partner).peer_port)
        recording = _Recording(
            f"{_RECORDING_PREFIX}{next(self._ids)}",
            target,
            endpoint,
            path,
            stereo,
            time.time(),
            right,
        )
        self._recordings[recording.id] = recording
        await asyncio.to_thread(write_sidecar, self.recording_dir, self._sidecar(recording))
        log.info(
            "recording %s to %s: rtpengine call %s (peer port %d)",
            recording.id,
            path,
            leg.call.id,
            leg.peer_port,
        )
        return recording.id

    async def stop_recording(self, recording: RecordingId) -> None:
        """Stop rtpengine's pcap and convert it; :class:`RecordingFinished` follows."""
        made = self._recordings.pop(recording, None)
        if made is None:
            await self.inner.stop_recording(recording)
            return
        leg = self._leg(made.endpoint)
        error: str | None = None
        duration = 0.0
        leg.call.recordings -= 1
        if not leg.call.recordings:
            try:
                await self.ng.command("stop recording", call_id=leg.call.id)
            except MediaBackendError as exc:
                error = str(exc)
        try:
            duration = await asyncio.to_thread(
                pcap_to_wav,
                call_pcaps(self.recording_dir, leg.call.id),
                Path(made.path),
                left_ports={leg.peer_port},
                right_ports=made.right_ports,
                start=made.start,
                stop=time.time(),
                stereo=made.stereo,
            )
        except (OSError, MediaBackendError) as exc:
            error = error or str(exc)
        await asyncio.to_thread(remove_sidecar, self.recording_dir, leg.call.id, made.id)
        self._events.put_nowait(RecordingFinished(made.id, made.target, made.path, duration, error))

    def _sidecar(self, recording: _Recording) -> Sidecar:
        leg = self._leg(recording.endpoint)
        return Sidecar(
            recording=recording.id,
            call_id=leg.call.id,
            path=str(Path(recording.path).absolute()),
            left_ports=(leg.peer_port,),
            right_ports=tuple(sorted(recording.right_ports)),
            stereo=recording.stereo,
            start=recording.start,
            node=self.node,
        )

    async def stats(self, endpoint: EndpointId) -> EndpointStats:
        """rtpengine's counters while bridged there, else the engine's."""
        leg = self._leg(endpoint)
        if leg.partner is None:
            return await self.inner.stats(endpoint)
        answer = await self.ng.command("query", call_id=leg.call.id)
        received = _stream_stats(answer, endpoint)
        sent = _stream_stats(answer, leg.partner)
        return EndpointStats(
            endpoint=endpoint,
            packets_sent=sent[0],
            octets_sent=sent[1],
            packets_received=received[0],
            octets_received=received[1],
            packets_lost=0,
            loss_fraction=0.0,
            jitter_ms=0.0,
            dtmf_packets=0,
            unknown_packets=0,
        )

    async def play(
        self,
        endpoint: EndpointId,
        sources: Sequence[Source],
        *,
        loop: bool = False,
        interruptible: bool = False,
    ) -> PlaybackId:
        """Played by the embedded engine."""
        return await self.inner.play(endpoint, sources, loop=loop, interruptible=interruptible)

    async def stop_playback(self, playback: PlaybackId) -> None:
        """See :meth:`MediaBackend.stop_playback`."""
        await self.inner.stop_playback(playback)

    async def create_conference(self, *, affinity: str | None = None) -> ConferenceId:
        """Mixed by the embedded engine."""
        return await self.inner.create_conference(affinity=affinity)

    async def add_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """Leaves an rtpengine bridge first: the engine must hear the endpoint."""
        for bridge, pair in list(self._bridges.items()):
            if endpoint in pair:
                await self.unbridge(bridge)
        await self.inner.add_participant(conference, endpoint, mask)

    async def update_participant(
        self, conference: ConferenceId, endpoint: EndpointId, mask: ParticipantMask
    ) -> None:
        """See :meth:`MediaBackend.update_participant`."""
        await self.inner.update_participant(conference, endpoint, mask)

    async def remove_participant(self, conference: ConferenceId, endpoint: EndpointId) -> None:
        """See :meth:`MediaBackend.remove_participant`."""
        await self.inner.remove_participant(conference, endpoint)

    async def destroy_conference(self, conference: ConferenceId) -> None:
        """See :meth:`MediaBackend.destroy_conference`."""
        await self.inner.destroy_conference(conference)

    async def watch_silence(self, endpoint: EndpointId, seconds: float) -> None:
        """See :meth:`MediaBackend.watch_silence`."""
        await self.inner.watch_silence(endpoint, seconds)

    async def send_dtmf(self, endpoint: EndpointId, digits: str, *, duration: float = 0.1) -> None:
        """See :meth:`MediaBackend.send_dtmf`."""
        await self.inner.send_dtmf(endpoint, digits, duration=duration)

    async def define_moh(self, name: str, sources: Sequence[Source]) -> None:
        """See :meth:`MediaBackend.define_moh`."""
        await self.inner.define_moh(name, sources)

    async def attach_moh(self, endpoint: EndpointId, name: str = "default") -> None:
        """See :meth:`MediaBackend.attach_moh`."""
        await self.inner.attach_moh(endpoint, name)

    async def detach_moh(self, endpoint: EndpointId) -> None:
        """See :meth:`MediaBackend.detach_moh`."""
        await self.inner.detach_moh(endpoint)


def _relayable(left: _Leg, right: _Leg) -> bool:
    """Whether rtpengine can pass packets between the legs unchanged: no bridge yet, the
    same audio codec, and telephone-events under one payload type (or on one side only:
    a peer that did not negotiate them ignores them)."""
    if left.partner or right.partner or left.remote is None or right.remote is None:
        return False
    events = {left.remote.telephone_event_pt, right.remote.telephone_event_pt} - {None}
    return left.remote.payload_type == right.remote.payload_type and len(events) <= 1


def _stream_stats(answer: Mapping[str, Decoded], tag: str) -> tuple[int, int]:
    """Packets and bytes rtpengine received on the RTP stream of side ``tag``."""
    packets = octets = 0
    tags = answer.get("tags")
    side = tags.get(tag.encode()) if isinstance(tags, dict) else None
    medias = side.get(b"medias") if isinstance(side, dict) else None
    for media in medias if isinstance(medias, list) else []:
        streams = media.get(b"streams") if isinstance(media, dict) else None
        for stream in streams if isinstance(streams, list) else []:
            flags = stream.get(b"flags") if isinstance(stream, dict) else None
            if not isinstance(stream, dict) or not isinstance(flags, list) or b"RTP" not in flags:
                continue
            counters = stream.get(b"stats")
            if isinstance(counters, dict):
                packets += int(counters.get(b"packets", 0))  # type: ignore[arg-type]
                octets += int(counters.get(b"bytes", 0))  # type: ignore[arg-type]
    return packets, octets
