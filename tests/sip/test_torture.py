"""RFC 4475 torture tests: every message of /work/shared/sip-torture through the core.

Each .dat file goes through parse_message + validate_request/validate_response and must
give the outcome RFC 4475 names (key parsed values for valid messages, the response
status for invalid requests, "drop" for invalid responses).  Nothing may raise anything
but SipError.  After Via/Contact hosts naming example networks are rewritten to
127.0.0.1, no response may be routed anywhere but loopback, and never to broadcast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpline.sip.body import split_multipart
from helpline.sip.digest import make_challenge, parse_credentials
from helpline.sip.errors import SipError
from helpline.sip.framing import FramerEvent, StreamFramer
from helpline.sip.headers import Header, NameAddr, Via, Wildcard, parse_via
from helpline.sip.message import (
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from helpline.sip.routing import Address, response_destination
from helpline.sip.uri import AbsoluteUri, SipUri, parse_uri
from helpline.sip.validate import (
    Policy,
    Rejection,
    Role,
    rejection_response,
    validate_request,
    validate_response,
)

TORTURE_DIR = Path(
    os.environ.get(
        "HELPLINE_SIP_TORTURE_DIR", Path(__file__).resolve().parents[3] / "shared" / "sip-torture"
    )
)
FILES = sorted(TORTURE_DIR.glob("*.dat")) if TORTURE_DIR.is_dir() else []
if not FILES and os.environ.get("CI"):
    raise RuntimeError(f"CI runs beside shared/: RFC 4475 messages missing in {TORTURE_DIR}")
pytestmark = pytest.mark.skipif(
    not FILES, reason=f"RFC 4475 torture messages not found in {TORTURE_DIR}"
)

POLICY = Policy(
    role=Role.UAS,
    supported_options=frozenset(),
    allowed_methods=frozenset(
        {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "MESSAGE", "INFO"}
    ),
    accepted_content_types=frozenset({"application/sdp", "multipart/mixed", "text/plain"}),
    producible_content_types=frozenset({"application/sdp"}),
)
LOOPBACK = Address("127.0.0.1", 5060)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the core made of one torture message."""

    message: Request | Response | None
    status: int | None
    dropped: bool
    error: SipError | None = None
    extra: tuple[Header, ...] = ()


def process(data: bytes, policy: Policy = POLICY) -> Outcome:
    """Parse and validate as a UAS would; only SipError may escape parsing."""
    try:
        message = parse_message(data)
    except SipError as exc:
        return Outcome(None, None if exc.is_response else exc.status, exc.is_response, exc)
    if isinstance(message, Response):
        error = validate_response(message)
        return Outcome(message, None, error is not None, error)
    rejection = validate_request(message, policy)
    if rejection is None:
        return Outcome(message, None, False)
    return Outcome(message, rejection.status, False, None, rejection.headers)


def _req(outcome: Outcome) -> Request:
    assert isinstance(outcome.message, Request)
    return outcome.message


def _sip(uri: object) -> SipUri:
    assert isinstance(uri, SipUri)
    return uri


def _addr(item: NameAddr | Wildcard) -> NameAddr:
    assert isinstance(item, NameAddr)
    return item


# --- per-file expectations -------------------------------------------------------------


def _wsinv(o: Outcome) -> None:
    req = _req(o)
    assert req.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert req.uri == parse_uri("sip:vivekg@chair-dnrc.example.com;unknownparam")
    assert req.to_tag == "1918181833n" and req.from_tag == "98asjd8"
    assert req.from_.display_name == 'J Rosenberg \\"'
    assert req.max_forwards == 68 and (req.cseq.number, req.cseq.method) == (9, "INVITE")
    assert req.header("NewFangledHeader") == "newfangled value continued newfangled value"
    assert req.header("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert req.header("Subject") == ""
    assert [(v.transport, v.host, v.branch) for v in req.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    contact = _addr(req.contacts[0])
    assert contact.display_name == 'Quoted string ""'
    assert contact.param("newparam") == "newvalue" and contact.param("q") == "0.33"
    assert contact.param("secondparam") == ""
    assert _sip(req.routes[0].uri).lr and len(req.body) == 150


def _intmeth(o: Outcome) -> None:
    req = _req(o)
    assert req.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = _sip(req.uri)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert req.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert req.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert req.from_.param("fromParam''~+*_!.-%") == "работающий"
    assert req.from_tag == "_token~1'+`*%!-."
    assert req.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert req.header("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
    assert req.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert o.status == 405


def _esc01(o: Outcome) -> None:
    req = _req(o)
    assert _sip(req.uri).user == "sips:user@example.com"
    assert _sip(req.to.uri).user == "user"
    assert req.to.uri.equivalent(parse_uri("sip:user@example.com"))
    assert _sip(req.from_.uri).user == "I have spaces"
    contact = _sip(_addr(req.contacts[0]).uri)
    assert contact.user == "caller" and contact.lr and contact.param("name") == "value%41"


def _escnull(o: Outcome) -> None:
    req = _req(o)
    assert _sip(req.to.uri).user == "null-\x00-null"
    assert [_sip(_addr(c).uri).user for c in req.contacts] == ["\x00", "\x00\x00"]


def _esc02(o: Outcome) -> None:
    req = _req(o)
    assert req.method == "RE%47IST%45R" and o.status in (405, 501)
    assert req.to.display_name == "%Z%45"
    assert len(req.contacts) == 2 and req.header("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert req.top_via.branch == "z9hG4bK209%fzsnel234"


def _lwsdisp(o: Outcome) -> None:
    assert _req(o).from_.display_name == "caller"


def _longreq(o: Outcome) -> None:
    req = _req(o)
    assert len(req.vias) == 34 and req.vias[-1].received == "192.0.2.5"
    assert req.to.display_name is not None and "extreme" in req.to.display_name
    assert _sip(req.to.uri).port == 6000 and req.from_tag is not None
    assert len(req.from_tag) == 155 and len(req.body) == 150


def _dblreq(o: Outcome) -> None:
    req = _req(o)
    assert req.method == "REGISTER" and req.body == b""
    assert req.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


def _semiuri(o: Outcome) -> None:
    req = _req(o)
    uri = _sip(req.uri)
    assert uri.user == "user;par=u@example.net" and uri.host == "example.com"
    assert len(req.headers("Accept")) == 6


def _transports(o: Outcome) -> None:
    assert [v.transport for v in _req(o).vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def _mpart01(o: Outcome) -> None:
    req = _req(o)
    content_type = req.content_type
    assert content_type is not None and content_type.mime == "multipart/mixed"
    boundary = content_type.param("boundary")
    assert boundary is not None and len(req.body) == 553
    parts = split_multipart(req.body, boundary)
    assert [p.content_type.mime for p in parts] == ["text/plain", "application/octet-stream"]
    assert parts[0].content == b"Hello"
    assert _req(o).top_via.has_rport


def _unreason(o: Outcome) -> None:
    assert isinstance(o.message, Response) and o.message.status == 200
    assert o.message.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"


def _noreason(o: Outcome) -> None:
    assert isinstance(o.message, Response) and (o.message.status, o.message.reason) == (100, "")


def _bext01(o: Outcome) -> None:
    assert o.extra == (Header("Unsupported", "nothingSupportsThis, nothingSupportsThisEither"),)
    proxied = validate_request(_req(o), Policy(role=Role.PROXY))
    assert proxied is not None and proxied.status == 420
    assert proxied.headers[0].value == "noProxiesSupportThis, norDoAnyProxiesSupportThis"


def _invut(o: Outcome) -> None:
    assert o.extra and o.extra[0].name == "Accept"


def _zeromf(o: Outcome) -> None:
    req = _req(o)
    assert req.max_forwards == 0
    proxied = validate_request(req, Policy(role=Role.PROXY))
    assert proxied is not None and proxied.status == 483


def _regaut01(o: Outcome) -> None:
    req = _req(o)
    (value,) = req.header_lines("Authorization")
    assert parse_credentials(value) is None  # unknown scheme: challenge with Digest
    challenge = make_challenge("example.com", secret=b"s", now=0.0, entropy=b"\x01")
    response = make_response(
        req, 401, to_tag="t", extra=(Header("WWW-Authenticate", challenge.header_value()),)
    )
    assert response.status == 401 and response.auth("WWW-Authenticate")[0].scheme == "Digest"


def _cparam01(o: Outcome) -> None:
    contact = _addr(_req(o).contacts[0])
    assert _sip(contact.uri).params == () and contact.param("unknownparam") == ""


def _cparam02(o: Outcome) -> None:
    contact = _addr(_req(o).contacts[0])
    assert _sip(contact.uri).param("unknownparam") == "" and contact.params == ()


def _regescrt(o: Outcome) -> None:
    contact = _addr(_req(o).contacts[0])
    assert _sip(contact.uri).headers == (("Route", "<sip:sip.example.com>"),)


def _unksm2(o: Outcome) -> None:
    req = _req(o)
    assert req.to.uri == AbsoluteUri("isbn", "2983792873")
    assert req.from_.uri == AbsoluteUri("http", "//www.example.com")
    assert _addr(req.contacts[0]).uri == AbsoluteUri("name", "John_Smith")


def _badbranch(o: Outcome) -> None:
    assert _req(o).top_via.branch == "z9hG4bK"


def _inv2543(o: Outcome) -> None:
    req = _req(o)
    assert req.top_via.branch is None and req.max_forwards is None
    assert req.body.startswith(b"v=0") and _sip(req.record_routes[0].uri).maddr is not None


def _bcast(o: Outcome) -> None:
    assert isinstance(o.message, Response)
    assert response_destination(o.message.vias[1]) is None


def _none(o: Outcome) -> None:
    del o


Check = Callable[[Outcome], None]
# file -> (expected status for a request / None, dropped?, extra check)
EXPECT: dict[str, tuple[int | None, bool, Check]] = {
    "wsinv.dat": (None, False, _wsinv),
    "intmeth.dat": (405, False, _intmeth),
    "esc01.dat": (None, False, _esc01),
    "escnull.dat": (None, False, _escnull),
    "esc02.dat": (405, False, _esc02),
    "lwsdisp.dat": (None, False, _lwsdisp),
    "longreq.dat": (None, False, _longreq),
    "dblreq.dat": (None, False, _dblreq),
    "semiuri.dat": (None, False, _semiuri),
    "transports.dat": (None, False, _transports),
    "mpart01.dat": (None, False, _mpart01),
    "unreason.dat": (None, False, _unreason),
    "noreason.dat": (None, False, _noreason),
    "badinv01.dat": (400, False, _none),
    "clerr.dat": (400, False, _none),
    "ncl.dat": (400, False, _none),
    "scalar02.dat": (400, False, _none),
    "scalarlg.dat": (None, True, _none),
    "quotbal.dat": (400, False, _none),
    "ltgtruri.dat": (400, False, _none),
    "lwsruri.dat": (400, False, _none),
    "lwsstart.dat": (400, False, _none),
    "trws.dat": (400, False, _none),
    "escruri.dat": (400, False, _none),
    "baddate.dat": (None, False, _none),
    "regbadct.dat": (400, False, _none),
    "badaspec.dat": (400, False, _none),
    "baddn.dat": (400, False, _none),
    "badvers.dat": (505, False, _none),
    "mismatch01.dat": (400, False, _none),
    "mismatch02.dat": (400, False, _none),
    "bigcode.dat": (None, True, _none),
    "badbranch.dat": (None, False, _badbranch),
    "insuf.dat": (400, False, _none),
    "unkscm.dat": (416, False, _none),
    "novelsc.dat": (416, False, _none),
    "unksm2.dat": (None, False, _unksm2),
    "bext01.dat": (420, False, _bext01),
    "invut.dat": (415, False, _invut),
    "regaut01.dat": (None, False, _regaut01),
    "multi01.dat": (400, False, _none),
    "mcl01.dat": (400, False, _none),
    "bcast.dat": (None, False, _bcast),
    "zeromf.dat": (None, False, _zeromf),
    "cparam01.dat": (None, False, _cparam01),
    "cparam02.dat": (None, False, _cparam02),
    "regescrt.dat": (None, False, _regescrt),
    "sdp01.dat": (406, False, _none),
    "inv2543.dat": (None, False, _inv2543),
}


def test_every_torture_file_has_an_expectation() -> None:
    assert {f.name for f in FILES} == set(EXPECT)


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_torture_message_gives_rfc4475_outcome(path: Path) -> None:
    status, dropped, check = EXPECT[path.name]
    outcome = process(path.read_bytes())
    assert (outcome.status, outcome.dropped) == (status, dropped), outcome.error
    check(outcome)
    _answer_is_buildable(outcome)
    if isinstance(outcome.message, Request | Response) and not outcome.dropped:
        again = parse_message(outcome.message.serialize())
        assert _meaning(again) == _meaning(outcome.message)


def _meaning(message: Request | Response) -> tuple[object, ...]:
    """Start line, header fields other than Content-Length, and body."""
    fields = tuple(h for h in message.fields if h.name != "Content-Length")
    if isinstance(message, Request):
        return (message.method, message.uri, fields, message.body)
    return (message.status, message.reason, fields, message.body)


def _answer_is_buildable(outcome: Outcome) -> None:
    """A rejected request can be answered with a well-formed response."""
    if outcome.status is None:
        return
    if isinstance(outcome.message, Request):
        answer = rejection_response(
            outcome.message, Rejection(outcome.status, "", outcome.extra), to_tag="x"
        )
    else:
        assert outcome.error is not None
        maybe = make_error_response(outcome.error, to_tag="x")
        if maybe is None:
            return
        answer = maybe
    assert answer.status == outcome.status
    assert isinstance(parse_message(answer.serialize()), Response)


# --- response routing never leaves loopback ----------------------------------------------

_EXAMPLE_HOST = re.compile(
    rb"(?<![\w.-])(?:192\.0\.2\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3}|10\.\d{1,3}\.\d{1,3}\.\d{1,3}"
    rb"|135\.180\.130\.133|(?:[A-Za-z0-9-]+\.)*examp?le\.(?:com|net|org|edu))(?![\w-])"
)
_ROUTED = {b"via", b"v", b"contact", b"m"}


def rewrite_hosts(data: bytes) -> bytes:
    """Rewrite example hosts in Via/Contact header lines (folded ones too) to 127.0.0.1."""
    end = data.find(b"\r\n\r\n")
    head, rest = (data, b"") if end < 0 else (data[:end], data[end:])
    lines = head.split(b"\r\n")
    current = b""
    for i, line in enumerate(lines[1:], start=1):
        if line[:1] not in (b" ", b"\t"):
            current = line.partition(b":")[0].strip().lower()
        if current in _ROUTED:
            lines[i] = _EXAMPLE_HOST.sub(b"127.0.0.1", line)
    return b"\r\n".join(lines) + rest


def _vias_of(data: bytes) -> tuple[Via, ...]:
    try:
        message = parse_message(data)
    except SipError as exc:
        values = [h.value for h in exc.request_headers if h.name == "Via"]
        try:
            return tuple(parse_via(v.split(",")[0]) for v in values[:1])
        except SipError:
            return ()
    try:
        return message.vias
    except SipError:
        return ()


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_responses_are_only_ever_routed_to_loopback(path: Path) -> None:
    data = rewrite_hosts(path.read_bytes())
    vias = _vias_of(data)
    if path.name == "bcast.dat":
        assert len(vias) == 2
    for index, via in enumerate(vias):
        assert via.host in ("127.0.0.1", "255.255.255.255"), via  # rewrite covered it
        for source in (LOOPBACK, None) if index == 0 else (None,):
            dest = response_destination(via, source)
            if via.host == "255.255.255.255":
                assert dest is None, "a response must never go to broadcast"
            else:
                assert dest is not None and dest.host == "127.0.0.1", (via, dest)


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_torture_messages_frame_the_same_byte_by_byte(path: Path) -> None:
    data = path.read_bytes()
    whole = StreamFramer().feed(data)
    framer = StreamFramer()
    pieces = [e for i in range(len(data)) for e in framer.feed(data[i : i + 1])]

    def key(events: list[FramerEvent]) -> list[object]:
        return [("error", e.status) if isinstance(e, SipError) else e for e in events]

    assert key(pieces) == key(whole)
