"""One TransactionLayer fed bytes directly: matching, absorption, 482, strays, errors."""

from __future__ import annotations

import random

import pytest

from helpline.sip.message import Request, Response, make_response, parse_message
from helpline.sip.routing import Address
from helpline.sip.timers import Timer, TimerConfig
from helpline.sip.transaction import (
    INVITE_SERVER,
    MACHINES,
    AckReceived,
    CancelReceived,
    InviteServerState,
    NonInviteServerState,
    RequestReceived,
    Stimulus,
    TransactionKey,
    TransactionStateError,
    TransactionTerminated,
    TransportError,
)
from helpline.sip.transaction_layer import TransactionLayer, make_ack, make_cancel
from tests.sip._link import ALICE, BOB, request

SRC = Address("192.0.2.7", 40000)


def layer() -> TransactionLayer:
    return TransactionLayer(rng=random.Random(7))


def events(tl: TransactionLayer) -> list[object]:
    out: list[object] = []
    while (e := tl.next_event()) is not None:
        out.append(e)
    return out


def sent(tl: TransactionLayer) -> list[str]:
    return [d.data.split(b"\r\n", 1)[0].decode() for d in tl.datagrams_to_send(0.0)]


def received(tl: TransactionLayer, req: Request | Response, now: float = 0.0) -> None:
    tl.receive_datagram(req.serialize(), SRC, now)


def new_request_key(tl: TransactionLayer) -> TransactionKey:
    (event,) = [e for e in events(tl) if isinstance(e, RequestReceived)]
    return event.key


def test_retransmitted_request_gets_the_last_response_again() -> None:
    tl = layer()
    options = request("OPTIONS")
    received(tl, options)
    key = new_request_key(tl)
    assert key == TransactionKey("z9hG4bKa1", "OPTIONS", True, "10.0.0.1:5060")
    received(tl, options)  # Trying: absorbed silently
    assert sent(tl) == [] and events(tl) == []
    assert tl.request_of(key) is not None
    tl.send_response(key, make_response(options, 200, to_tag="t"), 0.0)
    # Completed keeps only the response's bytes, not the parsed messages (see _LINGERING).
    assert tl.request_of(key) is None
    received(tl, options, 1.0)
    assert sent(tl) == ["SIP/2.0 200 OK", "SIP/2.0 200 OK"]
    assert events(tl) == []
    assert tl.state_of(key) is NonInviteServerState.COMPLETED


def test_invite_gets_100_trying_and_retransmissions_resend_it() -> None:
    tl = layer()
    received(tl, request())
    key = new_request_key(tl)
    received(tl, request(), 0.4)
    assert sent(tl) == ["SIP/2.0 100 Trying", "SIP/2.0 100 Trying"]
    assert tl.state_of(key) is InviteServerState.PROCEEDING


def test_responses_go_to_received_and_rport() -> None:
    tl = layer()
    received(tl, request("OPTIONS", extra_via=";rport"))
    key = new_request_key(tl)
    stamped = tl.request_of(key)
    assert stamped is not None and stamped.top_via.received == "192.0.2.7"
    tl.send_response(key, make_response(request("OPTIONS"), 200), 0.0)
    (datagram,) = tl.datagrams_to_send(0.0)
    assert datagram.destination == SRC and datagram.key == key


def test_responses_never_go_to_multicast_maddr() -> None:
    tl = layer()
    received(tl, request("OPTIONS", extra_via=";maddr=224.0.0.1"))
    key = new_request_key(tl)
    tl.send_response(key, make_response(request("OPTIONS"), 200), 0.0)
    assert tl.datagrams_to_send(0.0) == []
    assert tl.stats.unroutable_responses == 1


def test_merged_request_is_answered_482() -> None:
    tl = layer()
    received(tl, request(branch="z9hG4bKpath1"))
    first = new_request_key(tl)
    received(tl, request(branch="z9hG4bKpath2"))  # same From tag, Call-ID, CSeq
    assert [e for e in events(tl) if isinstance(e, RequestReceived)] == []
    assert sent(tl) == ["SIP/2.0 100 Trying", "SIP/2.0 482 Loop Detected"]
    assert tl.stats.merged_requests == 1
    second = TransactionKey("z9hG4bKpath2", "INVITE", True, "10.0.0.1:5060")
    assert tl.state_of(second) is InviteServerState.COMPLETED
    assert tl.state_of(first) is InviteServerState.PROCEEDING


def test_same_request_with_a_to_tag_is_not_merged() -> None:
    tl = layer()
    received(tl, request("INFO", branch="z9hG4bKx1", to_tag="d1"))
    received(tl, request("INFO", branch="z9hG4bKx2", to_tag="d1"))
    assert len([e for e in events(tl) if isinstance(e, RequestReceived)]) == 2


def test_stray_response_is_dropped_and_counted() -> None:
    tl = layer()
    tl.send_request(request("OPTIONS"), BOB, "UDP", 0.0)
    tl.datagrams_to_send(0.0)
    stray = make_response(request("OPTIONS", branch="z9hG4bKother"), 200)
    received(tl, stray)
    wrong_method = make_response(request("INFO"), 200)  # same branch, other CSeq method
    received(tl, wrong_method)
    assert events(tl) == [] and tl.stats.stray_responses == 2


def test_a_second_final_response_is_an_illegal_transition() -> None:
    tl = layer()
    received(tl, request("OPTIONS"))
    key = new_request_key(tl)
    tl.send_response(key, make_response(request("OPTIONS"), 200), 0.0)
    with pytest.raises(TransactionStateError, match="Completed: illegal TU sends 300-699"):
        tl.send_response(key, make_response(request("OPTIONS"), 404), 0.0)
    received(tl, request())
    invite_key = new_request_key(tl)
    tl.send_response(invite_key, make_response(request(), 486, to_tag="t"), 0.0)
    with pytest.raises(TransactionStateError):
        tl.send_response(invite_key, make_response(request(), 180, to_tag="t"), 0.0)
    assert tl.state_of(invite_key) is InviteServerState.COMPLETED


def test_machines_raise_on_inputs_outside_their_table() -> None:
    with pytest.raises(TransactionStateError):
        INVITE_SERVER.step(InviteServerState.CONFIRMED, Stimulus.SEND_2XX)
    with pytest.raises(TransactionStateError):
        INVITE_SERVER.step(InviteServerState.PROCEEDING, Timer.A)
    for machine in MACHINES.values():
        for state in type(machine.initial):
            if state is not machine.terminated:
                assert machine.step(state, Stimulus.TRANSPORT_ERROR)[0] is machine.terminated
            with pytest.raises(TransactionStateError):
                machine.step(machine.terminated, Stimulus.TRANSPORT_ERROR)


def test_unknown_key_cannot_be_answered() -> None:
    with pytest.raises(KeyError):
        layer().send_response(TransactionKey("z9hG4bKx", "INVITE", True), Response(200, "OK"), 0)


def test_ack_for_2xx_with_the_invite_branch_is_passed_up_from_accepted() -> None:
    tl = layer()
    invite = request()
    received(tl, invite)
    key = new_request_key(tl)
    ok = make_response(invite, 200, to_tag="t")
    tl.send_response(key, ok, 0.0)
    received(tl, invite, 0.3)  # retransmitted INVITE in Accepted: absorbed, not re-sent
    assert sent(tl) == ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]
    ack = request("ACK", to_tag="t")  # same branch as the INVITE (RFC 2543 style)
    received(tl, ack, 0.5)
    (event,) = events(tl)
    assert isinstance(event, AckReceived) and event.invite_key == key and event.source == SRC
    assert tl.state_of(key) is InviteServerState.ACCEPTED


def test_ack_matching_nothing_is_passed_up_for_the_dialog() -> None:
    tl = layer()
    received(tl, request("ACK", branch="z9hG4bKnew", to_tag="t"))
    (event,) = events(tl)
    assert isinstance(event, AckReceived) and event.invite_key is None
    assert sent(tl) == []


def test_ack_for_non_2xx_confirms_the_server_transaction() -> None:
    tl = layer()
    invite = request()
    received(tl, invite)
    key = new_request_key(tl)
    busy = make_response(invite, 486, to_tag="t")
    tl.send_response(key, busy, 0.0)
    received(tl, make_ack(invite, busy), 0.1)
    assert events(tl) == []
    assert tl.state_of(key) is InviteServerState.CONFIRMED
    tl.handle_timer(5.1)  # Timer I = T4 after the ACK
    assert events(tl) == [TransactionTerminated(key)] and len(tl) == 0


def test_rfc2543_requests_match_without_branch_cookie() -> None:
    tl = layer()
    invite = request(branch=None)
    received(tl, invite)
    key = new_request_key(tl)
    assert key.branch.startswith("rfc2543|")
    received(tl, invite, 0.5)
    assert events(tl) == []
    busy = make_response(invite, 486, to_tag="legacy")
    tl.send_response(key, busy, 0.5)
    received(tl, make_ack(invite, busy), 0.6)
    assert tl.state_of(key) is InviteServerState.CONFIRMED
    received(tl, make_cancel(request(branch=None, cseq=2, call_id="other")))
    assert tl.stats.unmatched_cancels == 1
    other = request(branch=None, cseq=3)
    received(tl, other)
    other_key = new_request_key(tl)
    received(tl, make_cancel(other))
    (event,) = events(tl)
    assert isinstance(event, CancelReceived) and event.invite_key == other_key


def test_cancel_event_carries_the_invite_key() -> None:
    tl = layer()
    invite = request()
    received(tl, invite)
    key = new_request_key(tl)
    received(tl, make_cancel(invite))
    (event,) = events(tl)
    assert isinstance(event, CancelReceived)
    assert event.invite_key == key and event.cancel_key.method == "CANCEL"
    assert event.source == SRC and event.transport == "UDP"


def test_transport_error_terminates_and_is_reported() -> None:
    tl = layer()
    key = tl.send_request(request(), BOB, "TCP", 0.0)
    tl.transport_error(key, 0.1)
    assert events(tl) == [TransportError(key), TransactionTerminated(key)]
    assert len(tl) == 0


def test_branch_is_generated_deterministically_when_missing() -> None:
    a = TransactionLayer(rng=random.Random(3)).send_request(request(branch=None), BOB, "UDP", 0)
    b = TransactionLayer(rng=random.Random(3)).send_request(request(branch=None), BOB, "UDP", 0)
    assert a == b and a.branch.startswith("z9hG4bK") and len(a.branch) == 27
    with pytest.raises(ValueError, match="ACK"):
        layer().send_request(request("ACK"), BOB, "UDP", 0)


def test_malformed_request_gets_400_but_malformed_ack_nothing() -> None:
    tl = layer()
    bad = request("OPTIONS").serialize().replace(b"CSeq: 1 OPTIONS", b"CSeq: x OPTIONS")
    tl.receive_datagram(bad, ALICE, 0.0)
    assert sent(tl) == ["SIP/2.0 400 Bad Request"]
    bad_ack = request("ACK").serialize().replace(b"Call-ID: call-1", b"Call-ID: a b")
    tl.receive_datagram(bad_ack, ALICE, 0.0)
    tl.receive_datagram(b"garbage", ALICE, 0.0)
    assert sent(tl) == [] and events(tl) == [] and tl.stats.malformed == 3


def test_timer_values_follow_the_configuration() -> None:
    tl = TransactionLayer(config=TimerConfig(t1=0.1, t2=0.4), rng=random.Random(1))
    tl.send_request(request("OPTIONS"), BOB, "UDP", 0.0)
    times = []
    while (deadline := tl.get_timer()) is not None:
        tl.handle_timer(deadline)
        times.append(deadline)
    assert times[:5] == pytest.approx([0.1, 0.3, 0.7, 1.1, 1.5])
    assert times[-1] == pytest.approx(6.4)  # Timer F = 64*T1


def test_parsed_wire_bytes_round_trip() -> None:
    tl = layer()
    key = tl.send_request(request(), BOB, "UDP", 0.0)
    (datagram,) = tl.datagrams_to_send(0.0)
    assert datagram.destination == BOB and datagram.transport == "UDP" and datagram.key == key
    assert isinstance(parse_message(datagram.data), Request)
