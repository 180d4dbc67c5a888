"""Browser legs of call control: where a call meets the WebRTC gateway.

Theory of operation
-------------------
Call control keeps treating every leg as one media-engine endpoint; for a browser's leg
the endpoint's peer is a :class:`~helpline.webrtc.gateway.WebRtcLeg` on the same host
instead of the phone itself. :class:`WebRtcLegs` is the small surface call control
calls at the few points where SDP is made or taken:

* **A call from a browser** (the INVITE's offer is WebRTC, :func:`is_webrtc`): the
  caller's endpoint is allocated as usual, then :meth:`WebRtcLegs.answer` opens a leg,
  answers the offer from it and points the endpoint at the gateway.
* **A call to a browser** (a contact registered over WS/WSS): for each such branch
  :meth:`WebRtcLegs.offer` opens a leg on the callee endpoint and gives its WebRTC offer
  instead of the plain one; :meth:`WebRtcLegs.sent` remembers the branch (top Via
  branch of the INVITE). When a branch answers, :meth:`WebRtcLegs.answered` applies the
  browser's SDP to its leg, closes the legs of the other branches on the same endpoint,
  and gives the :class:`RemoteMedia` the endpoint must use; for a phone's branch it
  gives None and call control negotiates as before.
* **A re-offer from a browser** (hold, resume) on an endpoint carried by a leg is
  answered from that leg (:meth:`WebRtcLegs.reoffer`), ICE and DTLS unchanged.
* **Our re-offer to a browser** (the agent holds or resumes a browser caller): the leg
  makes it from its own last SDP, ``a=sendonly`` or ``a=sendrecv``
  (:meth:`WebRtcLegs.hold_offer`), and the browser's answer sets the directions of
  the endpoint (:meth:`WebRtcLegs.hold_answered`); a plain re-offer would carry our
  engine's RTP address, which the browser cannot use.
* **Release**: whenever call control frees an endpoint it calls
  :meth:`WebRtcLegs.release`, which closes the endpoint's legs.

The gateway is created on first use, so a node without browser calls never starts
aiortc.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from helpline.config import Settings
from helpline.media.backend import EndpointId, LocalMedia, MediaBackend, RemoteMedia
from helpline.sdp import SessionDescription
from helpline.sip.message import Response
from helpline.sip.transaction import TransactionKey
from helpline.webrtc import WebRtcError, is_browser_transport, is_webrtc

if TYPE_CHECKING:
    from helpline.webrtc.gateway import WebRtcGateway, WebRtcLeg

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrowserOffer:
    """A WebRTC offer for one branch toward a browser, and the leg that made it."""

    leg: WebRtcLeg
    body: bytes


class WebRtcLegs:
    """The WebRTC legs of one node's calls, by media endpoint and INVITE branch."""

    def __init__(self, settings: Settings, media: MediaBackend) -> None:
        self.enabled = settings.webrtc_enabled
        self.media = media
        self._settings = settings
        self._gateway: WebRtcGateway | None = None
        self._legs: dict[EndpointId, list[WebRtcLeg]] = {}
        self._branches: dict[str, WebRtcLeg] = {}
        self._answered: dict[EndpointId, WebRtcLeg] = {}

    @property
    def open_legs(self) -> int:
        """Legs open now (health and tests)."""
        return 0 if self._gateway is None else self._gateway.legs

    def wants(self, offer: SessionDescription) -> bool:
        """True if ``offer`` comes from a browser and the gateway should answer it."""
        return self.enabled and is_webrtc(offer)

    def carries(self, endpoint: EndpointId) -> bool:
        """True if a browser's media reaches ``endpoint`` through the gateway."""
        return endpoint in self._answered

    async def answer(self, local: LocalMedia, offer: bytes) -> bytes:
        """Answer a browser's offer from a new leg toward ``local``, whose endpoint is
        pointed at the gateway; raises :class:`WebRtcError` if it cannot be used."""
        leg = await self._open(local)
        try:
            answer = await leg.answer_offer(offer.decode("utf-8", "replace"))
            await self.media.update_endpoint(local.endpoint, leg.remote)
        except BaseException:
            await self._close(leg)
            raise
        self._answered[local.endpoint] = leg
        return answer.encode()

    async def offer(self, local: LocalMedia, transport: str) -> BrowserOffer | None:
        """A WebRTC offer from a new leg toward ``local`` if the contact registered over
        ``transport`` is a browser; None for other phones (or if no leg could be made:
        the browser then gets the plain offer and refuses it)."""
        if not self.enabled or not is_browser_transport(transport):
            return None
        leg = await self._open(local)
        try:
            sdp = await leg.create_offer()
        except WebRtcError as exc:
            log.warning("no WebRTC offer for endpoint %s: %s", local.endpoint, exc)
            await self._close(leg)
            return None
        return BrowserOffer(leg, sdp.encode())

    def sent(self, key: TransactionKey, offer: BrowserOffer | None) -> None:
        """The INVITE carrying ``offer`` went out as branch ``key``."""
        if offer is not None:
            self._branches[key.branch] = offer.leg

    async def answered(self, response: Response) -> RemoteMedia | None:
        """Apply a browser's SDP answer (None if ``response`` is not on a browser's
        branch): the endpoint's new remote media. Other browser branches of the same
        endpoint are closed."""
        branch = response.top_via.branch
        leg = None if branch is None else self._branches.get(branch)
        if leg is None:
            return None
        if self._answered.get(leg.endpoint) is not leg:
            await leg.accept_answer(response.body.decode("utf-8", "replace"))
            self._answered[leg.endpoint] = leg
            for other in list(self._legs.get(leg.endpoint, ())):
                if other is not leg:
                    await self._close(other)
        return leg.remote

    async def reoffer(self, endpoint: EndpointId, offer: bytes) -> bytes:
        """Answer a browser's re-offer on ``endpoint`` and update the endpoint."""
        leg = self._answered.get(endpoint)
        if leg is None:
            raise WebRtcError(f"endpoint {endpoint} has no browser leg")
        answer, remote = leg.reanswer(offer.decode("utf-8", "replace"))
        await self.media.update_endpoint(endpoint, remote)
        return answer.encode()

    def hold_offer(self, endpoint: EndpointId, *, hold: bool) -> bytes | None:
        """Our re-offer to the browser on ``endpoint`` (hold: ``a=sendonly``, else
        ``a=sendrecv``); None if no browser's media reaches the endpoint."""
        leg = self._answered.get(endpoint)
        if leg is None:
            return None
        return leg.reoffer(hold=hold).encode()

    async def hold_answered(self, endpoint: EndpointId, answer: bytes) -> None:
        """Apply the browser's answer to :meth:`hold_offer` to the endpoint."""
        leg = self._answered.get(endpoint)
        if leg is None:
            raise WebRtcError(f"endpoint {endpoint} has no browser leg")
        remote = leg.accept_reanswer(answer.decode("utf-8", "replace"))
        await self.media.update_endpoint(endpoint, remote)

    async def release(self, endpoint: EndpointId) -> None:
        """Close the legs of an endpoint being freed (nothing if it has none)."""
        for leg in list(self._legs.get(endpoint, ())):
            await self._close(leg)

    async def close(self) -> None:
        """Close every leg and the gateway."""
        if self._gateway is not None:
            await self._gateway.close()
        self._legs.clear()
        self._branches.clear()
        self._answered.clear()

    async def _open(self, local: LocalMedia) -> WebRtcLeg:
        if self._gateway is None:
            from helpline.webrtc.gateway import GatewayConfig, WebRtcGateway

            self._gateway = WebRtcGateway(GatewayConfig.from_settings(self._settings))
        leg = await self._gateway.open(local)
        self._legs.setdefault(local.endpoint, []).append(leg)
        return leg

    async def _close(self, leg: WebRtcLeg) -> None:
        legs = self._legs.get(leg.endpoint, [])
        if leg in legs:
            legs.remove(leg)
        if not legs:
            self._legs.pop(leg.endpoint, None)
        if self._answered.get(leg.endpoint) is leg:
            del self._answered[leg.endpoint]
        for branch in [b for b, held in self._branches.items() if held is leg]:
            del self._branches[branch]
        await leg.close()
