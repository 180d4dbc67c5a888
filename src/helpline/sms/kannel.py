"""Kannel's HTTP interface: sending through smsbox, reading its callbacks.

Theory of operation (Kannel 1.4 user guide, "Using the HTTP interface to send SMS
messages", "SMS Delivery Reports" and "sms-service configurations"):

* Sending is a GET of smsbox's ``/cgi-bin/sendsms`` with the sendsms-user's
  ``username``/``password``, ``from``, ``to``, ``text`` in UTF-8 (``charset=UTF-8``)
  and ``coding`` 0 (GSM) or 2 (UCS-2: Kannel recodes the text to UTF-16BE). A 2xx
  answer (``0: Accepted for delivery``, ``3: Queued for later delivery``) means
  accepted; a 4xx is a refusal that sending again will not fix; anything else, or no
  answer, is retried.
* ``dlr-mask`` says which reports to want, ``dlr-url`` where Kannel reports them. Helpline
  puts the message's random reference in that URL (:func:`dlr_url`) and asks for the
  escape codes ``%d`` (report type), ``%A`` (the SMSC's answer) and ``%F`` (the SMSC's
  message id), so a report finds its message without any state in Kannel.
  :data:`DLR_TYPES` maps the type to what it means for the message.
* Inbound messages reach Helpline through an ``sms-service`` whose ``get-url`` is
  :func:`inbound_url`: sender ``%p``, receiver ``%P``, text ``%a``, the original octets
  in hex ``%e`` and the coding ``%c``. With coding 2 the octets are UCS-2 and are
  decoded here (:func:`inbound_text`); otherwise smsbox already gave UTF-8 text.
"""

from __future__ import annotations

import logging
from typing import Final

import httpx

from helpline.sms.encoding import decode_ucs2
from helpline.sms.models import Coding, MessageStatus
from helpline.sms.schemas import KannelSettings
from helpline.sms.transport import Outgoing, Submitted, TransportError

log = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = 10.0
DLR_PATH: Final = "/api/sms/kannel/dlr"
INBOUND_PATH: Final = "/api/sms/kannel/{key}/inbound"
#: Kannel's DLR types (the ``%d`` escape) and what each means for the message.
DLR_TYPES: Final[dict[int, MessageStatus]] = {
    1: MessageStatus.DELIVERED,
    2: MessageStatus.FAILED,
    4: MessageStatus.SENT,
    8: MessageStatus.SENT,
    16: MessageStatus.FAILED,
}
DLR_NAMES: Final[dict[int, str]] = {
    1: "delivered",
    2: "undelivered",
    4: "buffered",
    8: "smsc_accepted",
    16: "smsc_rejected",
}


def dlr_url(public_url: str, reference: str) -> str:
    """The ``dlr-url`` of one message (Kannel fills in the ``%`` escapes)."""
    return f"{public_url}{DLR_PATH}?ref={reference}&type=%d&answer=%A&smsc_id=%F"


def inbound_url(public_url: str, key: str) -> str:
    """The ``get-url`` of an ``sms-service`` that hands inbound messages to Helpline."""
    path = INBOUND_PATH.format(key=key)
    return f"{public_url}{path}?from=%p&to=%P&text=%a&hex=%e&coding=%c"


def inbound_text(*, text: str, hex_octets: str, coding: int) -> tuple[str, Coding]:
    """The text of an inbound message from what ``get-url`` carried."""
    if coding == 2 and hex_octets:
        try:
            return decode_ucs2(bytes.fromhex(hex_octets)), Coding.UCS2
        except ValueError:
            log.warning("Kannel sent UCS-2 octets that are not hex; using the text")
    return text, Coding.GSM7 if coding == 0 else Coding.UCS2


def dlr_outcome(dlr_type: int) -> MessageStatus | None:
    """What a report of ``dlr_type`` means; ``None`` for types Kannel does not define.
    Kannel may combine bits; the final ones (delivered, failed) win."""
    for bit in (1, 2, 16, 8, 4):
        if dlr_type & bit:
            return DLR_TYPES[bit]
    return None


class KannelTransport:
    """Sends through one smsbox; delivery reports come back over HTTP."""

    def __init__(
        self,
        *,
        settings: KannelSettings,
        password: str,
        public_url: str,
        client: httpx.AsyncClient,
    ) -> None:
        self.settings = settings
        self.password = password
        self.public_url = public_url
        self.client = client

    def params(self, message: Outgoing) -> dict[str, str]:
        """The sendsms query parameters for ``message``."""
        params = {
            "username": self.settings.username,
            "password": self.password,
            "from": message.sender,
            "to": message.to,
            "text": message.text,
            "charset": "UTF-8",
            "coding": "2" if message.coding is Coding.UCS2 else "0",
        }
        if self.settings.smsc_id:
            params["smsc"] = self.settings.smsc_id
        if self.settings.dlr_mask:
            params["dlr-mask"] = str(self.settings.dlr_mask)
            params["dlr-url"] = dlr_url(self.public_url, message.reference)
        return params

    async def submit(self, message: Outgoing) -> Submitted:
        """GET sendsms; the reference is the id reports will carry."""
        try:
            response = await self.client.get(
                str(self.settings.sendsms_url), params=self.params(message)
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"smsbox unreachable: {exc!r}", permanent=False) from exc
        answer = response.text.strip()[:200]
        if response.is_success:
            return Submitted(message.reference)
        raise TransportError(
            f"smsbox answered {response.status_code}: {answer}",
            permanent=400 <= response.status_code < 500,
        )

    async def close(self) -> None:
        """Nothing to release: the HTTP client belongs to the sender."""
