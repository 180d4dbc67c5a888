"""A TLS trunk configured by host name: the certificate is checked against the name.

The trunk's host is resolved by a test resolver (never real DNS) to 127.0.0.1, where a
TLS peer presents a certificate naming ``sip.provider.test`` only (no IP address in it).
The node connects to the address, sends the name for SNI and verifies the certificate
against it (RFC 5922 §7.2); a certificate for another name fails the request with 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpline.sip.uri import SipUri
from helpline.telephony.tls import ensure_self_signed, server_context
from helpline.telephony.transport import client_context
from helpline.telephony.trunking import resolve
from helpline.telephony.wire import Address, Transport
from helpline.trunks.rules import Transport as TrunkTransport
from helpline.trunks.rules import TrunkConfig
from tests.telephony.test_outbound_connections import Node, Peer, _message, _ok

NAME = "sip.provider.test"
lookups: list[tuple[str, int, str]] = []


async def fake_dns(host: str, port: int, transport: str) -> str:
    """``sip.provider.test`` and ``other.provider.test`` are 127.0.0.1; nothing else."""
    lookups.append((host, port, transport))
    if host.lower() in (NAME, "other.provider.test"):
        return "127.0.0.1"
    if host == "127.0.0.1":
        return host
    raise OSError(f"no address for {host}")


def trunk(host: str, port: int) -> TrunkConfig:
    return TrunkConfig(
        id=1, tenant_id=1, name="provider", host=host, port=port, transport=TrunkTransport.TLS
    )


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    ca, _ = ensure_self_signed(tmp_path / "provider", NAME)
    made = Node(client_tls=client_context(ca))
    await made.listeners.start()
    yield made
    await made.listeners.stop()


async def options_to(node: Node, destination: Address) -> None:
    now = asyncio.get_running_loop().time()
    uri = SipUri(destination.name or destination.host, "peer", port=destination.port)
    node.core.ua.options(uri, destination, Transport.TLS.value, now)
    for out in node.core.outgoing(now):
        node.listeners.send(out)


async def test_a_trunk_named_by_host_keeps_the_name_on_its_resolved_address() -> None:
    lookups.clear()
    address = await resolve(trunk("SIP.Provider.Test", 5061), fake_dns)
    assert address == Address("127.0.0.1", 5061, NAME)
    assert lookups == [("SIP.Provider.Test", 5061, "TLS")]
    assert await resolve(trunk("127.0.0.1", 5061), fake_dns) == Address("127.0.0.1", 5061)
    with pytest.raises(OSError):
        await resolve(trunk("unknown.test", 5061), fake_dns)


async def test_tls_to_a_named_trunk_verifies_the_certificate_against_the_name(
    node: Node, tmp_path: Path
) -> None:
    context = server_context(*ensure_self_signed(tmp_path / "provider", NAME))
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    peer = await Peer().start(context)
    await options_to(node, await resolve(trunk(NAME, peer.port), fake_dns))
    reader, writer = await peer.connection()
    request = await _message(reader)
    assert request.startswith(f"OPTIONS sip:peer@{NAME}:{peer.port} SIP/2.0")
    writer.write(_ok(request))
    assert (await node.answer()).status == 200
    assert names == [NAME]
    await peer.close()


async def test_the_same_certificate_reached_by_ip_address_is_refused_with_503(
    node: Node, tmp_path: Path
) -> None:
    peer = await Peer().start(server_context(*ensure_self_signed(tmp_path / "provider", NAME)))
    await options_to(node, await resolve(trunk("127.0.0.1", peer.port), fake_dns))
    answer = await node.answer()
    assert (answer.status, answer.response) == (503, None)
    assert node.listeners.outbound == 0
    await peer.close()


async def test_a_certificate_for_another_name_is_refused_with_503(
    node: Node, tmp_path: Path
) -> None:
    other = ensure_self_signed(tmp_path / "other", "other.provider.test")
    peer = await Peer().start(server_context(*other))
    # trusted as a CA too: only the name is wrong
    assert node.listeners.config.client_tls is not None
    node.listeners.config.client_tls.load_verify_locations(other[0])
    await options_to(node, await resolve(trunk(NAME, peer.port), fake_dns))
    answer = await node.answer()
    assert (answer.status, answer.response) == (503, None)
    assert node.listeners.undeliverable == 1
    await peer.close()
