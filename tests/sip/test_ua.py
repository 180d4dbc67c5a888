"""The UA core: two user agents over an in-memory network with a fake clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from helpline.sip.digest import (
    DigestAlgorithm,
    DigestResult,
    compute_ha1,
    make_challenge,
    parse_credentials,
    verify,
)
from helpline.sip.headers import Header, NameAddr
from helpline.sip.message import Request, parse_message
from helpline.sip.routing import Address
from helpline.sip.transaction import Datagram, TransactionKey
from helpline.sip.ua import (
    CallCancelled,
    CallConfirmed,
    CallEnded,
    ClientAuth,
    EndReason,
    IncomingCall,
    InDialogRequest,
    LocalAddress,
    OutgoingAnswered,
    OutgoingFailed,
    OutgoingProgress,
    RequestAnswered,
    UaEvent,
    UserAgent,
)
from helpline.sip.uri import SipUri

A = Address("127.0.0.1", 5070)
B = Address("127.0.0.1", 5060)
SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"


@dataclass
class Net:
    uas: dict[Address, UserAgent]
    now: float = 0.0
    drop: Callable[[Datagram], bool] = lambda _d: False
    seen: dict[Address, list[UaEvent]] = field(default_factory=dict)
    wire: list[str] = field(default_factory=list)

    def pump(self) -> None:
        moved = True
        while moved:
            moved = False
            for here, ua in self.uas.items():
                for dgram in ua.datagrams_to_send(self.now):
                    moved = True
                    self.wire.append(dgram.data.split(b"\r\n", 1)[0].decode())
                    target = self.uas.get(dgram.destination)
                    if target is not None and not self.drop(dgram):
                        target.receive_datagram(dgram.data, here, dgram.transport, self.now)
            for here, ua in self.uas.items():
                while (event := ua.next_event()) is not None:
                    self.seen.setdefault(here, []).append(event)

    def advance(self, until: float) -> None:
        self.pump()
        while True:
            timers = [t for ua in self.uas.values() if (t := ua.get_timer()) is not None]
            if not timers or min(timers) > until:
                break
            self.now = max(self.now, min(timers))
            for ua in self.uas.values():
                ua.handle_timer(self.now)
            self.pump()
        self.now = until

    def events(self, where: Address, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.seen.get(where, []) if isinstance(e, kind)]


def _ua(port: int) -> UserAgent:
    return UserAgent({"UDP": LocalAddress("127.0.0.1", port)}, rng=random.Random(port))


def _net() -> Net:
    return Net({A: _ua(A.port), B: _ua(B.port)})


def _call(net: Net) -> tuple[IncomingCall, OutgoingAnswered]:
    caller = net.uas[A]
    caller.invite(
        request_uri=SipUri("127.0.0.1", "echo", port=B.port),
        from_=NameAddr(SipUri("127.0.0.1", "caller", port=A.port)),
        to=NameAddr(SipUri("127.0.0.1", "echo", port=B.port)),
        destination=B,
        transport="UDP",
        now=net.now,
        body=SDP,
    )
    net.pump()
    incoming = net.events(B, IncomingCall)[-1]
    net.uas[B].respond(incoming.call, 180, net.now)
    net.pump()
    net.uas[B].respond(incoming.call, 200, net.now, body=SDP, content_type="application/sdp")
    net.pump()
    return incoming, net.events(A, OutgoingAnswered)[-1]


def test_call_is_answered_acked_and_ended_by_the_caller() -> None:
    net = _net()
    incoming, answered = _call(net)
    assert incoming.request.body == SDP
    progress = net.events(A, OutgoingProgress)
    assert [p.response.status for p in progress] == [100, 180]
    assert progress[-1].dialog == answered.dialog
    confirmed = net.events(B, CallConfirmed)
    assert len(confirmed) == 1 and confirmed[0].call == incoming.call
    net.uas[A].bye(answered.dialog, net.now)
    net.pump()
    ended = net.events(B, CallEnded)
    assert [e.reason for e in ended] == [EndReason.REMOTE_BYE]
    assert [r.status for r in net.events(A, RequestAnswered)] == [200]
    assert net.uas[A].dialog_count == 0 and net.uas[B].dialog_count == 0
    net.advance(60)
    assert len(net.uas[A].layer) == 0 and len(net.uas[B].layer) == 0


def test_callee_can_hang_up_and_the_caller_learns_it() -> None:
    net = _net()
    _, answered = _call(net)
    dialog_b = net.events(B, CallConfirmed)[0].dialog
    net.uas[B].bye(dialog_b, net.now)
    net.pump()
    assert [e.dialog for e in net.events(A, CallEnded)] == [answered.dialog]


def test_2xx_is_retransmitted_until_the_ack_arrives() -> None:
    net = _net()
    acks_dropped = []

    def drop_first_ack(d: Datagram) -> bool:
        if d.data.startswith(b"ACK ") and not acks_dropped:
            acks_dropped.append(d)
            return True
        return False

    net.drop = drop_first_ack
    _call(net)
    assert net.events(B, CallConfirmed) == []
    net.advance(0.6)
    assert len(net.events(B, CallConfirmed)) == 1
    assert sum(1 for line in net.wire if line.startswith("SIP/2.0 200")) == 2
    assert net.events(A, OutgoingAnswered).__len__() == 1, "a retransmitted 2xx is not a new answer"


def test_missing_ack_ends_the_call_with_bye_after_64_t1() -> None:
    net = _net()
    net.drop = lambda d: d.data.startswith(b"ACK ")
    _call(net)
    net.advance(31)
    assert net.events(B, CallEnded) == []
    net.advance(33)
    assert [e.reason for e in net.events(B, CallEnded)] == [EndReason.NO_ACK]
    assert any(line.startswith("BYE ") for line in net.wire)
    assert net.events(A, CallEnded)[0].reason is EndReason.REMOTE_BYE


def test_cancel_while_ringing_gets_487_for_the_invite() -> None:
    net = _net()
    caller = net.uas[A]
    call = caller.invite(
        request_uri=SipUri("127.0.0.1", "echo", port=B.port),
        from_=NameAddr(SipUri("127.0.0.1", "caller")),
        to=NameAddr(SipUri("127.0.0.1", "echo")),
        destination=B,
        transport="UDP",
        now=0,
        body=SDP,
    )
    net.pump()
    incoming = net.events(B, IncomingCall)[0]
    net.uas[B].respond(incoming.call, 180, net.now)
    net.pump()
    caller.cancel(call, net.now)
    net.pump()
    assert [c.call for c in net.events(B, CallCancelled)] == [incoming.call]
    failed = net.events(A, OutgoingFailed)
    assert [f.status for f in failed] == [487]
    assert net.uas[B].dialog_count == 0 and net.uas[A].dialog_count == 0


def test_reinvite_for_hold_is_offered_answered_and_acked() -> None:
    net = _net()
    _, answered = _call(net)
    hold = SDP + b"a=sendonly\r\n"
    net.uas[A].request(
        answered.dialog, "INVITE", net.now, body=hold, content_type="application/sdp"
    )
    net.pump()
    reinvite = net.events(B, InDialogRequest)[0]
    assert reinvite.request.method == "INVITE" and b"sendonly" in reinvite.request.body
    net.uas[B].respond(
        reinvite.key, 200, net.now, body=SDP + b"a=recvonly\r\n", content_type="application/sdp"
    )
    net.pump()
    assert [r.status for r in net.events(A, RequestAnswered)] == [200]
    assert len(net.events(B, CallConfirmed)) == 2, "the re-INVITE's ACK arrived"


def test_reinvite_glare_gets_491_on_both_sides() -> None:
    net = _net()
    _, answered = _call(net)
    dialog_b = net.events(B, CallConfirmed)[0].dialog
    net.uas[A].request(answered.dialog, "INVITE", net.now, body=SDP, content_type="application/sdp")
    net.uas[B].request(dialog_b, "INVITE", net.now, body=SDP, content_type="application/sdp")
    net.pump()
    assert [r.status for r in net.events(A, RequestAnswered)] == [491]
    assert [r.status for r in net.events(B, RequestAnswered)] == [491]


def test_options_qualify_times_out_with_408_when_nobody_answers() -> None:
    net = _net()
    net.uas[A].options(SipUri("127.0.0.9", "2001"), Address("127.0.0.9", 5060), "UDP", 0)
    key = net.uas[A].options(SipUri("127.0.0.1", "x"), B, "UDP", 0)
    net.pump()
    answered = net.events(A, RequestAnswered)
    assert [(r.key == key, r.status) for r in answered] == [(True, 200)]
    net.advance(40)
    assert [r.status for r in net.events(A, RequestAnswered)] == [200, 408]


def test_in_dialog_request_with_old_cseq_gets_500() -> None:
    net = _net()
    _, answered = _call(net)
    leg = net.uas[A].dialog(answered.dialog)
    assert leg is not None
    net.uas[A].request(
        answered.dialog,
        "INFO",
        net.now,
        body=b"Signal=1\r\n",
        content_type="application/dtmf-relay",
    )
    net.pump()
    info = net.events(B, InDialogRequest)[0]
    net.uas[B].respond(info.key, 200, net.now)
    leg.local_seq -= 1
    net.uas[A].request(answered.dialog, "INFO", net.now)
    net.pump()
    assert [r.status for r in net.events(A, RequestAnswered)] == [200, 500]
    assert isinstance(parse_message(info.request.serialize()), Request)


def _challenging_call(net: Net, password: str) -> TransactionKey:
    """A calls B with credentials; B answers every INVITE without valid ones 407."""
    key = net.uas[A].invite(
        request_uri=SipUri("127.0.0.1", "+99955501", port=B.port),
        from_=NameAddr(SipUri("127.0.0.1", "trunk-user", port=A.port)),
        to=NameAddr(SipUri("127.0.0.1", "+99955501", port=B.port)),
        destination=B,
        transport="UDP",
        now=net.now,
        body=SDP,
        auth=ClientAuth("trunk-user", password),
    )
    secret = b"provider-secret"
    answered: set[TransactionKey] = set()
    ha1 = compute_ha1("trunk-user", "provider", "right-pass", DigestAlgorithm.MD5)
    for _ in range(4):
        net.pump()
        for incoming in net.events(B, IncomingCall):
            if incoming.call in answered:
                continue
            answered.add(incoming.call)
            value = incoming.request.header("Proxy-Authorization")
            creds = parse_credentials(value) if value else None
            ok = creds is not None and verify(
                creds, method="INVITE", ha1=ha1, secret=secret, now=net.now
            )
            if ok is DigestResult.OK:
                net.uas[B].respond(
                    incoming.call, 200, net.now, body=SDP, content_type="application/sdp"
                )
            else:
                challenge = make_challenge(
                    "provider", secret=secret, now=net.now, entropy=bytes([len(answered)])
                )
                net.uas[B].respond(
                    incoming.call,
                    407,
                    net.now,
                    extra=(Header("Proxy-Authenticate", challenge.header_value()),),
                )
    return key


def test_invite_answers_a_407_with_credentials_and_keeps_its_key() -> None:
    # The provider answers 200 at once (no 1xx): the dialog is confirmed by the 2xx.
    net = _net()
    key = _challenging_call(net, "right-pass")
    invites = [e.request for e in net.events(B, IncomingCall)]
    assert len(invites) == 2
    first, second = invites
    assert second.call_id == first.call_id and second.from_tag == first.from_tag
    assert second.cseq.number == first.cseq.number + 1
    assert first.header("Proxy-Authorization") is None
    assert 'username="trunk-user"' in (second.header("Proxy-Authorization") or "")
    (done,) = net.events(A, OutgoingAnswered)
    assert done.call == key
    assert net.events(A, OutgoingFailed) == []


def test_wrong_credentials_are_sent_once_then_the_call_fails() -> None:
    net = _net()
    key = _challenging_call(net, "wrong-pass")
    # The retry is challenged again with a new nonce (not stale): refused, no loop.
    failed = net.events(A, OutgoingFailed)
    assert [f.call for f in failed] == [key]
    assert failed[0].status == 407
    assert net.events(A, OutgoingAnswered) == []
    assert len(net.events(B, IncomingCall)) == 2
