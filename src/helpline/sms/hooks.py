"""The HTTP endpoints Kannel's smsbox calls: delivery reports and inbound messages.

They take no login: a delivery report is accepted for the Kannel message whose random
reference it carries (:func:`helpline.sms.kannel.dlr_url`), an inbound message for the
gateway whose random key is in the path (:func:`helpline.sms.kannel.inbound_url`).
Mounted under ``/api`` (see :mod:`helpline.api.app`). Both answer an empty body: smsbox
sends a ``get-url``'s answer back to the phone as a reply unless it is empty (also set
``max-messages = 0`` in the ``sms-service`` group).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from helpline.api.deps import Db
from helpline.core.errors import ApiError, NotFound
from helpline.sms import admin, kannel, service
from helpline.sms.models import GatewayKind

router = APIRouter(include_in_schema=False)

Short = Annotated[str, Query(max_length=200)]


@router.get(kannel.DLR_PATH.removeprefix("/api"), response_class=PlainTextResponse)
async def kannel_dlr(
    db: Db,
    ref: Short = "",
    type: Annotated[int, Query(ge=0, le=255)] = 0,
    answer: Short = "",
    smsc_id: Short = "",
) -> PlainTextResponse:
    """A delivery report from Kannel (``type`` is its ``%d``)."""
    outcome = kannel.dlr_outcome(type)
    if not ref or outcome is None:
        raise ApiError("not a delivery report", error_id="sms_bad_report")
    detail = " ".join(part for part in (answer, f"smsc-id {smsc_id}" if smsc_id else "") if part)
    found = await service.record_report(
        db,
        gateway_id=None,
        remote_id=ref,
        outcome=outcome,
        code=kannel.DLR_NAMES.get(type, str(type)),
        detail=detail,
        via=GatewayKind.KANNEL,
    )
    if found is None:
        raise NotFound("no such message")
    return PlainTextResponse("")


@router.get("/sms/kannel/{key}/inbound", response_class=PlainTextResponse)
async def kannel_inbound(
    key: str,
    db: Db,
    sender: Annotated[str, Query(alias="from", max_length=40)] = "",
    to: Annotated[str, Query(max_length=40)] = "",
    text: Annotated[str, Query(max_length=4000)] = "",
    hex: Annotated[str, Query(max_length=8000)] = "",
    coding: Annotated[int, Query(ge=0, le=2)] = 0,
) -> PlainTextResponse:
    """An inbound message from Kannel's ``sms-service`` ``get-url``."""
    gateway = await admin.gateway_by_callback_key(db, key)
    if gateway is None:
        raise NotFound("no such gateway")
    if not sender:
        raise ApiError("the sender is missing", error_id="sms_bad_inbound")
    body, used = kannel.inbound_text(text=text, hex_octets=hex, coding=coding)
    await service.receive(db, gateway=gateway, sender=sender, recipient=to, text=body, coding=used)
    return PlainTextResponse("")
