"""Dialogs (RFC 3261 §12): creation on both sides, routing, CSeq rules, target refresh."""

from __future__ import annotations

import pytest

from helpline.sip.dialog import Dialog, DialogError, DialogState, incoming_dialog_id
from helpline.sip.headers import Header
from helpline.sip.message import Request, make_response, parse_message

INVITE = (
    b"INVITE sip:2001@helpline.test SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bK-1;rport\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.3:5070;branch=z9hG4bK-0\r\n"
    b"Record-Route: <sip:proxy1.test;lr>, <sip:proxy2.test;lr>\r\n"
    b'From: "Caller" <sip:caller@example.test>;tag=from-1\r\n'
    b"To: <sip:2001@helpline.test>\r\n"
    b"Call-ID: dlg-1@test\r\n"
    b"CSeq: 10 INVITE\r\n"
    b"Contact: <sip:caller@127.0.0.3:5070>\r\n"
    b"Max-Forwards: 69\r\n"
    b"Content-Length: 0\r\n\r\n"
)
VIA = Header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-ours;rport")


def _invite() -> Request:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    return request


def _uas_dialog() -> Dialog:
    request = _invite()
    response = make_response(
        request, 200, to_tag="to-9", extra=(Header("Contact", "<sip:helpline@127.0.0.1:5060>"),)
    )
    return Dialog.as_uas(request, response)


def test_uas_dialog_takes_tags_route_set_in_order_and_contact_as_target() -> None:
    dialog = _uas_dialog()
    assert (dialog.id.call_id, dialog.id.local_tag, dialog.id.remote_tag) == (
        "dlg-1@test",
        "to-9",
        "from-1",
    )
    assert [str(r.uri) for r in dialog.route_set] == ["sip:proxy1.test;lr", "sip:proxy2.test;lr"]
    assert str(dialog.remote_target) == "sip:caller@127.0.0.3:5070"
    assert dialog.state is DialogState.CONFIRMED and dialog.remote_seq == 10


def test_bye_from_uas_uses_loose_routes_and_swapped_tags() -> None:
    dialog = _uas_dialog()
    bye = dialog.new_request("BYE", via=VIA)
    assert str(bye.uri) == "sip:caller@127.0.0.3:5070"
    assert bye.headers("Route") == ("<sip:proxy1.test;lr>", "<sip:proxy2.test;lr>")
    assert bye.from_tag == "to-9" and bye.to_tag == "from-1"
    assert bye.cseq.number == 1 and bye.cseq.method == "BYE"
    again = parse_message(bye.serialize())
    assert isinstance(again, Request) and incoming_dialog_id(again) is not None


def test_uac_dialog_reverses_record_route() -> None:
    request = _invite()
    # The UAS copies Record-Route into its 2xx (§12.1.1).
    record_route = Header("Record-Route", "<sip:proxy1.test;lr>, <sip:proxy2.test;lr>")
    response = make_response(
        request,
        200,
        to_tag="to-9",
        extra=(record_route, Header("Contact", "<sip:agent@127.0.0.9:5090>")),
    )
    dialog = Dialog.as_uac(request, response)
    assert [str(r.uri) for r in dialog.route_set] == ["sip:proxy2.test;lr", "sip:proxy1.test;lr"]
    assert dialog.id.local_tag == "from-1" and dialog.id.remote_tag == "to-9"
    assert dialog.new_request("INFO", via=VIA).cseq.number == 11


def test_strict_route_puts_first_route_in_request_uri() -> None:
    dialog = _uas_dialog()
    dialog.route_set = (
        dialog.route_set[0].__class__(
            parse_message(INVITE.replace(b";lr>, <sip:proxy2.test;lr>", b">")).record_routes[0].uri
        ),
    )
    hop = dialog.next_hop()
    assert str(hop.request_uri) == "sip:proxy1.test"
    assert [str(r.uri) for r in hop.routes] == ["sip:caller@127.0.0.3:5070"]


def test_lower_cseq_gets_500_and_reinvite_refreshes_target() -> None:
    dialog = _uas_dialog()
    old = parse_message(INVITE.replace(b"CSeq: 10 INVITE", b"CSeq: 9 BYE"))
    assert isinstance(old, Request)
    assert dialog.check_incoming(old) == 500
    reinvite = parse_message(
        INVITE.replace(b"CSeq: 10 INVITE", b"CSeq: 11 INVITE").replace(
            b"127.0.0.3:5070>", b"127.0.0.4:6000>"
        )
    )
    assert isinstance(reinvite, Request)
    assert dialog.check_incoming(reinvite) is None
    assert str(dialog.remote_target) == "sip:caller@127.0.0.4:6000"
    assert dialog.remote_seq == 11


def test_terminated_dialog_refuses_requests_and_illegal_transitions_raise() -> None:
    dialog = _uas_dialog()
    dialog.move(DialogState.TERMINATED)
    with pytest.raises(DialogError):
        dialog.move(DialogState.CONFIRMED)
    with pytest.raises(DialogError):
        dialog.new_request("BYE", via=VIA)
    assert dialog.check_incoming(_invite()) == 481


def test_early_dialog_from_180_with_tag_confirms_later() -> None:
    request = _invite()
    dialog = Dialog.as_uas(request, make_response(request, 180, to_tag="to-9"))
    assert dialog.state is DialogState.EARLY
    dialog.move(DialogState.CONFIRMED)
    assert dialog.state is DialogState.CONFIRMED
