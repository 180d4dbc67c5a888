"""The demo's stand-in for a customer's back-office system: an account balance lookup.

Mounted under ``/api/demo`` only when the demo is on (``HELPLINE_DEMO=1``). These
endpoints take **no authentication**, on purpose: they play the part of a customer's
own system that an IVR flow's HTTP node calls, and they hold no real data. Balances
are made up, deterministically, from the account number; accounts starting with 9 do
not exist.

* ``GET /api/demo/balance?account=NNNN`` -> ``{"account", "balance", "currency"}``
  (404 ``not_found`` for an unknown account), for the ``demo-menu`` flow;
* ``GET /api/demo/balance.vxml?account=NNNN`` -> a VoiceXML document speaking the
  balance, and ``GET /api/demo/menu.vxml`` -> the ``demo-menu-vxml`` document it
  returns to, for the VoiceXML copy of the menu.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from helpline.api.deps import get_runtime
from helpline.core.errors import NotFound
from helpline.demo.content import CURRENCY, balance_vxml, demo_base_url, menu_vxml
from helpline.runtime import Runtime

router = APIRouter(prefix="/demo", tags=["demo"])

VXML_MEDIA_TYPE = "application/voicexml+xml"
Account = Annotated[str, Query(pattern=r"^[0-9]{4,8}$", description="4 to 8 digits.")]


class BalanceOut(BaseModel):
    """An account's balance; ``balance`` is a decimal string with two places."""

    account: str
    balance: str
    currency: str


def balance_of(account: str) -> str | None:
    """The made-up balance of ``account`` ("0.00" to "9999.99", always the same for an
    account), None for an unknown one (starting with 9)."""
    if account.startswith("9"):
        return None
    cents = int.from_bytes(hashlib.sha256(account.encode()).digest()[:8], "big") % 1_000_000
    return f"{cents // 100}.{cents % 100:02d}"


@router.get("/balance", response_model=BalanceOut)
async def get_balance(account: Account) -> BalanceOut:
    """The balance of ``account``; 404 when there is no such account."""
    balance = balance_of(account)
    if balance is None:
        raise NotFound(f"no account {account}", details={"account": account})
    return BalanceOut(account=account, balance=balance, currency=CURRENCY)


@router.get("/balance.vxml", response_class=Response)
async def get_balance_vxml(account: Account) -> Response:
    """A VoiceXML document speaking the balance of ``account`` (or that it is unknown),
    then going back to ``menu.vxml``."""
    return Response(balance_vxml(balance_of(account)), media_type=VXML_MEDIA_TYPE)


@router.get("/menu.vxml", response_class=Response)
async def get_menu_vxml(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    """The demo's VoiceXML day menu, as stored in ``demo-menu-vxml``."""
    return Response(menu_vxml(demo_base_url(runtime.settings)), media_type=VXML_MEDIA_TYPE)
