"""Sans-IO registrar: REGISTER in, a response and binding changes out.

Theory of operation (RFC 3261 §10.3): the caller resolves the tenant from the
Request-URI, looks up the account named by the To user (``AccountCredentials`` or None)
and its current bindings, then calls :meth:`Registrar.handle` with the packet source and
``now``.  The registrar authenticates first (step 3) with stateless HMAC nonces from
:mod:`helpline.sip.digest` (RFC 7616): a 401 offers SHA-256 then MD5, both qop=auth with
an opaque; right credentials on an expired nonce get a 401 with ``stale=true`` (§3.3);
wrong credentials, an unknown account or a user/AOR mismatch (step 4) get a 403 that the
caller counts against the source (``telephony.abuse.Edge``).  Then (steps 6-7):
``*`` needs Expires 0 and no other Contact (else 400); each Contact's lifetime is its
``expires`` parameter, else the Expires header, else the default, clamped to the maximum;
a non-zero lifetime under the minimum is a 423 with Min-Expires.  Contacts match
existing bindings by URI equivalence (§19.1.4) or, when both carry one, by
``+sip.instance``/``reg-id`` (RFC 5626 §6, RFC 5627), so a phone whose Contact changed
replaces its old binding.  A binding with the same Call-ID and a CSeq that is not higher
aborts the whole update (400).  The 200 lists every current binding with its remaining
lifetime (step 8) and a Date header.

NAT (RFC 3581 and the "contact bound to the observed source" rule): every binding
records the packet source and transport; when the top Via has ``rport``, the transport
is a stream, or the Contact's host/port differ from the source, requests to that binding
go to the source address (``bound_to_source``).  Such UDP bindings are what the caller
keeps alive with OPTIONS or CRLF (:func:`keepalive_targets`).  Nothing here reads a
clock or a socket; the outcome says what to send and what to persist.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate
from enum import Enum

from helpline.sip.authenticator import AuthResult, DigestAuthenticator
from helpline.sip.digest import DigestAlgorithm
from helpline.sip.errors import SipError
from helpline.sip.headers import Header, NameAddr, Wildcard, quote
from helpline.sip.message import Request, Response, make_response
from helpline.sip.routing import Address
from helpline.sip.uri import SipUri, Uri, parse_uri

__all__ = [
    "MAX_CALL_ID_LENGTH",
    "MAX_CONTACT_LENGTH",
    "MAX_TEXT_LENGTH",
    "AccountCredentials",
    "Aor",
    "Binding",
    "RegisterOutcome",
    "Registrar",
    "RegistrarPolicy",
    "Verdict",
    "keepalive_targets",
    "register_username",
]

#: Longest Contact URI, Call-ID and instance id / user agent kept (they are persisted).
MAX_CONTACT_LENGTH = 1024
MAX_CALL_ID_LENGTH = 255
MAX_TEXT_LENGTH = 255
_STREAMS = frozenset(("TCP", "TLS", "SCTP", "WS", "WSS"))


@dataclass(frozen=True, slots=True)
class Aor:
    """An address-of-record: a SIP account of one tenant."""

    tenant_id: int
    username: str


@dataclass(frozen=True, slots=True)
class AccountCredentials:
    """What the registrar needs of a SIP account (HA1s only, never a password)."""

    tenant_id: int
    username: str
    realm: str
    ha1_md5: str
    ha1_sha256: str
    alternates: tuple[tuple[str, str], ...] = ()
    """(MD5, SHA-256) HA1 pairs of other unexpired secrets of the same account (short-lived
    browser-phone credentials); a response made with any of them is accepted too."""

    @property
    def aor(self) -> Aor:
        """The account's address-of-record."""
        return Aor(self.tenant_id, self.username)

    def ha1(self, algorithm: DigestAlgorithm) -> str:
        """The stored HA1 for ``algorithm``."""
        return self.ha1_sha256 if algorithm is DigestAlgorithm.SHA256 else self.ha1_md5

    def ha1s(self, algorithm: DigestAlgorithm) -> tuple[str, ...]:
        """Every HA1 accepted for ``algorithm``: the account's own, then the alternates."""
        index = 1 if algorithm is DigestAlgorithm.SHA256 else 0
        return (self.ha1(algorithm), *(pair[index] for pair in self.alternates))


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered contact of an AOR (§10.3); times are seconds since the epoch."""

    aor: Aor
    contact: str
    source: Address
    transport: str
    expires_at: float
    call_id: str
    cseq: int
    bound_to_source: bool = False
    user_agent: str = ""
    instance_id: str | None = None
    reg_id: int | None = None

    def expires_in(self, now: float) -> int:
        """Whole seconds left (0 when expired)."""
        return max(0, math.ceil(self.expires_at - now))

    def active(self, now: float) -> bool:
        """True until the binding expires."""
        return self.expires_at > now

    @property
    def contact_uri(self) -> Uri:
        """The Contact URI, parsed."""
        return parse_uri(self.contact)

    @property
    def destination(self) -> Address:
        """Where requests for this binding go: the source when bound to it, else the
        Contact's host and port (a host name there still needs RFC 3263 resolution)."""
        uri = self.contact_uri
        if self.bound_to_source or not isinstance(uri, SipUri):
            return self.source
        return Address(uri.host.strip("[]"), uri.port or _default_port(uri))

    def contact_header(self, now: float) -> str:
        """The Contact value listing this binding in a 200 (RFC 5626 params echoed)."""
        value = f"<{self.contact}>;expires={self.expires_in(now)}"
        if self.instance_id is not None:
            value += f";+sip.instance={quote(self.instance_id)}"
        if self.reg_id is not None:
            value += f";reg-id={self.reg_id}"
        return value


@dataclass(frozen=True, slots=True)
class RegistrarPolicy:
    """Registration limits (seconds); ``nonce_lifetime`` bounds a challenge's age."""

    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 10
    nonce_lifetime: float = 300.0
    algorithms: tuple[DigestAlgorithm, ...] = (DigestAlgorithm.SHA256, DigestAlgorithm.MD5)
    """Challenges offered, most preferred first (RFC 8760 §2.4). Some clients (SIPp,
    older phones) answer only the first, so MD5 first may be needed for them."""


class Verdict(Enum):
    """What became of a REGISTER."""

    REGISTERED = "registered"  # 200: persist ``removed`` and ``upserted``
    CHALLENGED = "challenged"  # 401, stale or not
    AUTH_FAILED = "auth_failed"  # 403 for bad credentials: count against the source
    REJECTED = "rejected"  # 400/403/404/423: nothing changes


@dataclass(frozen=True, slots=True)
class RegisterOutcome:
    """The answer to send and the binding changes to persist, in one transaction."""

    verdict: Verdict
    response: Response
    bindings: tuple[Binding, ...] = ()
    upserted: tuple[Binding, ...] = ()
    removed: tuple[Binding, ...] = ()


def register_username(request: Request) -> str | None:
    """The account a REGISTER is for: the user part of the To URI (None if there is none)."""
    uri = request.to.uri
    return uri.user if isinstance(uri, SipUri) and uri.user else None


def keepalive_targets(bindings: Sequence[Binding], now: float) -> tuple[Binding, ...]:
    """Active UDP bindings bound to their NAT source: qualify them with OPTIONS or CRLF."""
    return tuple(
        b for b in bindings if b.active(now) and b.bound_to_source and b.transport == "UDP"
    )


def _default_port(uri: SipUri) -> int:
    return 5061 if uri.secure or uri.transport == "tls" else 5060


@dataclass(frozen=True, slots=True)
class _Wanted:
    contact: NameAddr
    expires: int
    instance_id: str | None
    reg_id: int | None


class Registrar:
    """Decides REGISTER requests; holds only configuration (policy and nonce secret)."""

    def __init__(self, *, secret: bytes, policy: RegistrarPolicy | None = None) -> None:
        self.policy = policy or RegistrarPolicy()
        self.auth = DigestAuthenticator(
            secret=secret,
            algorithms=self.policy.algorithms,
            nonce_lifetime=self.policy.nonce_lifetime,
        )

    def handle(
        self,
        request: Request,
        *,
        source: Address,
        transport: str,
        realm: str,
        account: AccountCredentials | None,
        bindings: Sequence[Binding],
        now: float,
        entropy: bytes,
    ) -> RegisterOutcome:
        """Process one REGISTER (§10.3).

        ``account`` is the active SIP account named by the To user, None when there is
        none (the request is still challenged, then refused, so that names cannot be
        probed); ``bindings`` are that account's stored bindings; ``entropy`` is fresh
        randomness for the nonce and To tag.
        """
        if request.method != "REGISTER":
            raise ValueError(f"not a REGISTER: {request.method}")
        tag = hashlib.sha256(b"to-tag" + entropy).hexdigest()[:16]
        realm = account.realm if account else realm
        try:
            credentials = self.auth.credentials(request, realm)
        except SipError as exc:
            return self._reject(request, 400, tag, exc.detail)
        if credentials is None:
            return self._challenge(request, realm, now, entropy, tag)
        result = self.auth.decide(
            credentials,
            request,
            realm=realm,
            username=account.username if account else None,
            ha1=account.ha1s if account else None,
            now=now,
        )
        if result is AuthResult.CHALLENGE or result is AuthResult.STALE:
            stale = result is AuthResult.STALE
            return self._challenge(request, realm, now, entropy, tag, stale=stale)
        if result is AuthResult.FAILED or account is None:
            return self._fail(request, tag)
        try:
            if register_username(request) != account.username:
                raise SipError(404, "To does not name this account")
            return self._update(request, source, transport, account.aor, bindings, now, tag)
        except SipError as exc:
            return self._reject(request, exc.status, tag, exc.detail)

    def _challenge(
        self,
        request: Request,
        realm: str,
        now: float,
        entropy: bytes,
        tag: str,
        *,
        stale: bool = False,
    ) -> RegisterOutcome:
        extra = self.auth.challenge_headers(realm, now, entropy, stale=stale)
        response = make_response(request, 401, to_tag=tag, extra=extra)
        return RegisterOutcome(Verdict.CHALLENGED, response)

    def _fail(self, request: Request, tag: str) -> RegisterOutcome:
        return RegisterOutcome(Verdict.AUTH_FAILED, make_response(request, 403, to_tag=tag))

    def _reject(
        self, request: Request, status: int, tag: str, detail: str = "", *extra: Header
    ) -> RegisterOutcome:
        fields = (*extra, Header("Warning", f"399 helpline {quote(detail)}")) if detail else extra
        response = make_response(request, status, to_tag=tag, extra=fields)
        return RegisterOutcome(Verdict.REJECTED, response)

    def _wanted(self, request: Request) -> tuple[bool, list[_Wanted]]:
        """Parse the Contacts: (is ``*``, requested bindings); SipError on bad ones."""
        contacts = request.contacts
        header_expires = request.expires
        if Wildcard.STAR in contacts:
            if len(contacts) != 1:
                raise SipError(400, "'*' must be the only Contact")
            if header_expires != 0:
                raise SipError(400, "'*' requires Expires: 0")
            return True, []
        wanted: list[_Wanted] = []
        policy = self.policy
        for contact in contacts:
            if not isinstance(contact, NameAddr) or not isinstance(contact.uri, SipUri):
                raise SipError(400, f"unsupported Contact {contact}")
            if len(str(contact.uri)) > MAX_CONTACT_LENGTH:
                raise SipError(400, "Contact URI too long")
            expires = contact.expires
            if expires is None:
                expires = header_expires if header_expires is not None else policy.default_expires
            expires = min(expires, policy.max_expires)
            if 0 < expires < policy.min_expires:
                raise SipError(423, "registration interval too brief")
            instance = contact.param("+sip.instance") or None
            if instance is not None and len(instance) > MAX_TEXT_LENGTH:
                raise SipError(400, "+sip.instance too long")
            reg_id_text = contact.param("reg-id")
            reg_id = int(reg_id_text) if reg_id_text and reg_id_text.isdigit() else None
            wanted.append(_Wanted(contact, expires, instance, reg_id))
        return False, wanted

    def _update(
        self,
        request: Request,
        source: Address,
        transport: str,
        aor: Aor,
        stored: Sequence[Binding],
        now: float,
        tag: str,
    ) -> RegisterOutcome:
        call_id, cseq = request.call_id, request.cseq.number
        if len(call_id) > MAX_CALL_ID_LENGTH:
            raise SipError(400, "Call-ID too long")
        try:
            star, wanted = self._wanted(request)
        except SipError as exc:
            if exc.status != 423:
                raise
            min_expires = Header("Min-Expires", str(self.policy.min_expires))
            return self._reject(request, 423, tag, "", min_expires)
        current = {id(b): b for b in stored if b.active(now)}
        removed = [b for b in stored if not b.active(now)]
        upserted: dict[str, Binding] = {}

        def out_of_order(binding: Binding) -> bool:
            return binding.call_id == call_id and cseq <= binding.cseq

        if star:
            if any(out_of_order(b) for b in current.values()):
                raise SipError(400, "CSeq not higher than the stored binding's")
            removed += current.values()
            current.clear()
        nat = request.top_via.has_rport or transport.upper() in _STREAMS
        user_agent = (request.header("User-Agent") or "")[:MAX_TEXT_LENGTH]
        for want in wanted:
            match = next((b for b in current.values() if self._matches(b, want)), None)
            if match is not None:
                if out_of_order(match):
                    raise SipError(400, "CSeq not higher than the stored binding's")
                del current[id(match)]
                if want.expires == 0 or match.contact != str(want.contact.uri):
                    removed.append(match)
            if want.expires == 0:
                continue
            binding = Binding(
                aor=aor,
                contact=str(want.contact.uri),
                source=source,
                transport=transport.upper(),
                expires_at=now + want.expires,
                call_id=call_id,
                cseq=cseq,
                bound_to_source=nat or self._differs(want.contact.uri, source),
                user_agent=user_agent,
                instance_id=want.instance_id,
                reg_id=want.reg_id,
            )
            upserted[binding.contact] = binding
        kept = [b for b in current.values() if b.contact not in upserted]
        removed = [b for b in removed if b.contact not in upserted]
        result = (*kept, *upserted.values())
        if len(result) > self.policy.max_contacts:
            return self._reject(request, 403, tag, "too many contacts for this account")
        contacts = tuple(Header("Contact", b.contact_header(now)) for b in result)
        date = Header("Date", formatdate(now, usegmt=True))
        response = make_response(request, 200, to_tag=tag, extra=(*contacts, date))
        return RegisterOutcome(
            Verdict.REGISTERED, response, result, tuple(upserted.values()), tuple(removed)
        )

    @staticmethod
    def _matches(binding: Binding, want: _Wanted) -> bool:
        if want.instance_id is not None and binding.instance_id is not None:
            return (binding.instance_id, binding.reg_id) == (want.instance_id, want.reg_id)
        try:
            return binding.contact_uri.equivalent(want.contact.uri)
        except SipError:
            return binding.contact == str(want.contact.uri)

    @staticmethod
    def _differs(uri: Uri, source: Address) -> bool:
        if not isinstance(uri, SipUri):
            return True
        host = uri.maddr or uri.host
        return host.strip("[]") != source.host or (uri.port or _default_port(uri)) != source.port
