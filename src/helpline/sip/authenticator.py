"""Digest authentication of requests (RFC 7616 over RFC 3261 §22): challenge and decide.

Theory of operation: the registrar (REGISTER, 401 with ``WWW-Authenticate``) and call
control (INVITE, 407 with ``Proxy-Authenticate``) authenticate the same way. Nonces are
stateless HMACs of their issue time (:func:`~helpline.sip.digest.make_nonce`), so any
node holding the secret can check them. A request is decided in two steps, because the
account is looked up by the caller between them (in the database):

1. :meth:`DigestAuthenticator.credentials` finds the credentials for our realm (None:
   challenge; a malformed value raises ``SipError(400)``);
2. :meth:`DigestAuthenticator.decide` checks them against the account's HA1s:
   ``CHALLENGE`` when the nonce is not ours or the opaque does not match (a fresh
   challenge, not a failure), ``STALE`` when the response was right but the nonce
   expired (challenge with ``stale=true``), ``FAILED`` for a wrong response, an unknown
   account, a user mismatch or a missing ``qop`` (RFC 2069 is not accepted), else ``OK``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from enum import Enum

from helpline.sip.digest import (
    DigestAlgorithm,
    DigestChallenge,
    DigestCredentials,
    DigestResult,
    NonceState,
    check_nonce,
    make_nonce,
    parse_credentials,
    verify,
)
from helpline.sip.headers import Header
from helpline.sip.message import Request

__all__ = ["AuthResult", "DigestAuthenticator"]


class AuthResult(Enum):
    """What to do with a request's credentials."""

    OK = "ok"
    CHALLENGE = "challenge"
    STALE = "stale"
    FAILED = "failed"


class DigestAuthenticator:
    """Challenges and checks one kind of request (REGISTER as origin, INVITE as proxy)."""

    def __init__(
        self,
        *,
        secret: bytes,
        algorithms: Sequence[DigestAlgorithm],
        nonce_lifetime: float = 300.0,
        proxy: bool = False,
    ) -> None:
        self._secret = secret
        self.algorithms = tuple(algorithms)
        self.nonce_lifetime = nonce_lifetime
        self.status = 407 if proxy else 401
        self.challenge_header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        self.credentials_header = "Proxy-Authorization" if proxy else "Authorization"
        self.opaque = hmac.new(secret, b"helpline-opaque", hashlib.sha256).hexdigest()[:16]

    def challenge_headers(
        self, realm: str, now: float, entropy: bytes, *, stale: bool = False
    ) -> tuple[Header, ...]:
        """One challenge per algorithm, most preferred first, sharing a fresh nonce."""
        nonce = make_nonce(self._secret, now, entropy)
        return tuple(
            Header(
                self.challenge_header,
                DigestChallenge(realm, nonce, algorithm, self.opaque, "auth", stale).header_value(),
            )
            for algorithm in self.algorithms
        )

    def credentials(self, request: Request, realm: str) -> DigestCredentials | None:
        """The request's Digest credentials for ``realm``; None when it has none."""
        for value in request.header_lines(self.credentials_header):
            credentials = parse_credentials(value)
            if credentials is not None and credentials.realm == realm:
                return credentials
        return None

    def decide(
        self,
        credentials: DigestCredentials,
        request: Request,
        *,
        realm: str,
        username: str | None,
        ha1: Callable[[DigestAlgorithm], str | Sequence[str]] | None,
        now: float,
    ) -> AuthResult:
        """Check ``credentials`` against the account ``username`` (None: no such
        account) whose HA1 for an algorithm ``ha1`` gives (or HA1s: any may match)."""
        if username is None or ha1 is None:
            return AuthResult.FAILED
        if credentials.opaque is not None and credentials.opaque != self.opaque:
            return AuthResult.CHALLENGE
        nonce = check_nonce(credentials.nonce, self._secret, now, self.nonce_lifetime)
        if nonce is NonceState.INVALID:
            return AuthResult.CHALLENGE
        if credentials.qop is None or credentials.username != username:
            return AuthResult.FAILED
        stored = ha1(credentials.algorithm)
        results = {
            verify(
                credentials,
                method=request.method,
                ha1=candidate,
                secret=self._secret,
                now=now,
                realm=realm,
                nonce_lifetime=self.nonce_lifetime,
                body=request.body,
            )
            for candidate in ((stored,) if isinstance(stored, str) else stored)
        }
        if DigestResult.OK in results:
            return AuthResult.OK
        return AuthResult.STALE if DigestResult.STALE in results else AuthResult.FAILED
