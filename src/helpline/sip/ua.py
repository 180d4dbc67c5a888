"""The SIP user-agent core (RFC 3261 §8, §12-§15): calls and dialogs over transactions.

Theory of operation: :class:`UserAgent` sits on one :class:`TransactionLayer` and turns
its events into call events for call control, sans-IO like the layer below (time goes
in, bytes come out through ``datagrams_to_send``).

* UAS (§13.3): an INVITE becomes :class:`IncomingCall`; call control answers it with
  :meth:`UserAgent.respond`. A provisional with a To tag creates an early dialog, a 2xx
  confirms it and is retransmitted (T1 doubling to T2, §13.3.1.4) until its ACK arrives
  (:class:`CallConfirmed`); without an ACK after 64*T1 the dialog is ended with BYE.
  CANCEL (§9.2) is answered 200 and the INVITE 487 (:class:`CallCancelled`).
* UAC (§13.2): :meth:`UserAgent.invite` sends an INVITE; 1xx, 2xx and failures come up
  as :class:`OutgoingProgress`, :class:`OutgoingAnswered`, :class:`OutgoingFailed`. The
  ACK for a 2xx is built here and re-sent for each retransmitted 2xx (§13.2.2.4).
* Dialogs (§12, :mod:`helpline.sip.dialog`): BYE is answered 200 and ends the dialog
  (:class:`CallEnded`); re-INVITE, UPDATE and INFO go up as :class:`InDialogRequest`;
  a re-INVITE while ours is pending gets 491 (§14.2); requests for unknown dialogs
  get 481 (§12.2.2). OPTIONS is answered 200 in and out of dialogs (§11.2).
* Other out-of-dialog requests (REGISTER ...) go up as :class:`IncomingRequest`.

A dead call whose peer vanished is detected by the media layer (no RTP for N seconds),
which makes call control send BYE; session timers (RFC 4028) are not negotiated.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from helpline.sip.dialog import Dialog, DialogId, DialogState, incoming_dialog_id
from helpline.sip.digest import build_authorization, parse_challenge
from helpline.sip.errors import SipError
from helpline.sip.headers import Header, NameAddr
from helpline.sip.message import Request, Response, make_response
from helpline.sip.routing import Address
from helpline.sip.timers import TimerConfig, is_reliable
from helpline.sip.transaction import (
    AckReceived,
    CancelReceived,
    Datagram,
    RequestReceived,
    ResponseReceived,
    TransactionKey,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
)
from helpline.sip.transaction_layer import TransactionLayer, make_cancel
from helpline.sip.uri import SipUri, Uri

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER"


class EndReason(StrEnum):
    """Why a dialog ended."""

    REMOTE_BYE = "remote_bye"
    LOCAL_BYE = "local_bye"
    NO_ACK = "no_ack"


@dataclass(frozen=True, slots=True)
class LocalAddress:
    """Where this node is reached on one transport (for Via and Contact)."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A new INVITE; answer it with ``UserAgent.respond(call, ...)``."""

    call: TransactionKey
    request: Request
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class CallCancelled:
    """The caller cancelled an INVITE we had not answered finally (already sent 487)."""

    call: TransactionKey


@dataclass(frozen=True, slots=True)
class CallConfirmed:
    """The ACK for our 2xx arrived: media flows both ways."""

    call: TransactionKey | None
    dialog: DialogId


@dataclass(frozen=True, slots=True)
class CallEnded:
    """A confirmed dialog ended."""

    dialog: DialogId
    reason: EndReason


@dataclass(frozen=True, slots=True)
class InDialogRequest:
    """A re-INVITE, UPDATE or INFO in a dialog; answer with ``respond(key, ...)``."""

    dialog: DialogId
    key: TransactionKey
    request: Request


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """An out-of-dialog request other than INVITE and OPTIONS (REGISTER ...)."""

    key: TransactionKey
    request: Request
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class OutgoingProgress:
    """A provisional response to our INVITE (``dialog`` set when it carried a To tag)."""

    call: TransactionKey
    response: Response
    dialog: DialogId | None


@dataclass(frozen=True, slots=True)
class OutgoingAnswered:
    """Our INVITE was answered 2xx; the ACK has been sent."""

    call: TransactionKey
    response: Response
    dialog: DialogId


@dataclass(frozen=True, slots=True)
class OutgoingFailed:
    """Our INVITE failed: a final non-2xx, or 408 on timeout, 503 on transport error."""

    call: TransactionKey
    status: int
    response: Response | None


@dataclass(frozen=True, slots=True)
class RequestAnswered:
    """A final response (or 408/503 from the layer) to a non-INVITE request or re-INVITE."""

    key: TransactionKey
    status: int
    response: Response | None


UaEvent = (
    IncomingCall
    | CallCancelled
    | CallConfirmed
    | CallEnded
    | InDialogRequest
    | IncomingRequest
    | OutgoingProgress
    | OutgoingAnswered
    | OutgoingFailed
    | RequestAnswered
)


@dataclass(slots=True)
class _Leg:
    """A dialog plus where its requests go and how."""

    dialog: Dialog
    destination: Address
    transport: str
    pending_reinvite: TransactionKey | None = None
    unacked: Response | None = None
    call: TransactionKey | None = None


@dataclass(slots=True)
class _UasCall:
    request: Request
    source: Address
    transport: str
    tag: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class ClientAuth:
    """Credentials our INVITEs answer 401/407 challenges with (a trunk's)."""

    username: str
    password: str


@dataclass(slots=True)
class _UacCall:
    request: Request
    destination: Address
    transport: str
    origin: TransactionKey
    auth: ClientAuth | None = None
    answered: set[str] = field(default_factory=set)
    dialogs: dict[str, DialogId] = field(default_factory=dict)


@dataclass(order=True, slots=True)
class _Due:
    deadline: float
    seq: int
    dialog: DialogId = field(compare=False)
    attempt: int = field(compare=False)


class UserAgent:
    """Calls and dialogs of one node over its transaction layer."""

    def __init__(
        self,
        local: dict[str, LocalAddress],
        *,
        config: TimerConfig = TimerConfig(),
        rng: random.Random | None = None,
        user: str = "helpline",
        server: str = "Helpline",
    ) -> None:
        self.local = local
        self.config = config
        self.layer = TransactionLayer(config=config, rng=rng)
        self.user = user
        self.server = Header("Server", server)
        self._events: deque[UaEvent] = deque()
        self._legs: dict[DialogId, _Leg] = {}
        self._uas: dict[TransactionKey, _UasCall] = {}
        self._uac: dict[TransactionKey, _UacCall] = {}
        self._current: dict[TransactionKey, TransactionKey] = {}
        self._requests: dict[TransactionKey, DialogId | None] = {}
        self._timers: list[_Due] = []
        self._seq = 0

    # -- sans-IO interface ------------------------------------------------------------

    def receive_message(
        self, message: Request | Response, source: Address, transport: str, now: float
    ) -> None:
        """Feed one parsed message from ``source``."""
        self.layer.receive_message(message, source, now, transport)
        self._drain(now)

    def receive_datagram(self, data: bytes, source: Address, transport: str, now: float) -> None:
        """Feed raw bytes (parsed by the transaction layer)."""
        self.layer.receive_datagram(data, source, now, transport)
        self._drain(now)

    def next_event(self) -> UaEvent | None:
        """The next call event, or None."""
        return self._events.popleft() if self._events else None

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        """Everything to transmit."""
        return self.layer.datagrams_to_send(now)

    def get_timer(self) -> float | None:
        """The earliest deadline of the layer's timers and ours."""
        while self._timers and self._timers[0].dialog not in self._legs:
            heapq.heappop(self._timers)
        ours = self._timers[0].deadline if self._timers else None
        theirs = self.layer.get_timer()
        candidates = [t for t in (ours, theirs) if t is not None]
        return min(candidates) if candidates else None

    def handle_timer(self, now: float) -> None:
        """Fire what is due: transaction timers, 2xx retransmissions, ACK timeouts."""
        self.layer.handle_timer(now)
        while self._timers and self._timers[0].deadline <= now:
            due = heapq.heappop(self._timers)
            self._retransmit_2xx(due, now)
        self._drain(now)

    def dialog(self, dialog_id: DialogId) -> Dialog | None:
        """The dialog ``dialog_id``, if it is live."""
        leg = self._legs.get(dialog_id)
        return None if leg is None else leg.dialog

    @property
    def dialog_count(self) -> int:
        """Live dialogs (early and confirmed)."""
        return len(self._legs)

    # -- UAS ----------------------------------------------------------------------------

    def respond(
        self,
        key: TransactionKey,
        status: int,
        now: float,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        extra: tuple[Header, ...] = (),
        reason: str | None = None,
    ) -> DialogId | None:
        """Answer the request of server transaction ``key``; the dialog it creates, if any.

        For an INVITE (initial or re-INVITE) a 2xx is retransmitted until its ACK.
        Responses to a transaction that has ended are ignored.
        """
        request = self.layer.request_of(key)
        if request is None:
            return None
        call = self._uas.get(key)
        tag = call.tag if call is not None else None
        fields = list(extra)
        if content_type is not None:
            fields.append(Header("Content-Type", content_type))
        if request.method == "INVITE" and status > 100:
            fields.append(self._contact_header(call.transport if call else "UDP"))
            fields.extend(Header("Record-Route", rr) for rr in request.headers("Record-Route"))
        fields.append(self.server)
        response = make_response(
            request, status, reason, to_tag=tag, extra=tuple(fields), body=body
        )
        dialog_id = None
        if call is not None:
            dialog_id = self._uas_progress(key, call, response, now)
        elif request.method == "INVITE" and 200 <= status < 300:
            dialog_id = incoming_dialog_id(request)
            leg = self._legs.get(dialog_id) if dialog_id else None
            if leg is not None and dialog_id is not None:
                self._await_ack(leg, dialog_id, response, now)
        self.layer.send_response(key, response, now)
        self._drain(now)
        return dialog_id

    def send_response(self, key: TransactionKey, response: Response, now: float) -> None:
        """Send a response built elsewhere (the registrar's) on a non-INVITE transaction."""
        if self.layer.request_of(key) is not None:
            self.layer.send_response(key, response, now)
            self._drain(now)

    def _uas_progress(
        self, key: TransactionKey, call: _UasCall, response: Response, now: float
    ) -> DialogId | None:
        status = response.status
        if status >= 200:
            call.final = True
            del self._uas[key]  # the transaction lingers without it (see request_of)
        dialog_id = DialogId(call.request.call_id, call.tag, call.request.from_tag or "")
        if status >= 300:
            self._legs.pop(dialog_id, None)
            return None
        leg = self._legs.get(dialog_id)
        if leg is None:
            dialog = Dialog.as_uas(call.request, response)
            leg = _Leg(dialog, call.source, call.transport, call=key)
            self._legs[dialog_id] = leg
        if 200 <= status < 300:
            leg.dialog.move(DialogState.CONFIRMED)
            self._await_ack(leg, dialog_id, response, now)
        return dialog_id

    def _await_ack(self, leg: _Leg, dialog_id: DialogId, response: Response, now: float) -> None:
        leg.unacked = response
        self._seq += 1
        heapq.heappush(self._timers, _Due(now + self.config.t1, self._seq, dialog_id, 0))

    def _retransmit_2xx(self, due: _Due, now: float) -> None:
        leg = self._legs.get(due.dialog)
        if leg is None or leg.unacked is None:
            return
        offsets = self.config.uas_2xx_retransmit_offsets()
        if due.attempt + 1 >= len(offsets):
            leg.unacked = None
            self.bye(due.dialog, now, reason=EndReason.NO_ACK)
            return
        if not is_reliable(leg.transport):
            self.layer.send_stateless(leg.unacked, leg.destination, leg.transport)
        wait = offsets[due.attempt + 1] - offsets[due.attempt]
        self._seq += 1
        heapq.heappush(self._timers, _Due(now + wait, self._seq, due.dialog, due.attempt + 1))

    # -- UAC ----------------------------------------------------------------------------

    def invite(
        self,
        *,
        request_uri: Uri,
        from_: NameAddr,
        to: NameAddr,
        destination: Address,
        transport: str,
        now: float,
        body: bytes = b"",
        content_type: str | None = "application/sdp",
        extra: tuple[Header, ...] = (),
        call_id: str | None = None,
        auth: ClientAuth | None = None,
    ) -> TransactionKey:
        """Send a new INVITE; its progress comes back as Outgoing* events.

        With ``auth``, a 401/407 is answered once per realm (again only when the
        challenge says ``stale=true``) by the same INVITE with
        credentials (CSeq + 1, same Call-ID and From tag, RFC 3261 §22.2); the events
        keep the key returned here.
        """
        fields = [
            self._via(transport),
            Header("Max-Forwards", "70"),
            Header("From", str(from_.with_tag(self.layer.new_tag()))),
            Header("To", str(to)),
            Header("Call-ID", call_id or f"{self.layer.new_tag()}{self.layer.new_tag()}"),
            Header("CSeq", "1 INVITE"),
            self._contact_header(transport),
            Header("Allow", ALLOW),
            *extra,
        ]
        if body and content_type:
            fields.append(Header("Content-Type", content_type))
        request = Request("INVITE", request_uri, tuple(fields), body)
        key = self.layer.send_request(request, destination, transport, now)
        sent = self.layer.request_of(key) or request
        self._uac[key] = _UacCall(sent, destination, transport, key, auth)
        self._current[key] = key
        self._drain(now)
        return key

    def send_request(
        self, request: Request, destination: Address, transport: str, now: float
    ) -> TransactionKey:
        """Send an out-of-dialog non-INVITE request built elsewhere (a REGISTER to a
        provider); its final answer, or 408/503, comes back as :class:`RequestAnswered`."""
        key = self.layer.send_request(request, destination, transport, now)
        self._requests[key] = None
        self._drain(now)
        return key

    def cancel(self, call: TransactionKey, now: float) -> None:
        """CANCEL our INVITE ``call`` (§9.1); the INVITE then fails with 487."""
        uac = self._uac.get(self._current.get(call, call))
        if uac is None:
            return
        self.layer.send_request(make_cancel(uac.request), uac.destination, uac.transport, now)
        self._drain(now)

    def bye(
        self, dialog_id: DialogId, now: float, *, reason: EndReason = EndReason.LOCAL_BYE
    ) -> TransactionKey | None:
        """End a dialog with BYE; :class:`CallEnded` is emitted at once."""
        leg = self._legs.pop(dialog_id, None)
        if leg is None:
            return None
        key = self._send_in_dialog(leg, "BYE", now)
        leg.dialog.move(DialogState.TERMINATED)
        self._events.append(CallEnded(dialog_id, reason))
        self._drain(now)
        return key

    def request(
        self,
        dialog_id: DialogId,
        method: str,
        now: float,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        extra: tuple[Header, ...] = (),
    ) -> TransactionKey | None:
        """Send a re-INVITE, UPDATE or INFO in a dialog; the answer is RequestAnswered."""
        leg = self._legs.get(dialog_id)
        if leg is None:
            return None
        key = self._send_in_dialog(leg, method, now, body, content_type, extra)
        if method == "INVITE":
            leg.pending_reinvite = key
        self._drain(now)
        return key

    def options(self, uri: Uri, destination: Address, transport: str, now: float) -> TransactionKey:
        """Qualify a phone with OPTIONS; the answer is RequestAnswered (408 when silent)."""
        tag = self.layer.new_tag()
        local = SipUri(self.local[transport].host, self.user)
        fields = (
            self._via(transport),
            Header("Max-Forwards", "70"),
            Header("From", f"<{local}>;tag={tag}"),
            Header("To", f"<{uri}>"),
            Header("Call-ID", f"{tag}{self.layer.new_tag()}"),
            Header("CSeq", "1 OPTIONS"),
        )
        key = self.layer.send_request(Request("OPTIONS", uri, fields), destination, transport, now)
        self._requests[key] = None
        self._drain(now)
        return key

    # -- internals ----------------------------------------------------------------------

    def _via(self, transport: str) -> Header:
        here = self.local[transport]
        return Header("Via", f"SIP/2.0/{transport} {here.host}:{here.port};rport")

    def _contact_header(self, transport: str) -> Header:
        here = self.local.get(transport) or self.local["UDP"]
        uri = SipUri(
            here.host,
            self.user,
            port=here.port,
            params=(("transport", transport.lower()),) if transport != "UDP" else (),
        )
        return Header("Contact", f"<{uri}>")

    def _send_in_dialog(
        self,
        leg: _Leg,
        method: str,
        now: float,
        body: bytes = b"",
        content_type: str | None = None,
        extra: tuple[Header, ...] = (),
    ) -> TransactionKey:
        contact = None
        if method in ("INVITE", "UPDATE"):
            contact = NameAddr(
                SipUri(
                    self.local[leg.transport].host, self.user, port=self.local[leg.transport].port
                )
            )
        request = leg.dialog.new_request(
            method,
            via=self._via(leg.transport),
            contact=contact,
            body=body,
            content_type=content_type,
            extra=extra,
        )
        key = self.layer.send_request(request, leg.destination, leg.transport, now)
        self._requests[key] = leg.dialog.id
        return key

    def _drain(self, now: float) -> None:
        while (event := self.layer.next_event()) is not None:
            if isinstance(event, RequestReceived):
                self._on_request(event, now)
            elif isinstance(event, ResponseReceived):
                self._on_response(event.key, event.response, now)
            elif isinstance(event, CancelReceived):
                self._on_cancel(event, now)
            elif isinstance(event, AckReceived):
                self._on_ack(event.request)
            elif isinstance(event, TransactionTimeout | TransportError):
                status = 408 if isinstance(event, TransactionTimeout) else 503
                self._on_failure(event.key, status)
            elif isinstance(event, TransactionTerminated):
                self._uas.pop(event.key, None)
                uac = self._uac.pop(event.key, None)
                if uac is not None and self._current.get(uac.origin) == event.key:
                    del self._current[uac.origin]
                self._requests.pop(event.key, None)

    def _answer(
        self, key: TransactionKey, status: int, now: float, extra: tuple[Header, ...] = ()
    ) -> None:
        request = self.layer.request_of(key)
        if request is not None:
            tag = None if request.to_tag else self.layer.new_tag()
            response = make_response(request, status, to_tag=tag, extra=(*extra, self.server))
            self.layer.send_response(key, response, now)

    def _on_request(self, event: RequestReceived, now: float) -> None:
        request = event.request
        method = request.method
        if method == "OPTIONS":
            self._answer(
                event.key, 200, now, (Header("Allow", ALLOW), Header("Accept", "application/sdp"))
            )
            return
        dialog_id = incoming_dialog_id(request)
        if request.to_tag is None:
            if method == "INVITE":
                self._uas[event.key] = _UasCall(
                    request, event.source, event.transport, self.layer.new_tag()
                )
                self._events.append(IncomingCall(event.key, request, event.source, event.transport))
            elif method in ("BYE", "INFO", "UPDATE", "PRACK"):
                self._answer(event.key, 481, now)
            else:
                self._events.append(
                    IncomingRequest(event.key, request, event.source, event.transport)
                )
            return
        leg = self._legs.get(dialog_id) if dialog_id else None
        if leg is None or dialog_id is None:
            self._answer(event.key, 481, now)
            return
        refused = leg.dialog.check_incoming(request)
        if refused is not None:
            self._answer(event.key, refused, now)
        elif method == "BYE":
            self._answer(event.key, 200, now)
            del self._legs[dialog_id]
            leg.dialog.move(DialogState.TERMINATED)
            self._events.append(CallEnded(dialog_id, EndReason.REMOTE_BYE))
        elif method == "INVITE" and leg.pending_reinvite is not None:
            self._answer(event.key, 491, now)
        else:
            self._events.append(InDialogRequest(dialog_id, event.key, request))

    def _on_cancel(self, event: CancelReceived, now: float) -> None:
        self._answer(event.cancel_key, 200, now)
        call = self._uas.get(event.invite_key)
        if call is None or call.final:
            return
        self.respond(event.invite_key, 487, now)
        self._events.append(CallCancelled(event.invite_key))

    def _on_ack(self, ack: Request) -> None:
        dialog_id = incoming_dialog_id(ack)
        leg = self._legs.get(dialog_id) if dialog_id else None
        if leg is None or dialog_id is None or leg.unacked is None:
            return
        if ack.cseq.number != leg.unacked.cseq.number:
            return
        leg.unacked = None
        self._events.append(CallConfirmed(leg.call, dialog_id))

    def _on_response(self, key: TransactionKey, response: Response, now: float) -> None:
        uac = self._uac.get(key)
        if uac is not None:
            self._on_invite_response(key, uac, response, now)
            return
        dialog_id = self._requests.get(key)
        leg = self._legs.get(dialog_id) if dialog_id else None
        if key.method == "INVITE" and leg is not None:
            if response.status >= 200:
                leg.pending_reinvite = None
            if 200 <= response.status < 300:
                ack = leg.dialog.new_request(
                    "ACK", via=self._via(leg.transport), cseq=response.cseq.number
                )
                self.layer.send_stateless(ack, leg.destination, leg.transport)
        if response.status >= 200:
            self._events.append(RequestAnswered(key, response.status, response))

    def _on_invite_response(
        self, key: TransactionKey, uac: _UacCall, response: Response, now: float
    ) -> None:
        status, tag, origin = response.status, response.to_tag, uac.origin
        if status < 200:
            dialog_id = None
            if tag and status > 100:
                dialog_id = self._uac_dialog(uac, response, origin)
            self._events.append(OutgoingProgress(origin, response, dialog_id))
            return
        if status >= 300:
            for early in uac.dialogs.values():
                self._legs.pop(early, None)
            if status in (401, 407) and self._retry_with_credentials(uac, response, now):
                return
            self._events.append(OutgoingFailed(origin, status, response))
            return
        if tag is None:
            return
        known = uac.dialogs.get(tag)
        fresh = known is None or known not in self._legs
        dialog_id = self._uac_dialog(uac, response, origin)
        leg = self._legs[dialog_id]
        ack = leg.dialog.new_request(
            "ACK", via=self._via(uac.transport), cseq=uac.request.cseq.number
        )
        self.layer.send_stateless(ack, uac.destination, uac.transport)
        if fresh or leg.dialog.state is not DialogState.CONFIRMED:
            # a 2xx without an earlier 1xx makes a dialog that is confirmed at once
            leg.dialog.move(DialogState.CONFIRMED)
            self._events.append(OutgoingAnswered(origin, response, dialog_id))

    def _retry_with_credentials(self, uac: _UacCall, response: Response, now: float) -> bool:
        """Send the INVITE again answering the challenge in ``response``; False if we
        cannot: no credentials, or our credentials for that realm were refused already
        (a new challenge without ``stale=true``)."""
        if uac.auth is None:
            return False
        proxy = response.status == 407
        values = response.headers("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        for value in values:
            try:
                challenge = parse_challenge(value)
            except SipError:
                continue
            if challenge is None or (challenge.realm in uac.answered and not challenge.stale):
                continue
            uac.answered.add(challenge.realm)
            old = uac.request
            credentials = build_authorization(
                challenge,
                username=uac.auth.username,
                password=uac.auth.password,
                method="INVITE",
                uri=str(old.uri),
                cnonce=self.layer.new_tag(),
            )
            drop = {"Via", "CSeq", "Authorization", "Proxy-Authorization"}
            fields = [
                self._via(uac.transport),
                *(h for h in old.fields if h.name not in drop),
                Header("CSeq", f"{old.cseq.number + 1} INVITE"),
                Header("Proxy-Authorization" if proxy else "Authorization", credentials),
            ]
            request = Request("INVITE", old.uri, tuple(fields), old.body)
            key = self.layer.send_request(request, uac.destination, uac.transport, now)
            sent = self.layer.request_of(key) or request
            self._uac[key] = _UacCall(
                sent, uac.destination, uac.transport, uac.origin, uac.auth, uac.answered
            )
            self._current[uac.origin] = key
            return True
        return False

    def _uac_dialog(self, uac: _UacCall, response: Response, key: TransactionKey) -> DialogId:
        tag = response.to_tag or ""
        existing = uac.dialogs.get(tag)
        if existing is not None and existing in self._legs:
            return existing
        dialog = Dialog.as_uac(uac.request, response)
        self._legs[dialog.id] = _Leg(dialog, uac.destination, uac.transport, call=key)
        uac.dialogs[tag] = dialog.id
        return dialog.id

    def _on_failure(self, key: TransactionKey, status: int) -> None:
        if key in self._uac:
            uac = self._uac[key]
            for early in uac.dialogs.values():
                self._legs.pop(early, None)
            self._events.append(OutgoingFailed(uac.origin, status, None))
        elif key in self._requests:
            self._events.append(RequestAnswered(key, status, None))
