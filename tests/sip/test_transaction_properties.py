"""Property: INVITE transactions survive a lossy, duplicating, reordering network."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from helpline.sip.message import Request, make_response
from helpline.sip.transaction import (
    AckReceived,
    Datagram,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTimeout,
)
from tests.sip._link import BOB, Peer, ack_for_2xx, make_pair, request


@settings(max_examples=150, deadline=None)
@given(
    status=st.sampled_from([200, 302, 404, 486, 603]),
    provisional=st.booleans(),
    drops=st.sets(st.integers(0, 20), max_size=4),
    duplicates=st.sets(st.integers(0, 20), max_size=6),
    reorder=st.booleans(),
)
def test_invite_ends_terminated_on_both_sides_with_one_final_response(
    status: int, provisional: bool, drops: set[int], duplicates: set[int], reorder: bool
) -> None:
    alice, bob, link = make_pair()
    seen: list[Datagram] = []

    def drop(datagram: Datagram) -> bool:
        seen.append(datagram)
        return len(seen) - 1 in drops

    link.drop = drop
    link.duplicate = lambda d: len(seen) - 1 in duplicates
    link.reorder = reorder
    acked: list[float] = []

    def uas(peer: Peer, event: Event, now: float) -> None:
        if isinstance(event, AckReceived):
            acked.append(now)
        if not isinstance(event, RequestReceived):
            return
        key = event.key
        if provisional:
            ringing = make_response(event.request, 180, to_tag="bob")
            peer.layer.send_response(key, ringing, now)
        final = make_response(event.request, status, to_tag="bob")
        peer.layer.send_response(key, final, now)
        if status >= 300:
            return

        def retransmit(at: float) -> None:  # the UAS core's job (§13.3.1.4)
            if not acked and peer.layer.state_of(key) is not None:
                peer.layer.send_response(key, final, at)

        for offset in peer.layer.config.uas_2xx_retransmit_offsets():
            link.call_at(now + offset, retransmit)

    invite: Request = request()

    def uac(peer: Peer, event: Event, now: float) -> None:
        if isinstance(event, ResponseReceived) and 200 <= event.response.status < 300:
            peer.layer.send_stateless(ack_for_2xx(invite, event.response, "z9hG4bKack"), BOB, "UDP")

    bob.handler = uas
    alice.handler = uac
    alice.layer.send_request(invite, BOB, "UDP", 0.0)
    link.run()

    assert len(alice.layer) == 0 and len(bob.layer) == 0
    assert not alice.of_type(TransactionTimeout) and not bob.of_type(TransactionTimeout)
    assert len(bob.of_type(RequestReceived)) == 1
    final_responses = [
        e.response for e in alice.of_type(ResponseReceived) if e.response.status >= 200
    ]
    assert {r.serialize() for r in final_responses} == {
        final_responses[0].serialize()
    }  # one final response ...
    assert final_responses[0].status == status
    if status >= 300:
        assert len(final_responses) == 1  # ... delivered exactly once (§17.1.1.2)
    else:
        assert acked  # 2xx: retransmitted by the UAS core until the ACK arrived
