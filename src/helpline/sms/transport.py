"""What the sender sees of an SMS gateway: the :class:`Transport` protocol.

Theory of operation: the sender (:mod:`helpline.sms.sender`) hands each queued message
to the transport of its gateway as an :class:`Outgoing` and gets back the id delivery
reports will carry (:class:`Submitted`), or a :class:`TransportError` saying whether
trying again later may help. What comes back from the network on its own — delivery
reports and inbound messages — goes to an :class:`IncomingSink` (SMPP delivers both on
its connection) or arrives over HTTP (Kannel calls Helpline's ``dlr-url`` and
``get-url``, :mod:`helpline.sms.hooks`); either way it ends in
:func:`helpline.sms.service.record_report` and :func:`helpline.sms.service.receive`.

Two implementations: :class:`helpline.sms.kannel.KannelTransport` and
:class:`helpline.sms.smpp.SmppTransport`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from helpline.sms.models import Coding, MessageStatus


class TransportError(Exception):
    """The gateway did not take the message; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send."""

    message_id: int
    to: str
    sender: str
    text: str
    coding: Coding
    reference: str
    """A random, URL-safe reference the transport may use to find the message again
    (Kannel puts it in the ``dlr-url``)."""


@dataclass(frozen=True, slots=True)
class Submitted:
    """The gateway took the message; reports will name it ``remote_id``, or, when it
    went in several parts with ids of their own, each part by its id in ``part_ids``."""

    remote_id: str
    part_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """A delivery report, as a gateway said it."""

    gateway_id: int
    remote_id: str
    outcome: MessageStatus
    """``delivered``, ``failed``, or ``sent`` for intermediate states."""
    code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message a handset sent to one of the gateway's numbers."""

    gateway_id: int
    sender: str
    recipient: str
    text: str
    coding: Coding


class IncomingSink(Protocol):
    """Where a transport puts what arrives on its own."""

    async def report(self, report: Report) -> None:
        """Store a delivery report."""
        ...

    async def inbound(self, message: Inbound) -> None:
        """Store an inbound message."""
        ...


class Transport(Protocol):
    """A connection to one gateway."""

    async def submit(self, message: Outgoing) -> Submitted:
        """Hand ``message`` to the gateway; :class:`TransportError` if it refused."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
