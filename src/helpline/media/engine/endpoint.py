"""One RTP endpoint of the embedded engine: a port pair, its streams and latching.

Theory of operation
-------------------
* Two ``asyncio.DatagramProtocol`` sockets: RTP on an even port, RTCP on the next odd
  one (RFC 3550 §11). RTCP multiplexed on the RTP port is told apart by the second
  octet, 200-204 being RTCP packet types (RFC 5761 §4).
* Receiving: audio packets (PCMU or PCMA, whichever arrives; the other law is
  transcoded to ours) feed :class:`ReceiveStatistics` and a small
  :class:`ReorderBuffer`; the tick pulls at most one frame per 20 ms from it and drops
  the oldest frames when more than ``max_backlog`` wait, so latency stays bounded.
  Telephone-events (RFC 4733) go to :class:`DtmfReceiver`, which keys digits on
  (SSRC, timestamp), so a new SSRC per digit is fine. Other payload types are counted
  and ignored.
* Symmetric RTP (RFC 4961) with latching: we send to the SDP address until RTP arrives,
  then to the address it came from (a caller behind NAT). Another source takes over only
  when the latched one has been silent for ``relatch_after`` seconds, so stray packets
  cannot hijack a live stream. RTCP goes to where RTCP comes from, or to the latched
  address on the RTCP port.
* Relaying: while its bridge partner has nothing else to send (no prompt, music or
  digits), an endpoint forwards each audio packet the moment it arrives
  (:meth:`Endpoint.forward` on :attr:`Endpoint.relay_to`): the partner's own SSRC and
  sequence numbers, the packet's timestamp moved by a fixed offset (fixed again when
  the source SSRC changes, so the partner's stream stays continuous), the payload as
  is or translated between the two laws. Nothing waits for a tick, so a bridge adds no
  latency and no re-timing, and a late loop delays packets instead of dropping them.
  The packet still goes through the reorder buffer for recording and mixing.
* Sending: one :class:`RtpSender` per endpoint (SSRC, sequence, timestamp). Digits to
  send are planned by :class:`DtmfSender` one at a time; while a digit is out the audio
  is muted (RFC 4733 §2.5.1.4). An SR or RR (with SDES CNAME) goes out every
  ``rtcp_interval``; reports received are turned into :class:`RemoteReception`.
Time comes from the engine (``now`` is the loop's monotonic clock).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from helpline.media import g711
from helpline.media.backend import EndpointStats, RemoteMedia
from helpline.media.dtmf import DtmfReceiver, DtmfSender
from helpline.media.errors import MediaError
from helpline.media.jitter import Gap, ReorderBuffer
from helpline.media.rtcp import (
    ReceiverReport,
    RemoteReception,
    SenderReport,
    build_compound,
    ntp_timestamp,
    parse_compound,
    reception_statistics,
)
from helpline.media.rtp import RtpPacket, RtpSender
from helpline.media.stats import ReceiveStatistics

if TYPE_CHECKING:
    from helpline.media.engine.config import EngineConfig

log = logging.getLogger(__name__)

Address = tuple[str, int]
FRAME_PAYLOAD = 160
DTMF_GAP_TICKS = 3
"""Pause between two digits sent, in 20 ms ticks."""


class _Socket(asyncio.DatagramProtocol):
    __slots__ = ("handler",)

    def __init__(self, handler: Callable[[bytes, Address], None]) -> None:
        self.handler = handler

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.handler(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("media socket error: %s", exc)


class Endpoint:
    """Sockets, streams and per-tick state of one endpoint (used by the engine)."""

    def __init__(
        self,
        ident: str,
        port: int,
        config: EngineConfig,
        clock: Callable[[], float],
        on_digit: Callable[[Endpoint, str, float], None],
        on_latch: Callable[[Endpoint, Address], None],
    ) -> None:
        self.id = ident
        self.port = port
        self.config = config
        self._clock = clock
        self._on_digit = on_digit
        self._on_latch = on_latch
        self.rtp: asyncio.DatagramTransport | None = None
        self.rtcp: asyncio.DatagramTransport | None = None
        self.remote: RemoteMedia | None = None
        self.send_to: Address | None = None
        self.latched: Address | None = None
        self.rtcp_from: Address | None = None
        self.last_latched_rx = 0.0
        self.sender = RtpSender()
        self.dtmf_receiver = DtmfReceiver()
        self.stats = ReceiveStatistics()
        self.reorder = ReorderBuffer(config.reorder_depth)
        self.remote_report: RemoteReception | None = None
        self.dtmf_packets = 0
        self.unknown_packets = 0
        self.malformed = 0
        self.rtcp_received = 0
        self.last_rx: float | None = None
        self.expect_since = clock()
        self.timeout_reported = False
        self._digits: deque[tuple[str, float]] = deque()
        self._dtmf_plan: deque[tuple[int, bytes]] = deque()
        self._dtmf_tick = 0
        self._dtmf_pause = 0
        self.next_rtcp = clock() + config.rtcp_interval
        # Per tick: the frame pulled from the peer and the payload sent to it.
        self.rx: bytes | None = None
        self._rx_pcm: bytes | None = None
        self.tx: bytes | None = None
        self.relay_to: Endpoint | None = None
        self._relay_source: int | None = None
        self._relay_offset = 0
        self._relayed: deque[bytes] = deque(maxlen=config.max_backlog)
        """Frames relayed since the last ticks, for recordings (one per tick)."""

    async def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind RTP on ``port`` and RTCP on ``port + 1``; raises OSError if taken."""
        host = self.config.bind_address
        rtp, _ = await loop.create_datagram_endpoint(
            lambda: _Socket(self.on_rtp), local_addr=(host, self.port)
        )
        try:
            rtcp, _ = await loop.create_datagram_endpoint(
                lambda: _Socket(self.on_rtcp), local_addr=(host, self.port + 1)
            )
        except OSError:
            rtp.close()
            raise
        self.rtp = rtp
        self.rtcp = rtcp

    def close(self) -> None:
        """Close both sockets."""
        for transport in (self.rtp, self.rtcp):
            if transport is not None:
                transport.close()
        self.rtp = self.rtcp = None

    def set_remote(self, remote: RemoteMedia) -> None:
        """Apply negotiated media; a new address drops the latch."""
        previous = self.remote
        self.remote = remote
        if previous is None or (previous.address, previous.port) != (remote.address, remote.port):
            self.latched = None
            self.rtcp_from = None
            self.send_to = (remote.address, remote.port) if remote.port else None
        self.sender.payload_type = remote.payload_type
        if remote.telephone_event_pt is not None:
            self.dtmf_receiver.payload_type = remote.telephone_event_pt
        if previous is None or (remote.receive and not previous.receive):
            self.expect_since = self._clock()
            self.timeout_reported = False

    @property
    def payload_type(self) -> int:
        """Our audio payload type."""
        return self.sender.payload_type

    @property
    def can_send(self) -> bool:
        """Whether media may go out now."""
        remote = self.remote
        return self.send_to is not None and remote is not None and remote.send

    # -- receiving ---------------------------------------------------------------------

    def on_rtp(self, data: bytes, addr: Address) -> None:
        """A datagram on the RTP port."""
        if len(data) > 1 and 200 <= data[1] <= 204:
            self.on_rtcp(data, addr)
            return
        try:
            packet = RtpPacket.parse(data)
        except MediaError:
            self.malformed += 1
            return
        now = self._clock()
        self.last_rx = now
        self.timeout_reported = False
        latched = self.latched
        if latched is None or (
            addr != latched and now - self.last_latched_rx >= self.config.relatch_after
        ):
            self.latched = self.send_to = addr
            self.last_latched_rx = now
            self._on_latch(self, addr)
        elif addr == latched:
            self.last_latched_rx = now
        pt = packet.payload_type
        if pt == 0 or pt == 8:
            self.stats.receive(packet, now)
            remote = self.remote
            if remote is None or remote.receive:
                self.reorder.push(packet)
                if self.relay_to is not None:
                    self.relay_to.forward(packet)
        elif pt == self.dtmf_receiver.payload_type:
            self.dtmf_packets += 1
            try:
                self.dtmf_receiver.receive(packet, now)
            except MediaError:
                self.malformed += 1
                return
            self._drain_digits()
        else:
            self.unknown_packets += 1

    def _drain_digits(self) -> None:
        while (digit := self.dtmf_receiver.next_event()) is not None:
            self._on_digit(self, digit.key, digit.duration_ms)

    def on_rtcp(self, data: bytes, addr: Address) -> None:
        """A datagram on the RTCP port (or multiplexed on the RTP port)."""
        try:
            packets = parse_compound(data)
        except MediaError:
            self.malformed += 1
            return
        self.rtcp_received += 1
        self.rtcp_from = addr
        now = self._clock()
        arrival = ntp_timestamp(time.time())
        ours = self.sender.ssrc
        for packet in packets:
            if isinstance(packet, SenderReport):
                self.stats.on_sender_report(packet, now)
            if isinstance(packet, SenderReport | ReceiverReport):
                for block in packet.reports:
                    if block.ssrc == ours:
                        self.remote_report = reception_statistics(block, arrival_ntp=arrival)

    def pull(self, now: float) -> None:
        """Take this tick's frame from the reorder buffer into :attr:`rx`."""
        self._rx_pcm = None
        self.tx = self._relayed.popleft() if self._relayed else None
        if self.dtmf_receiver.get_timer() is not None:
            self.dtmf_receiver.handle_timer(now)
            self._drain_digits()
        reorder = self.reorder
        if len(reorder) > self.config.max_backlog:
            while len(reorder) > self.config.reorder_depth:
                reorder.pop()
        while True:
            item = reorder.pop()
            if item is None:
                self.rx = None
                return
            if not isinstance(item, Gap):
                break
        payload = item.payload
        if len(payload) != FRAME_PAYLOAD:
            self.rx = None
            return
        pt = self.sender.payload_type
        self.rx = (
            payload if item.payload_type == pt else g711.transcode(payload, item.payload_type, pt)
        )

    @property
    def rx_pcm(self) -> bytes | None:
        """This tick's received frame as linear PCM (decoded once)."""
        if self._rx_pcm is None and self.rx is not None:
            self._rx_pcm = g711.decode(self.rx, self.sender.payload_type)
        return self._rx_pcm

    @property
    def tx_pcm(self) -> bytes | None:
        """This tick's sent frame as linear PCM."""
        return None if self.tx is None else g711.decode(self.tx, self.sender.payload_type)

    # -- sending -----------------------------------------------------------------------

    def send(self, payload: bytes | None) -> None:
        """Send this tick's audio payload (our payload type), or nothing."""
        if payload is None or not self.can_send or self.rtp is None:
            self.sender.skip()
            return
        self.tx = payload
        self.rtp.sendto(self.sender.next_datagram(payload), self.send_to)

    def relay_from(self, source: Endpoint) -> None:
        """Have ``source`` forward its audio to us as it arrives."""
        if source.relay_to is not self:
            source.relay_to = self
            self._relay_source = None

    def forward(self, packet: RtpPacket) -> None:
        """Send a packet relayed from the bridge partner (see the module docstring)."""
        if not self.can_send or self.rtp is None:
            return
        payload = packet.payload
        pt = self.sender.payload_type
        if packet.payload_type != pt:
            payload = g711.transcode(payload, packet.payload_type, pt)
        if packet.ssrc != self._relay_source:
            self._relay_source = packet.ssrc
            self._relay_offset = self.sender.timestamp - packet.timestamp
        if len(payload) == FRAME_PAYLOAD:
            self._relayed.append(payload)
        self.rtp.sendto(
            self.sender.next_datagram(
                payload, timestamp=packet.timestamp + self._relay_offset, samples=len(payload)
            ),
            self.send_to,
        )

    def queue_digits(self, digits: str, duration: float) -> None:
        """Digits to send as telephone-events."""
        self._digits.extend((key, duration) for key in digits)

    def dtmf_tick(self) -> bool:
        """Send the telephone-event packets due this tick; True while audio is muted."""
        if self._dtmf_pause:
            self._dtmf_pause -= 1
            return False
        plan = self._dtmf_plan
        if not plan:
            remote = self.remote
            if not self._digits or not self.can_send or remote is None:
                return False
            key, duration = self._digits.popleft()
            pt = remote.telephone_event_pt
            if pt is None:
                log.warning("%s: peer did not negotiate telephone-event; %r dropped", self.id, key)
                return False
            planner = DtmfSender(self.sender, payload_type=pt)
            plan.extend(
                (round(p.offset / 0.02), p.packet.serialize())
                for p in planner.packets(key, duration)
            )
            self._dtmf_tick = 0
        while plan and plan[0][0] <= self._dtmf_tick:
            data = plan.popleft()[1]
            if self.rtp is not None and self.send_to is not None:
                self.rtp.sendto(data, self.send_to)
        self._dtmf_tick += 1
        if not plan:
            self._dtmf_pause = DTMF_GAP_TICKS
        return True

    def rtcp_tick(self, now: float) -> None:
        """Send our SR/RR when it is due."""
        if now < self.next_rtcp:
            return
        self.next_rtcp = now + self.config.rtcp_interval
        if self.rtcp is None or self.remote is None or self.send_to is None:
            return
        sender = self.sender
        block = self.stats.report_block(now)
        blocks = (block,) if block is not None else ()
        report: SenderReport | ReceiverReport
        if sender.packets_sent:
            report = SenderReport(
                sender.ssrc,
                ntp_timestamp(time.time()),
                sender.timestamp,
                sender.packets_sent & 0xFFFFFFFF,
                sender.octets_sent & 0xFFFFFFFF,
                blocks,
            )
        else:
            report = ReceiverReport(sender.ssrc, blocks)
        target = self.rtcp_from
        if target is None:
            remote = self.remote
            if remote.rtcp_mux:
                target = self.send_to
            elif self.latched is not None:
                target = (self.latched[0], self.latched[1] + 1)
            else:
                target = (remote.address, remote.effective_rtcp_port)
        transport = self.rtp if target == self.send_to else self.rtcp
        if transport is not None:
            transport.sendto(build_compound(report, self.config.cname), target)

    def snapshot(self) -> EndpointStats:
        """The endpoint's counters."""
        received = self.stats.snapshot()
        report = self.remote_report
        return EndpointStats(
            endpoint=self.id,
            packets_sent=self.sender.packets_sent,
            octets_sent=self.sender.octets_sent,
            packets_received=received.packets_received,
            octets_received=received.bytes_received,
            packets_lost=received.lost,
            loss_fraction=received.loss_fraction,
            jitter_ms=received.jitter_ms,
            dtmf_packets=self.dtmf_packets,
            unknown_packets=self.unknown_packets,
            remote_loss_fraction=None if report is None else report.loss_fraction,
            remote_cumulative_lost=None if report is None else report.cumulative_lost,
            remote_jitter_ms=None if report is None else report.jitter_ms,
            round_trip_time=None if report is None else report.round_trip_time,
            rtcp_received=self.rtcp_received,
            latched_address=None if self.latched is None else self.latched[0],
            latched_port=None if self.latched is None else self.latched[1],
        )
