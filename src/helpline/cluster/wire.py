"""What travels between nodes on the cluster's NOTIFY channel; pure, no I/O.

Theory of operation: a notification's payload is one JSON object naming the node that
published the event (``o``) and either the event itself (``e``, :meth:`Event.to_json`)
or, when that would not fit in a PostgreSQL NOTIFY payload (under 8000 bytes), the id
(``r``) of the ``cluster_events`` row holding it. Receivers drop their own
notifications (PostgreSQL delivers them to the sending session too) by the origin.

Some events do not travel: ``sms.queued`` and ``webhook.queued`` only wake the senders
of the node whose transaction queued the rows. Every node's senders poll anyway and
claim rows with a conditional UPDATE, so waking the others would only make them race
for rows already being sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from helpline.core.events import Event

MAX_NOTIFY_BYTES = 7900
"""PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; a margin below that."""

LOCAL_EVENTS = frozenset({"sms.queued", "webhook.queued"})
"""Events that stay on the node that published them (see the module's docstring)."""


class WireError(ValueError):
    """A notification that is not a cluster envelope."""


@dataclass(frozen=True, slots=True)
class Inline:
    """A notification carrying the event."""

    origin: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Stored:
    """A notification naming the ``cluster_events`` row that holds the event."""

    origin: str
    row_id: int


def travels(event: Event) -> bool:
    """Whether ``event`` goes to the other nodes."""
    return event.name not in LOCAL_EVENTS


def envelope(event: Event, origin: str) -> str:
    """The inline notification of ``event`` (possibly too large to send as one)."""
    body = {"o": origin, "e": event.to_json()}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def fits(payload: str) -> bool:
    """Whether ``payload`` may be sent as a NOTIFY payload."""
    return len(payload.encode()) <= MAX_NOTIFY_BYTES


def stored_notice(origin: str, row_id: int) -> str:
    """The notification pointing at a stored envelope."""
    return json.dumps({"o": origin, "r": row_id}, separators=(",", ":"))


def parse(payload: str) -> Inline | Stored:
    """The notification in ``payload`` (an envelope read back from a row parses too)."""
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise WireError(f"not JSON: {exc.msg}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("o"), str):
        raise WireError("no origin node")
    origin: str = data["o"]
    body = data.get("e")
    if isinstance(body, dict):
        return Inline(origin, body)
    row_id = data.get("r")
    if isinstance(row_id, int) and not isinstance(row_id, bool):
        return Stored(origin, row_id)
    raise WireError("neither an event nor a row id")
