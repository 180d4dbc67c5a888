"""Hooks through which CTI commands (:mod:`helpline.telephony.commands`) extend call
control without call control knowing them: answers to the re-INVITEs they send, the
branches of legs they place themselves, the moment a call's other side answers, a
dialog of a call ending (a conference's third party leaving need not end the call),
and a call about to release its legs (a consultation gives the agent's leg back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from helpline.sip.dialog import DialogId
from helpline.sip.ua import OutgoingAnswered, OutgoingFailed, OutgoingProgress, RequestAnswered

if TYPE_CHECKING:
    from helpline.telephony.legs import Call


class Extensions(Protocol):
    """Hooks for the layer that drives live calls from outside (CTI commands)."""

    def answered(self, event: RequestAnswered) -> bool:
        """Take the answer to a request it sent (a re-INVITE); False if not its own."""
        ...

    async def placed(
        self, call: Call, event: OutgoingProgress | OutgoingAnswered | OutgoingFailed
    ) -> bool:
        """Handle a branch of a leg it placed itself; False if not its own."""
        ...

    async def connected(self, call: Call) -> None:
        """The call's other side answered."""

    async def leg_ended(self, call: Call, dialog: DialogId) -> bool:
        """A dialog of the call ended; True if that does not end the call."""
        ...

    async def ending(self, call: Call) -> None:
        """The call is about to release its legs."""


class NoExtensions:
    """Call control on its own: no hook takes anything."""

    def answered(self, event: RequestAnswered) -> bool:
        return False

    async def placed(
        self, call: Call, event: OutgoingProgress | OutgoingAnswered | OutgoingFailed
    ) -> bool:
        return False

    async def connected(self, call: Call) -> None:
        return None

    async def leg_ended(self, call: Call, dialog: DialogId) -> bool:
        return False

    async def ending(self, call: Call) -> None:
        return None
