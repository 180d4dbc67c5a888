"""Request and response checks a UAS or proxy core applies after parsing.

Theory of operation: parsing (message.py) only frames a message and checks its start
line; :func:`validate_request` then reads the headers every element relies on and
returns the :class:`Rejection` to send, or None to go on.  The order follows RFC 3261
§8.2 for a UAS (syntax and mandatory headers §8.1.1 -> 400; method §8.2.1 -> 405;
Request-URI scheme §8.2.2.1 -> 416; Require §8.2.2.3 -> 420 with Unsupported; content
§8.2.3 -> 415 with Accept; Accept -> 406) and §16.3 for a proxy (Max-Forwards 0 -> 483,
Proxy-Require -> 420).  REGISTER Contact rules come from §10.3 step 6.  Rejections of
an ACK must never be sent (§17.2.1); drop the ACK instead.  :func:`validate_response`
returns the reason a response must be silently dropped (§18.1.2, RFC 4475 §3.1.2.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from helpline.sip.errors import SipError, reason_phrase
from helpline.sip.headers import Header, Wildcard, parse_media_type
from helpline.sip.message import Request, Response, make_response

__all__ = [
    "Policy",
    "Rejection",
    "Role",
    "rejection_response",
    "validate_request",
    "validate_response",
]

_MANDATORY = ("To", "From", "Call-ID", "CSeq", "Via")


class Role(Enum):
    """Which RFC 3261 rules apply: user agent server (§8.2) or proxy (§16.3)."""

    UAS = "uas"
    PROXY = "proxy"


@dataclass(frozen=True, slots=True)
class Policy:
    """What this element supports; None means "do not check"."""

    role: Role = Role.UAS
    supported_options: frozenset[str] = frozenset()
    uri_schemes: frozenset[str] = frozenset(("sip", "sips", "tel"))
    allowed_methods: frozenset[str] | None = None
    accepted_content_types: frozenset[str] | None = None
    producible_content_types: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """The final response a request deserves, with the extra headers it must carry."""

    status: int
    detail: str = ""
    headers: tuple[Header, ...] = field(default=())

    @property
    def reason(self) -> str:
        """Default reason phrase of ``status``."""
        return reason_phrase(self.status)


_DEFAULT = Policy()


def validate_request(request: Request, policy: Policy = _DEFAULT) -> Rejection | None:
    """Return the Rejection to answer ``request`` with, or None when it may proceed."""
    try:
        return _check(request, policy)
    except SipError as exc:
        return Rejection(exc.status, exc.detail)


def _check(request: Request, policy: Policy) -> Rejection | None:
    if request.version.upper() != "SIP/2.0":
        return Rejection(505, f"version {request.version}")
    for name in _MANDATORY:
        if not request.has_header(name):
            return Rejection(400, f"missing {name} header")
    duplicated = request.duplicated_single_headers()
    if duplicated:
        return Rejection(400, f"repeated single-value header {duplicated[0]}")
    # Reading the typed values parses them: any syntax error becomes a 400.
    cseq = request.cseq
    _ = (request.vias, request.to, request.from_, request.call_id, request.content_type)
    _ = request.expires
    max_forwards = request.max_forwards
    contacts = request.contacts
    if cseq.method != request.method:
        return Rejection(400, f"CSeq method {cseq.method} != {request.method}")
    length = request.content_length
    if length is not None and length != len(request.body):
        return Rejection(400, "Content-Length does not match the body")
    method = request.method
    if method == "ACK":
        return None
    proxy = policy.role is Role.PROXY
    if proxy and max_forwards == 0:
        return Rejection(483, "Max-Forwards reached 0")
    allowed = policy.allowed_methods
    if not proxy and allowed is not None and method not in allowed:
        allow = Header("Allow", ", ".join(sorted(allowed)))
        return Rejection(405, f"method {method} not allowed", (allow,))
    scheme = request.uri.scheme
    if scheme not in policy.uri_schemes:
        return Rejection(416, f"unsupported URI scheme {scheme!r}")
    rejection = _check_options(request, policy, proxy)
    if rejection is not None:
        return rejection
    star = Wildcard.STAR in contacts
    if star and (method != "REGISTER" or len(contacts) > 1 or request.expires != 0):
        return Rejection(400, "Contact '*' needs REGISTER, a single Contact and Expires: 0")
    if proxy:
        return None
    return _check_content(request, policy)


def _check_options(request: Request, policy: Policy, proxy: bool) -> Rejection | None:
    name = "Proxy-Require" if proxy else "Require"
    if not proxy and request.method == "CANCEL":
        return None
    unknown = [t for t in request.option_tags(name) if t.lower() not in policy.supported_options]
    if not unknown:
        return None
    return Rejection(420, f"unsupported {name}", (Header("Unsupported", ", ".join(unknown)),))


def _check_content(request: Request, policy: Policy) -> Rejection | None:
    accepted = policy.accepted_content_types
    content_type = request.content_type
    if (
        accepted is not None
        and request.body
        and content_type is not None
        and content_type.mime not in accepted
    ):
        accept = Header("Accept", ", ".join(sorted(accepted)))
        return Rejection(415, f"unsupported body {content_type.mime}", (accept,))
    producible = policy.producible_content_types
    accepts = request.headers("Accept")
    if producible is not None and accepts:
        ranges = [parse_media_type(a) for a in accepts]
        if not any(r.matches(m) for r in ranges for m in producible):
            return Rejection(406, "no acceptable body type")
    return None


def rejection_response(
    request: Request, rejection: Rejection, to_tag: str | None = None
) -> Response:
    """Build the response for ``rejection`` (§8.2.6), adding its extra headers."""
    return make_response(request, rejection.status, to_tag=to_tag, extra=rejection.headers)


def validate_response(response: Response) -> SipError | None:
    """Return why ``response`` must be dropped (SipError flagged is_response), or None."""
    try:
        if not response.vias:
            raise SipError(400, "response without Via")
        duplicated = response.duplicated_single_headers()
        if duplicated:
            raise SipError(400, f"repeated single-value header {duplicated[0]}")
        _ = (response.cseq, response.call_id, response.from_, response.to)
        length = response.content_length
        if length is not None and length != len(response.body):
            raise SipError(400, "Content-Length does not match the body")
    except SipError as exc:
        return exc.as_response_error()
    return None
