"""Requests in a call's dialogs and keys pressed during the call.

A re-INVITE (hold, resume, a codec change) is answered on its own leg from that leg's
SDP session (RFC 3264 §8); browser legs are renegotiated through the WebRTC gateway.
DTMF, as RFC 4733 events or SIP INFO, goes to the script the caller talks to, else it
is relayed to the other side as RFC 4733; a supervisor's keys switch the supervision
mode.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from helpline.media.backend import LocalMedia, MediaBackendError, RemoteMedia
from helpline.sdp import SdpError, parse, serialize_bytes
from helpline.sdp.negotiate import LocalSession, answer_offer
from helpline.sip.dialog import DialogId
from helpline.sip.dtmf_relay import parse_info_dtmf
from helpline.sip.ua import InDialogRequest
from helpline.telephony.legs import SDP_TYPE, Call

if TYPE_CHECKING:
    from helpline.telephony.calls import CallControl


class InDialog:
    """In-call requests and keys for call control."""

    def __init__(self, control: CallControl) -> None:
        self.control = control

    async def request(self, call: Call, event: InDialogRequest) -> None:
        """A request in one of the call's dialogs: INFO (DTMF) or a re-INVITE."""
        control = self.control
        request = event.request
        if request.method == "INFO":
            control.respond(event.key, 200)
            content_type = request.header("Content-Type")
            digit = parse_info_dtmf(content_type, request.body)
            if digit is not None:
                endpoint = self.endpoint_of(call, event.dialog)
                if endpoint is not None:
                    await self.digit(call, endpoint, digit.key)
            return
        if not request.body:
            control.respond(event.key, 200)
            return
        media, session = self.leg_media(call, event.dialog)
        if media is None or session is None:
            control.respond(event.key, 488)
            return
        if control.webrtc.carries(media.endpoint):
            try:
                body = await control.webrtc.reoffer(media.endpoint, request.body)
            except MediaBackendError:
                control.respond(event.key, 488)
                return
            control.respond(event.key, 200, body=body, content_type=SDP_TYPE)
            return
        try:
            answer = answer_offer(parse(request.body), media.capabilities(), session)
            await control.media.update_endpoint(
                media.endpoint, RemoteMedia.from_negotiated(answer.media)
            )
        except (SdpError, MediaBackendError) as exc:
            control.respond(event.key, exc.status_code if isinstance(exc, SdpError) else 488)
            return
        control.respond(
            event.key, 200, body=serialize_bytes(answer.description), content_type=SDP_TYPE
        )

    def leg_media(
        self, call: Call, dialog: DialogId
    ) -> tuple[LocalMedia | None, LocalSession | None]:
        """The endpoint and SDP session of the call's leg in ``dialog``."""
        if call.out is not None and dialog == call.out.dialog:
            return call.out.media, call.out.session
        third = call.cti.third
        if third is not None and dialog == third.dialog:
            return third.media, third.session
        return call.media, call.session

    def endpoint_of(self, call: Call, dialog: DialogId) -> str | None:
        media, _ = self.leg_media(call, dialog)
        return None if media is None else media.endpoint

    async def digit(self, call: Call, endpoint: str, key: str) -> None:
        """A key from one side: to the script, or relayed to the other side; a
        supervisor's keys switch the supervision mode."""
        control = self.control
        if call.supervising is not None:
            await control.supervision.key(call, key)
            return
        if call.channel is not None:
            call.channel.digits.put_nowait(key)
            return
        out = call.out
        if out is None or not out.bridged or call.media is None:
            return
        other = out.media.endpoint if endpoint == call.media.endpoint else call.media.endpoint
        with contextlib.suppress(MediaBackendError):
            await control.media.send_dtmf(other, key)
