"""Sans-IO registration with a provider: keeps one binding alive (RFC 3261 §10.2).

Theory of operation: a :class:`RegistrationClient` holds one address-of-record, one
Contact and one Call-ID; every REGISTER it builds reuses the Call-ID and From tag and
raises the CSeq (§10.2.4).  It never sends or waits: the runner asks
:meth:`~RegistrationClient.next_action_at`, and once that time has come takes
:meth:`~RegistrationClient.request` and hands it to the transaction layer
(``TransactionLayer.send_request`` adds the Via branch; the request carries a top Via
with ``rport``, RFC 3581).  What the layer reports goes back in:
``ResponseReceived`` to :meth:`~RegistrationClient.on_response`,
``TransactionTimeout`` to :meth:`~RegistrationClient.on_timeout` (Timer F acts as a
408, §8.1.3.1), ``TransportError`` to :meth:`~RegistrationClient.on_transport_error`.

* 2xx: the granted lifetime is our Contact's ``expires`` parameter in the answer, else
  the Expires header, else what was asked (§10.2.4); the refresh is due after
  ``min(0.8 * granted, granted - 30)`` seconds, and never before half of it.
* 401/407: the Digest challenge (WWW-/Proxy-Authenticate, RFC 7616; SHA-256 preferred
  over MD5, qop=auth) is answered at once through :mod:`helpline.sip.digest`, and the
  credentials are sent again with every refresh (nonce count rising).  A second
  challenge for a nonce already answered means the credentials are wrong, unless it
  says ``stale=true`` (RFC 7616 §3.3), which retries.  More than
  :data:`MAX_AUTH_ROUNDS` challenges in a row also fail, so a provider handing out a
  new nonce on each rejection cannot make the client loop.
* 423: asks again with the registrar's Min-Expires (§10.2.8).
* Any other final answer, a timeout or a transport error: ``FAILED``, and the next try
  comes after an exponential backoff (``retry_base`` doubling up to ``retry_max``; a
  Retry-After is honoured within that cap).
* :meth:`~RegistrationClient.unregister` sends Expires 0 for our Contact (§10.2.2); it
  ends ``UNREGISTERED`` whatever the answer, since the binding expires anyway.

State changes follow :data:`TRANSITIONS`; an illegal one raises
:class:`RegistrationError`, as does a response that answers no pending REGISTER.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from helpline.sip.digest import (
    DigestAlgorithm,
    DigestChallenge,
    build_authorization,
    parse_challenge,
)
from helpline.sip.errors import SipError, reason_phrase
from helpline.sip.headers import Header, NameAddr, Via
from helpline.sip.message import Request, Response
from helpline.sip.routing import Address
from helpline.sip.uri import SipUri

__all__ = [
    "MAX_AUTH_ROUNDS",
    "TRANSITIONS",
    "RegistrationClient",
    "RegistrationError",
    "RegistrationState",
    "refresh_delay",
]

#: Challenges answered in a row before giving up.
MAX_AUTH_ROUNDS = 3
_ALGORITHM_PREFERENCE = (DigestAlgorithm.SHA256, DigestAlgorithm.MD5)
#: Status -> (challenge header, header answering it), RFC 3261 §22.2 and §22.3.
_CHALLENGE_HEADERS = {
    401: ("WWW-Authenticate", "Authorization"),
    407: ("Proxy-Authenticate", "Proxy-Authorization"),
}


class RegistrationError(Exception):
    """The runner drove the client wrongly (illegal transition, unexpected response)."""


class RegistrationState(Enum):
    """Where the binding stands, for call control and display."""

    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"


_S = RegistrationState
#: Legal state changes (staying in a state is always allowed).
TRANSITIONS: dict[RegistrationState, frozenset[RegistrationState]] = {
    _S.UNREGISTERED: frozenset({_S.REGISTERING}),
    _S.REGISTERING: frozenset({_S.REGISTERED, _S.FAILED, _S.UNREGISTERED}),
    _S.REGISTERED: frozenset({_S.FAILED, _S.UNREGISTERED}),
    _S.FAILED: frozenset({_S.REGISTERING, _S.UNREGISTERED}),
}


def refresh_delay(granted: int) -> float:
    """Seconds after a 2xx granting ``granted`` seconds at which to refresh."""
    return max(min(granted * 0.8, granted - 30.0), granted / 2)


@dataclass(slots=True)
class _Credentials:
    """A challenge being answered on every request, and its nonce count."""

    header: str
    challenge: DigestChallenge
    nc: int = 0


class RegistrationClient:
    """Keeps the binding of ``contact`` to ``aor`` at ``registrar`` alive (sans-IO).

    ``local`` and ``transport`` make the top Via (sent-by with ``rport``); ``realm``,
    when given, is the only realm whose challenges are answered; ``rng`` makes cnonces
    deterministic in tests.
    """

    def __init__(
        self,
        *,
        aor: SipUri,
        registrar: SipUri,
        username: str,
        password: str,
        contact: SipUri,
        call_id: str,
        from_tag: str,
        local: Address,
        transport: str = "UDP",
        expires: int = 3600,
        realm: str | None = None,
        user_agent: str | None = None,
        retry_base: float = 10.0,
        retry_max: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.aor = aor
        self.registrar = registrar
        self.contact = contact
        self.call_id = call_id
        self.from_tag = from_tag
        self.expires = expires
        self.state = RegistrationState.UNREGISTERED
        self.last_status: int | None = None
        self.last_reason = ""
        self.registered_until: float | None = None
        self.failures = 0
        self._username = username
        self._password = password
        self._realm = realm
        self._user_agent = user_agent
        self._via = Via(transport.upper(), _bracketed(local.host), local.port, (("rport", None),))
        self._retry = (retry_base, retry_max)
        self._rng = rng if rng is not None else random.SystemRandom()
        self._cseq = 0
        self._due: float | None = None
        self._pending: Request | None = None
        self._answered: set[tuple[str, str]] = set()
        self._credentials: dict[str, _Credentials] = {}
        self._auth_rounds = 0
        self._unregistering = False

    # -- driving ------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Register (again) from ``now`` on, cancelling a pending unregistration."""
        self._unregistering = False
        if self._pending is None:
            self._due = now

    def unregister(self, now: float) -> None:
        """Remove our binding (Expires 0) and stop refreshing."""
        self._unregistering = True
        if self._pending is not None:
            return
        if self.state is RegistrationState.REGISTERED or (
            self.registered_until is not None and self.registered_until > now
        ):
            self._due = now
        else:
            self._finish_unregistered()

    def next_action_at(self) -> float | None:
        """When :meth:`request` should be called next; None while a REGISTER is in
        flight or when there is nothing to do."""
        return None if self._pending is not None else self._due

    def request(self, now: float) -> Request:
        """The REGISTER to send now (it goes to the transaction layer unchanged)."""
        if self._pending is not None:
            raise RegistrationError("a REGISTER is already in flight")
        if self._due is None:
            raise RegistrationError("no REGISTER is due")
        if not self._unregistering:
            self._move(
                RegistrationState.REGISTERED
                if self.state is RegistrationState.REGISTERED
                else RegistrationState.REGISTERING
            )
        self._cseq += 1
        self._due = None
        self._answered = set()
        fields = [
            Header("Via", str(self._via)),
            Header("Max-Forwards", "70"),
            Header("From", str(NameAddr(self.aor).with_tag(self.from_tag))),
            Header("To", str(NameAddr(self.aor))),
            Header("Call-ID", self.call_id),
            Header("CSeq", f"{self._cseq} REGISTER"),
            Header("Contact", str(NameAddr(self.contact))),
            Header("Expires", str(0 if self._unregistering else self.expires)),
        ]
        for creds in self._credentials.values():
            creds.nc += 1
            fields.append(Header(creds.header, self._authorization(creds)))
            self._answered.add((creds.header, creds.challenge.nonce))
        if self._user_agent:
            fields.append(Header("User-Agent", self._user_agent))
        self._pending = Request("REGISTER", self.registrar, tuple(fields))
        return self._pending

    def on_response(self, response: Response, now: float) -> None:
        """Take the answer to the pending REGISTER (provisional answers change nothing)."""
        sent = self._pending
        if (
            sent is None
            or response.call_id != self.call_id
            or response.cseq.method != "REGISTER"
            or response.cseq.number != sent.cseq.number
        ):
            raise RegistrationError(f"{response.status} answers no pending REGISTER")
        if response.status < 200:
            return
        self._pending = None
        self.last_status, self.last_reason = response.status, response.reason
        if 200 <= response.status < 300:
            self._succeeded(response, sent, now)
        elif response.status in _CHALLENGE_HEADERS:
            self._challenged(response, now)
        elif response.status == 423:
            self._too_brief(response, now)
        else:
            self._failed(now, retry_after=_retry_after(response))

    def on_timeout(self, now: float) -> None:
        """The pending REGISTER got no answer (Timer F, §17.1.2.2)."""
        self._no_answer(408, now)

    def on_transport_error(self, now: float) -> None:
        """The pending REGISTER could not be sent (§17.1.4)."""
        self._no_answer(503, now)

    # -- outcomes -----------------------------------------------------------------------

    def _succeeded(self, response: Response, sent: Request, now: float) -> None:
        self._auth_rounds = 0
        if sent.expires == 0:
            restart = not self._unregistering  # start() came while removing
            self._finish_unregistered()
            self._due = now if restart else None
            return
        granted = self._granted(response)
        if granted <= 0:
            self.last_reason = "the registrar kept no binding"
            self._failed(now)
            return
        self.failures = 0
        self.registered_until = now + granted
        self._move(RegistrationState.REGISTERED)
        self._due = now if self._unregistering else now + refresh_delay(granted)

    def _challenged(self, response: Response, now: float) -> None:
        challenge_header, answer_header = _CHALLENGE_HEADERS[response.status]
        challenge = self._pick(response.header_lines(challenge_header))
        if challenge is None:
            self.last_reason = "no Digest challenge this client can answer"
            self._failed(now)
            return
        rejected = (answer_header, challenge.nonce) in self._answered and not challenge.stale
        self._auth_rounds += 1
        if rejected or self._auth_rounds > MAX_AUTH_ROUNDS:
            self.last_reason = "credentials rejected"
            self._credentials.clear()
            self._failed(now)
            return
        self._credentials[answer_header] = _Credentials(answer_header, challenge)
        self._due = now

    def _too_brief(self, response: Response, now: float) -> None:
        text = response.header("Min-Expires") or ""
        minimum = int(text) if text.isdigit() and len(text) <= 10 else 0
        if self._unregistering or minimum <= self.expires:
            self.last_reason = "423 without a usable Min-Expires"
            self._failed(now)
            return
        self.expires = minimum
        self._due = now

    def _no_answer(self, status: int, now: float) -> None:
        if self._pending is None:
            raise RegistrationError("no REGISTER is in flight")
        self._pending = None
        self.last_status, self.last_reason = status, reason_phrase(status)
        self._failed(now)

    def _failed(self, now: float, retry_after: int | None = None) -> None:
        self._auth_rounds = 0
        if self._unregistering:
            self._finish_unregistered()
            return
        self.failures += 1
        base, cap = self._retry
        delay = min(cap, base * 2 ** (self.failures - 1))
        if retry_after is not None:
            delay = min(cap, max(delay, retry_after))
        self._move(RegistrationState.FAILED)
        self._due = now + delay

    def _finish_unregistered(self) -> None:
        self._move(RegistrationState.UNREGISTERED)
        self.registered_until = None
        self._due = None
        self._credentials.clear()

    # -- helpers ------------------------------------------------------------------------

    def _move(self, state: RegistrationState) -> None:
        if state is not self.state and state not in TRANSITIONS[self.state]:
            raise RegistrationError(f"registration: {self.state.value} -> {state.value}")
        self.state = state

    def _granted(self, response: Response) -> int:
        for contact in response.contacts:
            if (
                isinstance(contact, NameAddr)
                and contact.expires is not None
                and self.contact.equivalent(contact.uri)
            ):
                return contact.expires
        header = response.expires
        return self.expires if header is None else header

    def _pick(self, values: tuple[str, ...]) -> DigestChallenge | None:
        usable: list[DigestChallenge] = []
        for value in values:
            try:
                challenge = parse_challenge(value)
            except SipError:
                continue  # an algorithm we do not support, or a broken challenge
            if challenge is not None and self._realm in (None, challenge.realm):
                usable.append(challenge)
        usable.sort(key=lambda c: _ALGORITHM_PREFERENCE.index(c.algorithm))
        return usable[0] if usable else None

    def _authorization(self, creds: _Credentials) -> str:
        return build_authorization(
            creds.challenge,
            username=self._username,
            password=self._password,
            method="REGISTER",
            uri=str(self.registrar),
            cnonce=f"{self._rng.getrandbits(64):016x}",
            nc=creds.nc,
        )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _retry_after(response: Response) -> int | None:
    text = (response.header("Retry-After") or "").split(";", 1)[0].split("(", 1)[0].strip()
    return int(text) if text.isdigit() and len(text) <= 10 else None
