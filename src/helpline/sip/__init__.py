"""Sans-IO SIP message layer (RFC 3261 §7, §18-§20, §22; RFC 3581, 4475, 5626, 7616).

Pure code: bytes in, typed values out.  No sockets, no event loop, no clock.
"""

from helpline.sip.errors import SipError, reason_phrase
from helpline.sip.framing import KeepAlive, KeepAliveKind, StreamFramer
from helpline.sip.headers import CSeq, Header, NameAddr, Via, Wildcard
from helpline.sip.message import (
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from helpline.sip.routing import Address, ResponseDestination, response_destination
from helpline.sip.uri import AbsoluteUri, SipUri, TelUri, Uri, parse_uri
from helpline.sip.validate import Policy, Rejection, Role, validate_request, validate_response

__all__ = [
    "AbsoluteUri",
    "Address",
    "CSeq",
    "Header",
    "KeepAlive",
    "KeepAliveKind",
    "NameAddr",
    "Policy",
    "Rejection",
    "Request",
    "Response",
    "ResponseDestination",
    "Role",
    "SipError",
    "SipUri",
    "StreamFramer",
    "TelUri",
    "Uri",
    "Via",
    "Wildcard",
    "make_error_response",
    "make_response",
    "parse_message",
    "parse_uri",
    "reason_phrase",
    "response_destination",
    "validate_request",
    "validate_response",
]
