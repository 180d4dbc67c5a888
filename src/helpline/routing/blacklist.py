"""Pure blacklist matching: is this caller turned away, and how.

Theory of operation: call control loads a tenant's blacklist once as frozen
:class:`BlockEntry` values (inside :class:`helpline.routing.decide.RoutingConfig`) and
asks :func:`match` before any media port is allocated.  Numbers are compared after
:func:`normalize_number` (spaces, dashes, dots and parentheses dropped, a leading ``+``
kept); no national/international translation is made, so entries are written the way
the trunk delivers caller numbers.

The most specific entry wins: an exact number, then the longest prefix, then the
"anonymous callers" entry.  A caller is anonymous when the From user is empty or a
withheld marker (``anonymous``, RFC 3323 §4.1.1.3, and the usual carrier spellings) or
the request asks for identity privacy (``Privacy: id``, RFC 3325 §9.3, or ``header``,
RFC 3323 §4.2); call control may still pass the asserted number of such a caller, and
an exact or prefix entry for that number then takes precedence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from helpline.trunks.rules import ANONYMOUS_USER

__all__ = [
    "BlockAction",
    "BlockEntry",
    "BlockKind",
    "is_anonymous",
    "match",
    "normalize_number",
]

#: From users that mean "number withheld".
WITHHELD_USERS = frozenset(
    {ANONYMOUS_USER, "unknown", "unavailable", "private", "restricted", "withheld"}
)
#: Privacy header values (RFC 3323 §4.2, RFC 3325 §9.3) that hide the caller's identity.
PRIVATE_IDENTITY = frozenset({"id", "header"})
_SEPARATORS = re.compile(r"[\s\-.()]")


class BlockKind(StrEnum):
    """What an entry matches."""

    EXACT = "exact"
    PREFIX = "prefix"
    ANONYMOUS = "anonymous"


class BlockAction(StrEnum):
    """What happens to a blocked caller."""

    REJECT_BUSY = "reject_busy"
    """486 Busy Here."""
    REJECT_ANNOUNCEMENT = "reject_announcement"
    """A prompt is played, then the call ends."""
    DROP = "drop"
    """No answer at all: the INVITE is ignored (over UDP the caller retransmits)."""


def normalize_number(text: str) -> str:
    """``text`` without spaces, dashes, dots or parentheses (a leading ``+`` stays)."""
    return _SEPARATORS.sub("", text)


def is_anonymous(from_user: str | None, privacy: str | None = None) -> bool:
    """Whether a caller withholds their number: no From user, a withheld marker as the
    From user, or identity privacy in the ``Privacy`` header value."""
    if not from_user or not from_user.strip() or from_user.strip().lower() in WITHHELD_USERS:
        return True
    tokens = {t.strip().lower() for t in (privacy or "").split(";")}
    return bool(tokens & PRIVATE_IDENTITY)


@dataclass(frozen=True, slots=True)
class BlockEntry:
    """One blacklist entry as call control sees it (never an ORM row)."""

    id: int
    kind: BlockKind
    number: str
    """Normalized number or prefix; empty for ``anonymous`` entries."""
    action: BlockAction
    prompt: str | None = None
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Whether the entry is still in force at ``now`` (aware)."""
        return self.expires_at is None or now < self.expires_at

    def rank(self, caller: str | None, *, anonymous: bool) -> int | None:
        """How specifically the entry matches a normalized ``caller`` (higher wins),
        None when it does not."""
        if self.kind is BlockKind.ANONYMOUS:
            return 0 if anonymous else None
        if not caller:
            return None
        if self.kind is BlockKind.EXACT:
            return 1000 if caller == self.number else None
        return len(self.number) if caller.startswith(self.number) else None


def match(
    entries: Iterable[BlockEntry], caller: str | None, now: datetime, *, anonymous: bool
) -> BlockEntry | None:
    """The entry in force at ``now`` that blocks ``caller``, else None.

    An exact entry beats the longest prefix, which beats the anonymous entry; among
    equals the lower id wins.
    """
    number = normalize_number(caller) if caller else None
    best: tuple[int, int] | None = None
    found: BlockEntry | None = None
    for entry in entries:
        if not entry.active(now):
            continue
        rank = entry.rank(number, anonymous=anonymous)
        if rank is None:
            continue
        key = (-rank, entry.id)
        if best is None or key < best:
            best, found = key, entry
    return found
