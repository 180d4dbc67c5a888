"""Transaction flows between two in-memory peers on a fake clock (RFC 3261 §17, RFC 6026)."""

from __future__ import annotations

import itertools

import pytest

from helpline.sip.message import Request, Response, make_response
from helpline.sip.timers import Timer
from helpline.sip.transaction import (
    AckReceived,
    CancelReceived,
    Event,
    InviteClientState,
    InviteServerState,
    RequestReceived,
    ResponseReceived,
    TransactionTerminated,
    TransactionTimeout,
)
from helpline.sip.transaction_layer import make_cancel
from tests.sip._link import BOB, Handler, Link, Peer, ack_for_2xx, key_of, make_pair, request


def answer_with(*statuses: int) -> Handler:
    """A server TU answering every new request with ``statuses`` in order."""

    def handler(peer: Peer, event: Event, now: float) -> None:
        if isinstance(event, RequestReceived):
            for status in statuses:
                response = make_response(event.request, status, to_tag="bob-tag")
                peer.layer.send_response(event.key, response, now)

    return handler


def finals(peer: Peer) -> list[Response]:
    return [
        e.response
        for e in peer.events
        if isinstance(e, ResponseReceived) and e.response.status >= 200
    ]


def terminated_at(peer: Peer) -> dict[str, float]:
    return {
        key_of(e).method + ("/server" if key_of(e).server else "/client"): t
        for t, e in peer.log
        if isinstance(e, TransactionTerminated)
    }


def start(
    link: Link, alice: Peer, method: str = "INVITE", transport: str = "UDP", **kw: object
) -> Request:
    req = request(method, transport=transport, **kw)  # type: ignore[arg-type]
    alice.layer.send_request(req, BOB, transport, link.now)
    return req


def test_invite_486_is_acked_by_the_client_transaction() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(180, 486)
    start(link, alice)
    link.run()
    statuses = [e.response.status for e in alice.of_type(ResponseReceived)]
    assert statuses == [100, 180, 486]
    acks = link.sent_by("alice", "ACK")
    assert len(acks) == 1
    ack = acks[0].message
    assert isinstance(ack, Request)
    assert ack.top_via.branch == "z9hG4bKa1" and len(ack.vias) == 1
    assert ack.cseq.number == 1 and ack.cseq.method == "ACK"
    assert ack.to_tag == "bob-tag"
    assert not bob.of_type(AckReceived)  # the ACK of a non-2xx stays in the transaction
    assert len(alice.layer) == 0 and len(bob.layer) == 0
    assert alice.layer.get_timer() is None and bob.layer.get_timer() is None


def test_invite_200_goes_through_accepted_and_the_2xx_ack_reaches_the_server_tu() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(200)
    invite = start(link, alice)

    def uac(peer: Peer, event: Event, now: float) -> None:
        if isinstance(event, ResponseReceived) and event.response.status == 200:
            ack = ack_for_2xx(invite, event.response, "z9hG4bKack1")
            peer.layer.send_stateless(ack, BOB, "UDP")

    alice.handler = uac
    link.pump()
    assert [r.status for r in finals(alice)] == [200]
    assert alice.layer.state_of(key_of(alice.events[-1])) is InviteClientState.ACCEPTED
    assert link.sent_by("alice", "ACK")[0].message.top_via.branch != "z9hG4bKa1"
    acks = bob.of_type(AckReceived)
    assert len(acks) == 1 and acks[0].invite_key is None
    server_key = key_of(bob.of_type(RequestReceived)[0])
    assert bob.layer.state_of(server_key) is InviteServerState.ACCEPTED
    link.run()
    assert terminated_at(alice) == {"INVITE/client": 32.0}  # Timer M = 64*T1
    assert terminated_at(bob) == {"INVITE/server": 32.0}  # Timer L = 64*T1
    assert len(alice.layer) == 0 and len(bob.layer) == 0


def test_2xx_retransmitted_by_the_uas_core_passes_through_accepted_states() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(200)
    start(link, alice)
    link.pump()
    received = bob.of_type(RequestReceived)[0]
    server_key = key_of(received)
    # Accepted keeps no parsed request (request_of gives None); the bytes stay routable.
    assert bob.layer.request_of(server_key) is None
    again = make_response(received.request, 200, to_tag="bob-tag")
    bob.layer.send_response(server_key, again, link.now)
    link.pump()
    assert [r.status for r in finals(alice)] == [200, 200]  # RFC 6026: both go up


def test_invite_request_retransmitted_per_timer_a_then_timer_b_times_out() -> None:
    alice, _bob, link = make_pair()
    link.drop = lambda d: True
    start(link, alice)
    link.run()
    times = [s.at for s in link.sent_by("alice", "INVITE")]
    assert times == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert [(t, type(e).__name__) for t, e in alice.log] == [
        (32.0, "TransactionTimeout"),
        (32.0, "TransactionTerminated"),
    ]
    timeout = alice.events[0]
    assert isinstance(timeout, TransactionTimeout) and timeout.timer is Timer.B
    assert len(alice.layer) == 0


def test_non_invite_retransmitted_per_timer_e_capped_at_t2_then_timer_f() -> None:
    alice, _, link = make_pair()
    link.drop = lambda d: True
    start(link, alice, "OPTIONS")
    link.run()
    times = [s.at for s in link.sent_by("alice", "OPTIONS")]
    intervals = [b - a for a, b in itertools.pairwise(times)]
    assert intervals == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]
    timeout = alice.events[0]
    assert isinstance(timeout, TransactionTimeout) and timeout.timer is Timer.F
    assert alice.log[0][0] == 32.0


def test_timer_e_is_t2_once_proceeding() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(183)
    link.drop = lambda d: d.data.startswith(b"OPTIONS") and link.now > 0
    start(link, alice, "OPTIONS")
    link.run(until=20)
    times = [s.at for s in link.sent_by("alice", "OPTIONS")]
    assert times[:4] == [0.0, 0.5, 4.5, 8.5]


@pytest.mark.parametrize(
    ("transport", "client_end", "server_end"), [("UDP", 32.0, 5.0), ("TCP", 0.0, 0.0)]
)
def test_timer_d_and_i_on_udp_and_tcp(transport: str, client_end: float, server_end: float) -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(486)
    start(link, alice, transport=transport)
    link.run()
    assert terminated_at(alice) == {"INVITE/client": client_end}  # Timer D
    assert terminated_at(bob) == {"INVITE/server": server_end}  # Timer I
    assert len(link.sent_by("bob", "SIP/2.0 486")) == 1


@pytest.mark.parametrize(
    ("transport", "client_end", "server_end"), [("UDP", 5.0, 32.0), ("TCP", 0.0, 0.0)]
)
def test_timer_k_and_j_on_udp_and_tcp(transport: str, client_end: float, server_end: float) -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(200)
    start(link, alice, "OPTIONS", transport=transport)
    link.run()
    assert terminated_at(alice) == {"OPTIONS/client": client_end}  # Timer K
    assert terminated_at(bob) == {"OPTIONS/server": server_end}  # Timer J
    assert [r.status for r in finals(alice)] == [200]


def test_timer_g_retransmits_the_final_response_and_timer_h_gives_up_without_ack() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(486)
    link.drop = lambda d: d.data.startswith(b"ACK")
    start(link, alice)
    link.run()
    times = [s.at for s in link.sent_by("bob", "SIP/2.0 486")]
    intervals = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] == 0.0 and intervals == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]
    timeouts = bob.of_type(TransactionTimeout)
    assert len(timeouts) == 1 and timeouts[0].timer is Timer.H
    assert [r.status for r in finals(alice)] == [486]  # retransmissions absorbed
    assert len(link.sent_by("alice", "ACK")) == len(times)  # each one re-ACKed
    assert len(alice.layer) == 0 and len(bob.layer) == 0


def test_no_retransmission_timers_on_tcp() -> None:
    alice, _bob, link = make_pair()
    link.drop = lambda d: True
    start(link, alice, transport="TCP")
    start(link, alice, "OPTIONS", transport="TCP", branch="z9hG4bKo1")
    link.run()
    assert len(link.wire) == 2
    assert sorted(t.timer.value for t in alice.of_type(TransactionTimeout)) == ["B", "F"]
    assert alice.log[0][0] == 32.0


def test_duplicate_requests_are_absorbed() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(200)
    link.duplicate = lambda d: True
    start(link, alice, "OPTIONS")
    link.run()
    assert len(bob.of_type(RequestReceived)) == 1
    assert len(finals(alice)) == 1


def test_cancel_is_matched_to_its_invite() -> None:
    alice, bob, link = make_pair()

    def uas(peer: Peer, event: Event, now: float) -> None:
        if isinstance(event, CancelReceived):
            invite = peer.layer.request_of(event.invite_key)
            assert invite is not None
            peer.layer.send_response(event.cancel_key, make_response(event.request, 200), now)
            peer.layer.send_response(
                event.invite_key, make_response(invite, 487, to_tag="bob-tag"), now
            )

    bob.handler = uas
    invite = start(link, alice)
    link.pump()
    alice.layer.send_request(make_cancel(invite), BOB, "UDP", link.now)
    link.run()
    cancel = bob.of_type(CancelReceived)
    assert len(cancel) == 1
    invite_key = key_of(bob.of_type(RequestReceived)[0])
    assert cancel[0].invite_key == invite_key
    assert cancel[0].cancel_key.method == "CANCEL"
    assert sorted((r.cseq.method, r.status) for r in finals(alice)) == [
        ("CANCEL", 200),
        ("INVITE", 487),
    ]
    assert len(link.sent_by("alice", "ACK")) == 1
    assert len(alice.layer) == 0 and len(bob.layer) == 0


def test_cancel_without_invite_gets_481() -> None:
    alice, bob, link = make_pair()
    alice.layer.send_request(make_cancel(request()), BOB, "UDP", 0.0)
    link.run()
    assert [r.status for r in finals(alice)] == [481]
    assert not bob.events or all(isinstance(e, TransactionTerminated) for e in bob.events)


def test_reordered_and_duplicated_network_still_completes() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(180, 603)
    link.reorder = True
    link.duplicate = lambda d: True
    start(link, alice)
    link.run()
    assert [r.status for r in finals(alice)] == [603]
    assert len(bob.of_type(RequestReceived)) == 1
    assert len(alice.layer) == 0 and len(bob.layer) == 0


def test_many_calls_leave_empty_tables() -> None:
    alice, bob, link = make_pair()
    bob.handler = answer_with(180, 486)
    for i in range(20):
        start(link, alice, branch=f"z9hG4bKc{i}", call_id=f"call-{i}")
        start(link, alice, "OPTIONS", branch=f"z9hG4bKo{i}", call_id=f"opt-{i}")
    link.pump()
    assert len(alice.layer) == 40 and len(bob.layer) == 40
    link.run()
    assert len(alice.layer) == 0 and len(bob.layer) == 0
    assert alice.layer.get_timer() is None and bob.layer.get_timer() is None
    assert link.undeliverable == 0
