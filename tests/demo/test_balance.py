"""The demo's stand-in back office: balances by account number, only with the demo on."""

from __future__ import annotations

from pathlib import Path

import httpx

from helpline.api.app import create_app
from helpline.demo.router import balance_of
from helpline.runtime import Runtime
from tests.conftest import make_settings


async def test_balance_is_the_same_every_time_and_needs_no_login(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/api/demo/balance", params={"account": "1234"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body == {"account": "1234", "balance": balance_of("1234"), "currency": "USD"}
    assert (await client.get("/api/demo/balance?account=1234")).json() == body
    whole, cents = body["balance"].split(".")
    assert whole.isdigit() and len(cents) == 2


def test_different_accounts_have_different_balances() -> None:
    balances = {balance_of(f"{n:04d}") for n in range(1000, 1020)}
    assert len(balances) > 15


async def test_accounts_starting_with_9_are_unknown(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/demo/balance", params={"account": "98765"})
    assert r.status_code == 404
    assert r.json()["error_id"] == "not_found"


async def test_account_must_be_4_to_8_digits(client: httpx.AsyncClient) -> None:
    for account in ("123", "123456789", "12a4"):
        r = await client.get("/api/demo/balance", params={"account": account})
        assert r.status_code == 422, account
        assert r.json()["error_id"] == "validation_error"


async def test_vxml_balance_document_speaks_the_amount(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/demo/balance.vxml", params={"account": "1234"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/voicexml+xml")
    assert 'src="prompt:currency/' in r.text and 'next="menu.vxml"' in r.text
    menu = await client.get("/api/demo/menu.vxml")
    assert menu.status_code == 200 and '<menu id="main">' in menu.text


async def test_demo_endpoints_are_absent_without_the_demo(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", demo=False)
    runtime = Runtime.build(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            r = await c.get("/api/demo/balance", params={"account": "1234"})
        assert r.status_code == 404
        assert r.json()["error_id"] == "not_found"
    finally:
        await runtime.close()
