"""Trunk registrations driven over a real UA core, a fake provider and a fake clock."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from datetime import datetime

import pytest

from helpline.sip.digest import compute_ha1, compute_response, parse_credentials
from helpline.sip.headers import Header
from helpline.sip.message import Request, make_response, parse_message
from helpline.sip.routing import Address
from helpline.sip.ua import LocalAddress, RequestAnswered, UserAgent
from helpline.sip.uri import SipUri
from helpline.telephony.trunk_registrations import TrunkRegistrations, resolve_host
from helpline.trunks.rules import Transport, TrunkConfig

T0 = 1_000.0
WALL = 1_700_000_000.0
REALM = "voip.example"
PROVIDER = Address("192.0.2.7", 5070)
TRUNK = TrunkConfig(
    id=3,
    tenant_id=1,
    name="carrier",
    host="192.0.2.7",
    port=5070,
    username="4420001",
    password="right-secret",
    register_enabled=True,
    register_expires=600,
    from_domain=REALM,
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A UA core, the registrations on it, and a provider answering by hand."""

    def __init__(self, *trunks: TrunkConfig) -> None:
        self.clock = Clock()
        self.trunks = list(trunks)
        self.flushes = 0
        self.ua = UserAgent(
            {
                "UDP": LocalAddress("198.51.100.1", 5060),
                "TCP": LocalAddress("198.51.100.1", 5060),
            },
            rng=random.Random(3),
        )
        self.names = {"sip.carrier.example": "192.0.2.99"}
        self.regs = TrunkRegistrations(
            ua=self.ua,
            load=self._load,
            flush=self._flush,
            clock=self.clock,
            reload_seconds=900,
            resolve=self._resolve,
            wall_clock=lambda: WALL + self.clock.now - T0,
        )
        self.nonce = 0
        self.provider: Callable[[], None] | None = None

    async def _load(self) -> list[TrunkConfig]:
        return list(self.trunks)

    async def _resolve(self, host: str, port: int, transport: str) -> str:
        if host in self.names:
            return self.names[host]
        if host.startswith("192.0.2."):
            return host
        raise OSError("Name or service not known")

    def _flush(self) -> None:
        self.flushes += 1
        if self.provider is not None:
            self.provider()

    def sent(self) -> list[tuple[Request, Address]]:
        """REGISTERs sent since the last call (after running due ones)."""
        self.regs.send_due(self.clock.now)
        out = []
        for datagram in self.ua.datagrams_to_send(self.clock.now):
            message = parse_message(datagram.data)
            assert isinstance(message, Request)
            out.append((message, datagram.destination))
        return out

    def one(self) -> Request:
        ((request, _),) = self.sent()
        assert request.method == "REGISTER"
        return request

    def answer(self, request: Request, status: int, *extra: Header) -> None:
        response = make_response(request, status, to_tag="prov", extra=extra)
        self.ua.receive_message(response, PROVIDER, "UDP", self.clock.now)
        self.deliver()

    def deliver(self) -> None:
        while (event := self.ua.next_event()) is not None:
            assert isinstance(event, RequestAnswered)
            assert self.regs.on_answer(event)

    def challenge(self, request: Request) -> None:
        self.nonce += 1
        value = f'Digest realm="{REALM}", nonce="n{self.nonce}", algorithm=MD5, qop="auth"'
        self.answer(request, 401, Header("WWW-Authenticate", value))

    def accepts(self, request: Request, password: str = "right-secret") -> bool:
        credentials = parse_credentials(request.header("Authorization") or "")
        assert credentials is not None
        ha1 = compute_ha1(credentials.username, credentials.realm, password, credentials.algorithm)
        expected = compute_response(
            ha1=ha1,
            nonce=credentials.nonce,
            method="REGISTER",
            uri=credentials.uri,
            algorithm=credentials.algorithm,
            qop=credentials.qop,
            nc=credentials.nc,
            cnonce=credentials.cnonce,
        )
        return expected == credentials.response

    def grant(self, request: Request, seconds: int = 600) -> None:
        contact = request.header("Contact")
        self.answer(request, 200, Header("Contact", f"{contact};expires={seconds}"))

    async def register(self) -> Request:
        """Load, challenge, accept: the trunk is registered; the accepted REGISTER."""
        await self.regs.reload()
        self.challenge(self.one())
        request = self.one()
        assert self.accepts(request)
        self.grant(request)
        return request

    def status(self) -> dict[str, object]:
        (status,) = self.regs.status()
        return status


async def test_trunk_registers_by_answering_the_digest_challenge() -> None:
    rig = Rig(TRUNK)
    await rig.regs.reload()
    assert rig.status()["state"] == "unregistered"
    (sent,) = rig.sent()
    first, destination = sent
    assert destination == PROVIDER
    assert str(first.uri) == "sip:192.0.2.7:5070"
    assert str(first.from_.uri) == str(first.to.uri) == f"sip:4420001@{REALM}"
    assert first.header("Contact") == "<sip:4420001@198.51.100.1:5060>"
    assert first.expires == 600 and not first.has_header("Authorization")
    assert rig.status()["state"] == "registering"
    rig.challenge(first)
    second = rig.one()
    assert rig.accepts(second) and second.call_id == first.call_id
    rig.clock.now += 1
    rig.grant(second)
    status = rig.status()
    assert status == {
        "id": 3,
        "tenant_id": 1,
        "name": "carrier",
        "state": "registered",
        "last_status": 200,
        "reason": "OK",
        "registered_until": status["registered_until"],
    }
    until = datetime.fromisoformat(str(status["registered_until"]))
    assert until.timestamp() == WALL + 1 + 600
    assert rig.regs.next_deadline() == T0 + 1 + 480
    assert rig.flushes == 2


async def test_the_binding_is_refreshed_when_due_with_fresh_credentials() -> None:
    rig = Rig(TRUNK)
    first = await rig.register()
    assert rig.sent() == []
    rig.clock.now += 480
    refresh = rig.one()
    assert refresh.cseq.number == first.cseq.number + 1 and rig.accepts(refresh)
    rig.grant(refresh)
    assert rig.status()["state"] == "registered"


async def test_wrong_password_fails_with_the_providers_status_and_retries_later() -> None:
    rig = Rig(dataclasses.replace(TRUNK, password="wrong-secret"))
    await rig.regs.reload()
    rig.challenge(rig.one())
    request = rig.one()
    assert not rig.accepts(request)
    rig.answer(request, 403)
    status = rig.status()
    assert (status["state"], status["last_status"]) == ("failed", 403)
    assert status["registered_until"] is None
    assert rig.sent() == []
    assert rig.regs.next_deadline() == T0 + 10
    rig.clock.now += 10
    assert rig.one().method == "REGISTER"


async def test_a_silent_provider_makes_the_registration_fail_with_408() -> None:
    rig = Rig(TRUNK)
    await rig.regs.reload()
    rig.one()
    while (deadline := rig.ua.get_timer()) is not None:
        rig.clock.now = deadline
        rig.ua.handle_timer(deadline)
        rig.ua.datagrams_to_send(deadline)
        rig.deliver()
    status = rig.status()
    assert (status["state"], status["last_status"]) == ("failed", 408)


async def test_a_removed_trunk_unregisters_and_is_dropped() -> None:
    rig = Rig(TRUNK)
    await rig.register()
    rig.trunks = [dataclasses.replace(TRUNK, register_enabled=False)]
    await rig.regs.reload()
    assert rig.regs.status() == []
    goodbye = rig.one()
    assert goodbye.expires == 0 and rig.accepts(goodbye)
    rig.answer(goodbye, 200)
    assert rig.sent() == [] and rig.regs.next_deadline() == T0 + 900


async def test_changed_credentials_replace_the_binding() -> None:
    rig = Rig(TRUNK)
    old = await rig.register()
    rig.trunks = [dataclasses.replace(TRUNK, username="4420002")]
    await rig.regs.reload()
    by_call = {r.call_id: r for r, _ in rig.sent()}
    assert len(by_call) == 2
    goodbye = by_call.pop(old.call_id)
    assert goodbye.expires == 0
    (fresh,) = by_call.values()
    assert fresh.expires == 600 and str(fresh.from_.uri) == f"sip:4420002@{REALM}"
    assert rig.status()["state"] == "registering"


async def test_a_renamed_trunk_keeps_its_registration() -> None:
    rig = Rig(TRUNK)
    await rig.register()
    rig.trunks = [dataclasses.replace(TRUNK, name="carrier-renamed", priority=5)]
    await rig.regs.reload()
    assert rig.sent() == []
    assert (rig.status()["name"], rig.status()["state"]) == ("carrier-renamed", "registered")


async def test_a_host_name_is_resolved_and_the_aor_falls_back_to_it() -> None:
    rig = Rig(dataclasses.replace(TRUNK, host="sip.carrier.example", from_domain=None))
    await rig.regs.reload()
    (sent,) = rig.sent()
    request, destination = sent
    assert destination == Address("192.0.2.99", 5070, "sip.carrier.example")  # for TLS
    assert str(request.uri) == "sip:sip.carrier.example:5070"
    assert str(request.to.uri) == "sip:4420001@sip.carrier.example"


async def test_an_unresolvable_host_shows_failed_and_sends_nothing() -> None:
    rig = Rig(dataclasses.replace(TRUNK, host="nowhere.invalid"))
    await rig.regs.reload()
    assert rig.sent() == []
    status = rig.status()
    assert status["state"] == "failed"
    assert "cannot resolve nowhere.invalid" in str(status["reason"])
    rig.names["nowhere.invalid"] = "192.0.2.50"
    await rig.regs.reload()
    (sent,) = rig.sent()
    assert sent[1] == Address("192.0.2.50", 5070, "nowhere.invalid")


async def test_tcp_trunks_put_the_transport_in_contact_and_request_uri() -> None:
    rig = Rig(dataclasses.replace(TRUNK, transport=Transport.TCP))
    await rig.regs.reload()
    request = rig.one()
    assert str(request.uri) == "sip:192.0.2.7:5070;transport=tcp"
    assert request.header("Contact") == "<sip:4420001@198.51.100.1:5060;transport=tcp>"
    assert request.top_via.transport == "TCP"


async def test_answers_to_other_requests_are_left_alone() -> None:
    rig = Rig(TRUNK)
    await rig.regs.reload()
    rig.one()
    rig.ua.options(SipUri("192.0.2.7", "phone"), PROVIDER, "UDP", T0)
    (datagram,) = rig.ua.datagrams_to_send(T0)
    options = parse_message(datagram.data)
    assert isinstance(options, Request)
    rig.ua.receive_message(make_response(options, 200, to_tag="p"), PROVIDER, "UDP", T0)
    event = rig.ua.next_event()
    assert isinstance(event, RequestAnswered) and not rig.regs.on_answer(event)
    assert rig.status()["state"] == "registering"


async def test_close_unregisters_every_trunk() -> None:
    rig = Rig(TRUNK, dataclasses.replace(TRUNK, id=4, name="backup", username="4420009"))
    await rig.regs.reload()
    for request, _ in rig.sent():
        rig.grant(request)
    assert [s["state"] for s in rig.regs.status()] == ["registered", "registered"]
    goodbyes: list[Request] = []

    def provider() -> None:
        for datagram in rig.ua.datagrams_to_send(rig.clock.now):
            request = parse_message(datagram.data)
            assert isinstance(request, Request)
            goodbyes.append(request)
            rig.answer(request, 200)

    rig.provider = provider  # answers as soon as the UA sends
    await rig.regs.close()
    assert sorted(r.expires for r in goodbyes) == [0, 0]
    assert rig.regs.status() == [] and rig.regs.next_deadline() is not None


async def test_close_gives_up_on_a_silent_provider() -> None:
    rig = Rig(TRUNK)
    await rig.register()
    await rig.regs.close(wait=0.01)
    assert rig.regs.status() == []


@pytest.mark.parametrize(
    ("host", "address"), [("192.0.2.1", "192.0.2.1"), ("[2001:db8::1]", "2001:db8::1")]
)
async def test_ip_literals_are_used_as_they_are(host: str, address: str) -> None:
    assert await resolve_host(host, 5060, "UDP") == address


async def test_the_task_loads_registers_and_unregisters_on_close() -> None:
    rig = Rig(TRUNK)
    seen: list[int | None] = []

    def provider() -> None:
        for datagram in rig.ua.datagrams_to_send(rig.clock.now):
            request = parse_message(datagram.data)
            assert isinstance(request, Request)
            seen.append(request.expires)
            if request.expires == 0:
                rig.answer(request, 200)
            elif request.has_header("Authorization"):
                rig.grant(request)
            else:
                rig.challenge(request)

    rig.provider = provider
    rig.regs.start()
    for _ in range(20):  # a few turns of the event loop, no sleeping
        await asyncio.sleep(0)
    assert rig.status()["state"] == "registered"
    await rig.regs.close()
    assert seen == [600, 600, 0] and rig.regs.status() == []
