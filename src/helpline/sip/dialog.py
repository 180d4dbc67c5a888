"""SIP dialogs (RFC 3261 §12): identity, route set, remote target and sequence numbers.

Theory of operation: a dialog is created by a UAS when it answers an INVITE with a 1xx
carrying a To tag or a 2xx (§12.1.1), and by a UAC from such a response (§12.1.2). The
route set is the Record-Route list, in order for the UAS and reversed for the UAC; the
remote target is the peer's Contact. An early dialog becomes confirmed with the 2xx and
ends with BYE (states in ``DialogState``, transitions in ``_TRANSITIONS``; anything else
raises ``DialogError``). In-dialog requests are built per §12.2.1.1 (loose routing when
the first route has ``lr``, strict routing otherwise), and incoming ones are checked per
§12.2.2: a CSeq lower than the last one seen is answered 500, and target-refresh
requests (re-INVITE, UPDATE) replace the remote target with their Contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from helpline.sip.headers import Header, NameAddr, parse_name_addr
from helpline.sip.message import Request, Response
from helpline.sip.uri import SipUri, Uri

__all__ = ["Dialog", "DialogError", "DialogId", "DialogState", "incoming_dialog_id"]

TARGET_REFRESH = frozenset(("INVITE", "UPDATE"))
MAX_FORWARDS = "70"


class DialogError(Exception):
    """A dialog operation that is not allowed in its state."""


class DialogState(Enum):
    """§12: early (provisional with tag), confirmed (2xx), terminated (BYE or failure)."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


_TRANSITIONS: dict[DialogState, frozenset[DialogState]] = {
    DialogState.EARLY: frozenset((DialogState.CONFIRMED, DialogState.TERMINATED)),
    DialogState.CONFIRMED: frozenset((DialogState.TERMINATED,)),
    DialogState.TERMINATED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class DialogId:
    """Call-ID plus local and remote tags, from this side's point of view (§12)."""

    call_id: str
    local_tag: str
    remote_tag: str


def incoming_dialog_id(request: Request) -> DialogId | None:
    """The id of the dialog an incoming request belongs to (None outside a dialog)."""
    local, remote = request.to_tag, request.from_tag
    if local is None or remote is None:
        return None
    return DialogId(request.call_id, local, remote)


@dataclass(frozen=True, slots=True)
class Hop:
    """Where to send an in-dialog request first: the Request-URI and Route headers."""

    request_uri: Uri
    routes: tuple[NameAddr, ...]


@dataclass(slots=True)
class Dialog:
    """The state of one dialog, owned and mutated by the UA core only."""

    id: DialogId
    local: NameAddr
    remote: NameAddr
    remote_target: Uri
    route_set: tuple[NameAddr, ...]
    local_seq: int
    remote_seq: int | None
    secure: bool = False
    state: DialogState = DialogState.EARLY
    invite_seq: int | None = field(default=None)

    @classmethod
    def as_uas(cls, request: Request, response: Response) -> Dialog:
        """The dialog a UAS creates by sending ``response`` (with To tag) to ``request``."""
        local_tag = response.to_tag
        remote_tag = request.from_tag
        if local_tag is None or remote_tag is None:
            raise DialogError("a dialog needs both tags")
        contact = _first_contact(request)
        uri = request.uri
        dialog = cls(
            id=DialogId(request.call_id, local_tag, remote_tag),
            local=response.to,
            remote=request.from_,
            remote_target=contact.uri if contact else request.from_.uri,
            route_set=request.record_routes,
            local_seq=0,
            remote_seq=request.cseq.number,
            secure=isinstance(uri, SipUri) and uri.secure,
            invite_seq=request.cseq.number,
        )
        if 200 <= response.status < 300:
            dialog.state = DialogState.CONFIRMED
        return dialog

    @classmethod
    def as_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a UAC learns from ``response`` (with To tag) to its ``request``."""
        local_tag, remote_tag = request.from_tag, response.to_tag
        if local_tag is None or remote_tag is None:
            raise DialogError("a dialog needs both tags")
        contact = _first_contact(response)
        uri = request.uri
        dialog = cls(
            id=DialogId(request.call_id, local_tag, remote_tag),
            local=request.from_,
            remote=response.to,
            remote_target=contact.uri if contact else request.uri,
            route_set=tuple(reversed(response.record_routes)),
            local_seq=request.cseq.number,
            remote_seq=None,
            secure=isinstance(uri, SipUri) and uri.secure,
            invite_seq=request.cseq.number,
        )
        if 200 <= response.status < 300:
            dialog.state = DialogState.CONFIRMED
        return dialog

    def move(self, state: DialogState) -> None:
        """Change state; an illegal transition raises ``DialogError``."""
        if state is self.state:
            return
        if state not in _TRANSITIONS[self.state]:
            raise DialogError(f"dialog {self.id.call_id}: {self.state.value} -> {state.value}")
        self.state = state

    def check_incoming(self, request: Request) -> int | None:
        """Apply §12.2.2 to an in-dialog request: None to accept, or the status to answer.

        Accepting records the CSeq and, for target-refresh requests, the new Contact.
        """
        if self.state is DialogState.TERMINATED:
            return 481
        seq = request.cseq.number
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_seq is not None and seq <= self.remote_seq:
                return 500
            self.remote_seq = seq
        if request.method in TARGET_REFRESH:
            contact = _first_contact(request)
            if contact is not None:
                self.remote_target = contact.uri
        return None

    def next_hop(self) -> Hop:
        """Request-URI and Route set for the next request (§12.2.1.1, §16.12.1.2)."""
        if not self.route_set:
            return Hop(self.remote_target, ())
        first = self.route_set[0]
        if isinstance(first.uri, SipUri) and first.uri.lr:
            return Hop(self.remote_target, self.route_set)
        strict = (*self.route_set[1:], NameAddr(self.remote_target))
        return Hop(first.uri, strict)

    def new_request(
        self,
        method: str,
        *,
        via: Header,
        contact: NameAddr | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        extra: tuple[Header, ...] = (),
        cseq: int | None = None,
    ) -> Request:
        """A request within the dialog (§12.2.1.1).

        A new local CSeq is taken unless ``cseq`` is given (ACK for 2xx reuses the
        INVITE's, §13.2.2.4; CANCEL is never sent in a dialog this way).
        """
        if self.state is DialogState.TERMINATED and method != "ACK":
            raise DialogError(f"dialog {self.id.call_id} is terminated")
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        hop = self.next_hop()
        fields = [
            via,
            Header("Max-Forwards", MAX_FORWARDS),
            *(Header("Route", str(route)) for route in hop.routes),
            Header("From", str(self.local.with_tag(self.id.local_tag))),
            Header("To", str(self.remote.with_tag(self.id.remote_tag))),
            Header("Call-ID", self.id.call_id),
            Header("CSeq", f"{cseq} {method}"),
        ]
        if contact is not None:
            fields.append(Header("Contact", str(contact)))
        if content_type is not None:
            fields.append(Header("Content-Type", content_type))
        fields.extend(extra)
        return Request(method, hop.request_uri, tuple(fields), body)

    def with_remote_tag(self, tag: str) -> Dialog:
        """A copy for another early dialog of the same INVITE (forking, §12.1.2)."""
        return replace(self, id=replace(self.id, remote_tag=tag))


def _first_contact(message: Request | Response) -> NameAddr | None:
    for value in message.headers("Contact"):
        if value.strip() != "*":
            return parse_name_addr(value)
    return None
