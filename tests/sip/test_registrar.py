"""Registrar (RFC 3261 §10.3, RFC 7616 digest, RFC 3581 NAT) with a fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from helpline.sip.digest import (
    DigestAlgorithm,
    build_authorization,
    compute_ha1,
    parse_challenge,
)
from helpline.sip.message import Request, Response, parse_message
from helpline.sip.registrar import (
    AccountCredentials,
    Aor,
    Binding,
    RegisterOutcome,
    Registrar,
    RegistrarPolicy,
    Verdict,
    keepalive_targets,
    register_username,
)
from helpline.sip.routing import Address

SECRET = b"registrar-secret"
REALM = "demo"
USER = "2001"
PASSWORD = "sip-secret-1"
NOW = 1_700_000_000.0
PHONE = Address("192.168.1.10", 5060)
NATTED = Address("203.0.113.7", 40123)
ACCOUNT = AccountCredentials(
    tenant_id=7,
    username=USER,
    realm=REALM,
    ha1_md5=compute_ha1(USER, REALM, PASSWORD, DigestAlgorithm.MD5),
    ha1_sha256=compute_ha1(USER, REALM, PASSWORD, DigestAlgorithm.SHA256),
)


def register(
    *contacts: str,
    expires: int | None = None,
    call_id: str = "reg-call-1",
    cseq: int = 1,
    via: str = "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-1",
    authorization: str | None = None,
    user: str = USER,
) -> Request:
    lines = [
        "REGISTER sip:demo SIP/2.0",
        f"Via: {via}",
        "Max-Forwards: 70",
        f"From: <sip:{user}@demo>;tag=ft1",
        f"To: <sip:{user}@demo>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        "User-Agent: TestPhone/1.0",
    ]
    lines += [f"Contact: {c}" for c in contacts]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


@dataclass
class Phone:
    """A client that answers challenges and keeps the registrar's bindings like a DB."""

    registrar: Registrar
    password: str = PASSWORD
    source: Address = PHONE
    transport: str = "UDP"
    account: AccountCredentials | None = ACCOUNT
    bindings: Sequence[Binding] = ()
    cseq: int = 0
    algorithm: DigestAlgorithm = DigestAlgorithm.SHA256
    nc: int = 0
    challenge_header: str | None = field(default=None, repr=False)

    def send(self, request: Request, now: float) -> RegisterOutcome:
        outcome = self.registrar.handle(
            request,
            source=self.source,
            transport=self.transport,
            realm=REALM,
            account=self.account,
            bindings=self.bindings,
            now=now,
            entropy=now.hex().encode(),
        )
        if outcome.verdict is Verdict.REGISTERED:
            self.bindings = outcome.bindings
        return outcome

    def authorization(self) -> str:
        assert self.challenge_header is not None
        challenge = parse_challenge(self.challenge_header)
        assert challenge is not None
        self.nc += 1
        return build_authorization(
            challenge,
            username=USER,
            password=self.password,
            method="REGISTER",
            uri="sip:demo",
            cnonce="c0ffee",
            nc=self.nc,
        )

    def register(self, *contacts: str, now: float = NOW, **kw: Any) -> RegisterOutcome:
        """Send REGISTER; on a 401 pick the challenge of our algorithm and retry once."""
        self.cseq += 1
        if self.challenge_header is not None:
            auth = self.authorization()
            outcome = self.send(register(*contacts, cseq=self.cseq, authorization=auth, **kw), now)
            if outcome.response.status != 401:
                return outcome
        else:
            outcome = self.send(register(*contacts, cseq=self.cseq, **kw), now)
        if outcome.response.status == 401:
            self.challenge_header = pick(outcome.response, self.algorithm)
            self.cseq += 1
            self.nc = 0
            auth = self.authorization()
            outcome = self.send(register(*contacts, cseq=self.cseq, authorization=auth, **kw), now)
        return outcome


def pick(response: Response, algorithm: DigestAlgorithm) -> str:
    for value in response.headers("WWW-Authenticate"):
        challenge = parse_challenge(value)
        if challenge is not None and challenge.algorithm is algorithm:
            return value
    raise AssertionError(f"no {algorithm} challenge")


def contacts_of(response: Response) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in response.contacts:
        assert not isinstance(c, str)
        expires = c.expires  # type: ignore[union-attr]
        assert expires is not None
        out[str(c.uri)] = expires  # type: ignore[union-attr]
    return out


@pytest.fixture
def registrar() -> Registrar:
    return Registrar(secret=SECRET, policy=RegistrarPolicy(max_contacts=3))


def test_unauthenticated_register_is_challenged_with_sha256_then_md5(
    registrar: Registrar,
) -> None:
    outcome = Phone(registrar).send(register("<sip:2001@192.168.1.10:5060>"), NOW)
    assert outcome.verdict is Verdict.CHALLENGED
    assert outcome.response.status == 401
    assert outcome.response.to_tag
    values = outcome.response.headers("WWW-Authenticate")
    challenges = [parse_challenge(v) for v in values]
    assert [c.algorithm for c in challenges if c] == [DigestAlgorithm.SHA256, DigestAlgorithm.MD5]
    for c in challenges:
        assert c is not None
        assert (c.realm, c.qop, c.stale) == (REALM, "auth", False)
        assert c.opaque
    assert not outcome.upserted


@pytest.mark.parametrize("algorithm", [DigestAlgorithm.SHA256, DigestAlgorithm.MD5])
def test_phone_registers_after_answering_the_challenge(
    registrar: Registrar, algorithm: DigestAlgorithm
) -> None:
    phone = Phone(registrar, algorithm=algorithm)
    outcome = phone.register("<sip:2001@192.168.1.10:5060>", expires=600)
    assert outcome.verdict is Verdict.REGISTERED
    assert outcome.response.status == 200
    assert contacts_of(outcome.response) == {"sip:2001@192.168.1.10:5060": 600}
    assert outcome.response.header("Date") == "Tue, 14 Nov 2023 22:13:20 GMT"
    (binding,) = outcome.upserted
    assert binding.aor == Aor(7, USER)
    assert binding.expires_at == NOW + 600
    assert (binding.call_id, binding.cseq) == ("reg-call-1", 2)
    assert binding.user_agent == "TestPhone/1.0"
    assert binding.source == PHONE and binding.transport == "UDP"
    assert not binding.bound_to_source
    assert binding.destination == Address("192.168.1.10", 5060)


def test_expired_nonce_with_right_password_gets_stale_challenge(registrar: Registrar) -> None:
    phone = Phone(registrar)
    assert phone.register("<sip:2001@192.168.1.10>").response.status == 200
    later = NOW + 301
    phone.cseq += 1
    outcome = phone.send(
        register("<sip:2001@192.168.1.10>", cseq=phone.cseq, authorization=phone.authorization()),
        later,
    )
    assert outcome.response.status == 401
    challenge = parse_challenge(outcome.response.headers("WWW-Authenticate")[0])
    assert challenge is not None and challenge.stale
    assert phone.register("<sip:2001@192.168.1.10>", now=later).response.status == 200


def test_wrong_password_is_forbidden_and_counts_as_auth_failure(registrar: Registrar) -> None:
    phone = Phone(registrar, password="wrong-password")
    outcome = phone.register("<sip:2001@192.168.1.10>")
    assert outcome.response.status == 403
    assert outcome.verdict is Verdict.AUTH_FAILED
    assert not outcome.upserted and not outcome.removed


def test_unknown_account_is_challenged_then_forbidden(registrar: Registrar) -> None:
    phone = Phone(registrar, account=None)
    outcome = phone.register("<sip:2001@192.168.1.10>")
    assert outcome.response.status == 403
    assert outcome.verdict is Verdict.AUTH_FAILED


def test_forged_nonce_is_rechallenged_not_counted(registrar: Registrar) -> None:
    other = Phone(Registrar(secret=b"another-node-secret"))
    other.register("<sip:2001@192.168.1.10>")
    phone = Phone(registrar, challenge_header=other.challenge_header)
    outcome = phone.send(register("<sip:x@h>", cseq=5, authorization=phone.authorization()), NOW)
    assert outcome.response.status == 401
    assert outcome.verdict is Verdict.CHALLENGED


def test_credentials_of_another_user_are_forbidden(registrar: Registrar) -> None:
    phone = Phone(registrar)
    phone.register("<sip:2001@192.168.1.10>")
    request = register("<sip:2002@h>", user="2002", cseq=9, authorization=phone.authorization())
    other = AccountCredentials(7, "2002", REALM, ACCOUNT.ha1_md5, ACCOUNT.ha1_sha256)
    outcome = registrar.handle(
        request,
        source=PHONE,
        transport="UDP",
        realm=REALM,
        account=other,
        bindings=(),
        now=NOW,
        entropy=b"e",
    )
    assert outcome.response.status == 403


def test_several_contacts_refresh_and_query(registrar: Registrar) -> None:
    phone = Phone(registrar)
    outcome = phone.register("<sip:2001@10.0.0.1>, <sip:2001@10.0.0.2>;expires=120", expires=900)
    assert contacts_of(outcome.response) == {"sip:2001@10.0.0.1": 900, "sip:2001@10.0.0.2": 120}
    outcome = phone.register("<sip:2001@10.0.0.2>", expires=300, now=NOW + 100)
    assert contacts_of(outcome.response) == {"sip:2001@10.0.0.1": 800, "sip:2001@10.0.0.2": 300}
    assert [b.contact for b in outcome.upserted] == ["sip:2001@10.0.0.2"]
    assert not outcome.removed
    query = phone.register(now=NOW + 200)
    assert contacts_of(query.response) == {"sip:2001@10.0.0.1": 700, "sip:2001@10.0.0.2": 200}
    assert not query.upserted and not query.removed


def test_equivalent_contact_uri_refreshes_the_same_binding(registrar: Registrar) -> None:
    phone = Phone(registrar)
    phone.register("<sip:2001@Phone.Example.com;transport=udp>")
    outcome = phone.register("<sip:2001@phone.example.com;transport=UDP>")
    assert len(outcome.bindings) == 1


def test_unregister_one_contact_then_all_with_star(registrar: Registrar) -> None:
    phone = Phone(registrar)
    phone.register("<sip:2001@10.0.0.1>", "<sip:2001@10.0.0.2>", "<sip:2001@10.0.0.3>")
    outcome = phone.register("<sip:2001@10.0.0.2>;expires=0")
    assert set(contacts_of(outcome.response)) == {"sip:2001@10.0.0.1", "sip:2001@10.0.0.3"}
    assert [b.contact for b in outcome.removed] == ["sip:2001@10.0.0.2"]
    outcome = phone.register("*", expires=0)
    assert outcome.response.status == 200
    assert outcome.response.contacts == ()
    assert outcome.bindings == ()
    assert {b.contact for b in outcome.removed} == {"sip:2001@10.0.0.1", "sip:2001@10.0.0.3"}


def test_star_needs_expires_zero_and_no_other_contact(registrar: Registrar) -> None:
    phone = Phone(registrar)
    assert phone.register("*", expires=60).response.status == 400
    assert phone.register("*", expires=None).response.status == 400
    assert phone.register("*", "<sip:2001@10.0.0.1>", expires=0).response.status == 400


def test_expired_bindings_disappear_and_are_purged(registrar: Registrar) -> None:
    phone = Phone(registrar)
    phone.register("<sip:2001@10.0.0.1>", expires=60)
    outcome = phone.register("<sip:2001@10.0.0.2>", expires=3600, now=NOW + 61)
    assert set(contacts_of(outcome.response)) == {"sip:2001@10.0.0.2"}
    assert [b.contact for b in outcome.removed] == ["sip:2001@10.0.0.1"]


def test_too_brief_interval_is_423_with_min_expires(registrar: Registrar) -> None:
    phone = Phone(registrar)
    outcome = phone.register("<sip:2001@10.0.0.1>", expires=30)
    assert outcome.response.status == 423
    assert outcome.response.header("Min-Expires") == "60"
    assert outcome.verdict is Verdict.REJECTED


def test_long_interval_is_clamped_to_the_maximum(registrar: Registrar) -> None:
    outcome = Phone(registrar).register("<sip:2001@10.0.0.1>;expires=99999")
    assert contacts_of(outcome.response) == {"sip:2001@10.0.0.1": 3600}


def test_default_interval_applies_without_expires(registrar: Registrar) -> None:
    outcome = Phone(registrar).register("<sip:2001@10.0.0.1>")
    assert contacts_of(outcome.response) == {"sip:2001@10.0.0.1": 3600}


def test_too_many_contacts_are_refused(registrar: Registrar) -> None:
    phone = Phone(registrar)
    phone.register("<sip:2001@10.0.0.1>", "<sip:2001@10.0.0.2>", "<sip:2001@10.0.0.3>")
    outcome = phone.register("<sip:2001@10.0.0.4>")
    assert outcome.response.status == 403
    assert outcome.verdict is Verdict.REJECTED
    assert len(phone.bindings) == 3


def test_older_cseq_for_the_same_call_id_aborts_the_update(registrar: Registrar) -> None:
    phone = Phone(registrar)
    phone.register("<sip:2001@10.0.0.1>", expires=600)
    stale_cseq = phone.cseq - 1
    phone.cseq = stale_cseq - 1
    outcome = phone.register("<sip:2001@10.0.0.1>;expires=0")
    assert outcome.response.status == 400
    assert not outcome.removed
    assert [b.contact for b in phone.bindings] == ["sip:2001@10.0.0.1"]
    phone.cseq = stale_cseq - 1
    assert phone.register("*", expires=0).response.status == 400


def test_new_call_id_replaces_binding_whatever_its_cseq(registrar: Registrar) -> None:
    phone = Phone(registrar)
    phone.register("<sip:2001@10.0.0.1>", expires=600)
    phone.cseq = 0
    outcome = phone.register("<sip:2001@10.0.0.1>", expires=900, call_id="after-reboot")
    assert outcome.response.status == 200
    (binding,) = outcome.bindings
    assert binding.call_id == "after-reboot"


def test_nat_binding_routes_to_observed_source_with_rport(registrar: Registrar) -> None:
    phone = Phone(registrar, source=NATTED)
    outcome = phone.register(
        "<sip:2001@192.168.1.10:5060>",
        via="SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bK-2",
    )
    (binding,) = outcome.bindings
    assert binding.bound_to_source
    assert binding.destination == NATTED
    assert keepalive_targets(outcome.bindings, NOW) == (binding,)
    assert keepalive_targets(outcome.bindings, NOW + 3601) == ()


def test_rport_binds_to_source_even_when_contact_matches(registrar: Registrar) -> None:
    phone = Phone(registrar)
    outcome = phone.register(
        "<sip:2001@192.168.1.10:5060>",
        via="SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bK-3",
    )
    assert outcome.bindings[0].bound_to_source


def test_contact_differing_from_source_binds_to_source_without_rport(
    registrar: Registrar,
) -> None:
    outcome = Phone(registrar, source=NATTED).register("<sip:2001@192.168.1.10:5060>")
    assert outcome.bindings[0].destination == NATTED


def test_tcp_binding_is_reached_over_its_connection(registrar: Registrar) -> None:
    outcome = Phone(registrar, transport="TCP").register("<sip:2001@192.168.1.10:5060>")
    (binding,) = outcome.bindings
    assert binding.bound_to_source and binding.transport == "TCP"
    assert keepalive_targets(outcome.bindings, NOW) == ()


def test_same_instance_id_replaces_binding_with_new_contact(registrar: Registrar) -> None:
    phone = Phone(registrar)
    instance = ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1'
    phone.register(f"<sip:2001@10.0.0.1:5060>{instance}")
    outcome = phone.register(f"<sip:2001@10.0.0.9:5070>{instance}")
    (binding,) = outcome.bindings
    assert binding.contact == "sip:2001@10.0.0.9:5070"
    assert binding.instance_id == "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"
    assert binding.reg_id == 1
    assert [b.contact for b in outcome.removed] == ["sip:2001@10.0.0.1:5060"]
    echoed = outcome.response.headers("Contact")[0]
    assert '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"' in echoed
    assert "reg-id=1" in echoed


def test_register_username_reads_the_to_user() -> None:
    assert register_username(register("<sip:x@h>", user="2003")) == "2003"


def test_malformed_contact_is_400(registrar: Registrar) -> None:
    assert Phone(registrar).register("<tel:+1234>").response.status == 400
