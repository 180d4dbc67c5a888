"""Registration with a provider (RFC 3261 §10.2, RFC 7616) on a fake clock, sans-IO."""

from __future__ import annotations

import random

import pytest

from helpline.sip.digest import DigestAlgorithm, compute_ha1, parse_credentials
from helpline.sip.message import Request, Response, parse_message
from helpline.sip.register_client import (
    MAX_AUTH_ROUNDS,
    RegistrationClient,
    RegistrationError,
    RegistrationState,
    refresh_delay,
)
from helpline.sip.registrar import AccountCredentials, Binding, Registrar, RegistrarPolicy, Verdict
from helpline.sip.routing import Address
from helpline.sip.transaction_layer import TransactionLayer
from helpline.sip.uri import SipUri, parse_uri

T0 = 1_000.0
USER = "99955501"
PASSWORD = "trunk-secret-1"
REALM = "trunk.invalid"
LOCAL = Address("127.0.0.1", 5060)
CHALLENGE = f'Digest realm="{REALM}", nonce="n1", algorithm=MD5, qop="auth"'


def uri(text: str) -> SipUri:
    parsed = parse_uri(text)
    assert isinstance(parsed, SipUri)
    return parsed


def client(**kw: object) -> RegistrationClient:
    options: dict[str, object] = {
        "aor": uri(f"sip:{USER}@{REALM}"),
        "registrar": uri(f"sip:{REALM}"),
        "username": USER,
        "password": PASSWORD,
        "contact": uri(f"sip:{USER}@127.0.0.1:5060"),
        "call_id": "reg-1@127.0.0.1",
        "from_tag": "ft1",
        "local": LOCAL,
        "rng": random.Random(7),
        **kw,
    }
    return RegistrationClient(**options)  # type: ignore[arg-type]


def answer(request: Request, status: int, *extra: str, reason: str = "Reason") -> Response:
    """The provider's answer to ``request``, written out and parsed as on the wire."""
    lines = [
        f"SIP/2.0 {status} {reason}",
        f"Via: {request.header('Via')};branch=z9hG4bKtest",
        f"From: {request.header('From')}",
        f"To: {request.header('To')};tag=prov",
        f"Call-ID: {request.call_id}",
        f"CSeq: {request.cseq.number} REGISTER",
        *extra,
        "Content-Length: 0",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Response)
    return message


def started(**kw: object) -> RegistrationClient:
    c = client(**kw)
    c.start(T0)
    return c


def test_register_carries_aor_contact_expires_and_a_via_the_layer_can_branch() -> None:
    c = started(user_agent="Helpline-test")
    assert c.next_action_at() == T0
    request = c.request(T0)
    assert c.state is RegistrationState.REGISTERING and c.next_action_at() is None
    assert request.method == "REGISTER" and str(request.uri) == f"sip:{REALM}"
    assert str(request.to.uri) == str(request.from_.uri) == f"sip:{USER}@{REALM}"
    assert request.from_tag == "ft1" and request.to_tag is None
    assert request.expires == 3600 and request.header("User-Agent") == "Helpline-test"
    assert request.top_via.has_rport and request.top_via.branch is None
    assert not request.has_header("Authorization")
    layer = TransactionLayer(rng=random.Random(1))
    layer.send_request(request, Address("127.0.0.1", 5070), "UDP", T0)
    (datagram,) = layer.datagrams_to_send(T0)
    sent = parse_message(datagram.data)
    assert isinstance(sent, Request) and sent.top_via.rfc3261_branch


def test_ok_registers_and_refreshes_before_the_granted_expiry() -> None:
    c = started()
    request = c.request(T0)
    contact = f"<sip:{USER}@127.0.0.1:5060>;expires=600, <sip:other@192.0.2.1>;expires=90"
    c.on_response(answer(request, 200, f"Contact: {contact}", reason="OK"), T0 + 1)
    assert c.state is RegistrationState.REGISTERED
    assert (c.last_status, c.last_reason) == (200, "OK")
    assert c.registered_until == T0 + 1 + 600
    assert c.next_action_at() == T0 + 1 + 480
    refresh = c.request(T0 + 481)
    assert refresh.call_id == request.call_id and refresh.cseq.number == request.cseq.number + 1
    assert c.state is RegistrationState.REGISTERED


def test_expires_header_is_used_when_our_contact_has_no_expires() -> None:
    c = started()
    request = c.request(T0)
    c.on_response(answer(request, 200, "Expires: 120"), T0)
    assert c.registered_until == T0 + 120 and c.next_action_at() == T0 + 90


@pytest.mark.parametrize(
    ("granted", "delay"), [(3600, 2880.0), (120, 90.0), (60, 30.0), (20, 10.0)]
)
def test_refresh_comes_at_eighty_percent_or_thirty_seconds_early(
    granted: int, delay: float
) -> None:
    assert refresh_delay(granted) == delay


def test_digest_challenge_is_answered_once_and_reused_on_refresh() -> None:
    c = started()
    first = c.request(T0)
    c.on_response(answer(first, 401, f"WWW-Authenticate: {CHALLENGE}"), T0)
    assert c.state is RegistrationState.REGISTERING and c.next_action_at() == T0
    second = c.request(T0)
    header = second.header("Authorization")
    assert header is not None
    creds = parse_credentials(header)
    assert creds is not None and creds.realm == REALM and creds.nonce == "n1"
    assert creds.uri == f"sip:{REALM}" and creds.qop == "auth" and creds.nc == "00000001"
    c.on_response(answer(second, 200, "Expires: 3600"), T0)
    assert c.state is RegistrationState.REGISTERED
    refresh = c.request(T0 + 2880)
    again = parse_credentials(refresh.header("Authorization") or "")
    assert again is not None and again.nc == "00000002" and again.cnonce != creds.cnonce


def test_sha256_challenge_is_preferred_over_md5() -> None:
    c = started()
    first = c.request(T0)
    md5 = f'Digest realm="{REALM}", nonce="m", algorithm=MD5, qop="auth"'
    sha = f'Digest realm="{REALM}", nonce="s", algorithm=SHA-256, qop="auth"'
    unknown = f'Digest realm="{REALM}", nonce="x", algorithm=SHA-512-256, qop="auth"'
    c.on_response(
        answer(
            first,
            401,
            f"WWW-Authenticate: {unknown}",
            f"WWW-Authenticate: {md5}",
            f"WWW-Authenticate: {sha}",
        ),
        T0,
    )
    creds = parse_credentials(c.request(T0).header("Authorization") or "")
    assert creds is not None and creds.algorithm is DigestAlgorithm.SHA256 and creds.nonce == "s"


def test_proxy_challenge_is_answered_with_proxy_authorization() -> None:
    c = started()
    first = c.request(T0)
    c.on_response(answer(first, 407, f"Proxy-Authenticate: {CHALLENGE}"), T0)
    second = c.request(T0)
    assert second.has_header("Proxy-Authorization") and not second.has_header("Authorization")


def test_same_nonce_challenged_again_means_wrong_credentials() -> None:
    c = started()
    first = c.request(T0)
    c.on_response(answer(first, 401, f"WWW-Authenticate: {CHALLENGE}"), T0)
    second = c.request(T0)
    c.on_response(answer(second, 401, f"WWW-Authenticate: {CHALLENGE}"), T0 + 1)
    assert c.state is RegistrationState.FAILED
    assert (c.last_status, c.last_reason) == (401, "credentials rejected")
    assert c.next_action_at() == T0 + 1 + 10
    retry = c.request(T0 + 11)
    assert not retry.has_header("Authorization")
    assert c.state is RegistrationState.REGISTERING


def test_stale_nonce_is_retried_with_the_new_nonce() -> None:
    c = started()
    first = c.request(T0)
    c.on_response(answer(first, 401, f"WWW-Authenticate: {CHALLENGE}"), T0)
    second = c.request(T0)
    stale = f'Digest realm="{REALM}", nonce="n1", algorithm=MD5, qop="auth", stale=true'
    c.on_response(answer(second, 401, f"WWW-Authenticate: {stale}"), T0)
    assert c.state is RegistrationState.REGISTERING and c.next_action_at() == T0
    creds = parse_credentials(c.request(T0).header("Authorization") or "")
    assert creds is not None and creds.nc == "00000001"


def test_endless_fresh_nonces_give_up_after_the_round_limit() -> None:
    c = started()
    for n in range(MAX_AUTH_ROUNDS + 1):
        request = c.request(T0)
        challenge = f'Digest realm="{REALM}", nonce="fresh{n}", algorithm=MD5, qop="auth"'
        c.on_response(answer(request, 401, f"WWW-Authenticate: {challenge}"), T0)
    assert c.state is RegistrationState.FAILED and c.last_reason == "credentials rejected"


def test_challenge_from_another_realm_is_not_answered() -> None:
    c = started(realm="other.invalid")
    first = c.request(T0)
    c.on_response(answer(first, 401, f"WWW-Authenticate: {CHALLENGE}"), T0)
    assert c.state is RegistrationState.FAILED
    assert c.last_reason == "no Digest challenge this client can answer"


def test_interval_too_brief_retries_with_min_expires() -> None:
    c = started(expires=60)
    first = c.request(T0)
    c.on_response(answer(first, 423, "Min-Expires: 300"), T0)
    assert c.next_action_at() == T0
    second = c.request(T0)
    assert second.expires == 300 and c.expires == 300
    c.on_response(answer(second, 423, "Min-Expires: 300"), T0)
    assert c.state is RegistrationState.FAILED


def test_failures_back_off_exponentially_up_to_the_cap() -> None:
    c = started()
    now = T0
    delays = []
    for _ in range(7):
        request = c.request(now)
        c.on_response(answer(request, 503, reason="Service Unavailable"), now)
        assert c.state is RegistrationState.FAILED
        due = c.next_action_at()
        assert due is not None
        delays.append(due - now)
        now = due
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    request = c.request(now)
    c.on_response(answer(request, 200, "Expires: 3600"), now)
    assert c.failures == 0 and c.state is RegistrationState.REGISTERED


def test_retry_after_is_honoured_within_the_cap() -> None:
    c = started()
    request = c.request(T0)
    c.on_response(answer(request, 503, "Retry-After: 120 (maintenance)"), T0)
    assert c.next_action_at() == T0 + 120
    request = c.request(T0 + 120)
    c.on_response(answer(request, 503, "Retry-After: 86400"), T0 + 120)
    assert c.next_action_at() == T0 + 120 + 300


def test_timeout_and_transport_error_count_as_failures() -> None:
    c = started()
    c.request(T0)
    c.on_timeout(T0 + 32)
    assert c.state is RegistrationState.FAILED and c.last_status == 408
    assert c.next_action_at() == T0 + 32 + 10
    c.request(T0 + 42)
    c.on_transport_error(T0 + 42)
    assert c.last_status == 503 and c.next_action_at() == T0 + 42 + 20


def test_provisional_answer_changes_nothing() -> None:
    c = started()
    request = c.request(T0)
    c.on_response(answer(request, 100, reason="Trying"), T0)
    assert c.state is RegistrationState.REGISTERING and c.next_action_at() is None


def test_unregister_sends_expires_zero_then_stops() -> None:
    c = started()
    request = c.request(T0)
    c.on_response(answer(request, 200, "Expires: 3600"), T0)
    c.unregister(T0 + 5)
    assert c.next_action_at() == T0 + 5
    bye = c.request(T0 + 5)
    assert bye.expires == 0 and bye.call_id == request.call_id
    assert str(bye.contacts[0]) == f"<sip:{USER}@127.0.0.1:5060>"
    c.on_response(answer(bye, 200), T0 + 5)
    assert c.state is RegistrationState.UNREGISTERED and c.next_action_at() is None
    assert c.registered_until is None


def test_unregister_while_registering_waits_for_the_answer() -> None:
    c = started()
    request = c.request(T0)
    c.unregister(T0)
    c.on_response(answer(request, 200, "Expires: 3600"), T0 + 1)
    assert c.next_action_at() == T0 + 1
    assert c.request(T0 + 1).expires == 0


def test_start_during_unregistration_registers_again_afterwards() -> None:
    c = started()
    c.on_response(answer(c.request(T0), 200, "Expires: 3600"), T0)
    c.unregister(T0)
    removal = c.request(T0)
    c.start(T0 + 1)
    c.on_response(answer(removal, 200), T0 + 2)
    assert c.state is RegistrationState.UNREGISTERED and c.next_action_at() == T0 + 2
    assert c.request(T0 + 2).expires == 3600


def test_unregister_of_a_failed_client_just_stops_retrying() -> None:
    c = started()
    request = c.request(T0)
    c.on_response(answer(request, 403, reason="Forbidden"), T0)
    c.unregister(T0 + 1)
    assert c.state is RegistrationState.UNREGISTERED and c.next_action_at() is None
    c.start(T0 + 2)
    assert c.next_action_at() == T0 + 2


def test_failed_unregistration_still_ends_unregistered() -> None:
    c = started()
    request = c.request(T0)
    c.on_response(answer(request, 200, "Expires: 3600"), T0)
    c.unregister(T0)
    c.request(T0)
    c.on_timeout(T0 + 32)
    assert c.state is RegistrationState.UNREGISTERED and c.next_action_at() is None


def test_driving_it_wrongly_raises() -> None:
    c = client()
    with pytest.raises(RegistrationError):
        c.request(T0)
    c.start(T0)
    request = c.request(T0)
    with pytest.raises(RegistrationError):
        c.request(T0)
    old = answer(request, 200)
    c.on_response(old, T0)
    with pytest.raises(RegistrationError):
        c.on_response(old, T0)
    with pytest.raises(RegistrationError):
        c.on_timeout(T0)


def exchange(
    c: RegistrationClient, registrar: Registrar, password: str, now: float, rounds: int
) -> list[int]:
    """Let ``c`` talk to Helpline's own sans-IO registrar, holding an account whose
    password is ``password``, until it is registered or ``rounds`` answers came."""
    account = AccountCredentials(
        tenant_id=1,
        username=USER,
        realm=REALM,
        ha1_md5=compute_ha1(USER, REALM, password, DigestAlgorithm.MD5),
        ha1_sha256=compute_ha1(USER, REALM, password, DigestAlgorithm.SHA256),
    )
    bindings: tuple[Binding, ...] = ()
    statuses: list[int] = []
    while c.state is not RegistrationState.REGISTERED and len(statuses) < rounds:
        outcome = registrar.handle(
            c.request(now),
            source=LOCAL,
            transport="UDP",
            realm=REALM,
            account=account,
            bindings=bindings,
            now=now,
            entropy=str(len(statuses)).encode(),
        )
        statuses.append(outcome.response.status)
        c.on_response(outcome.response, now)
        if outcome.verdict is Verdict.REGISTERED:
            bindings = outcome.bindings
    return statuses


def test_registers_with_helplines_own_registrar_end_to_end() -> None:
    """The client against the real registrar: digest challenge, 423, then 200."""
    registrar = Registrar(secret=b"s", policy=RegistrarPolicy(min_expires=120))
    c = started(expires=60)
    assert exchange(c, registrar, PASSWORD, T0, rounds=6) == [401, 423, 200]
    assert c.registered_until == T0 + 120
    assert c.next_action_at() == T0 + 90


def test_wrong_password_is_refused_by_helplines_registrar() -> None:
    c = started()
    assert exchange(c, Registrar(secret=b"s"), "other-password", T0, rounds=2) == [401, 403]
    assert c.state is RegistrationState.FAILED and c.last_status == 403
