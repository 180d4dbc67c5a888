"""HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 2617, RFC 7616, RFC 8760).

Theory of operation: a registrar or proxy challenges with a :class:`DigestChallenge`
(401 WWW-Authenticate / 407 Proxy-Authenticate).  Nonces are stateless: a timestamp
and caller-supplied entropy sealed with an HMAC over a server secret, so any node that
knows the secret can check them and see their age (RFC 7616 §3.3 suggests this shape).
The caller passes ``now``; nothing here reads a clock or a socket.  A credential whose
response is right but whose nonce has expired yields ``DigestResult.STALE`` so the
server re-challenges with ``stale=true`` (RFC 7616 §3.3) and the client retries without
asking the user.  Only HA1 (H(user:realm:password)) needs storing, one per algorithm.
Supported: MD5 and SHA-256, qop ``auth``/``auth-int`` or none (RFC 2069 style).
Nonce-count replay tracking is left to the caller (``nc`` is exposed).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum

from helpline.sip.errors import SipError
from helpline.sip.headers import AuthParam, parse_auth

__all__ = [
    "DigestAlgorithm",
    "DigestChallenge",
    "DigestCredentials",
    "DigestResult",
    "NonceState",
    "build_authorization",
    "check_nonce",
    "compute_ha1",
    "compute_response",
    "make_challenge",
    "make_nonce",
    "parse_challenge",
    "parse_credentials",
    "verify",
]


class DigestAlgorithm(Enum):
    """Digest hash algorithms (RFC 7616 §3.2)."""

    MD5 = "MD5"
    SHA256 = "SHA-256"

    def hash(self, text: str) -> str:
        """Hex digest of ``text`` (UTF-8) with this algorithm."""
        name = "md5" if self is DigestAlgorithm.MD5 else "sha256"
        return hashlib.new(name, text.encode("utf-8", "surrogateescape")).hexdigest()

    @classmethod
    def parse(cls, text: str | None) -> DigestAlgorithm:
        """Algorithm named ``text`` (MD5 when absent); SipError(400) when unknown."""
        if text is None:
            return cls.MD5
        for member in cls:
            if member.value.lower() == text.lower():
                return member
        raise SipError(400, f"unsupported digest algorithm {text!r}")


class NonceState(Enum):
    """Outcome of checking a server nonce."""

    VALID = "valid"
    STALE = "stale"
    INVALID = "invalid"


class DigestResult(Enum):
    """Outcome of verifying credentials."""

    OK = "ok"
    STALE = "stale"
    FAILED = "failed"


def compute_ha1(
    username: str, realm: str, password: str, algorithm: DigestAlgorithm = DigestAlgorithm.MD5
) -> str:
    """HA1 = H(username:realm:password) - the only secret a server needs to store."""
    return algorithm.hash(f"{username}:{realm}:{password}")


def _mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def make_nonce(secret: bytes, now: float, entropy: bytes = b"") -> str:
    """A nonce sealing ``now`` with an HMAC; pass fresh random ``entropy`` per challenge."""
    payload = f"{int(now):x}-{entropy.hex()}"
    return f"{payload}-{_mac(secret, payload)}"


def check_nonce(nonce: str, secret: bytes, now: float, lifetime: float = 300.0) -> NonceState:
    """Check a nonce made by :func:`make_nonce`: authentic, and younger than ``lifetime``."""
    payload, _, mac = nonce.rpartition("-")
    stamp = payload.partition("-")[0]
    if not payload or not hmac.compare_digest(mac, _mac(secret, payload)):
        return NonceState.INVALID
    try:
        issued = int(stamp, 16)
    except ValueError:
        return NonceState.INVALID
    if issued > now + 5 or now - issued > lifetime:
        return NonceState.STALE
    return NonceState.VALID


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """A Digest challenge (RFC 7616 §3.3)."""

    realm: str
    nonce: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    opaque: str | None = None
    qop: str | None = "auth"
    stale: bool = False

    def header_value(self) -> str:
        """The WWW-Authenticate / Proxy-Authenticate header value."""
        params = [AuthParam("realm", self.realm), AuthParam("nonce", self.nonce)]
        if self.opaque is not None:
            params.append(AuthParam("opaque", self.opaque))
        params.append(AuthParam("algorithm", self.algorithm.value, quoted=False))
        if self.qop is not None:
            params.append(AuthParam("qop", self.qop))
        if self.stale:
            params.append(AuthParam("stale", "true", quoted=False))
        return "Digest " + ", ".join(str(p) for p in params)


def make_challenge(
    realm: str,
    *,
    secret: bytes,
    now: float,
    entropy: bytes = b"",
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5,
    opaque: str | None = None,
    stale: bool = False,
) -> DigestChallenge:
    """Build a challenge with a fresh stateless nonce (qop=auth)."""
    nonce = make_nonce(secret, now, entropy)
    return DigestChallenge(realm, nonce, algorithm, opaque, "auth", stale)


def parse_challenge(value: str) -> DigestChallenge | None:
    """Parse a WWW-/Proxy-Authenticate value; None when it is not a Digest challenge."""
    auth = parse_auth(value)
    if auth.scheme.lower() != "digest":
        return None
    realm, nonce = auth.param("realm"), auth.param("nonce")
    if realm is None or nonce is None:
        raise SipError(400, "Digest challenge without realm or nonce")
    qops = [q.strip() for q in (auth.param("qop") or "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else (qops[0] if qops else None)
    stale = (auth.param("stale") or "").lower() == "true"
    algorithm = DigestAlgorithm.parse(auth.param("algorithm"))
    return DigestChallenge(realm, nonce, algorithm, auth.param("opaque"), qop, stale)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """The fields of a Digest Authorization / Proxy-Authorization value."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None


def parse_credentials(value: str) -> DigestCredentials | None:
    """Parse an Authorization value; None when the scheme is not Digest (challenge then).

    Raises SipError(400) for a Digest value missing required parameters.
    """
    auth = parse_auth(value)
    if auth.scheme.lower() != "digest":
        return None
    required = [auth.param(n) for n in ("username", "realm", "nonce", "uri", "response")]
    username, realm, nonce, uri, response = required
    if username is None or realm is None or nonce is None or uri is None or response is None:
        raise SipError(400, "Digest credentials missing a required parameter")
    qop = auth.param("qop")
    nc, cnonce = auth.param("nc"), auth.param("cnonce")
    if qop is not None and (nc is None or cnonce is None):
        raise SipError(400, "Digest qop without nc/cnonce")
    return DigestCredentials(
        username,
        realm,
        nonce,
        uri,
        response,
        DigestAlgorithm.parse(auth.param("algorithm")),
        qop,
        nc,
        cnonce,
        auth.param("opaque"),
    )


def compute_response(
    *,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1; RFC 2069 form when ``qop`` is None)."""
    if qop == "auth-int":
        body_hash = hashlib.new(
            "md5" if algorithm is DigestAlgorithm.MD5 else "sha256", body
        ).hexdigest()
        ha2 = algorithm.hash(f"{method}:{uri}:{body_hash}")
    else:
        ha2 = algorithm.hash(f"{method}:{uri}")
    if qop is None:
        return algorithm.hash(f"{ha1}:{nonce}:{ha2}")
    return algorithm.hash(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def verify(
    credentials: DigestCredentials,
    *,
    method: str,
    ha1: str,
    secret: bytes,
    now: float,
    realm: str | None = None,
    nonce_lifetime: float = 300.0,
    body: bytes = b"",
) -> DigestResult:
    """Check credentials against the stored ``ha1`` (for ``credentials.algorithm``).

    OK: right response and fresh nonce; STALE: right response, expired nonce (challenge
    again with ``stale=true``); FAILED: anything else.
    """
    if realm is not None and credentials.realm != realm:
        return DigestResult.FAILED
    if credentials.qop not in (None, "auth", "auth-int"):
        return DigestResult.FAILED
    state = check_nonce(credentials.nonce, secret, now, nonce_lifetime)
    if state is NonceState.INVALID:
        return DigestResult.FAILED
    expected = compute_response(
        ha1=ha1,
        nonce=credentials.nonce,
        method=method,
        uri=credentials.uri,
        algorithm=credentials.algorithm,
        qop=credentials.qop,
        nc=credentials.nc,
        cnonce=credentials.cnonce,
        body=body,
    )
    if not hmac.compare_digest(expected, credentials.response.lower()):
        return DigestResult.FAILED
    return DigestResult.OK if state is NonceState.VALID else DigestResult.STALE


def build_authorization(
    challenge: DigestChallenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    cnonce: str = "",
    nc: int = 1,
    body: bytes = b"",
) -> str:
    """Client side: the Authorization value answering ``challenge``."""
    ha1 = compute_ha1(username, challenge.realm, password, challenge.algorithm)
    nc_text = f"{nc:08x}" if challenge.qop else None
    cnonce_value = cnonce if challenge.qop else None
    response = compute_response(
        ha1=ha1,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        algorithm=challenge.algorithm,
        qop=challenge.qop,
        nc=nc_text,
        cnonce=cnonce_value,
        body=body,
    )
    params = [
        AuthParam("username", username),
        AuthParam("realm", challenge.realm),
        AuthParam("nonce", challenge.nonce),
        AuthParam("uri", uri),
        AuthParam("response", response),
        AuthParam("algorithm", challenge.algorithm.value, quoted=False),
    ]
    if challenge.qop:
        params += [
            AuthParam("qop", challenge.qop, quoted=False),
            AuthParam("nc", nc_text or "", quoted=False),
            AuthParam("cnonce", cnonce),
        ]
    if challenge.opaque is not None:
        params.append(AuthParam("opaque", challenge.opaque))
    return "Digest " + ", ".join(str(p) for p in params)
