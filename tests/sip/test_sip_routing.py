"""Response routing (RFC 3261 §18.2.2, RFC 3581) and received/rport stamping."""

from __future__ import annotations

import pytest

from helpline.sip.headers import parse_via
from helpline.sip.message import Request, parse_message
from helpline.sip.routing import (
    Address,
    ResponseDestination,
    is_forbidden_destination,
    response_destination,
    response_destination_for,
    stamp_received,
)

SOURCE = Address("127.0.0.1", 40000)


def test_udp_response_goes_to_source_ip_and_sent_by_port() -> None:
    via = parse_via("SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK1")
    assert response_destination(via, SOURCE) == ResponseDestination("127.0.0.1", 5070, "UDP")


def test_rport_sends_back_to_source_port() -> None:
    via = parse_via("SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK1;rport")
    assert response_destination(via, SOURCE) == ResponseDestination("127.0.0.1", 40000, "UDP")


def test_reliable_transport_reuses_the_connection() -> None:
    via = parse_via("SIP/2.0/TLS client.example.com;branch=z9hG4bK1")
    dest = response_destination(via, SOURCE)
    assert dest is not None and dest.use_connection and dest.port == 40000


def test_maddr_wins_for_udp() -> None:
    via = parse_via("SIP/2.0/UDP h;branch=z9hG4bK1;maddr=127.0.0.2")
    assert response_destination(via, SOURCE) == ResponseDestination("127.0.0.2", 5060, "UDP")


def test_forwarding_without_source_uses_received_then_sent_by() -> None:
    via = parse_via("SIP/2.0/UDP h.example.com;branch=z9hG4bK1;received=127.0.0.3;rport=999")
    assert response_destination(via) == ResponseDestination("127.0.0.3", 999, "UDP")
    named = response_destination(parse_via("SIP/2.0/TLS h.example.com;branch=z9hG4bK1"))
    assert named == ResponseDestination("h.example.com", 5061, "TLS", needs_resolution=True)


@pytest.mark.parametrize(
    "host", ["255.255.255.255", "224.0.0.1", "239.255.255.250", "0.0.0.0", "[ff02::1]", "[::]"]
)
def test_broadcast_and_multicast_are_refused(host: str) -> None:
    assert is_forbidden_destination(host)
    via = parse_via(f"SIP/2.0/UDP {host};branch=z9hG4bK1")
    assert response_destination(via) is None
    maddr = parse_via(f"SIP/2.0/UDP h;branch=z9hG4bK1;maddr={host.strip('[]')}")
    assert response_destination(maddr, SOURCE) is None
    received = parse_via(f"SIP/2.0/UDP h;branch=z9hG4bK1;received={host.strip('[]')}")
    assert response_destination(received, SOURCE) is None


def test_ordinary_addresses_are_allowed() -> None:
    assert not is_forbidden_destination("127.0.0.1")
    assert not is_forbidden_destination("[::1]")
    assert not is_forbidden_destination("host.example.com")


REQ = (
    b"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP client.example.com:5070;rport;branch=z9hG4bK1, "
    b"SIP/2.0/UDP p.example.com;branch=z9hG4bK0\r\nTo: <sip:b@x>\r\nFrom: <sip:a@x>;tag=1\r\n"
    b"Call-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


def test_stamp_received_fills_received_and_rport() -> None:
    req = parse_message(REQ)
    assert isinstance(req, Request)
    stamped = stamp_received(req, SOURCE)
    top = stamped.top_via
    assert top.received == "127.0.0.1" and top.rport == 40000
    assert [p[0] for p in top.params] == ["rport", "branch", "received"]
    assert len(stamped.vias) == 2 and stamped.vias[1] == req.vias[1]
    assert response_destination_for(stamped) == ResponseDestination("127.0.0.1", 40000, "UDP")
    same = parse_via("SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1")
    plain = req.with_fields(tuple(h for h in req.fields if h.name != "Via"))
    from helpline.sip.headers import Header

    unchanged = plain.with_fields((Header("Via", str(same)), *plain.fields))
    assert stamp_received(unchanged, SOURCE) is unchanged
